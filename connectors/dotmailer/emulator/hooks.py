"""Test hooks that shape the data (§5.4): users, books, contacts, campaigns, fields, imports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.dotmailer.emulator.helpers import (
    _as_datetime,
    _canon,
)
from connectors.dotmailer.emulator.server import (
    EmulatorCore,
    _locked,
)
from connectors.dotmailer.emulator.state import (
    CAMPAIGN_STATUSES,
    DEPENDENCY_TYPES,
    EMAIL_TYPES,
    FIELD_TYPES,
    IMPORT_FINAL_STATUSES,
    OPT_IN_TYPES,
    REGIONS,
    REPLY_ACTIONS,
    SUPPRESSION_REASONS,
    VISIBILITIES,
    Activity,
    Campaign,
    Contact,
    DataField,
    User,
)


class HookMixin(EmulatorCore):
    @_locked
    def add_user(
        self, username: str, password: str, account: int | None = None, region: int | None = None
    ) -> int:
        account_id = self._ensure_account(
            account if account is not None else self._default_account()
        )
        if region is not None:
            self.set_region(account_id, region)
        self._state.users[username.lower()] = User(username, password, account_id)
        return account_id

    @_locked
    def set_region(self, account: int | None, region: int) -> None:
        if region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}")
        self._account(account).region = region

    # -- remote edits ---------------------------------------------------------------------------

    @_locked
    def add_book(self, name: str, visibility: str = "Private", account: int | None = None) -> int:
        account_id = self._account(account).id
        if self._book_named(account_id, name) is not None:
            raise ValueError(f"an address book named {name!r} exists")
        return self._new_book(account_id, name, _canon(visibility, VISIBILITIES) or "Private").id

    @_locked
    def delete_book(self, book: int | str, account: int | None = None) -> None:
        target = self._book_ref(book, account)
        if target.system:
            raise ValueError("system address books cannot be deleted")
        self._drop_book(target)

    @_locked
    def add_contact(
        self,
        email: str,
        fields: Mapping[str, Any] | None = None,
        status: str = "Subscribed",
        books: Iterable[int | str] = (),
        opt_in_type: str = "Single",
        email_type: str = "Html",
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> int:
        account_id = self._account(account).id
        address = email.strip().lower()
        if self._contact_by_email(account_id, address) is not None:
            raise ValueError(f"contact {address} exists")
        when = _as_datetime(at) or self.now()
        targets = [self._book_ref(book, account_id) for book in books]
        contact = Contact(
            0,
            account_id,
            address,
            when,
            opt_in_type=self._enum(opt_in_type, OPT_IN_TYPES),
            email_type=self._enum(email_type, EMAIL_TYPES),
        )
        self._set_fields(contact, fields or {})
        self._set_status(contact, status, when)
        # Validated in full above: only now does the contact take an id and exist.
        contact.id = self._state.next_id("contact")
        self._state.add_contact(contact)
        for book in targets:
            self._join(book, contact, when)
        return contact.id

    @_locked
    def update_contact(
        self,
        contact: int | str,
        fields: Mapping[str, Any] | None = None,
        status: str | None = None,
        email: str | None = None,
        opt_in_type: str | None = None,
        email_type: str | None = None,
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> None:
        target = self._contact_ref(contact, account)
        when = _as_datetime(at) or self.now()
        if email is not None:
            self._state.rename_contact(target, email.strip().lower())
        if opt_in_type is not None:
            target.opt_in_type = self._enum(opt_in_type, OPT_IN_TYPES)
        if email_type is not None:
            target.email_type = self._enum(email_type, EMAIL_TYPES)
        self._set_fields(target, fields or {})
        if status is not None:
            self._set_status(target, status, when)
        target.modified = when
        self._state.changed("contacts", target.account)

    @_locked
    def add_to_book(
        self,
        book: int | str,
        email: str,
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> None:
        target = self._contact_ref(email, account)
        self._join(self._book_ref(book, target.account), target, _as_datetime(at) or self.now())

    @_locked
    def unsubscribe_from_book(
        self,
        book: int | str,
        email: str,
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> None:
        """A book-level unsubscribe: E8 reports it; the account-wide status stays."""
        member = self._membership(book, email, account)
        when = _as_datetime(at) or self.now()
        member.unsubscribed_at = when
        member.modified = when
        self._state.changed("book", member.book)

    @_locked
    def suppress(
        self, email: str, reason: str, at: datetime | str | None = None, account: int | None = None
    ) -> None:
        """An account-wide suppression: E9 reports it and the contact takes the reason as status."""
        canonical = _canon(reason, SUPPRESSION_REASONS)
        if canonical is None:
            raise ValueError(f"reason must be one of {SUPPRESSION_REASONS}")
        target = self._contact_ref(email, account)
        when = _as_datetime(at) or self.now()
        target.status = canonical
        target.suppressed_at = when
        target.modified = when
        self._state.changed("contacts", target.account)

    @_locked
    def remove_from_book(self, book: int | str, email: str, account: int | None = None) -> None:
        """A silent removal: the contact leaves E6 and never shows in E8."""
        member = self._membership(book, email, account)
        self._state.drop_membership(member.book, member.contact)

    @_locked
    def add_campaign(
        self,
        name: str,
        status: str = "Sent",
        books: Iterable[int | str] = (),
        date_sent: datetime | str | None = None,
        subject: str | None = None,
        from_name: str = "ListBridge Demo",
        reply_action: str = "Webmail",
        account: int | None = None,
    ) -> int:
        account_id = self._account(account).id
        canonical = self._enum(status, CAMPAIGN_STATUSES)
        sent = _as_datetime(date_sent) or (self.now() if canonical == "Sent" else None)
        campaign_id = self._state.next_id("campaign")
        campaign = Campaign(
            campaign_id,
            account_id,
            name,
            subject or name,
            from_name,
            from_address_id=6141,
            from_email="news@listbridge-demo.example",
            status=canonical,
            books=[self._book_ref(b, account_id).id for b in books],
            date_sent=sent,
            reply_action=self._enum(reply_action, REPLY_ACTIONS),
        )
        self._state.campaigns[campaign_id] = campaign
        return campaign_id

    @_locked
    def set_campaign_status(
        self, campaign: int | str, status: str, date_sent: datetime | str | None = None
    ) -> None:
        target = self._campaign_ref(campaign)
        target.status = self._enum(status, CAMPAIGN_STATUSES)
        if date_sent is not None or (target.status == "Sent" and target.date_sent is None):
            target.date_sent = _as_datetime(date_sent) or self.now()

    @_locked
    def add_activity(
        self,
        campaign: int | str,
        email: str,
        opens: int = 0,
        clicks: int = 0,
        first_opened: datetime | str | None = None,
        last_opened: datetime | str | None = None,
        page_views: int = 0,
        forwards: int = 0,
        estimated_forwards: int = 0,
        replies: int = 0,
        unsubscribed: bool = False,
        soft_bounced: bool = False,
        hard_bounced: bool = False,
        first_open_ip: str | None = None,
        date_sent: datetime | str | None = None,
        at: datetime | str | None = None,
    ) -> None:
        """Set a contact's activity on a campaign; ``at`` (default now) is its last activity."""
        target = self._campaign_ref(campaign)
        contact = self._contact_ref(email, target.account)
        first = _as_datetime(first_opened)
        self._state.put_activity(
            Activity(
                target.id,
                contact.id,
                contact.email,
                _as_datetime(at) or self.now(),
                opens,
                clicks,
                page_views,
                forwards,
                estimated_forwards,
                replies,
                _as_datetime(date_sent),
                first,
                _as_datetime(last_opened) or first,
                first_open_ip or ("61.249.92.173" if opens else None),
                unsubscribed,
                soft_bounced,
                hard_bounced,
            )
        )

    @_locked
    def set_summary(self, campaign: int | str, **fields: Any) -> None:
        """Override summary fields; the rest stays computed from the activities."""
        target = self._campaign_ref(campaign)
        known = {k.lower(): k for k in self._computed_summary(target)}
        for name, value in fields.items():
            target.summary[known.get(name.lower(), name)] = value

    @_locked
    def add_datafield(
        self,
        name: str,
        type: str = "String",  # noqa: A002
        visibility: str = "Private",
        default_value: Any = None,
        account: int | None = None,
    ) -> None:
        account_id = self._account(account).id
        if self._field_named(account_id, name) is not None:
            raise ValueError(f"data field {name} exists")
        self._state.datafields.append(
            DataField(
                account_id,
                self._field_name(name),
                self._enum(type, FIELD_TYPES),
                self._enum(visibility, VISIBILITIES),
                default_value,
            )
        )

    @_locked
    def mark_datafield_in_use(
        self,
        name: str,
        dependencies: Iterable[Mapping[str, Any] | Sequence[Any]] | None = None,
        account: int | None = None,
    ) -> None:
        target = self._field_named(self._account(account).id, name)
        if target is None:
            raise ValueError(f"no data field {name}")
        deps = list(dependencies) if dependencies is not None else [("Campaign", 15662)]
        target.dependencies = [self._dependency(d) for d in deps]

    @staticmethod
    def _dependency(dep: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
        if isinstance(dep, Mapping):
            lowered = {str(k).lower(): v for k, v in dep.items()}
            kind, object_id = lowered.get("type"), lowered.get("objectid")
        else:
            kind, object_id = dep[0], dep[1]
        if object_id is None:
            raise ValueError("a dependency needs an object id")
        return {"type": _canon(kind, DEPENDENCY_TYPES) or str(kind), "objectId": int(object_id)}

    # -- imports, faults, limits, log -----------------------------------------------------------

    @_locked
    def script_imports(self, outcomes: Iterable[Mapping[str, Any]]) -> None:
        """Queue outcomes (first in, first out) for the next imports: status, polls, seconds,
        faults [(email, reason)], report {counter: n}."""
        for outcome in outcomes:
            lowered = {str(k).lower(): v for k, v in outcome.items()}
            status = _canon(lowered.get("status", "Finished"), IMPORT_FINAL_STATUSES)
            if status is None:
                raise ValueError(f"import status must be one of {IMPORT_FINAL_STATUSES}")
            lowered["status"] = status
            self._scripts.append(lowered)

    @_locked
    def finish_imports(self) -> int:
        pending = [i for i in self._state.imports.values() if i.status == "NotFinished"]
        for imp in pending:
            self._finish_import(imp)
        return len(pending)
