"""The demo data set: one r1 account, three books, ~300 contacts, sent campaigns."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from connectors.dotmailer.emulator.hooks import HookMixin
from connectors.dotmailer.emulator.server import (
    _locked,
)
from connectors.dotmailer.emulator.state import (
    TEST_BOOK,
)


class DemoMixin(HookMixin):
    @_locked
    def demo_seed(self) -> None:
        """One r1 account, three books, ~300 contacts, three sent campaigns and one unsent."""
        rng = random.Random(f"{self._seed}:demo")
        now = self.now()
        books = [
            self.add_book(n, v)
            for n, v in (("Newsletter", "Public"), ("Customers", "Private"), ("Events", "Private"))
        ]
        emails = [self._demo_contact(rng, i, books, now) for i in range(300)]
        for email in emails[:3]:
            self.add_to_book(TEST_BOOK, email, at=now - timedelta(days=60))
        self._demo_unsubscribes(rng, books, emails, now)
        for offset, (name, book) in enumerate(
            (("Spring news", 0), ("Customer offers", 1), ("Event invitation", 2))
        ):
            sent = now - timedelta(days=20 - 6 * offset)
            campaign = self.add_campaign(name, "Sent", [books[book]], date_sent=sent)
            self._demo_activity(rng, campaign, books[book], sent)
        self.add_campaign("Summer news (draft)", "Unsent", [books[0]])

    def _demo_contact(self, rng: random.Random, index: int, books: list[int], now: datetime) -> str:
        first = rng.choice(_DEMO_FIRST)
        last = rng.choice(_DEMO_LAST)
        email = f"{first}.{last}.{index}@example.com".lower()
        joined = now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 1439))
        member_of = [b for b in books if rng.random() < 0.5] or [books[index % len(books)]]
        fields = {
            "FIRSTNAME": first,
            "LASTNAME": last,
            "FULLNAME": f"{first} {last}",
            "GENDER": rng.choice(("female", "male", "")) or None,
            "POSTCODE": f"{rng.randint(10000, 99999)}",
            "LASTSUBSCRIBED": joined.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        self.add_contact(email, fields, books=member_of, at=joined)
        return email

    def _demo_unsubscribes(
        self, rng: random.Random, books: list[int], emails: list[str], now: datetime
    ) -> None:
        for email in rng.sample(emails, 15):
            member = next(
                m
                for m in self._state.memberships.values()
                if m.contact == self._contact_ref(email, None).id and m.book in books
            )
            when = now - timedelta(days=rng.randint(1, 30))
            self.unsubscribe_from_book(member.book, email, at=when)
        reasons = ("HardBounced", "Unsubscribed", "Suppressed", "IspComplained")
        for index, email in enumerate(rng.sample(emails, 12)):
            self.suppress(
                email, reasons[index % len(reasons)], at=now - timedelta(days=rng.randint(1, 30))
            )

    def _demo_activity(self, rng: random.Random, campaign: int, book: int, sent: datetime) -> None:
        members = [m for m in self._state.memberships.values() if m.book == book]
        for member in members[:60]:
            contact = self._state.contacts[member.contact]
            opened = sent + timedelta(hours=rng.randint(1, 72))
            opens = rng.choice((0, 1, 1, 2, 3))
            self.add_activity(
                campaign,
                contact.email,
                opens=opens,
                clicks=rng.choice((0, 0, 1, 2)) if opens else 0,
                first_opened=opened if opens else None,
                date_sent=sent,
                at=opened if opens else sent,
            )

    # -- internal state helpers -------------------------------------------------------------------


_DEMO_FIRST = (
    "Alex",
    "Sam",
    "Charlie",
    "Robin",
    "Jamie",
    "Morgan",
    "Taylor",
    "Casey",
    "Jordan",
    "Avery",
    "Emma",
    "Louis",
    "Chloe",
    "Hugo",
    "Lena",
    "Jonas",
    "Mia",
    "Noah",
)
_DEMO_LAST = (
    "Case",
    "Martin",
    "Bernard",
    "Dubois",
    "Muller",
    "Schmidt",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Moreau",
    "Fischer",
    "Weber",
    "Garcia",
    "Rossi",
)
