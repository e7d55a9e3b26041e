"""Test hooks (§5.5): reset, seed, clock, edits, sessions, injections, calls, views, snapshots,
and the admin HTTP routes."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request

from connectors.emulation import admin_kwargs, load_json, redact_text, save_json
from connectors.ines.emulator.demo import (
    demo_seed,
)
from connectors.ines.emulator.fields import (
    _coerce_fields,
    _decode_object,
    _encode_object,
    _encode_row,
    _json_reply,
    _view,
)
from connectors.ines.emulator.server import (
    EmulatorCore,
)
from connectors.ines.emulator.state import (
    _MODIFIED_STAMP,
    CONCEPTS,
    COUNTER_SEEDS,
    INJECTION_KINDS,
    LOOKUP_TYPES,
    WSDL_OPERATION,
    Call,
    CfDefinition,
    CfValue,
    EmulatorState,
    Injection,
    Reply,
    StoredObject,
)
from connectors.ines.emulator_wsdl import (
    FIELDS_BY_NAME,
    SERVICES,
    coerce_scalar,
)

_ADMIN_HOOKS = frozenset(
    {
        "reset", "seed", "set_clock", "advance_clock", "delete_contact", "delete_client",
        "edit_contact", "edit_client", "add_cf_definition", "set_sync_info", "set_lookup",
        "expire_session", "expire_all_sessions", "set_credentials", "inject", "clear_injections",
        "calls", "call_count", "clear_calls", "requests", "get_client", "get_contact", "contacts",
        "clients", "leads", "cf_values", "cf_definitions", "session_ids", "configure", "snapshot",
        "seed_demo",
    }
)  # fmt: skip


class HookMixin(EmulatorCore):
    # -- test hooks (§5.5)

    def reset(self) -> None:
        """Back to the state right after construction: data, sessions, clock, injections, logs."""
        self._init_state()

    def seed(self, data: Mapping[str, Any]) -> None:
        """Add data. Keys, all optional: counters, sync_info {LeadRef, SocieteType}, lookups
        {contact_types, client_types, origins, users}, credentials [(account, user, password)],
        cf_definitions [{InesID?, concept, name, type, values, exposed}], clients [{fields…,
        Contacts: […]}], contacts [{fields…}], leads [{fields…}], cf_values [{concept, owner,
        definition, value}]. Field values may be Python values or wire text."""
        with self._lock:
            for counter, value in dict(data.get("counters") or {}).items():
                if counter not in COUNTER_SEEDS:
                    raise ValueError(f"unknown counter {counter!r}")
                self._state.counters[counter] = int(value)
            sync_info = data.get("sync_info") or {}
            self.set_sync_info(sync_info.get("LeadRef"), sync_info.get("SocieteType"))
            for name, items in dict(data.get("lookups") or {}).items():
                self.set_lookup(name, items)
            for account, user, password in data.get("credentials") or ():
                self.set_credentials(account, user, password)
            for definition in data.get("cf_definitions") or ():
                self._seed_definition(definition)
            for client in data.get("clients") or ():
                self._seed_client(client)
            for concept, key in (("contact", "contacts"), ("lead", "leads")):
                for item in data.get(key) or ():
                    self._seed_object(concept, item)
            for value in data.get("cf_values") or ():
                self._seed_cf_value(value)
            self._touch()

    def _seed_definition(self, definition: Mapping[str, Any]) -> None:
        self.add_cf_definition(
            definition["concept"],
            definition["name"],
            definition.get("type", "text"),
            definition.get("values") or (),
            ines_id=definition.get("InesID"),
            exposed=definition.get("exposed", True),
        )

    def _seed_client(self, data: Mapping[str, Any]) -> int:
        contacts = data.get("Contacts") or ()
        client_ref = self._seed_object("client", {k: v for k, v in data.items() if k != "Contacts"})
        for contact in contacts:
            self._seed_object("contact", {**contact, "CompanyRef": client_ref})
        return client_ref

    def _seed_object(self, concept: str, data: Mapping[str, Any]) -> int:
        meta = {k: data[k] for k in ("deleted", "unsynced") if k in data}
        fields = {k: v for k, v in data.items() if k not in meta}
        ref = int(fields.pop("InternalRef", 0) or fields.pop("Ref", 0) or 0)
        # Objects already in INES look like an INES user made them: valid payment, not new.
        defaults: dict[str, Any] = {"client": {"PaymentMethodRef": 1}, "contact": {}, "lead": {}}[
            concept
        ]
        if concept != "lead":
            defaults = {**defaults, "IsNew": False}
        sent = {**defaults, **_coerce_fields(concept, fields)}
        stored = self._create(concept, sent, ref)
        stored.deleted = bool(meta.get("deleted", False))
        stored.unsynced = bool(meta.get("unsynced", False))
        return stored.ref

    def _seed_cf_value(self, data: Mapping[str, Any]) -> None:
        concept = data["concept"]
        ref = int(data.get("Ref") or 0)
        if ref > 0:
            self._state.claim_id("values", ref)
        else:
            ref = self._state.next_id("values")
        self._state.add_cf_value(
            CfValue(
                ref,
                concept,
                int(data["owner"]),
                int(data["definition"]),
                str(data.get("value", "")),
            )
        )

    def seed_demo(self) -> None:
        self.seed(demo_seed())

    def set_clock(self, dt: datetime | str | None) -> None:
        """Freeze the clock at dt (a datetime or ISO text); None goes back to the real time."""
        with self._lock:
            if dt is None:
                self._clock.use_real()
            else:
                self._clock.set(dt)

    def advance_clock(self, seconds: float) -> datetime:
        with self._lock:
            # Advancing freezes the clock there, also from the real time.
            return self._clock.set(self.now() + timedelta(seconds=seconds))

    def delete_contact(self, ref: int) -> None:
        """Hard delete, as an INES user would: GetContact then answers per missing_object."""
        with self._lock:
            self._existing("contact", ref).deleted = True
            self._touch()

    def delete_client(self, ref: int, cascade: bool = False) -> None:
        with self._lock:
            self._existing("client", ref).deleted = True
            if cascade:
                for contact in self._state.contacts.values():
                    if contact.fields.get("CompanyRef") == ref:
                        contact.deleted = True
            self._touch()

    def edit_contact(self, ref: int, **fields: Any) -> dict[str, Any]:
        return self._edit("contact", ref, fields)

    def edit_client(self, ref: int, **fields: Any) -> dict[str, Any]:
        return self._edit("client", ref, fields)

    def _edit(self, concept: str, ref: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        if "InternalRef" in fields:
            raise ValueError("InternalRef cannot be edited")
        with self._lock:
            stored = self._existing(concept, ref)
            values = _coerce_fields(concept, fields)
            stamp = _MODIFIED_STAMP[concept]
            if stamp not in values:
                values[stamp] = self.now()  # an edit in INES moves its modification date
            stored.fields.update(values)
            self._touch()
            return dict(stored.fields)

    def _existing(self, concept: str, ref: int) -> StoredObject:
        stored = self._state.store(concept).get(int(ref))
        if stored is None:
            raise KeyError(f"no {concept} {ref}")
        return stored

    def add_cf_definition(
        self,
        concept: str,
        name: str,
        type: str = "text",
        values: Iterable[str] = (),
        ines_id: int | None = None,
        exposed: bool = True,
    ) -> int:
        """A custom field definition for concept contact, client or lead; returns its InesID.
        Any type is accepted (the client must ignore types outside CF_TYPES)."""
        if concept not in CONCEPTS:
            raise ValueError(f"concept must be one of {CONCEPTS}")
        with self._lock:
            if ines_id:
                self._state.claim_id("definitions", int(ines_id))
            else:
                ines_id = self._state.next_id("definitions")
            definition = CfDefinition(
                int(ines_id), concept, name, type, [str(v) for v in values], bool(exposed)
            )
            self._state.cf_definitions[definition.ines_id] = definition
            self._touch()
            return definition.ines_id

    def set_sync_info(self, lead_ref: int | None = None, societe_type: int | None = None) -> None:
        with self._lock:
            if lead_ref is not None:
                self._state.lead_ref = int(lead_ref)
            if societe_type is not None:
                self._state.societe_type = int(societe_type)
            self._touch()

    def set_lookup(self, name: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Replace a lookup list: contact_types, client_types, origins or users."""
        if name not in LOOKUP_TYPES:
            raise ValueError(f"lookup must be one of {tuple(LOOKUP_TYPES)}")
        fields = FIELDS_BY_NAME[LOOKUP_TYPES[name]]
        rows = []
        for item in items:
            unknown = set(item) - set(fields)
            if unknown:
                raise ValueError(f"unknown {name} fields: {sorted(unknown)}")
            rows.append({k: coerce_scalar(fields[k].kind, v) for k, v in item.items()})
        with self._lock:
            self._state.lookups[name] = rows
            self._touch()

    def expire_session(self, session_id: str) -> bool:
        with self._lock:
            session = self._sessions.get(str(session_id))
            if session is None:
                return False
            session.expired = True
            return True

    def expire_all_sessions(self) -> int:
        with self._lock:
            live = [s for s in self._sessions.values() if not s.expired]
            for session in live:
                session.expired = True
            return len(live)

    def session_ids(self) -> list[str]:
        """Ids of the sessions not expired by a hook (for expire_session)."""
        with self._lock:
            return [sid for sid, s in self._sessions.items() if not s.expired]

    def set_credentials(self, account: str, user: str, password: str | None) -> None:
        """Add or change a login; password None removes it. Open sessions stay valid."""
        with self._lock:
            if password is None:
                self._credentials.pop((account, user), None)
            else:
                self._credentials[(account, user)] = password

    def inject(
        self,
        service: str,
        operation: str,
        kind: str,
        times: int | None = 1,
        after_commit: bool = False,
        rate: float | None = None,
        seed: int = 0,
        **params: Any,
    ) -> Injection:
        """Spoil the next `times` calls (None: all) of service.operation ("*" for any).

        Kinds and params: fault (code="Server", text), http_status (code=503, body,
        content_type), delay (seconds=1.0; the operation still runs), malformed_xml,
        truncated (real answer cut on the wire), empty_body, html_error (code=500),
        wrong_content_type (content_type="text/html; charset=utf-8"), drop_connection,
        invalid_session (mode=invalid_session option). rate (0-1) hits each matching call with that chance, drawn from
        random.Random(seed), until `times` hits. after_commit=True runs the operation
        first, so its change is stored and only the answer is lost. operation "wsdl" targets
        `GET ?wsdl`."""
        if kind not in INJECTION_KINDS:
            raise ValueError(f"kind must be one of {INJECTION_KINDS}")
        key = "*" if service == "*" else self._service_key(service)
        if operation != "*":
            known = {WSDL_OPERATION} | {
                name for k, svc in SERVICES.items() if key in ("*", k) for name in svc.operations
            }
            if operation not in known:
                raise ValueError(f"unknown operation {operation!r} for {service}")
        if kind == "invalid_session" and operation in (WSDL_OPERATION, "authenticationWs"):
            raise ValueError("invalid_session applies to authenticated operations only")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        injection = Injection(key, operation, kind, times, after_commit, dict(params))
        with self._lock:
            self._injections.append(injection)
            if rate is not None:
                self._injection_rates[id(injection)] = (rate, random.Random(seed))
        return injection

    def clear_injections(self) -> None:
        with self._lock:
            self._injections.clear()
            self._injection_rates.clear()

    def calls(self, service: str | None = None, operation: str | None = None) -> list[Call]:
        """SOAP calls in arrival order. WSDL reads only show up with operation="wsdl"."""
        key = self._service_key(service) if service else None
        with self._lock:
            return [
                c
                for c in self._calls
                if (key is None or c.service == key)
                and (c.operation == operation if operation else c.operation != WSDL_OPERATION)
            ]

    def call_count(self, service: str | None = None, operation: str | None = None) -> int:
        return len(self.calls(service, operation))

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._calls_with_params.clear()
            self._raw_log.clear()

    def requests(self) -> list[dict[str, Any]]:
        """The raw HTTP log (newest request_log_size entries), passwords and session ids redacted."""
        with self._lock:
            entries = self._raw_log.entries()
        return [
            {
                **entry,
                "body": redact_text(
                    entry["body"].decode("utf-8", "replace"), json=False, form=False
                ),
                "response": redact_text(
                    entry["response"].decode("utf-8", "replace"), json=False, form=False
                ),
            }
            for entry in entries
        ]

    # -- readers

    def get_contact(self, ref: int) -> dict[str, Any] | None:
        return self._object_view("contact", ref)

    def get_client(self, ref: int) -> dict[str, Any] | None:
        return self._object_view("client", ref)

    def get_lead(self, ref: int) -> dict[str, Any] | None:
        return self._object_view("lead", ref)

    def contacts(self) -> list[dict[str, Any]]:
        return self._all_views("contact")

    def clients(self) -> list[dict[str, Any]]:
        return self._all_views("client")

    def leads(self) -> list[dict[str, Any]]:
        return self._all_views("lead")

    def _object_view(self, concept: str, ref: int) -> dict[str, Any] | None:
        with self._lock:
            stored = self._state.store(concept).get(int(ref))
            return _view(stored) if stored is not None else None

    def _all_views(self, concept: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_view(s) for s in self._state.store(concept).values()]

    def cf_values(
        self, concept: str | None = None, owner: int | None = None, definition: int | None = None
    ) -> list[dict[str, Any]]:
        """Custom field values in insertion order: Ref, concept, owner, DefinitionRef, Value,
        chvLies, chvGroupeAssoc."""
        with self._lock:
            values = list(self._state.cf_by_ref.values())
        return [
            {
                "Ref": v.ref,
                "concept": v.concept,
                "owner": v.owner,
                "DefinitionRef": v.definition,
                "Value": v.value,
                "chvLies": v.lies,
                "chvGroupeAssoc": v.groupe_assoc,
            }
            for v in values
            if (concept is None or v.concept == concept)
            and (owner is None or v.owner == owner)
            and (definition is None or v.definition == definition)
        ]

    def cf_definitions(self, concept: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                asdict(d)
                for d in self._state.cf_definitions.values()
                if concept in (None, d.concept)
            ]

    # -- snapshots (demo mode)

    def snapshot(self) -> dict[str, Any]:
        """The stored data as JSON-ready values. Credentials and sessions are left out: no
        password is ever written to disk."""
        with self._lock:
            state = self._state
            return {
                "version": 1,
                "counters": dict(state.counters),
                "sync_info": {"LeadRef": state.lead_ref, "SocieteType": state.societe_type},
                "lookups": {
                    name: [_encode_row(LOOKUP_TYPES[name], row) for row in rows]
                    for name, rows in state.lookups.items()
                },
                "cf_definitions": [asdict(d) for d in state.cf_definitions.values()],
                "cf_values": [asdict(v) for v in state.cf_by_ref.values()],
                "clients": [_encode_object("client", s) for s in state.clients.values()],
                "contacts": [_encode_object("contact", s) for s in state.contacts.values()],
                "leads": [_encode_object("lead", s) for s in state.leads.values()],
            }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the stored data with a snapshot() (sessions are dropped)."""
        state = EmulatorState()
        state.counters.update({k: int(v) for k, v in snapshot.get("counters", {}).items()})
        sync_info = snapshot.get("sync_info", {})
        state.lead_ref = int(sync_info.get("LeadRef", state.lead_ref))
        state.societe_type = int(sync_info.get("SocieteType", state.societe_type))
        for name, rows in snapshot.get("lookups", {}).items():
            fields = FIELDS_BY_NAME[LOOKUP_TYPES[name]]
            state.lookups[name] = [
                {k: coerce_scalar(fields[k].kind, v) for k, v in r.items()} for r in rows
            ]
        for d in snapshot.get("cf_definitions", []):
            state.cf_definitions[int(d["ines_id"])] = CfDefinition(**d)
        for v in snapshot.get("cf_values", []):
            state.add_cf_value(CfValue(**v))
        for concept, key in (("client", "clients"), ("contact", "contacts"), ("lead", "leads")):
            for item in snapshot.get(key, []):
                stored = _decode_object(concept, item)
                state.store(concept)[stored.ref] = stored
        with self._lock:
            self._state = state
            self._sessions.clear()
            self._touch()

    def save_state(self, path: str | os.PathLike[str]) -> None:
        save_json(path, self.snapshot())  # atomic: never a half-written state file

    def load_state(self, path: str | os.PathLike[str]) -> None:
        self.restore(load_json(path))

    # -- admin HTTP (admin_http=True only)

    def _admin(self, request: Request, hook: str) -> Reply:
        if hook not in _ADMIN_HOOKS:
            return _json_reply(404, {"error": f"unknown hook {hook!r}"})
        try:
            kwargs = self._admin_kwargs(request)
            result = getattr(self, hook)(**kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            return _json_reply(400, {"error": str(exc)})
        return _json_reply(200, {"result": result})

    @staticmethod
    def _admin_kwargs(request: Request) -> dict[str, Any]:
        body = request.get_data() if request.method == "POST" else b""
        return admin_kwargs(body, request.args)
