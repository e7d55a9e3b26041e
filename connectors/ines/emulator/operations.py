"""The SOAP operations of the four services (§2), one method per operation."""

from __future__ import annotations

import hmac
from typing import Any

from connectors.ines.emulator.fields import (
    _cf_to_auto,
)
from connectors.ines.emulator.server import (
    EmulatorCore,
)
from connectors.ines.emulator.state import (
    _server_fault,
    log,
)


class OperationsMixin(EmulatorCore):
    # -- operations

    def _op_authenticationWs(self, params: dict[str, Any]) -> Any:
        request = params.get("request") or {}
        account = request.get("compte") or ""
        user = request.get("userName") or ""
        password = request.get("password") or ""
        expected = self._credentials.get((account, user))
        if (
            expected is not None
            and password
            and hmac.compare_digest(expected.encode(), password.encode())
        ):
            log.debug("login accepted for account %s", account)
            return {"codeReturn": "ok", "idSession": self._new_session(account, user)}
        log.debug("login refused for account %s", account)
        if self._options["login_fault"]:
            raise _server_fault("Authentication failed: unknown account, user or password.")
        return {"codeReturn": "failed", "idSession": ""}

    # wsicm

    def _op_GetContact(self, params: dict[str, Any]) -> Any:
        return self._read_object("contact", params.get("reference") or 0)

    def _op_GetClient(self, params: dict[str, Any]) -> Any:
        return self._read_object("client", params.get("reference") or 0)

    def _op_UpdateClient(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("client") or {})
        sent.pop("Contacts", None)  # UpdateClient never touches contacts
        ref = sent.get("InternalRef") or 0
        stored = self._live("client", ref)
        if stored is None:
            raise _server_fault(f"Client {ref} not found.")
        merged = {**stored.fields, **sent, "InternalRef": ref}
        self._check_client(sent, merged)
        stored.fields = merged
        return dict(merged)

    def _op_AddClient(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("client") or {})
        sent.pop("Contacts", None)
        self._check_client(sent, sent)
        return dict(self._create("client", sent).fields)

    def _op_GetTypeContactList(self, params: dict[str, Any]) -> Any:
        return [dict(item) for item in self._state.lookups["contact_types"]]

    def _op_GetTypeClientList(self, params: dict[str, Any]) -> Any:
        return [dict(item) for item in self._state.lookups["client_types"]]

    def _op_GetOriginList(self, params: dict[str, Any]) -> Any:
        return [dict(item) for item in self._state.lookups["origins"]]

    def _op_GetUserInfoFromUserRef(self, params: dict[str, Any]) -> Any:
        return self._users_with("UserRef")

    def _op_GetUserInfoFromRHRef(self, params: dict[str, Any]) -> Any:
        return self._users_with("RHRef")

    def _users_with(self, ref_name: str) -> list[dict[str, Any]]:
        users = []
        for user in self._state.lookups["users"]:
            if (user.get(ref_name) or 0) > 0:
                # Before May 2017 the plugin read a single Name: it is served too (§2.2).
                full = f"{user.get('FirstName') or ''} {user.get('LastName') or ''}".strip()
                users.append({**user, "Name": user.get("Name") or full})
        return users

    # WSAutomationSync

    def _op_GetSyncInfo(self, params: dict[str, Any]) -> Any:
        definitions = [d for d in self._state.cf_definitions.values() if d.exposed]
        return {
            "LeadRef": self._state.lead_ref,
            "SocieteType": self._state.societe_type,
            "CompanyCustomFields": [_cf_to_auto(d) for d in definitions if d.concept == "client"],
            "ContactCustomFields": [_cf_to_auto(d) for d in definitions if d.concept == "contact"],
        }

    def _op_AddClientWithContacts(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("client") or {})
        contacts = [dict(c) for c in sent.pop("Contacts", None) or []]
        self._check_client(sent, sent)
        for contact in contacts:
            self._check_contact(contact, contact)
        client = self._create("client", sent)
        created = [self._create("contact", {**c, "CompanyRef": client.ref}) for c in contacts]
        return {**client.fields, "Contacts": [dict(c.fields) for c in created]}

    def _op_UpdateContact(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("contact") or {})
        ref = sent.get("InternalRef") or 0
        stored = self._live("contact", ref)
        if stored is None:
            raise _server_fault(f"Contact {ref} not found.")
        merged = {**stored.fields, **sent, "InternalRef": ref}
        self._check_contact(sent, merged)
        company = sent.get("CompanyRef")
        if company and self._live("client", company) is None:
            raise _server_fault(f"Client {company} not found.")
        stored.fields = merged
        return ref

    def _op_AddLead(self, params: dict[str, Any]) -> Any:
        return self._create("lead", dict(params.get("info") or {})).ref

    def _op_DeleteAutomationContact(self, params: dict[str, Any]) -> Any:
        stored = self._live("contact", params.get("InesRef") or 0)
        if stored is None:
            return "NotFound"
        stored.unsynced = True  # nothing is erased: the contact is only no longer synchronised
        return "Success"

    def _op_AddContact(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("contact") or {})
        client_ref = params.get("clientRef") or sent.get("CompanyRef") or 0
        if self._live("client", client_ref) is None:
            raise _server_fault(f"Client {client_ref} not found.")
        for param, name in (
            ("AutomationRef", "AutomationRef"),
            ("scoring", "Scoring"),
            ("desabo", "Desabo"),
            ("npai", "NPai"),
        ):
            if params.get(param) is not None:
                sent[name] = params[param]
        sent["CompanyRef"] = client_ref
        self._check_contact(sent, sent)
        return dict(self._create("contact", sent).fields)

    # wscf

    def _op_GetContactCF(self, params: dict[str, Any]) -> Any:
        return self._read_cf("contact", params.get("reference") or 0)

    def _op_GetCompanyCF(self, params: dict[str, Any]) -> Any:
        return self._read_cf("client", params.get("reference") or 0)

    def _op_GetLeadCF(self, params: dict[str, Any]) -> Any:
        return self._read_cf("lead", params.get("reference") or 0)

    def _op_InsertContactCF(self, params: dict[str, Any]) -> Any:
        return self._insert_cf("contact", params.get("ctRef") or 0, params)

    def _op_InsertCompanyCF(self, params: dict[str, Any]) -> Any:
        return self._insert_cf("client", params.get("clRef") or 0, params)

    def _op_InsertLeadCF(self, params: dict[str, Any]) -> Any:
        return self._insert_cf("lead", params.get("ReclaRef") or 0, params)

    def _op_UpdateContactCF(self, params: dict[str, Any]) -> Any:
        return self._update_cf("contact", params.get("ctRef") or 0, params)

    def _op_UpdateCompanyCF(self, params: dict[str, Any]) -> Any:
        return self._update_cf("client", params.get("clRef") or 0, params)

    # -- operation helpers
