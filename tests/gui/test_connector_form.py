"""The form built from a connector's ``FormField``s, its "oauth" field kind, and the extension
registry that adds a connector's tabs to the generic integration dialog (``gui.extensions``).

A small fake connector declares a "Connect with the service's sign-in page" field; the widget
emits a request to connect and shows the state it is given (the sign-in flow itself belongs to
the connector that needs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QTabWidget, QWidget

from connectors.base import BaseConnector, CheckResult, FormField, register, unregister
from gui.connector_form import CONNECTED, NOT_CONNECTED, RECONNECT, ConnectorForm, OAuthButton
from gui.extensions import ExtensionRegistry, GuiExtension, IntegrationPart, registry_of
from gui.integration_dialog import IntegrationDialog
from tests.gui.helpers import child


class SignInConnector(BaseConnector):
    type_name = "signin"
    label = "Sign-in Service"

    def form_fields(self) -> list[FormField]:
        return [FormField("account", "Account", kind="oauth", required=True,
                          help="The account ListBridge acts as.")]

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        return CheckResult(True, f"Signed in as {settings.get('account')}")


@pytest.fixture
def signin() -> Iterator[SignInConnector]:
    connector = SignInConnector()
    register(connector)
    yield connector
    unregister("signin")


def test_the_oauth_field_asks_to_connect_and_shows_the_state_it_is_given(
        qtbot: Any, profile: Any, signin: SignInConnector) -> None:
    form = ConnectorForm()
    qtbot.addWidget(form)
    form.set_connector(signin)
    form.show()
    button = child(form, OAuthButton, "field_account")
    state = child(button, QLabel, "oauthState")
    assert state.text() == "Not connected"
    assert "Connect with Sign-in Service" in button.button.text()
    assert not form.check_button.isVisible()  # nothing to check before the sign-in
    assert form.validate() == {"account": "Account is required."}

    with qtbot.waitSignal(form.oauth_requested) as asked:
        button.button.click()
    assert asked.args == ["account"]

    form.set_oauth_state("account", CONNECTED, "ada@example.com")
    assert state.text() == "✓ Connected as ada@example.com"
    assert state.property("outcome") == "success"
    assert form.field_values() == {"account": "ada@example.com"}
    assert form.validate() == {}
    assert form.check_button.isVisible()
    assert form.settings_and_secrets() == ({"account": "ada@example.com"}, {})

    form.set_oauth_state("account", RECONNECT, "ada@example.com")
    assert state.text().startswith("Reconnect needed")
    assert "Reconnect with Sign-in Service" in button.button.text()
    assert form.field_values() == {"account": ""}
    assert not form.check_button.isVisible()

    form.set_value("account", "")  # a saved integration without an account
    assert button.state == NOT_CONNECTED


def test_check_connection_runs_the_connectors_check(qtbot: Any, profile: Any,
                                                    signin: SignInConnector) -> None:
    form = ConnectorForm()
    qtbot.addWidget(form)
    form.set_connector(signin)
    form.set_oauth_state("account", CONNECTED, "ada@example.com")
    with qtbot.waitSignal(form.checked, timeout=5000) as answered:
        form.check_connection()
    assert answered.args[0].ok
    assert form.check_result.text() == "✓ Signed in as ada@example.com"
    assert form.check_outcome() == "success"
    form.set_oauth_state("account", CONNECTED, "bob@example.com")  # a change: the answer is old
    assert form.check_outcome() == ""


class TabPart(IntegrationPart):
    main_tab_title = "Sign-in"

    def tabs(self) -> list[tuple[QWidget, str]]:
        tab = QWidget()
        tab.setObjectName("signinExtraTab")
        return [(tab, "Extra")]

    def buttons(self) -> list[QPushButton]:
        extra = QPushButton("Extra…")
        extra.setObjectName("signinExtraButton")
        return [extra]


class SignInExtension(GuiExtension):
    type_name = "signin"

    def integration_part(self, dialog: Any) -> IntegrationPart:
        return TabPart(dialog)


def test_an_extension_adds_its_tabs_to_the_generic_dialog_while_its_type_is_chosen(
        qtbot: Any, window: Any, signin: SignInConnector) -> None:
    registry = ExtensionRegistry([SignInExtension()])
    dialog = IntegrationDialog(parent=window, extensions=registry)
    qtbot.addWidget(dialog)
    dialog.show()
    tabs = child(dialog, QTabWidget, "integrationTabs")
    assert not tabs.isVisible()  # no type yet: the plain form
    combo = child(dialog, QComboBox, "field_type")
    combo.setCurrentIndex(combo.findData("signin"))
    assert tabs.isVisible()
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Sign-in", "Extra"]
    assert tabs.widget(0) is dialog.main and dialog.findChild(OAuthButton, "field_account")
    assert dialog.findChild(QPushButton, "signinExtraButton") is not None
    assert isinstance(dialog.part(TabPart), TabPart)

    combo.setCurrentIndex(0)  # back to no type: the part and its widgets go
    qtbot.waitUntil(lambda: dialog.findChild(QWidget, "signinExtraTab") is None)
    assert not tabs.isVisible() and tabs.count() == 0
    assert dialog.main.isVisibleTo(dialog)
    assert dialog.findChild(QPushButton, "signinExtraButton") is None
    assert dialog.parts == []


def test_the_registry_is_the_windows_and_adds_nothing_for_unknown_types(window: Any) -> None:
    assert registry_of(window) is window.extensions
    assert {e.type_name for e in window.extensions} == {"dotmailer", "ines"}
    assert registry_of(None).get("dotmailer").integration_part(None) is None
    nothing = window.extensions.get("nosuchtype")
    assert nothing.pages(window) == [] and nothing.open_journal(window, 1) is None
    with pytest.raises(ValueError):
        ExtensionRegistry([GuiExtension()])
