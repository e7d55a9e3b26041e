"""Demo mode: the built-in emulators, started in this process, with integrations pointing at them.

The demo profile is thrown away on exit, so are the integrations' keyring entries. The
Dotmailer emulator gets the demo store's newsletter subscribers in its "Newsletter" book, a sent
campaign with activity, a few unsubscribes and a bounce, so that the first sync shows every
flow: list states, campaigns and statistics.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import keyring
from keyring.backend import KeyringBackend

from connectors.base import get_connector
from core import secrets
from core.integrations import create_integration, delete_integration
from core.models.store import Contact, ListMember, MarketingList
from core.models.sync import Integration

log = logging.getLogger("listbridge.demo")

DEMO_LIST = "Newsletter subscribers"
DEMO_BOOK = "Newsletter"


class DemoKeyring(KeyringBackend):
    """Keeps the demo's made-up passwords in memory when the machine has no OS keyring.

    Used for the throw-away demo profile only, and said in the window's banner; the user's own
    profile never falls back to it.
    """

    priority = 0.1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._entries.pop((service, username), None)


@dataclass
class DemoServices:
    emulators: list[object] = field(default_factory=list)
    integration_ids: list[int] = field(default_factory=list)
    memory_keyring: bool = False

    def stop(self) -> None:
        for integration in Integration.select().where(Integration.id.in_(self.integration_ids)):
            try:
                delete_integration(integration, force=True)
            except Exception:  # the profile is thrown away anyway; never block the exit
                log.exception("Could not remove the demo integration %s", integration.name)
        for emulator in self.emulators:
            emulator.stop()  # type: ignore[attr-defined]
        self.emulators.clear()


DemoStarter = Callable[[DemoServices], int | None]


def start_demo_services(starters: Sequence[DemoStarter] | None = None) -> DemoServices:
    """Make sure a keyring is there, then run each connector's demo start-up (``starters``: by
    default Dotmailer's and INES's; the window passes those of its ``GuiExtension``s), which
    starts its emulator and creates its demo integration."""
    services = DemoServices()
    try:
        secrets.ensure_keyring()
    except secrets.NoKeyringError:
        keyring.set_keyring(DemoKeyring())
        services.memory_keyring = True
        log.warning("No OS keyring: the demo keeps its made-up passwords in memory")
    for start in (starters if starters is not None
                  else (start_dotmailer_demo, start_ines_demo)):
        integration_id = start(services)
        if integration_id is not None:
            services.integration_ids.append(integration_id)
    return services


def start_dotmailer_demo(services: DemoServices) -> int:
    """The Dotmailer emulator with the demo's newsletter, and the demo integration on it."""
    return _start_dotmailer(services)


def start_ines_demo(services: DemoServices) -> int:
    """The INES emulator with its demo data, and the demo integration (mapped, push on)."""
    return _start_ines(services)


def _start_dotmailer(services: DemoServices) -> int:
    from connectors.dotmailer import emulator as dm
    from connectors.dotmailer import service

    emulator = dm.DotmailerEmulator(base_port=0, demo=True).start()
    services.emulators.append(emulator)
    _seed_newsletter(emulator)
    integration = create_integration(
        get_connector("dotmailer"), "Dotmailer (demo)",
        {"username": dm.DEFAULT_USER, "password": dm.DEFAULT_PASSWORD, "api_url": emulator.url})
    books = service.refresh_books(integration)
    mlist = MarketingList.get_or_none(MarketingList.name == DEMO_LIST)
    book = next((b for b in books if b.name == DEMO_BOOK), None)
    if mlist is not None and book is not None:
        service.connect_list(mlist, integration, book.remote_id)
    return integration.id


def _seed_newsletter(emulator: object) -> None:
    """Put most of the demo list's subscribers in the emulator's Newsletter book, then send them
    a campaign with opens and clicks, and unsubscribe or bounce a few, as customers would."""
    mlist = MarketingList.get_or_none(MarketingList.name == DEMO_LIST)
    if mlist is None:
        return
    emails = list(Contact.select(Contact.email).join(
        ListMember, on=(ListMember.contact == Contact.id)).where(
        ListMember.mlist == mlist).order_by(Contact.id).scalars())
    rng = random.Random(11)
    known = emails[:200]
    em = emulator
    now = em.now()  # type: ignore[attr-defined]
    for email in known:
        em.add_contact(email, {"FIRSTNAME": "", "LASTNAME": ""}, books=[DEMO_BOOK],  # type: ignore[attr-defined]
                       at=now - timedelta(days=40))
    sent = now - timedelta(days=3)
    campaign = em.add_campaign("Newsletter — autumn edition", "Sent", [DEMO_BOOK],  # type: ignore[attr-defined]
                               date_sent=sent, subject="What's new this autumn")
    openers = rng.sample(known, 90)
    unsubscribers = openers[:6]
    bounced = [email for email in known if email not in openers][:2]
    for email in openers:
        opens = rng.choice((1, 1, 2, 3, 5))
        em.add_activity(campaign, email, opens=opens, clicks=rng.choice((0, 0, 1, 2)),  # type: ignore[attr-defined]
                        first_opened=sent + timedelta(hours=rng.randint(1, 40)), date_sent=sent,
                        unsubscribed=email in unsubscribers,
                        at=sent + timedelta(hours=rng.randint(1, 40)))
    for email in unsubscribers:
        em.unsubscribe_from_book(DEMO_BOOK, email, at=sent + timedelta(hours=5))  # type: ignore[attr-defined]
    for email in bounced:
        em.add_activity(campaign, email, hard_bounced=True, date_sent=sent, at=sent)  # type: ignore[attr-defined]
        em.suppress(email, "HardBounced", at=sent + timedelta(hours=1))  # type: ignore[attr-defined]


def _start_ines(services: DemoServices) -> int:
    from connectors.ines import emulator as ines
    from connectors.ines import mapping

    emulator = ines.InesEmulator(port=0)
    emulator.seed_demo()
    emulator.start()
    services.emulators.append(emulator)
    integration = create_integration(
        get_connector("ines"), "INES CRM (demo)",
        {"account": "DEMO", "username": "demo", "password": "demo-pass-1",
         "api_url": emulator.base_url})
    mapping.ensure_local_fields()
    mapping.save_mapping(integration, mapping.default_mapping())
    mapping.set_features(Integration.get_by_id(integration.id), push_lead=True)
    return integration.id
