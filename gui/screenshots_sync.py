"""Screenshots of the sync views: the Integrations grid, the Create Integration form after Check
Connection, the progress panel during a run, and the Journal with a failed row.

    dbus-run-session -- xvfb-run -a python -m gui.screenshots_sync [docs/screenshots]

(with GNOME Keyring unlocked in that session, as ``packaging/run-tests.sh`` does, the form names
the real keyring; without a secure keyring an in-memory one stands in). Everything runs against
the Dotmailer emulator in this process, on a throw-away demo profile.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from gui.screenshots import find_dialog, settle, wait_until

FAILING = "contact.failing@example.com"  # refused by every import: FAILED after three tries
FLAKY = "contact.flaky@example.com"  # refused once, then accepted


def use_a_keyring() -> None:
    import keyring

    from connectors.demo import DemoKeyring
    from core import secrets

    try:
        secrets.ensure_keyring()
        return
    except secrets.NoKeyringError:
        pass

    print("No secure keyring here: an in-memory one stands in for the screenshots.")
    keyring.set_keyring(DemoKeyring())


def prepare(emulator: Any, connector: Any) -> tuple[Any, Any]:
    """A Dotmailer integration that synchronized three times (one contact failing each time) and
    an INES CRM integration not yet used; returns the Dotmailer integration and a big list."""
    from connectors.base import get_connector
    from connectors.dotmailer import service
    from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER
    from core.integrations import create_integration
    from core.lists import add_members
    from core.models.store import Contact, MarketingList
    from core.store import save_record
    from core.sync.queue import RetryPolicy
    from core.sync.runner import EngineOptions, run_sync

    newsletter = MarketingList.get(MarketingList.name == "Newsletter subscribers")
    extra = [save_record(Contact(email=email, first_name=first, last_name="Example"))
             for email, first in ((FAILING, "Failing"), (FLAKY, "Flaky"))]
    add_members(newsletter, [c.id for c in extra])
    book = emulator.add_book("Newsletter")
    integration = create_integration(connector, "Dotmailer — newsletters", {
        "username": DEFAULT_USER, "password": DEFAULT_PASSWORD, "api_url": emulator.url})
    service.refresh_books(integration)
    service.connect_list(newsletter, integration, book)
    fault = ["Failures"]
    emulator.script_imports([{"faults": [[FAILING, *fault], [FLAKY, *fault]]},
                             {"faults": [[FAILING, *fault]]}, {},
                             {"faults": [[FAILING, *fault]]}])
    quick = EngineOptions(retry_policy=RetryPolicy(base=timedelta(0)), retry_later=timedelta(0))
    for _ in range(3):
        run_sync(integration, connector, options=quick)
    create_integration(get_connector("ines"), "INES CRM — sales", {
        "account": "ACME", "username": "marketing", "password": "Ines-Pa55word",
        "api_url": "https://webservices.inescrm.com/"}, active=False)

    big = MarketingList.create(name="Every contact", entity="contact")
    people = list(Contact.select(Contact.id, Contact.email).where(Contact.email.is_null(False))
                  .tuples())
    add_members(big, [c for c, _email in people])
    big_book = emulator.add_book("Every contact")
    for _id, email in people:  # already in Dotmailer: the first sync reads them page by page
        try:
            emulator.add_contact(email, books=[big_book])
        except ValueError:  # in Dotmailer already (the newsletter): only join the book
            emulator.add_to_book(big_book, email)
    service.refresh_books(integration)
    return integration, (big, big_book)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    from connectors.base import load_all, register
    from connectors.dotmailer import service
    from connectors.dotmailer.client import forget_discoveries
    from connectors.dotmailer.connector import DotmailerConnector
    from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
    from connectors.dotmailer.sync import Tuning
    from core.demo import fill_demo_store
    from core.migrations import open_database
    from core.paths import Profile
    from gui.app import make_application

    use_a_keyring()
    profile = Profile(Path(tempfile.mkdtemp(prefix="listbridge-shots-")), demo=True).ensure()
    load_all()  # every connector's tables, before the database is opened
    open_database(profile.database)
    fill_demo_store(people=6000)
    forget_discoveries()
    emulator = DotmailerEmulator(base_port=0).start()
    connector = DotmailerConnector(Tuning(poll_delays=(0.2, 0.5, 1.0)))
    register(connector)
    integration, (big, big_book) = prepare(emulator, connector)

    _app = make_application()  # kept alive for the whole run
    from gui.mainwindow import MainWindow

    window = MainWindow(profile)
    window.resize(1280, 800)
    window.show()
    shots: list[str] = []

    def save(widget: Any, name: str) -> None:
        settle()
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        shots.append(path.name)

    page = window.integrations
    window.show_page("integrations")
    wait_until(lambda: page.has_loaded() and page.model.rowCount() == 2)
    page.table.select_id(integration.id)
    save(window, "integrations")

    dialog = page.create_integration()
    wait_until(lambda: find_dialog("integrationDialog") is not None)
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("dotmailer"))
    dialog.name_edit.setText("Dotmailer — events")
    dialog.rows["username"].editor.setText(DEFAULT_USER)
    dialog.rows["password"].editor.setText(DEFAULT_PASSWORD)
    dialog.show_advanced(True)
    dialog.rows["api_url"].editor.setText(emulator.url)
    settle(100)
    dialog.check_connection()
    wait_until(lambda: not dialog.is_checking() and dialog.check_result.isVisible())
    save(dialog, "integration-dialog")
    dialog.reject()

    service.connect_list(big, integration, big_book)
    # A slow network: each page of the book's contacts takes a second, long enough to look.
    emulator.inject("GET", "address-books/*/contacts*", times=10, delay=1.0)
    window.sync_bridge.request_run(integration.id)
    wait_until(lambda: any("Starting" not in p.step_label.text()
                           for p in page.panels.values()), timeout=60)
    try:  # a step that knows how far it is shows a bar that fills; others a busy bar
        wait_until(lambda: any(0 < p.bar.value() < p.bar.maximum()
                               for p in page.panels.values()), timeout=20)
    except TimeoutError:
        pass
    save(window, "sync-progress")
    wait_until(lambda: not window.sync_bridge.running_ids(), timeout=120)

    journal = window.journal
    window.show_page("journal")
    wait_until(lambda: journal.has_loaded() and journal.queue_model.rowCount() > 0)
    failed = [r for r in journal.queue_model.rows() if r.state == "failed"]
    if failed:
        journal.table.select_id(failed[0].id)
    save(window, "journal")

    window.close()
    emulator.stop()
    for name in shots:
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
