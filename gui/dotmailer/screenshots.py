"""Screenshots of the Dotmailer forms and views, on a demo profile and the Dotmailer emulator.

    xvfb-run -a python -m gui.dotmailer.screenshots [docs/screenshots]

Creates the integration through its dialog, connects "Newsletter subscribers" through Connect To
Dotmailer, exports it, sends two campaigns in the emulator, synchronizes, then grabs each view.
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.demo import DemoKeyring as ThrowAwayKeyring
from gui.screenshots import find_dialog, settle, wait_until


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    from connectors.base import REGISTRY, load_all
    from connectors.dotmailer.connector import DotmailerConnector
    from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
    from connectors.dotmailer.sync import Tuning
    from core.demo import fill_demo_store
    from core.migrations import open_database
    from core.paths import Profile
    from gui.app import make_application

    profile = Profile(Path(tempfile.mkdtemp(prefix="listbridge-dm-shots-")), demo=True).ensure()
    load_all()  # every connector's tables, before the database is opened
    open_database(profile.database)
    fill_demo_store()
    import keyring

    keyring.set_keyring(ThrowAwayKeyring())  # the demo's password never reaches the real keyring
    emulator = DotmailerEmulator(base_port=0, now=datetime.now(UTC)).start()
    for name in ("Newsletter", "Partners", "Press contacts", "Events 2026"):
        emulator.add_book(name)
    REGISTRY["dotmailer"] = DotmailerConnector(Tuning(sleep=lambda _s: None))
    app = make_application()
    app.setStyleSheet(app.styleSheet())

    from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox

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

    # The integration dialog, Check Connection done.
    window.show_page("integrations")
    dialog = window.integrations.create_integration()
    kind = dialog.findChild(QComboBox, "field_type")
    kind.setCurrentIndex(kind.findData("dotmailer"))
    dialog.findChild(QLineEdit, "field_name").setText("Dotmailer — newsletters")
    dialog.findChild(QLineEdit, "field_username").setText(DEFAULT_USER)
    dialog.findChild(QLineEdit, "field_password").setText(DEFAULT_PASSWORD)
    dialog.findChild(QLineEdit, "field_api_url").setText(emulator.url)
    dialog.findChild(QSpinBox, "field_schedule").setValue(0)
    dialog.check_connection()
    wait_until(lambda: dialog.check_result.property("outcome") == "success")
    dialog.adjustSize()
    save(dialog, "dotmailer-integration-dialog")
    dialog.accept()
    wait_until(lambda: not dialog.isVisible())

    # Connect To Dotmailer on the list page.
    from core.models.store import Contact, ListMember, MarketingList

    newsletter = MarketingList.get(MarketingList.name == "Newsletter subscribers")
    window.show_page("lists")
    window.lists.open_list(newsletter.id)
    actions = window.dotmailer.list_actions
    wait_until(actions.is_loaded)
    form = actions.open_connect()
    wait_until(lambda: not form.is_busy() and bool(form.book_names()))
    books = form.findChild(QComboBox, "field_address_book")
    books.setCurrentIndex(books.findText("Newsletter"))
    save(form, "dotmailer-connect")
    form.accept()
    wait_until(lambda: actions.connection() is not None
               and actions.connection().exported > 0, timeout=60)

    # Two campaigns sent in Dotmailer, with activity; then Synchronize.
    emails = [c.email for c in Contact.select(Contact.email).join(
        ListMember, on=(ListMember.contact == Contact.id)).where(
        ListMember.mlist == newsletter, ListMember.state == "subscribed").order_by(Contact.id)]
    book = next(b["id"] for b in emulator.snapshot()["books"] if b["name"] == "Newsletter")
    rng = random.Random(3)
    emulator.advance(600)
    now = emulator.now()
    launch = emulator.add_campaign("Product launch", "Sent", [book], subject="Meet ListBridge 2",
                                   date_sent=now - timedelta(days=9))
    spring = emulator.add_campaign("Spring newsletter", "Sent", [book],
                                   subject="What's new this spring",
                                   date_sent=now - timedelta(days=2))
    emulator.add_campaign("Summer offers", "Unsent", [book], subject="Summer offers")
    for campaign, reach in ((spring, 0.55), (launch, 0.4)):
        for email in emails[:160]:
            roll = rng.random()
            if roll < 0.04:
                emulator.add_activity(campaign, email, hard_bounced=roll < 0.015,
                                      soft_bounced=roll >= 0.015)
            elif roll < reach:
                opens = rng.randint(1, 5)
                first = now - timedelta(days=2, hours=-rng.randint(1, 40))
                emulator.add_activity(campaign, email, opens=opens,
                                      clicks=rng.randint(0, opens), page_views=rng.randint(0, 6),
                                      unsubscribed=rng.random() < 0.12, first_opened=first,
                                      last_opened=first + timedelta(hours=rng.randint(0, 30)))
            else:
                emulator.add_activity(campaign, email)
    emulator.advance(600)
    actions.synchronize()
    wait_until(lambda: not window.sync_bridge.running_ids(), timeout=60)
    wait_until(lambda: actions.is_loaded() and not actions.panel.progress.isVisible())
    settle(500)

    # The list page with the Dotmailer menu open.
    members = window.lists.list_page.members
    wait_until(lambda: members.model.has_loaded() and not members.model.is_loading())
    button = actions.menu_button
    menu = actions.menu
    menu.popup(button.mapToGlobal(button.rect().bottomLeft()))
    settle(400)
    from PySide6.QtGui import QPainter

    picture = window.grab()
    painter = QPainter(picture)
    painter.drawPixmap(window.mapFromGlobal(menu.pos()), menu.grab())
    painter.end()
    picture.save(str(out / "dotmailer-list-menu.png"))
    shots.append("dotmailer-list-menu.png")
    menu.hide()

    # Data fields: the defaults and a custom field mapped to a new data field.
    fields = actions.open_data_fields()
    panel = fields.panel
    wait_until(lambda: not panel.is_busy() and panel.data is not None and panel.data.ever_read)
    local = panel.local_combo
    local.setCurrentIndex(local.findData("segment"))
    panel.datafield_combo.setEditText("SEGMENT")
    panel.add_mapping()
    wait_until(lambda: not panel.is_busy()
               and any(r.datafield == "SEGMENT" for r in panel.mappings_model.rows()))
    local.setCurrentIndex(local.findData("lifetime_value"))
    panel.datafield_combo.setEditText("LIFETIME_VALUE")
    save(fields, "dotmailer-data-fields")
    fields.reject()

    # Email Campaigns with the statistics, the chart and the activity.
    window.show_page("email_campaigns")
    page = window.dotmailer.campaigns_page
    wait_until(lambda: page.has_loaded() and page.campaigns_model.rowCount() > 0)
    page.select_campaign("Spring newsletter")
    wait_until(page.detail_loaded)
    save(window, "email-campaigns")

    # A contact's Campaign activity tab.
    from connectors.dotmailer.models import ContactActivity

    opened = [a.email_key for a in ContactActivity.select().where(ContactActivity.num_opens > 1)
              .order_by(ContactActivity.num_clicks.desc(), ContactActivity.id)]
    twice = next((key for key in opened if opened.count(key) > 1), opened[0])
    contact = Contact.get(Contact.email_key == twice)
    window.show_page("contacts")
    window.contacts.edit_record(contact.id)
    dialog = find_dialog("contactDialog")
    tabs = dialog.tabs
    tabs.setCurrentIndex(tabs.count() - 1)
    tab = tabs.currentWidget()
    wait_until(tab.has_loaded)
    dialog.resize(max(dialog.width(), 1120), dialog.height())
    save(dialog, "contact-campaign-activity")
    dialog.reject()

    window.close()
    emulator.stop()
    for name in shots:
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
