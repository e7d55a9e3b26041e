"""Connect To Dotmailer: a marketing list's Integration and Address Book.

The Address Book selector offers only what ``service.connectable_books`` allows: never All
Contacts or Test, never a book connected to another list (the list's own book stays, for
Connection Settings). Books come from what the last sync stored; a new integration that has not
read its books yet reads them at once, and the refresh button reads them again, on a worker
thread with a busy indicator. Saving connects (or moves) the list on a worker thread too; the
caller then starts the export (``connected``).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.dotmailer import jobs
from gui.dotmailer.guard import guarded
from gui.widgets import ErrorLabel, combo_select_data, mark_invalid, std_icon
from gui.workers import start_job


def required(text: str) -> str:
    return f"{html.escape(text)}<span style='color:#c5221f'>&nbsp;*</span>"


class ConnectDialog(QDialog):
    """``connected(integration_id, book_name)`` once the list is connected (or moved)."""

    connected = Signal(int, str)

    def __init__(self, state: jobs.ListState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dotmailerConnectDialog")
        self.list_id = state.list_id
        self.current = state.connection
        self._generation = 0
        self._refreshed: set[int] = set()  # integrations whose books were read in this dialog
        self._saving = False
        self._filled_for: int | None = None  # the integration whose books the selector shows
        self.setWindowTitle(self.tr("Connect To Dotmailer") if self.current is None
                            else self.tr("Dotmailer Connection Settings"))
        self.setMinimumWidth(520)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        intro = QLabel(self.tr("Connect the marketing list “{0}” to a Dotmailer address book. "
                               "Each list connects to one address book, and each address book "
                               "to one list.").format(html.escape(state.list_name)))
        intro.setObjectName("connectIntro")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.error = ErrorLabel()
        layout.addWidget(self.error)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.integration_combo = QComboBox()
        self.integration_combo.setObjectName("field_integration")
        self.integration_combo.setToolTip(self.tr("The Dotmailer integration whose account holds "
                                                  "the address book."))
        for choice in state.integrations:
            label = choice.name if not choice.detail else self.tr("{0} (inactive)").format(
                choice.name)
            self.integration_combo.addItem(label, choice.id)
        form.addRow(self._label(self.tr("Integration")), self.integration_combo)

        book_row = QWidget()
        row = QHBoxLayout(book_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.book_combo = QComboBox()
        self.book_combo.setObjectName("field_address_book")
        self.book_combo.setMinimumWidth(260)
        self.book_combo.setToolTip(self.tr(
            "The address books created in Dotmailer that no other list uses. All Contacts and "
            "Test, which Dotmailer makes itself, are never offered."))
        self.refresh_button = QToolButton()
        self.refresh_button.setObjectName("refreshBooksButton")
        self.refresh_button.setIcon(std_icon("SP_BrowserReload"))
        self.refresh_button.setToolTip(self.tr("Read the address books from Dotmailer again"))
        self.refresh_button.clicked.connect(self.refresh_books)
        self.busy = QProgressBar()
        self.busy.setObjectName("booksBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setFixedWidth(70)
        self.busy.hide()
        row.addWidget(self.book_combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.busy)
        form.addRow(self._label(self.tr("Address Book")), book_row)
        layout.addLayout(form)

        self.books_note = QLabel()
        self.books_note.setObjectName("booksNote")
        self.books_note.setWordWrap(True)
        self.books_note.setStyleSheet("color: #5b6270;")
        layout.addWidget(self.books_note)
        self.export_note = QLabel(self.tr(
            "After saving, the list's members are exported to the address book at once, then "
            "kept in step at every synchronization."))
        self.export_note.setObjectName("exportNote")
        self.export_note.setWordWrap(True)
        self.export_note.setStyleSheet("color: #5b6270;")
        layout.addWidget(self.export_note)
        layout.addStretch(1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setText(self.tr("Connect") if self.current is None else self.tr("Save"))
        self.ok_button.setProperty("primary", True)
        self.ok_button.setIcon(QIcon())
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        if self.current is not None:
            combo_select_data(self.integration_combo, self.current.integration_id)
        self.integration_combo.currentIndexChanged.connect(lambda _i: self.load_books())
        self.load_books()

    def _label(self, text: str) -> QLabel:
        label = QLabel(required(text))
        label.setTextFormat(Qt.TextFormat.RichText)
        return label

    # -- the address books ---------------------------------------------------------------------

    def integration_id(self) -> int | None:
        value = self.integration_combo.currentData()
        return int(value) if value is not None else None

    def book_names(self) -> list[str]:
        return [self.book_combo.itemText(i) for i in range(self.book_combo.count())
                if self.book_combo.itemData(i) is not None]

    def is_busy(self) -> bool:
        return self.busy.isVisible() or self._saving

    def load_books(self) -> None:
        """The books stored for the chosen integration; read them from Dotmailer if never read."""
        integration_id = self.integration_id()
        if integration_id is None:
            return
        self._start(jobs.local_books, integration_id, self.tr("Loading the address books…"))

    def refresh_books(self) -> None:
        integration_id = self.integration_id()
        if integration_id is None:
            return
        self._refreshed.add(integration_id)
        self._start(jobs.refresh_books, integration_id,
                    self.tr("Reading the address books from Dotmailer…"))

    def _start(self, func: object, integration_id: int, text: str) -> None:
        self._generation += 1
        generation = self._generation
        self.busy.show()
        self.refresh_button.setEnabled(False)
        self.ok_button.setEnabled(False)
        self.books_note.setText(text)
        start_job(func, integration_id, self.list_id,  # type: ignore[arg-type]
                  on_done=guarded(self, lambda books: self._books_in(generation, books)),
                  on_failed=self._books_failed)

    def _books_in(self, generation: int, books: jobs.Books) -> None:
        if generation != self._generation or books.integration_id != self.integration_id():
            return  # the admin chose another integration meanwhile
        if not books.ever_read and books.integration_id not in self._refreshed:
            self.refresh_books()  # a new integration: its books were never read
            return
        self._done_loading()
        self._fill(books)

    def _books_failed(self, message: str, _trace: str) -> None:
        self._done_loading()
        self.error.show_error(self.tr("The address books could not be read: {0}").format(message))

    def _done_loading(self) -> None:
        self.busy.hide()
        self.refresh_button.setEnabled(True)
        self.ok_button.setEnabled(not self._saving)

    def _fill(self, books: jobs.Books) -> None:
        chosen = self.book_combo.currentData() if self._filled_for == books.integration_id \
            else None
        if chosen is None and self.current is not None \
                and self.current.integration_id == books.integration_id:
            chosen = self.current.book_id
        self._filled_for = books.integration_id
        self.book_combo.clear()
        self.book_combo.addItem(self.tr("Choose an address book…"), None)
        for book in books.books:
            self.book_combo.addItem(book.name, book.id)
            if book.detail:
                self.book_combo.setItemData(self.book_combo.count() - 1,
                                            self.tr("{0} contacts in Dotmailer").format(
                                                book.detail), Qt.ItemDataRole.ToolTipRole)
        combo_select_data(self.book_combo, chosen)
        if books.message:
            self.error.show_error(books.message)
        else:
            self.error.clear_error()
        if not books.books:
            self.books_note.setText(self.tr(
                "No address book is free to connect. Create one in Dotmailer (Contacts › Address "
                "books), then press the refresh button."))
        else:
            self.books_note.setText(self.tr("{0} address books free to connect.").format(
                len(books.books)))

    # -- saving --------------------------------------------------------------------------------

    def accept(self) -> None:
        if self.is_busy():
            return
        integration_id = self.integration_id()
        book_id = self.book_combo.currentData()
        mark_invalid(self.integration_combo, integration_id is None)
        mark_invalid(self.book_combo, book_id is None)
        if integration_id is None or book_id is None:
            self.error.show_error(self.tr("Choose the integration and the address book."))
            return
        self._saving = True
        self.ok_button.setEnabled(False)
        self.ok_button.setText(self.tr("Connecting…"))
        start_job(jobs.connect, self.list_id, integration_id, int(book_id),
                  on_done=self._saved, on_failed=self._save_failed)

    def _saved(self, outcome: jobs.Outcome) -> None:
        self._saving = False
        self.ok_button.setText(self.tr("Connect") if self.current is None else self.tr("Save"))
        self.ok_button.setEnabled(True)
        if not outcome.ok:
            self.error.show_error(outcome.message)
            return
        self.connected.emit(int(outcome.value), outcome.message)
        super().accept()

    def _save_failed(self, message: str, _trace: str) -> None:
        self._saving = False
        self.ok_button.setEnabled(True)
        self.ok_button.setText(self.tr("Connect") if self.current is None else self.tr("Save"))
        self.error.show_error(self.tr("The list could not be connected: {0}").format(message))
