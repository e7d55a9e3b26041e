"""Groups (receiver lists), their stats and filters, and the account calls (§2.1, §2.2)."""

from __future__ import annotations

from typing import Any

from connectors.cleverreach.emulator.calls import ApiError, Call, Route
from connectors.cleverreach.emulator.state import Group, active

__all__ = ["ROUTES", "new_group"]

READ, WRITE = "read_receivers", "write_receivers"


def whoami(call: Call) -> Any:
    return call.account.whoami()


def ping(call: Call) -> Any:
    return True


def list_groups(call: Call) -> Any:
    return call.listing([g.to_json() for g in call.account.groups.values()])


def new_group(call: Call, name: str, locked: bool = False, backup: bool = True,
              receiver_info: str = "") -> Group:
    account = call.account
    group = Group(id=str(account.next_id("group")), name=name, locked=locked, backup=backup,
                  receiver_info=receiver_info, stamp=call.now, last_mailing=0,
                  last_changed=call.now)
    account.groups[group.id] = group
    return group


def _check_fields(body: dict[str, Any]) -> None:
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
        raise ApiError(400, "Bad Request: name must be a non-empty string")
    for key in ("locked", "backup"):
        if key in body and not isinstance(body[key], bool | int):
            raise ApiError(400, f"Bad Request: {key} must be a boolean")
    if "receiver_info" in body and not isinstance(body["receiver_info"], str):
        raise ApiError(400, "Bad Request: receiver_info must be a string")


def _name_taken(call: Call, name: str, other_than: str | None = None) -> bool:
    return any(g.name == name and g.id != other_than for g in call.account.groups.values())


def create_group(call: Call) -> Any:
    body = call.body_object()
    if "name" not in body:
        raise ApiError(400, "Bad Request: name is required")
    _check_fields(body)
    if call.settings["unique_group_names"] and _name_taken(call, body["name"]):
        raise ApiError(400, "Bad Request: a group with this name exists")
    group = new_group(call, body["name"], bool(body.get("locked", False)),
                      bool(body.get("backup", True)), body.get("receiver_info", ""))
    return group.to_json()


def get_group(call: Call) -> Any:
    return call.group().to_json()


def update_group(call: Call) -> Any:
    group = call.group()
    body = call.body_object()
    _check_fields(body)
    if ("name" in body and call.settings["unique_group_names"]
            and _name_taken(call, body["name"], group.id)):
        raise ApiError(400, "Bad Request: a group with this name exists")
    if "name" in body:
        group.name = body["name"]
    for key in ("locked", "backup"):
        if key in body:
            setattr(group, key, bool(body[key]))
    if "receiver_info" in body:
        group.receiver_info = body["receiver_info"]
    group.last_changed = call.now
    return group.to_json()


def delete_group(call: Call) -> Any:
    group = call.group()
    if group.locked and call.settings["locked_blocks_delete"]:
        raise ApiError(403, "Forbidden: group is locked")
    del call.account.groups[group.id]
    return True


def clear_group(call: Call) -> Any:
    group = call.group()
    group.receivers.clear()
    group.ids.clear()
    group.last_changed = call.now
    return True


def stats(call: Call) -> Any:
    group = call.group()
    bounce_inactive = call.settings["bounce_sets_inactive"]
    total = len(group.receivers)
    active_count = sum(1 for r in group.receivers.values() if active(r, bounce_inactive))
    bounced = sum(1 for r in group.receivers.values() if r.bounced > 0)
    return {"total_count": total, "inactive_count": total - active_count,
            "active_count": active_count, "bounce_count": bounced, "avg_points": 0,
            "quality": 0, "time": call.now, "order_count": 0}


def filters(call: Call) -> Any:
    return call.listing([dict(f) for f in call.group().filters])


def no_truncate(call: Call) -> Any:
    call.group()
    raise ApiError(405, "Method Not Allowed: a receiver id is required")


ROUTES = [
    Route("GET", "debug/whoami", whoami, None),
    Route("GET", "debug/ping", ping, None),
    Route("GET", "groups", list_groups, READ),
    Route("POST", "groups", create_group, WRITE),
    Route("GET", "groups/{gid}", get_group, READ),
    Route("PUT", "groups/{gid}", update_group, WRITE),
    Route("DELETE", "groups/{gid}", delete_group, WRITE),
    Route("DELETE", "groups/{gid}/clear", clear_group, WRITE),
    Route("GET", "groups/{gid}/stats", stats, READ),
    Route("GET", "groups/{gid}/filters", filters, READ),
    Route("DELETE", "groups/{gid}/receivers", no_truncate, WRITE),
]
