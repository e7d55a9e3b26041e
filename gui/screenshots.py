"""Screenshots of the main views on a demo profile, for the README and the docs.

    xvfb-run -a python -m gui.screenshots [docs/screenshots]

Each view is shown, given time to load, and grabbed (``QWidget.grab``) into a PNG.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SAMPLE_CSV = (
    "E-Mail;Vorname;Nachname;Firma;Stadt;Land;Newsletter\n"
    "jana.koenig@example.de;Jana;König;Atlas Logistik;Köln;Germany;ja\n"
    "pierre.lambert@example.fr;Pierre;Lambert;Horizon SA;Lille;France;oui\n"
    "kein-at-zeichen.example.de;Ohne;At-Zeichen;;Bonn;Germany;ja\n"
    "sam.okafor@example.co.uk;Sam;Okafor;Blue Ltd;Leeds;United Kingdom;yes\n"
    "lena.fischer@example.de;Lena;Fischer;Kraft GmbH;Dresden;Germany;nein\n"
    "anne@@example.fr;Anne;Doublon;;Rennes;France;non\n"
)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the view did not load in time")
        QCoreApplication.processEvents()
        time.sleep(0.01)


def settle(ms: int = 300) -> None:
    from PySide6.QtCore import QCoreApplication

    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def find_dialog(name: str) -> Any:
    from PySide6.QtWidgets import QApplication, QDialog

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.objectName() == name and widget.isVisible():
            return widget
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    from connectors.base import load_all
    from core.demo import fill_demo_store
    from core.migrations import open_database
    from core.paths import Profile
    from gui.app import make_application

    profile = Profile(Path(tempfile.mkdtemp(prefix="listbridge-shots-")), demo=True).ensure()
    load_all()  # every connector's tables, before the database is opened
    open_database(profile.database)
    fill_demo_store()
    app = make_application()
    app.setStyleSheet(app.styleSheet())

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

    def page(key: str, model: Any) -> None:
        window.show_page(key)
        wait_until(lambda: model.has_loaded() and not model.is_loading())

    page("contacts", window.contacts.model)
    window.contacts.table.selectRow(2)
    save(window, "contacts")
    page("leads", window.leads.model)
    save(window, "leads")
    page("companies", window.companies.model)
    save(window, "companies")
    page("lists", window.lists.overview.model)
    save(window, "marketing-lists")

    from core.models.store import Contact, MarketingList

    newsletter = MarketingList.get(MarketingList.name == "Newsletter subscribers")
    window.lists.open_list(newsletter.id)
    members = window.lists.list_page.members
    assert members is not None
    wait_until(lambda: members.model.has_loaded() and not members.model.is_loading())
    save(window, "marketing-list-page")

    paris = MarketingList.get(MarketingList.name == "Contacts in Paris")
    window.lists.open_list(paris.id)
    members = window.lists.list_page.members
    assert members is not None
    wait_until(lambda: members.model.has_loaded() and not members.model.is_loading())
    window.lists.list_page.recompute()
    wait_until(lambda: "joined" in window.lists.list_page.recompute_result.text())
    wait_until(lambda: not members.model.is_loading())
    save(window, "dynamic-list-page")
    window.lists.show_overview()

    page("campaigns", window.campaigns.campaigns.model)
    window.campaigns.campaigns.table.selectRow(0)
    wait_until(lambda: window.campaigns.activities.model.has_loaded()
               and not window.campaigns.activities.model.is_loading())
    save(window, "campaigns")

    page("contacts", window.contacts.model)
    contact = Contact.select().where(Contact.company.is_null(False)).order_by(Contact.id).first()
    window.contacts.edit_record(contact.id)
    dialog = find_dialog("contactDialog")
    save(dialog, "contact-dialog")
    dialog.tabs.setCurrentIndex(dialog.tabs.count() - 2)
    save(dialog, "contact-dialog-custom-fields")
    dialog.tabs.setCurrentIndex(dialog.tabs.count() - 1)
    save(dialog, "contact-dialog-newsletters")
    dialog.reject()

    window.contacts.new_record()
    dialog = find_dialog("contactDialog")
    dialog.editors["email"].setText("jana.koenig@example")
    dialog.editors["first_name"].setText("Jana")
    dialog.ok_button.click()
    save(dialog, "contact-dialog-invalid-email")
    dialog.reject()

    window.show_page("lists")
    window.lists.overview.edit_record(paris.id)
    dialog = find_dialog("marketingListDialog")
    dialog.filter.add_row({"field": "segment", "op": "in", "value": "Enterprise, SMB"})
    wait_until(lambda: "match" in dialog.filter.preview.text())
    save(dialog, "dynamic-filter-editor")
    dialog.reject()

    source = profile.root / "new-contacts.csv"
    source.write_text(SAMPLE_CSV, encoding="cp1252", errors="replace")
    window.show_page("contacts")
    dialog = window.open_import("contact")
    dialog.file_path.setText(str(source))
    dialog.sniff()
    wait_until(dialog.next_button.isEnabled)
    save(dialog, "import-file")
    dialog.next_button.click()
    dialog.target_list.setCurrentIndex(dialog.target_list.count() - 1)
    dialog.new_list_name.setText("Trade fair Köln")
    save(dialog, "import-mapping")
    dialog.next_button.click()
    wait_until(lambda: dialog.pages.currentIndex() == dialog.RESULT)
    save(dialog, "import-result")
    dialog.accept()

    window.close()
    for name in shots:
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
