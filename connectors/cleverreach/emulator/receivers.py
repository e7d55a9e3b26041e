"""Receivers in a group and the account-wide receiver calls (§2.3, §2.4).

Write semantics as §2.3 lists them: a new receiver without activation fields is active with
``registered = activated = now``; ``activated: 0`` makes it inactive; omitted keys stay; ``""``
clears and ``null`` unsets a global attribute; unknown attribute keys are dropped (or rejected,
setting ``unknown_attribute_keys``); tags are added, ``-tag`` removes; a receiver that
CleverReach deactivated (an unsubscribe) stays deactivated (``protect_cr_deactivated``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from connectors.cleverreach.emulator.calls import ApiError, Call, Route
from connectors.cleverreach.emulator.state import (
    Account,
    Group,
    Receiver,
    active,
    norm_email,
    valid_email,
)

__all__ = ["ROUTES", "receiver_json", "write_receiver"]

READ, WRITE = "read_receivers", "write_receivers"
DETAIL_EVENTS, DETAIL_ORDERS, DETAIL_TAGS = 1, 2, 4
FULL_DETAIL = DETAIL_EVENTS | DETAIL_ORDERS | DETAIL_TAGS
_TIME_FIELDS = ("activated", "registered", "deactivated", "bounced", "imported", "last_changed")


class ItemError(Exception):
    """A rejected batch item: its string result (``"invalid address 'x';"``)."""


# -- shapes --------------------------------------------------------------------------------------

def global_values(emu_settings: dict[str, Any], account: Account,
                  receiver: Receiver) -> dict[str, Any]:
    if emu_settings["global_attributes_shared"]:
        return account.global_values.setdefault(norm_email(receiver.email), {})
    return receiver.global_attributes


def receiver_json(settings: dict[str, Any], account: Account, group: Group, receiver: Receiver,
                  detail: int = FULL_DETAIL, events: bool = True) -> dict[str, Any]:
    """The receiver as the API shows it (keys in the order of ``lc_recipientInfo.json``)."""
    values = global_values(settings, account, receiver)
    out: dict[str, Any] = {
        "id": receiver.id, "email": receiver.email, "imported": receiver.imported,
        "bounced": receiver.bounced, "group_id": group.id, "activated": receiver.activated,
        "registered": receiver.registered, "deactivated": receiver.deactivated,
        "last_ip": receiver.last_ip, "last_location": receiver.last_location,
        "last_client": receiver.last_client, "last_changed": receiver.last_changed,
        "points": receiver.points, "stars": receiver.stars, "source": receiver.source,
        "attributes": {a.name: _shown(receiver.attributes.get(a.name))
                       for a in group.attributes.values()},
        "global_attributes": {a.name: _shown(values.get(a.name))
                              for a in account.attributes.values()},
    }
    if detail & DETAIL_TAGS:
        out["tags"] = list(receiver.tags)
    out["active"] = active(receiver, settings["bounce_sets_inactive"])
    out.update({"conversion_rate": 0, "open_rate": 0, "click_rate": 0})
    if events and detail & DETAIL_EVENTS:
        out["events"] = [dict(e) for e in receiver.events]
    if events and detail & DETAIL_ORDERS:
        out["orders"] = [dict(o) for o in receiver.orders]
    return out


def _shown(value: Any) -> Any:
    return "" if value is None else value


# -- writing -------------------------------------------------------------------------------------

def _known_names(call: Call, group: Group) -> tuple[set[str], set[str]]:
    return ({a.name for a in call.account.attributes.values()},
            {a.name for a in group.attributes.values()})


def _timestamp(item: dict[str, Any], key: str) -> int | None:
    if key not in item or item[key] is None:
        return None
    try:
        return max(0, int(item[key]))
    except (TypeError, ValueError) as exc:
        raise ItemError(f"invalid {key} '{item[key]}';") from exc


def write_receiver(call: Call, group: Group, item: Any, mode: str = "upsert",
                   names: tuple[set[str], set[str]] | None = None) -> tuple[Receiver, bool]:
    """Apply one write object to ``group``: ``(receiver, created)``, or raise :class:`ItemError`.

    ``mode``: ``upsert`` (create or update), ``insert`` (existing emails rejected), ``update``
    (unknown emails rejected), ``patch`` (PUT on one receiver: an update, the email not needed).
    """
    settings = call.settings
    account = call.account
    if not isinstance(item, dict):
        raise ItemError("invalid address '';")
    email = item.get("email")
    if not valid_email(email):
        raise ItemError(f"invalid address '{email if isinstance(email, str) else ''}';")
    assert isinstance(email, str)
    email = email.strip()
    key = norm_email(email)
    globals_known, locals_known = names or _known_names(call, group)
    for field_name, known in (("global_attributes", globals_known), ("attributes", locals_known)):
        values = item.get(field_name)
        if values is not None and not isinstance(values, dict):
            raise ItemError(f"invalid {field_name} '{email}';")
        if settings["unknown_attribute_keys"] == "reject":
            unknown = sorted(set(values or {}) - known)
            if unknown:
                raise ItemError(f"invalid attribute '{unknown[0]}';")
    blacklisted = key in account.blacklist
    if blacklisted and settings["blacklisted_upsert"] == "reject":
        raise ItemError(f"blacklisted address '{email}';")
    registered = _timestamp(item, "registered")
    activated = _timestamp(item, "activated")
    deactivated = _timestamp(item, "deactivated")
    now = call.now
    receiver = group.receivers.get(key)
    created = receiver is None
    if receiver is None:
        if mode == "update":
            raise ItemError(f"invalid receiver '{email}';")
        if settings["receiver_id_scope"] == "account":
            rid = account.receiver_ids.get(key)
            if rid is None:
                rid = account.receiver_ids[key] = str(account.next_id("receiver"))
        else:
            rid = str(account.next_id("receiver"))
        receiver = Receiver(id=rid, email=email, group_id=group.id,
                            registered=now if registered is None else registered,
                            activated=now if activated is None else activated,
                            deactivated=deactivated or 0, last_changed=now,
                            imported=0)
        if blacklisted:
            receiver.activated = 0
        group.put(receiver)
        receiver.add_event(now, "api", "REST insert", "127.0.0.1")
    else:
        if mode == "insert":
            raise ItemError(f"duplicate address '{email}';")
        protected = receiver.cr_deactivated and settings["protect_cr_deactivated"]
        if registered is not None:
            receiver.registered = registered
        if activated is not None and not protected and not blacklisted:
            receiver.activated = activated
            if activated > 0 and not receiver.cr_deactivated:
                receiver.deactivated = 0
            elif activated > 0:  # protection off: a CleverReach opt-out is lifted
                receiver.deactivated = 0
                receiver.cr_deactivated = False
        elif activated == 0:
            receiver.activated = 0
        if deactivated is not None and not protected:
            receiver.deactivated = deactivated
        receiver.add_event(now, "api", "REST update", "127.0.0.1")
    if "source" in item and isinstance(item["source"], str):
        receiver.source = item["source"]
    elif created:
        receiver.source = ""
    _set_values(global_values(settings, account, receiver), item.get("global_attributes"),
                globals_known)
    _set_values(receiver.attributes, item.get("attributes"), locals_known)
    tags = item.get("tags")
    if isinstance(tags, list):
        for tag in tags:
            if not isinstance(tag, str) or not tag:
                continue
            if tag.startswith("-"):
                if tag[1:] in receiver.tags:
                    receiver.tags.remove(tag[1:])
            elif tag not in receiver.tags:
                receiver.tags.append(tag)
    receiver.last_changed = now
    group.last_changed = now
    return receiver, created


def _set_values(target: dict[str, Any], values: Any, known: set[str]) -> None:
    if not isinstance(values, dict):
        return
    for name, value in values.items():
        if name not in known:
            continue  # silently dropped (PipedreamHQ/pipedream#6768)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value if isinstance(value, str | int | float) else str(value)


def _batch(call: Call, group: Group) -> list[Any]:
    items = call.body_list()
    if len(items) > call.settings["max_batch"]:
        raise ApiError(413, f"Payload Too Large: at most {call.settings['max_batch']} "
                            "receivers per call")
    return items


def _write_batch(call: Call, mode: str) -> tuple[Group, list[tuple[Receiver, bool] | str]]:
    group = call.group()
    items = _batch(call, group)
    names = _known_names(call, group)
    seen: set[str] = set()
    results: list[tuple[Receiver, bool] | str] = []
    for item in items:
        email = item.get("email") if isinstance(item, dict) else None
        if isinstance(email, str) and valid_email(email) and norm_email(email) in seen:
            results.append(f"duplicate address '{email.strip()}';")
            continue
        try:
            results.append(write_receiver(call, group, item, mode, names))
        except ItemError as exc:
            results.append(str(exc))
            continue
        if isinstance(email, str):
            seen.add(norm_email(email))
    return group, results


def _positional(call: Call, mode: str) -> Any:
    _, results = _write_batch(call, mode)
    settings = call.settings
    return [result if isinstance(result, str) else
            {"status": settings["upsert_status_new" if result[1] else "upsert_status_existing"],
             "id": result[0].id}
            for result in results]


def upsert(call: Call) -> Any:
    return _positional(call, "upsert")


def insert(call: Call) -> Any:
    return _positional(call, "insert")


def update(call: Call) -> Any:
    return _positional(call, "update")


def upsertplus(call: Call) -> Any:
    group, results = _write_batch(call, "upsert")
    out = []
    for result in results:
        if not isinstance(result, str):
            out.append(receiver_json(call.settings, call.account, group, result[0],
                                     events=False))
    return out


# -- reading -------------------------------------------------------------------------------------

def _order(receivers: Iterable[Receiver], order_by: str | None) -> Iterable[Receiver]:
    if not order_by:
        return receivers
    parts = order_by.replace(",", " ").split()
    field_name = parts[0].lower()
    descending = len(parts) > 1 and parts[1].lower() == "desc"
    if field_name not in (*_TIME_FIELDS, "email", "id"):
        raise ApiError(400, f"Bad Request: cannot order by {field_name}")

    def sort_key(r: Receiver) -> Any:
        if field_name == "id":
            return int(r.id) if r.id.isdigit() else 0
        return getattr(r, field_name) if field_name != "email" else norm_email(r.email)

    return sorted(receivers, key=sort_key, reverse=descending)


def _page(items: Iterable[Any], page: int, size: int) -> list[Any]:
    return list(itertools.islice(items, page * size, page * size + size))


def list_receivers(call: Call) -> Any:
    group = call.group()
    page, size = call.paging()
    kind = (call.query.get("type") or "all").lower()
    if kind not in ("all", "active", "inactive", "bounce"):
        raise ApiError(400, "Bad Request: type must be all, active, inactive or bounce")
    detail = call.int_arg("detail", 0)
    bounce_inactive = call.settings["bounce_sets_inactive"]
    receivers: Iterable[Receiver] = group.receivers.values()
    if call.query.get("email_list"):
        wanted = [norm_email(e) for e in call.query["email_list"].split(",") if e.strip()]
        receivers = [group.receivers[e] for e in dict.fromkeys(wanted) if e in group.receivers]
    elif call.query.get("id_list"):
        wanted = [i.strip() for i in call.query["id_list"].split(",") if i.strip()]
        receivers = [r for r in (group.find(i) for i in dict.fromkeys(wanted)) if r is not None]
    if kind != "all":
        def keep(r: Receiver) -> bool:
            is_active = active(r, bounce_inactive)
            if kind == "active":
                return is_active
            if kind == "inactive":
                return not is_active
            return r.bounced > 0
        receivers = (r for r in receivers if keep(r))
    receivers = _order(receivers, call.query.get("order_by") or call.query.get("orderby"))
    return call.listing([receiver_json(call.settings, call.account, group, r, detail)
                         for r in _page(receivers, page, size)])


def get_receiver(call: Call) -> Any:
    group = call.group()
    return receiver_json(call.settings, call.account, group, call.receiver(group))


def post_receiver(call: Call) -> Any:
    group = call.group()
    try:
        receiver, _ = write_receiver(call, group, call.body_object(), "upsert")
    except ItemError as exc:
        raise ApiError(400, f"Bad Request: {str(exc).rstrip(';')}") from exc
    return receiver_json(call.settings, call.account, group, receiver)


def put_receiver(call: Call) -> Any:
    group = call.group()
    receiver = call.receiver(group)
    body = dict(call.body_object())
    new_email = body.get("email")
    body["email"] = receiver.email
    try:
        write_receiver(call, group, body, "update")
    except ItemError as exc:
        raise ApiError(400, f"Bad Request: {str(exc).rstrip(';')}") from exc
    if isinstance(new_email, str) and norm_email(new_email) != norm_email(receiver.email):
        _rename(call, group, receiver, new_email)
    return receiver_json(call.settings, call.account, group, receiver)


def delete_receiver(call: Call) -> Any:
    group = call.group()
    group.drop(call.receiver(group))
    group.last_changed = call.now
    return True


def delete_batch(call: Call) -> Any:
    group = call.group()
    body = call.body()
    emails = body.get("receivers", body.get("emails")) if isinstance(body, dict) else body
    if not isinstance(emails, list):
        raise ApiError(400, "Bad Request: a JSON array of emails was expected")
    if len(emails) > call.settings["max_batch"]:
        raise ApiError(413, f"Payload Too Large: at most {call.settings['max_batch']} "
                            "receivers per call")
    out = []
    for email in emails:
        receiver = group.find(str(email)) if isinstance(email, str | int) else None
        if receiver is None:
            out.append({"email": str(email), "status": "not found"})
            continue
        group.drop(receiver)
        out.append({"email": receiver.email, "status": "success"})
    group.last_changed = call.now
    return out


def set_active(call: Call) -> Any:
    group = call.group()
    receiver = call.receiver(group)
    protected = receiver.cr_deactivated and call.settings["protect_cr_deactivated"]
    if not protected and call.account.blacklist.get(norm_email(receiver.email)) is None:
        if receiver.activated <= 0:
            receiver.activated = call.now
        receiver.deactivated = 0
        receiver.cr_deactivated = False
    receiver.last_changed = group.last_changed = call.now
    return True


def set_inactive(call: Call) -> Any:
    group = call.group()
    receiver = call.receiver(group)
    if receiver.deactivated == 0:
        receiver.deactivated = call.now
    receiver.last_changed = group.last_changed = call.now
    return True


# -- account-wide --------------------------------------------------------------------------------

def _holders(account: Account, ref: str) -> Iterator[tuple[Group, Receiver]]:
    for group in account.groups.values():
        receiver = group.find(ref)
        if receiver is not None:
            yield group, receiver


def _first(call: Call) -> tuple[Group, Receiver]:
    ref = call.params["rid"]
    gid = call.query.get("group_id")
    for group, receiver in _holders(call.account, ref):
        if not gid or group.id == gid:
            return group, receiver
    raise ApiError(404, "Not Found: invalid receiver")


def get_account_receiver(call: Call) -> Any:
    group, receiver = _first(call)
    return receiver_json(call.settings, call.account, group, receiver)


def receiver_groups(call: Call) -> Any:
    _first(call)
    return [g.to_json() for g, _ in _holders(call.account, call.params["rid"])]


def _rename(call: Call, group: Group, receiver: Receiver, new_email: str) -> None:
    new_key = norm_email(new_email)
    if new_key in group.receivers:
        raise ApiError(400, f"Bad Request: duplicate address '{new_email}'")
    settings, account = call.settings, call.account
    old_values = dict(global_values(settings, account, receiver))
    group.drop(receiver)
    receiver.email = new_email.strip()
    group.put(receiver)
    if settings["global_attributes_shared"]:
        account.global_values.setdefault(new_key, old_values)
    if settings["receiver_id_scope"] == "account":
        account.receiver_ids.setdefault(new_key, receiver.id)
    receiver.last_changed = group.last_changed = call.now


def change_email(call: Call) -> Any:
    body = call.body_object()
    new_email = body.get("email")
    if not valid_email(new_email):
        raise ApiError(400, f"Bad Request: invalid address '{new_email}'")
    assert isinstance(new_email, str)
    holders = list(_holders(call.account, call.params["rid"]))
    if not holders:
        raise ApiError(404, "Not Found: invalid receiver")
    if call.settings["email_change_scope"] == "one":
        gid = call.query.get("group_id") or body.get("group_id")
        holders = [h for h in holders if not gid or h[0].id == str(gid)][:1]
    for group, receiver in holders:
        _rename(call, group, receiver, new_email)
    group, receiver = holders[0]
    return receiver_json(call.settings, call.account, group, receiver)


def delete_everywhere(call: Call) -> Any:
    holders = list(_holders(call.account, call.params["rid"]))
    if not holders:
        raise ApiError(404, "Not Found: invalid receiver")
    for group, receiver in holders:
        group.drop(receiver)
    return True


def delete_many_everywhere(call: Call) -> Any:
    body = call.body()
    refs = body.get("receivers") if isinstance(body, dict) else body
    if not isinstance(refs, list):
        raise ApiError(400, "Bad Request: receivers must be a list")
    for ref in refs:
        for group, receiver in list(_holders(call.account, str(ref))):
            group.drop(receiver)
    return True


def is_valid(call: Call) -> Any:
    body = call.body_object()
    emails = body.get("emails")
    if not isinstance(emails, list):
        raise ApiError(400, "Bad Request: emails must be a list")
    invert = bool(body.get("invert", False))
    blacklist = call.account.blacklist
    out = []
    for email in emails:
        ok = valid_email(email) and norm_email(str(email)) not in blacklist
        if ok != invert:
            out.append(email)
    return out


def _rule_value(settings: dict[str, Any], account: Account, group: Group, receiver: Receiver,
                field_name: str) -> Any:
    if field_name in _TIME_FIELDS:
        return getattr(receiver, field_name)
    if field_name == "email":
        return receiver.email
    if field_name == "id":
        return receiver.id
    if field_name == "tags":
        return receiver.tags
    if field_name == "source":
        return receiver.source
    if field_name == "active":
        return int(active(receiver, settings["bounce_sets_inactive"]))
    values = global_values(settings, account, receiver)
    if field_name in values:
        return values[field_name]
    return receiver.attributes.get(field_name)


def _matches(value: Any, logic: str, condition: Any) -> bool:
    if logic in ("notisnull", "isnotnull"):
        return value not in (None, "", 0, [])
    if logic == "isnull":
        return value in (None, "", 0, [])
    if isinstance(value, list):
        text = str(condition).lower()
        found = any(text == v.lower() if logic == "eq" else text in v.lower() for v in value)
        return not found if logic in ("notcontains", "neq", "!=") else found
    if logic in ("bg", "sm", "bgeq", "smeq", ">", "<", ">=", "<="):
        try:
            left, right = float(value or 0), float(condition)
        except (TypeError, ValueError):
            left, right = str(value or ""), str(condition)  # type: ignore[assignment]
        return {"bg": left > right, ">": left > right, "sm": left < right, "<": left < right,
                "bgeq": left >= right, ">=": left >= right, "smeq": left <= right,
                "<=": left <= right}[logic]
    left_text, right_text = str(value if value is not None else "").lower(), str(condition).lower()
    if logic in ("eq", "="):
        return left_text == right_text
    if logic in ("neq", "!="):
        return left_text != right_text
    if logic in ("contains", "like"):
        return right_text in left_text
    if logic == "notcontains":
        return right_text not in left_text
    raise ApiError(400, f"Bad Request: unknown logic '{logic}'")


def filter_receivers(call: Call) -> Any:
    body = call.body_object()
    page, size = call.paging(body)
    groups = body.get("groups") or []
    if not isinstance(groups, list):
        raise ApiError(400, "Bad Request: groups must be a list")
    rules = body.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ApiError(400, "Bad Request: rules must be a list of objects")
    operator = str(body.get("operator") or "AND").upper()
    detail = int(body.get("detail") or 0)
    account, settings = call.account, call.settings
    if groups:
        chosen = [account.groups[str(g)] for g in groups if str(g) in account.groups]
    else:
        chosen = list(account.groups.values())
    parsed = [(str(r.get("field", "")), str(r.get("logic", "eq")).lower(), r.get("condition"))
              for r in rules]
    for _, logic, _ in parsed:
        _matches("", logic, "")  # unknown logic: 400 even on an empty account

    def hits() -> Iterator[tuple[Group, Receiver]]:
        for group in chosen:
            for receiver in group.receivers.values():
                checks = (_matches(_rule_value(settings, account, group, receiver, f), lg, c)
                          for f, lg, c in parsed)
                if not parsed or (any(checks) if operator == "OR" else all(checks)):
                    yield group, receiver

    found: Iterable[tuple[Group, Receiver]] = hits()
    order_by = body.get("orderby") or body.get("order_by")
    if order_by:
        ordered = _order((r for _, r in found), str(order_by))
        by_receiver = {id(r): g for g, r in hits()}
        found = ((by_receiver[id(r)], r) for r in ordered)
    return call.listing([receiver_json(settings, account, g, r, detail)
                         for g, r in _page(found, page, size)])


ROUTES = [
    Route("GET", "groups/{gid}/receivers", list_receivers, READ),
    Route("POST", "groups/{gid}/receivers", post_receiver, WRITE),
    Route("POST", "groups/{gid}/receivers/upsert", upsert, WRITE),
    Route("POST", "groups/{gid}/receivers/upsertplus", upsertplus, WRITE),
    Route("POST", "groups/{gid}/receivers/insert", insert, WRITE),
    Route("PUT", "groups/{gid}/receivers/update", update, WRITE),
    Route("POST", "groups/{gid}/receivers/delete", delete_batch, WRITE),
    Route("GET", "groups/{gid}/receivers/{rid}", get_receiver, READ),
    Route("PUT", "groups/{gid}/receivers/{rid}", put_receiver, WRITE),
    Route("DELETE", "groups/{gid}/receivers/{rid}", delete_receiver, WRITE),
    Route("PUT", "groups/{gid}/receivers/{rid}/activate", set_active, WRITE),
    Route("PUT", "groups/{gid}/receivers/{rid}/setactive", set_active, WRITE),
    Route("PUT", "groups/{gid}/receivers/{rid}/deactivate", set_inactive, WRITE),
    Route("PUT", "groups/{gid}/receivers/{rid}/setinactive", set_inactive, WRITE),
    Route("POST", "receivers/filter", filter_receivers, READ),
    Route("POST", "receivers/isvalid", is_valid, READ),
    Route("POST", "receivers/delete", delete_many_everywhere, WRITE),
    Route("GET", "receivers/{rid}", get_account_receiver, READ),
    Route("GET", "receivers/{rid}/groups", receiver_groups, READ),
    Route("PUT", "receivers/{rid}/email", change_email, WRITE),
    Route("DELETE", "receivers/{rid}", delete_everywhere, WRITE),
]
