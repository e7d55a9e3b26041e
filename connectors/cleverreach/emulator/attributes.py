"""Global and group attributes (§2.5): ``tag`` is ``{NAME}``, a duplicate name gets 409."""

from __future__ import annotations

from typing import Any

from connectors.cleverreach.emulator.calls import ApiError, Call, Route
from connectors.cleverreach.emulator.state import Attribute

__all__ = ["ROUTES", "add_attribute"]

READ, WRITE = "read_receivers", "write_receivers"
TYPES = ("text", "number", "gender", "date")


def _scope(call: Call) -> tuple[int, dict[int, Attribute]]:
    gid = call.params.get("gid") or call.query.get("group_id")
    if gid and gid != "0":
        group = call.account.groups.get(gid)
        if group is None:
            raise ApiError(404, "Not Found: invalid group")
        return int(group.id), group.attributes
    return 0, call.account.attributes


def add_attribute(call: Call, groups_id: int, scope: dict[int, Attribute],
                  body: dict[str, Any]) -> Attribute:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "Bad Request: name is required")
    name = name.strip().lower()
    kind = body.get("type", "text")
    if kind not in TYPES:
        raise ApiError(400, f"Bad Request: type must be one of {', '.join(TYPES)}")
    if any(a.name == name for a in scope.values()):
        raise ApiError(409, "Conflict: attribute already exists")
    if len(scope) >= call.settings["attribute_limit"]:
        raise ApiError(403, "Forbidden: attribute limit reached")
    attribute = Attribute(id=call.account.next_id("attribute"), groups_id=groups_id, name=name,
                          description=str(body.get("description") or name),
                          preview_value=str(body.get("preview_value") or ""),
                          value=body.get("default_value") or None, type=kind)
    scope[attribute.id] = attribute
    return attribute


def list_attributes(call: Call) -> Any:
    _, scope = _scope(call)
    return call.listing([a.to_json() for a in scope.values()])


def create_attribute(call: Call) -> Any:
    groups_id, scope = _scope(call)
    return add_attribute(call, groups_id, scope, call.body_object()).to_json()


def _find(call: Call) -> tuple[dict[int, Attribute], Attribute]:
    _, scope = _scope(call)
    try:
        attribute = scope[int(call.params["aid"])]
    except (KeyError, ValueError) as exc:
        raise ApiError(404, "Not Found: invalid attribute") from exc
    return scope, attribute


def get_attribute(call: Call) -> Any:
    return _find(call)[1].to_json()


def update_attribute(call: Call) -> Any:
    scope, attribute = _find(call)
    body = call.body_object()
    if "name" in body:
        name = str(body["name"]).strip().lower()
        if not name:
            raise ApiError(400, "Bad Request: name is required")
        if any(a.name == name and a.id != attribute.id for a in scope.values()):
            raise ApiError(409, "Conflict: attribute already exists")
        attribute.name = name
    if "type" in body:
        if body["type"] not in TYPES:
            raise ApiError(400, f"Bad Request: type must be one of {', '.join(TYPES)}")
        attribute.type = body["type"]
    for key in ("description", "preview_value"):
        if key in body:
            setattr(attribute, key, str(body[key] or ""))
    if "default_value" in body:
        attribute.value = body["default_value"] or None
    return attribute.to_json()


def delete_attribute(call: Call) -> Any:
    scope, attribute = _find(call)
    del scope[attribute.id]
    return True


def limits(call: Call) -> Any:
    used_group = max((len(g.attributes) for g in call.account.groups.values()), default=0)
    limit = call.settings["attribute_limit"]
    return {"global": {"used": len(call.account.attributes), "max": limit},
            "group": {"used": used_group, "max": limit}}


ROUTES = [
    Route("GET", "attributes", list_attributes, READ),
    Route("POST", "attributes", create_attribute, WRITE),
    Route("GET", "attributes/limits", limits, READ),
    Route("GET", "attributes/{aid}", get_attribute, READ),
    Route("PUT", "attributes/{aid}", update_attribute, WRITE),
    Route("DELETE", "attributes/{aid}", delete_attribute, WRITE),
    Route("GET", "groups/{gid}/attributes", list_attributes, READ),
    Route("POST", "groups/{gid}/attributes", create_attribute, WRITE),
    Route("GET", "groups/{gid}/attributes/{aid}", get_attribute, READ),
    Route("PUT", "groups/{gid}/attributes/{aid}", update_attribute, WRITE),
    Route("DELETE", "groups/{gid}/attributes/{aid}", delete_attribute, WRITE),
]
