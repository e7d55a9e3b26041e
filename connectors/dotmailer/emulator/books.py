"""Address books and their contacts: E1-E11 and E25."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from connectors.dotmailer.emulator.helpers import (
    _canon,
    _empty_response,
    _valid_email,
)
from connectors.dotmailer.emulator.server import (
    EmulatorCore,
)
from connectors.dotmailer.emulator.state import (
    BOOK_NAME_MAX,
    INVALID_EMAIL,
    VISIBILITIES,
    Book,
    Contact,
    _ApiError,
    _Call,
)


class BooksMixin(EmulatorCore):
    # -- books -----------------------------------------------------------------------------------

    def _book_json(self, book: Book) -> dict[str, Any]:
        return {
            "id": book.id,
            "name": book.name,
            "visibility": book.visibility,
            "contacts": len(self._members(book)),
        }

    def _e_list_books(self, call: _Call) -> Response:
        listed = self._settings["system_books_listed"]
        books = [b for b in self._books(call.account) if listed or not b.system]
        return self._json([self._book_json(b) for b in self._page(books, call, lambda b: b.id)])

    def _e_create_book(self, call: _Call) -> Response:
        body = self._body_object(call)
        name = body.get("name")
        visibility = _canon(body.get("visibility") or "Private", VISIBILITIES)
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > BOOK_NAME_MAX:
            raise self._error("ERROR_PARAMETER_INVALID")
        if visibility is None:
            raise self._error("ERROR_PARAMETER_INVALID")
        if self._book_named(call.account, name) is not None:
            raise self._error("ERROR_ADDRESSBOOK_DUPLICATE")  # includes Test and All Contacts
        book = self._new_book(call.account, name.strip(), visibility)
        return self._json(self._book_json(book), 201)

    def _e_get_book(self, call: _Call) -> Response:
        return self._json(self._book_json(self._book_for(call)))

    def _e_delete_book(self, call: _Call) -> Response:
        self._drop_book(self._book_for(call, writable=True))
        return _empty_response()

    # -- contacts --------------------------------------------------------------------------------

    def _contact_json(self, contact: Contact, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": contact.id,
            "email": contact.email,
            "optInType": contact.opt_in_type,
            "emailType": contact.email_type,
        }
        mode = self._settings["datafields_when_not_full"]
        if full:
            out["dataFields"] = self._data_fields_json(contact)
        elif mode != "omitted":
            out["dataFields"] = [] if mode == "empty" else None
        out["status"] = contact.status
        return out

    def _data_fields_json(self, contact: Contact) -> list[dict[str, Any]]:
        include_unset = self._settings["datafields_include_unset"]
        return [
            {"key": f.name, "value": contact.fields.get(f.name)}
            for f in self._account_fields(contact.account)
            if include_unset or contact.fields.get(f.name) is not None
        ]

    def _contacts_page(
        self, call: _Call, book: Book, rows: Callable[[], list[Contact]], since: datetime | None
    ) -> Response:
        full = self._bool_query(call, "withfulldata")
        if book.system:  # All Contacts lists every contact: not worth keeping in order
            page = self._page(rows(), call, lambda c: c.id)
        else:
            listed = self._settings["unsubscribed_members_listed"]
            state = self._state
            version: Any = state.version("book", book.id)
            if since is not None:
                version = (version, state.version("contacts", book.account))
            page = self._page_cached(
                call, ("contacts", book.id, since, listed), version, rows, lambda c: c.id
            )
        return self._json([self._contact_json(c, full) for c in page])

    def _e_book_contacts(self, call: _Call) -> Response:
        book = self._book_for(call)
        return self._contacts_page(call, book, lambda: [c for c, _m in self._members(book)], None)

    def _e_book_contacts_modified(self, call: _Call) -> Response:
        book = self._book_for(call)
        since = self._date_param(call)

        def rows() -> list[Contact]:
            return [
                c
                for c, m in self._members(book)
                if c.modified > since or (m is not None and m.modified > since)
            ]

        return self._contacts_page(call, book, rows, since)

    def _suppression_json(
        self, contact: Contact, when: datetime | None, reason: str
    ) -> dict[str, Any]:
        same = self._settings["suppressed_contact_status"] == "reason"
        inner = {
            "id": contact.id,
            "email": contact.email,
            "optInType": contact.opt_in_type,
            "emailType": contact.email_type,
            "dataFields": [],
            "status": reason if same else contact.status,
        }
        return {"suppressedContact": inner, "dateRemoved": self._date(when), "reason": reason}

    def _e_book_unsubscribes(self, call: _Call) -> Response:
        book = self._book_for(call)
        since = self._date_param(call)
        rows: list[tuple[Contact, datetime | None, str]] = [
            (self._state.contacts[m.contact], m.unsubscribed_at, "Unsubscribed")
            for m in self._state.members_of(book.id)
            if m.unsubscribed_at is not None and m.unsubscribed_at > since
        ]
        if self._settings["book_unsubscribes_include_account"]:
            seen = {r[0].id for r in rows}
            rows += [
                (c, c.suppressed_at, c.status)
                for c, _m in self._members(book)
                if c.id not in seen and c.suppressed_at is not None and c.suppressed_at > since
            ]
        page = self._page(rows, call, lambda r: r[0].id)
        return self._json([self._suppression_json(*r) for r in page])

    def _e_suppressed_since(self, call: _Call) -> Response:
        since = self._date_param(call)
        rows = [
            c
            for c in self._state.contacts.values()
            if c.account == call.account and c.suppressed_at is not None and c.suppressed_at > since
        ]
        page = self._page(rows, call, lambda c: c.id)
        return self._json([self._suppression_json(c, c.suppressed_at, c.status) for c in page])

    def _remove_members(self, call: _Call, book: Book, ids: list[int]) -> Response:
        keys = [(book.id, i) for i in ids]
        if self._settings["delete_unknown_ids"] == "404" and any(
            k not in self._state.memberships for k in keys
        ):
            raise self._error("ERROR_CONTACT_NOT_FOUND")
        for book_id, contact_id in keys:
            self._state.drop_membership(book_id, contact_id)  # a removal, not an unsubscribe
        return _empty_response()

    def _e_remove_contacts(self, call: _Call) -> Response:
        book = self._book_for(call, writable=True)
        ids = self._body_json(call)
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise self._error("ERROR_PARAMETER_INVALID")
        return self._remove_members(call, book, ids)

    def _e_remove_contact(self, call: _Call) -> Response:
        book = self._book_for(call, writable=True)
        return self._remove_members(call, book, [self._int_param(call, "contact")])

    def _e_get_contact(self, call: _Call) -> Response:
        key = call.params["contact"].strip()
        if key.isdigit():
            found = self._state.contacts.get(int(key))
            contact = found if found is not None and found.account == call.account else None
        elif "@" in key and _valid_email(key.lower()):
            contact = self._contact_by_email(call.account, key)
        else:
            raise _ApiError(int(self._settings["error_status"]), INVALID_EMAIL)
        if contact is None:
            raise self._error("ERROR_CONTACT_NOT_FOUND")
        return self._json(self._contact_json(contact, full=True))
