"""Data fields, account info and server time: E22-E24, E26."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from connectors.dotmailer.emulator.helpers import (
    _canon,
    _empty_response,
    _parse_loose_date,
    _valid_default,
)
from connectors.dotmailer.emulator.server import (
    EmulatorCore,
)
from connectors.dotmailer.emulator.state import (
    FIELD_NAME,
    FIELD_TYPES,
    HOST,
    VISIBILITIES,
    DataField,
    _Call,
)


class FieldsMixin(EmulatorCore):
    # -- data fields, account, server time --------------------------------------------------------

    def _field_json(self, datafield: DataField) -> dict[str, Any]:
        return {
            "name": datafield.name,
            "type": datafield.type,
            "visibility": datafield.visibility,
            "defaultValue": datafield.default_value,
        }

    def _e_list_fields(self, call: _Call) -> Response:
        # Not paged (§1.5): select and skip are ignored.
        return self._json([self._field_json(f) for f in self._account_fields(call.account)])

    def _e_create_field(self, call: _Call) -> Response:
        body = self._body_object(call)
        name, default = body.get("name"), body.get("defaultvalue")
        kind = _canon(body.get("type"), FIELD_TYPES)
        visibility = _canon(body.get("visibility") or "Private", VISIBILITIES)
        if (
            not isinstance(name, str)
            or FIELD_NAME.match(name) is None
            or kind is None
            or visibility is None
            or not _valid_default(kind, default)
        ):
            raise self._error("ERROR_DATAFIELD_INVALID")
        if self._field_named(call.account, name) is not None:
            raise self._error("ERROR_NON_UNIQUE_DATAFIELD")
        if kind == "Date" and default is not None:
            parsed = _parse_loose_date(default)
            default = parsed.strftime("%Y-%m-%dT%H:%M:%S") if parsed else None
        created = DataField(call.account, self._field_name(name), kind, visibility, default)
        self._state.datafields.append(created)
        if self._settings["datafield_create_body"] == "empty":
            return _empty_response(201)
        return self._json(self._field_json(created), 201)

    def _e_delete_field(self, call: _Call) -> Response:
        target = self._field_named(call.account, call.params["name"])
        if target is None:
            raise self._error("ERROR_DATAFIELD_NOTFOUND")
        if target.system or target.dependencies:
            return self._json({"dependencies": list(target.dependencies), "result": False}, 409)
        self._state.datafields.remove(target)
        for contact in self._state.contacts.values():
            if contact.account == call.account:
                contact.fields.pop(target.name, None)
        return self._json({"dependencies": [], "result": True})

    def _e_account_info(self, call: _Call) -> Response:
        account = self._state.accounts[call.account]
        endpoint = f"http://{HOST}:{self._ports[account.region]}"
        properties = (
            ("Name", account.name),
            ("MainEmail", account.main_email),
            ("ApiEndpoint", endpoint),
            ("APILocale", account.locale),
        )
        return self._json(
            {
                "id": account.id,
                "properties": [{"name": n, "type": "String", "value": v} for n, v in properties],
            }
        )

    def _e_server_time(self, call: _Call) -> Response:
        return self._json(self._date(self.now()))
