"""Dotmailer's forms and views in the window.

- ``list_actions``: Connect to Dotmailer / the Dotmailer menu and status on a marketing list page;
- ``connect_dialog``: the Connect To Dotmailer form (Integration, Address Book);
- ``data_fields``: data-field mappings of an integration, creating and deleting data fields;
- ``campaigns_page``: the Email Campaigns section, with statistics, a chart and contact activity;
- ``activity``: the Campaign activity tab of a contact's or a lead's dialog;
- ``jobs``: their work on worker threads, through ``connectors.dotmailer.service``.

``DotmailerExtension`` is what the window's start-up registers (``gui.extensions``): the Email
Campaigns page in the side bar, the list page's Dotmailer actions wired to it, the "Data Fields…"
button of a Dotmailer integration's dialog, the Campaign activity tab of a contact or a lead, and
the demo's Dotmailer emulator.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QPushButton, QWidget

from gui.extensions import GuiExtension, IntegrationPart, SidePage

TYPE_NAME = "dotmailer"
PAGE_KEY = "email_campaigns"


class DotmailerPart(IntegrationPart):
    """A saved Dotmailer integration's dialog: its data-field mappings, one button away."""

    def buttons(self) -> list[QPushButton]:
        if self.dialog.integration is None:
            return []
        fields = QPushButton(self.tr("Data Fields…"))
        fields.setObjectName("dataFieldsButton")
        fields.setAutoDefault(False)
        fields.setToolTip(self.tr("Which ListBridge fields are sent to which Dotmailer data "
                                  "fields"))
        fields.clicked.connect(self.open_data_fields)
        return [fields]

    def open_data_fields(self) -> Any:
        from gui.dotmailer.data_fields import DataFieldsDialog

        if self.dialog.integration is None:
            return None
        dialog = DataFieldsDialog(self.dialog.integration.id, self.dialog)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog


class DotmailerExtension(GuiExtension):
    """Dotmailer in one window (one instance per window: it keeps that window's views)."""

    type_name = TYPE_NAME

    def __init__(self) -> None:
        self.window: Any = None
        self.campaigns_page: Any = None
        self.list_actions: Any = None

    def integration_part(self, dialog: Any) -> IntegrationPart:
        return DotmailerPart(dialog)

    def pages(self, window: Any) -> list[SidePage]:
        from gui.dotmailer.campaigns_page import EmailCampaignsPage

        self.campaigns_page = EmailCampaignsPage(window.sync_bridge)
        return [SidePage(PAGE_KEY, window.tr("Email Campaigns"), "SP_MessageBoxInformation",
                         self.campaigns_page, after="campaigns")]

    def attach(self, window: Any) -> None:
        from gui.dotmailer.list_actions import DotmailerListActions

        self.window = window
        self.list_actions = DotmailerListActions(window.lists.list_page, window.sync_bridge,
                                                 window)
        self.list_actions.campaigns_requested.connect(self.show_campaigns_of_list)

    def show_campaigns_of_list(self, list_id: int) -> None:
        self.window.show_page(PAGE_KEY)
        self.campaigns_page.show_list(list_id)

    def extend_record_dialog(self, dialog: Any) -> None:
        """What a contact or lead did with the email campaigns, by email."""
        if dialog.entity == "company" or not dialog.record_id:
            return
        from gui.dotmailer.activity import CampaignActivityTab

        tab: QWidget = CampaignActivityTab(dialog.entity, dialog.record_id)
        dialog.tabs.addTab(tab, dialog.tr("Campaign activity"))

    def start_demo(self, services: Any) -> int:
        from connectors.demo import start_dotmailer_demo

        return start_dotmailer_demo(services)
