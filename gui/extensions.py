"""One way into the window for every connector: a registry of ``GuiExtension`` by connector type.

The generic window (the Integrations page, the Create/Edit Integration dialog, the record dialog,
the marketing list page, the Journal, the side bar) knows no connector by name. What a connector
adds is asked of its extension:

- ``integration_part(dialog)``: an ``IntegrationPart`` for the integration dialog (extra tabs, a
  banner above them, widgets under the form, buttons, what is saved beside the form);
- ``attach(window)``: once, when the main window is built: its actions on the Contacts page, the
  marketing list page, the Journal page; ``pages(window)``: its own pages in the side bar;
- ``extend_record_dialog(dialog)``: buttons and tabs of the contact/lead/company dialog;
- ``open_journal(parent, integration_id)``: its own journal view (None: the Journal page);
- ``start_demo(services)``: its demo start-up (``connectors.demo``).

Nothing registers itself at import time: ``builtin_extensions()`` is called by the window's
start-up (``gui.app.run_window``, or ``MainWindow`` when given none), and the registry lives on
the main window (``registry_of(widget)`` finds it from any widget of that window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton, QWidget


@dataclass(frozen=True)
class SidePage:
    """A page of the side bar an extension adds (placed after the page ``after``)."""

    key: str
    title: str
    icon: str  # a QStyle.StandardPixmap name
    widget: QWidget
    after: str = "campaigns"


class IntegrationPart(QObject):
    """What one connector adds to the Create/Edit Integration dialog while it is the type chosen.

    The dialog asks for its widgets once (``header``, ``tabs``, ``main_widgets``, ``buttons``),
    calls ``loaded()`` once the saved values are in the form, ``checked(result)`` after each
    Check Connection, runs ``save_job()`` on the worker after the integration is saved, and
    ``dispose()`` when another type is chosen or the dialog closes. The default adds nothing.
    """

    #: the title of the dialog's first tab, when the part adds tabs
    main_tab_title = "Settings"

    def __init__(self, dialog: Any) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self._owned: list[QWidget] = []

    def own(self, widget: QWidget) -> QWidget:
        """Keep ``widget`` to delete it when the part goes."""
        self._owned.append(widget)
        return widget

    def header(self) -> QWidget | None:
        """A banner above the tabs (and the form)."""
        return None

    def tabs(self) -> list[tuple[QWidget, str]]:
        """Extra tabs after the form's, as (widget, title)."""
        return []

    def main_widgets(self) -> list[QWidget]:
        """Widgets under the form, on its tab."""
        return []

    def buttons(self) -> list[QPushButton]:
        """Buttons of the dialog's button row (beside Save and Cancel)."""
        return []

    def loaded(self) -> None:
        """The form holds the saved values (or a new integration's defaults)."""

    def checked(self, result: Any) -> None:
        """Check Connection answered (a ``CheckResult``, or what the part's check job returns)."""

    def validate(self) -> dict[str, str]:
        """Errors the part finds before saving."""
        return {}

    def save_job(self) -> Callable[[Any], str] | None:
        """A plain function run on the worker thread with the saved ``Integration``, saving what
        the part holds; it returns a message for the admin when that was refused ("" when fine).
        Built on the GUI thread from the widgets' values."""
        return None

    def save_refused(self, message: str) -> None:
        """The integration was saved but ``save_job`` refused something: the dialog stays open."""

    def dispose(self) -> None:
        for widget in self._owned:
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        self._owned.clear()
        self.deleteLater()


class GuiExtension:
    """What one connector type adds to the window; every hook adds nothing by default."""

    type_name = ""

    def integration_part(self, dialog: Any) -> IntegrationPart | None:
        return None

    def pages(self, window: Any) -> list[SidePage]:
        return []

    def attach(self, window: Any) -> None:
        """Called once the main window has built its pages."""

    def detach(self, window: Any) -> None:
        """Called when the main window closes: undo what ``attach`` hooked outside the window."""

    def extend_record_dialog(self, dialog: Any) -> None:
        """Called with each new record dialog once built."""

    def open_journal(self, parent: QWidget, integration_id: int) -> Any:
        """Open this connector's own journal of the integration; None: the Journal page."""
        return None

    def start_demo(self, services: Any) -> int | None:
        """Start the demo emulator and create the demo integration; its id."""
        return None


class ExtensionRegistry:
    """The extensions of one window, by connector type."""

    def __init__(self, extensions: list[GuiExtension] | None = None) -> None:
        self._by_type: dict[str, GuiExtension] = {}
        self._none = GuiExtension()
        for extension in extensions or []:
            self.register(extension)

    def register(self, extension: GuiExtension) -> GuiExtension:
        if not extension.type_name:
            raise ValueError("A GUI extension needs the type name of its connector.")
        self._by_type[extension.type_name] = extension
        return extension

    def get(self, type_name: str | None) -> GuiExtension:
        """The extension of this connector type (one that adds nothing when there is none)."""
        return self._by_type.get(type_name or "", self._none)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._by_type

    def __iter__(self) -> Iterator[GuiExtension]:
        return iter(list(self._by_type.values()))

    def __getitem__(self, type_name: str) -> GuiExtension:
        return self._by_type[type_name]

    def integration_parts(self, type_name: str | None, dialog: Any) -> list[IntegrationPart]:
        part = self.get(type_name).integration_part(dialog)
        return [part] if part is not None else []

    def extend_record_dialog(self, dialog: Any) -> None:
        for extension in self:
            extension.extend_record_dialog(dialog)

    def open_journal(self, type_name: str, parent: QWidget, integration_id: int) -> Any:
        return self.get(type_name).open_journal(parent, integration_id)


def registry_of(widget: QWidget | None) -> ExtensionRegistry:
    """The registry of the main window ``widget`` belongs to (an empty one outside a window)."""
    while widget is not None:
        registry = getattr(widget, "extensions", None)
        if isinstance(registry, ExtensionRegistry):
            return registry
        widget = widget.parentWidget()
    return ExtensionRegistry()
