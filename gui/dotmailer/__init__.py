"""Dotmailer's forms and views in the window.

- ``list_actions``: Connect to Dotmailer / the Dotmailer menu and status on a marketing list page;
- ``connect_dialog``: the Connect To Dotmailer form (Integration, Address Book);
- ``data_fields``: data-field mappings of an integration, creating and deleting data fields;
- ``campaigns_page``: the Email Campaigns section, with statistics, a chart and contact activity;
- ``activity``: the Campaign activity tab of a contact's or a lead's dialog;
- ``jobs``: their work on worker threads, through ``connectors.dotmailer.service``.

``DotmailerViews`` is what the main window builds: the Email Campaigns page, and the list page's
Dotmailer actions wired to it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from gui.sync_bridge import SyncBridge


class DotmailerViews(QObject):
    """The window's Dotmailer parts: ``campaigns_page`` and ``list_actions``.

    ``window`` needs ``show_page(key)``; the page is expected under the key "email_campaigns".
    """

    PAGE_KEY = "email_campaigns"

    def __init__(self, window: Any, list_page: Any, bridge: SyncBridge) -> None:
        super().__init__(window)
        from gui.dotmailer.campaigns_page import EmailCampaignsPage
        from gui.dotmailer.list_actions import DotmailerListActions

        self.setObjectName("dotmailerViews")
        self.window = window
        self.campaigns_page = EmailCampaignsPage(bridge)
        self.list_actions = DotmailerListActions(list_page, bridge, self)
        self.list_actions.campaigns_requested.connect(self.show_campaigns_of_list)

    def show_campaigns_of_list(self, list_id: int) -> None:
        self.window.show_page(self.PAGE_KEY)
        self.campaigns_page.show_list(list_id)
