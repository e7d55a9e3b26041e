"""Demo data: the four global attributes the connector needs, a "Newsletter" group with a few
receivers (one unsubscribed, one bounced), a blacklist entry, a form and a sent mailing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.cleverreach.emulator.state import Group, Receiver, norm_email

if TYPE_CHECKING:
    from connectors.cleverreach.emulator.core import CleverReachEmulator
    from connectors.cleverreach.emulator.hooks import Hooks

__all__ = ["seed_demo"]

_PEOPLE = [
    ("Frau", "Anna", "Schmidt", "Nordlicht Versand GmbH"),
    ("Herr", "Lukas", "Weber", "Weber Bau AG"),
    ("Frau", "Marie", "Fischer", ""),
    ("Herr", "Jonas", "Becker", "Becker IT"),
    ("Frau", "Lea", "Hoffmann", ""),
    ("Herr", "Finn", "Wagner", "Wagner Logistik"),
]


def seed_demo(emu: CleverReachEmulator | Hooks) -> None:
    account = next(iter(emu.state.accounts.values()))
    for name in ("salutation", "firstname", "lastname", "company"):
        emu.add_attribute(name, account=account.id)
    now = emu.now_ts()
    group = Group(id=str(account.next_id("group")), name="Newsletter", locked=False,
                  backup=True, receiver_info="Website-Anmeldungen", stamp=now - 86400 * 90,
                  last_mailing=0, last_changed=now - 86400)
    account.groups[group.id] = group
    for index, (salutation, first, last, company) in enumerate(_PEOPLE):
        email = f"{first}.{last}@example.com".lower()
        key = norm_email(email)
        rid = account.receiver_ids.setdefault(key, str(account.next_id("receiver")))
        when = now - 86400 * (60 - index)
        receiver = Receiver(id=rid, email=email, group_id=group.id, registered=when,
                            activated=when, last_changed=when, source="Form")
        group.put(receiver)
        receiver.add_event(when, "form", "subscribe", "127.0.0.1", "0", group.id)
        account.global_values[key] = {"salutation": salutation, "firstname": first,
                                      "lastname": last, "company": company}
    emu.add_form(group.id, "Newsletter-Anmeldung", account=account.id)
    emu.add_report(group.id, "Frühjahrsaktion", "Neu im Frühjahr", sent=now - 86400 * 7,
                   account=account.id)
    emu.simulate_unsubscribe("lea.hoffmann@example.com", account=account.id,
                             group_id=group.id, at=now - 86400 * 3)
    emu.simulate_bounce("finn.wagner@example.com", account=account.id, at=now - 86400 * 6,
                        message="smtp; 550 5.1.1 User unknown")
    emu.simulate_blacklist("spam@example.org", account=account.id, at=now - 86400 * 30,
                           comment="Beschwerde")
