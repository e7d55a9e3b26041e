"""Forms and the double opt-in mails (§2.7). Webhooks are omitted, as the document says.

``POST /forms.json/{id}/send/activate`` records the mail in the account's ``doi_mails`` (see the
``state`` hook); the receiver activates when a test calls the ``simulate/confirm`` hook.
"""

from __future__ import annotations

from typing import Any

from connectors.cleverreach.emulator.calls import ApiError, Call, Route
from connectors.cleverreach.emulator.state import valid_email

__all__ = ["ROUTES"]


def group_forms(call: Call) -> Any:
    group = call.group()
    return call.listing([dict(f) for f in call.account.forms.values()
                         if f["customer_tables_id"] == group.id])


def list_forms(call: Call) -> Any:
    return call.listing([dict(f) for f in call.account.forms.values()])


def _send(call: Call, kind: str) -> Any:
    form = call.account.forms.get(call.params["fid"])
    if form is None:
        raise ApiError(404, "Not Found: invalid form")
    body = call.body_object()
    email = body.get("email")
    if not valid_email(email):
        raise ApiError(400, f"Bad Request: invalid address '{email}'")
    assert isinstance(email, str)
    group = call.account.groups.get(form["customer_tables_id"])
    if group is None or group.find(email) is None:
        raise ApiError(404, "Not Found: invalid receiver")
    doidata = body.get("doidata") if isinstance(body.get("doidata"), dict) else {}
    call.account.doi_mails.append({"form_id": form["id"], "group_id": group.id,
                                   "email": email.strip(), "kind": kind, "at": call.now,
                                   "doidata": doidata, "confirmed": False})
    if call.settings["form_send_response"] == "success":
        return {"success": True}
    return email.strip()


def send_activate(call: Call) -> Any:
    return _send(call, "activate")


def send_deactivate(call: Call) -> Any:
    return _send(call, "deactivate")


ROUTES = [
    Route("GET", "forms", list_forms, "form"),
    Route("GET", "groups/{gid}/forms", group_forms, "form"),
    Route("POST", "forms/{fid}/send/activate", send_activate, "form"),
    Route("POST", "forms/{fid}/send/deactivate", send_deactivate, "form"),
]
