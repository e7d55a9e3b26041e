"""Screenshots of the INES views, against a loopback INES emulator and a throw-away profile.

    xvfb-run -a python -m gui.ines.screenshots [docs/screenshots]

Writes ines-auth.png, ines-mapping.png, ines-features.png, ines-journal.png and
ines-push-result.png. Secrets go to an in-memory keyring: nothing is kept.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from connectors.demo import DemoKeyring as MemoryKeyring

ACCOUNT, USER, PASSWORD = "ACME", "marketing", "demo-pass-1"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    import keyring

    keyring.set_keyring(MemoryKeyring())
    from connectors.base import load_all
    from connectors.ines.client import make_client
    from connectors.ines.connector import InesConnector
    from connectors.ines.emulator import InesEmulator
    from connectors.ines.fullsync import run_full_sync
    from connectors.ines.mapping import ensure_local_fields, set_features, set_not_ecrasable
    from core.integrations import create_integration, read_secrets
    from core.migrations import open_database
    from core.models.store import Company, Contact, ListMember, MarketingList
    from core.models.sync import Integration
    from core.paths import Profile
    from core.store import save_record
    from gui.app import make_application
    from gui.screenshots import find_dialog, settle, wait_until

    emulator = InesEmulator(users=[(ACCOUNT, USER, PASSWORD)])
    emulator.add_cf_definition("contact", "Secteur", "list", ["Industrie", "Services"])
    emulator.add_cf_definition("client", "Chiffre d'affaires", "numeral")
    emulator.start()
    profile = Profile(Path(tempfile.mkdtemp(prefix="listbridge-ines-shots-"))).ensure()
    load_all()  # every connector's tables, before the database is opened
    open_database(profile.database)
    save_record(Contact(email="sans.societe@example.org", first_name="Paul",
                        last_name="Simon"))
    app = make_application()
    app.setStyleSheet(app.styleSheet())

    integration = create_integration(InesConnector(), "INES CRM — sales", {
        "account": ACCOUNT, "username": USER, "password": PASSWORD,
        "api_url": emulator.base_url}, schedule_minutes=None)
    ensure_local_fields()
    set_features(integration, full_sync=True)
    set_not_ecrasable(Integration.get_by_id(integration.id),
                      ["contact_FirstName", "contact_Function"])
    settings = Integration.get_by_id(integration.id).settings
    settings["mapping"] = {
        "contact_InternalContactRef": "ines_contact_ref",
        "contact_InternalCompanyRef": "ines_client_ref", "dontSyncToInes": "ines_stop_sync",
        "contact_PrimaryMailAddress": "email", "contact_LastName": "last_name",
        "contact_FirstName": "first_name", "contact_Function": "job_title",
        "contact_MobilePhone": "mobile", "contact_City": "city", "contact_Country": "country",
        "client_Phone": "company.phone"}
    Integration.update(settings_json=__import__("json").dumps(settings)).where(
        Integration.id == integration.id).execute()

    # The journal: a few contacts queued by the full sync; one refused three times.
    company = save_record(Company(name="Lumière Média", city="Lyon"))
    people = [save_record(Contact(email=f"{first.lower()}@lumiere.example", first_name=first,
                                  last_name="Roux", company=company))
              for first in ("Camille", "Hugo", "Léa", "Noah")]
    emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=None,
                    text="Le code postal du client est invalide")
    api = make_client(Integration.get_by_id(integration.id).settings, read_secrets(integration))
    for _attempt in range(3):
        run_full_sync(Integration.get_by_id(integration.id), api, 1)
    emulator.clear_injections()
    run_full_sync(Integration.get_by_id(integration.id), api, 5)
    api.close()
    save_record(Contact(email="nina@lumiere.example", first_name="Nina", last_name="Roux",
                        company=company))  # still queued

    from gui.mainwindow import MainWindow

    window = MainWindow(profile)
    window.resize(1280, 800)
    window.show()
    shots: list[str] = []

    def save(widget: Any, name: str) -> None:
        settle(400)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        shots.append(path.name)

    window.show_page("integrations")
    wait_until(window.integrations.has_loaded)
    window.integrations.table.select_id(integration.id)
    dialog = window.integrations.edit_selected()
    wait_until(lambda: dialog.mapping_available() and not dialog.is_testing())
    save(dialog, "ines-auth")
    dialog.tabs.setCurrentIndex(1)
    save(dialog, "ines-mapping")
    dialog.tabs.setCurrentIndex(2)
    save(dialog, "ines-features")
    journal = dialog.view_journal()
    wait_until(journal.has_loaded)
    failed = next(n for n, row in enumerate(journal.model.rows()) if row.status == "FAILED")
    journal.table.selectRow(failed)
    save(journal, "ines-journal")
    journal.reject()
    dialog.reject()

    mlist = MarketingList.create(name="Salon Lyon 2024", entity="contact", list_type="static")
    for contact in [*people, Contact.select().where(Contact.company.is_null()).first()]:
        if contact is not None:
            ListMember.create(mlist=mlist, contact=contact, state="subscribed")
    emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=None,
                    text="Le code postal du client est invalide")
    actions: Any = window.ines_actions  # type: ignore[attr-defined]
    actions.refresh()
    wait_until(lambda: bool(actions.pushable))
    window.show_page("lists")
    window.lists.open_list(mlist.id)
    actions.push(integration.id, [], window, list_id=mlist.id)
    wait_until(lambda: find_dialog("inesPushResult") is not None, timeout=30)
    save(find_dialog("inesPushResult"), "ines-push-result")
    find_dialog("inesPushResult").reject()

    window.close()
    emulator.stop()
    for name in shots:
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
