"""Blacklist, bounces and mailing reports (§2.6)."""

from __future__ import annotations

from typing import Any

from connectors.cleverreach.emulator.calls import ApiError, Call, Route
from connectors.cleverreach.emulator.receivers import receiver_json
from connectors.cleverreach.emulator.state import iso_utc, norm_email, valid_email

__all__ = ["ROUTES", "blacklist_entry", "bounce_entry"]

READ, WRITE = "read_receivers", "write_receivers"
BOUNCE_EXPIRY = 5 * 365 * 86400  # how long CleverReach keeps a bounce (the fixture's spans)
REPORT_KINDS = {"sent": "mail_send", "opened": "mail_open", "clicked": "mail_click",
                "bounced": "mail_bounce", "unsubscribed": "user_unsubscribe"}


def blacklist_entry(email: str, comment: str, stamp: int) -> dict[str, Any]:
    return {"email": email, "comment": comment, "stamp": stamp, "isLocked": 0}


def bounce_entry(old: dict[str, Any] | None, email: str, at: int, category: str, message: str,
                 mailing_id: str) -> dict[str, Any]:
    """A ``/bounces.json`` entry (``apt_bounces.json``'s ten keys, ``occurences`` sic)."""
    expires = at + BOUNCE_EXPIRY
    return {"email": email, "category": category,
            "occurences": (old or {}).get("occurences", 0) + 1,
            "last_update": at, "last_update_gmt": iso_utc(at),
            "expires_by": expires, "expires_by_gmt": iso_utc(expires),
            "bounce_message": message, "type": "mailing", "type_id": str(mailing_id)}


def list_blacklist(call: Call) -> Any:
    page, size = call.paging()
    entries = list(call.account.blacklist.values())[page * size:(page + 1) * size]
    return call.listing([dict(e) for e in entries])


def get_blacklisted(call: Call) -> Any:
    entry = call.account.blacklist.get(norm_email(call.params["email"]))
    if entry is None:
        raise ApiError(404, "Not Found: invalid email")
    return dict(entry)


def add_blacklisted(call: Call) -> Any:
    body = call.body_object()
    email = body.get("email")
    if not valid_email(email):
        raise ApiError(400, f"Bad Request: invalid address '{email}'")
    assert isinstance(email, str)
    entry = blacklist_entry(email.strip(), str(body.get("comment") or ""), call.now)
    call.account.blacklist[norm_email(email)] = entry
    return dict(entry)


def remove_blacklisted(call: Call) -> Any:
    if call.account.blacklist.pop(norm_email(call.params["email"]), None) is None:
        raise ApiError(404, "Not Found: invalid email")
    return True


def validate(call: Call) -> Any:
    emails = call.body_object().get("emails")
    if not isinstance(emails, list):
        raise ApiError(400, "Bad Request: emails must be a list")
    return [e for e in emails if norm_email(str(e)) not in call.account.blacklist]


def list_bounces(call: Call) -> Any:
    page, size = call.paging()
    entries = list(call.account.bounces.values())[page * size:(page + 1) * size]
    return call.listing([dict(e) for e in entries])


def list_reports(call: Call) -> Any:
    page, size = call.paging(default_size=min(50, call.settings["default_pagesize"]))
    if size > 100:
        raise ApiError(400, "Bad Request: pagesize exceeds 100")
    start = call.int_arg("start", 0)
    end = call.int_arg("end", 0)
    reports = [r for r in call.account.reports.values()
               if r["sent"] >= start and (not end or r["sent"] <= end)]
    reports.sort(key=lambda r: r["sent"], reverse=True)
    return call.listing([_report_json(r) for r in reports[page * size:(page + 1) * size]])


def _report_json(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("id", "name", "subject", "groups_id", "sent")}


def get_report(call: Call) -> Any:
    report = call.account.reports.get(call.params["rid"])
    if report is None:
        raise ApiError(404, "Not Found: invalid report")
    return _report_json(report)


def report_receivers(call: Call) -> Any:
    report = call.account.reports.get(call.params["rid"])
    if report is None:
        raise ApiError(404, "Not Found: invalid report")
    kind = REPORT_KINDS.get(call.params["kind"])
    if kind is None:
        raise ApiError(404, "Not Found")
    page, size = call.paging()
    start, end = call.int_arg("from", 0), call.int_arg("to", 0)
    detail = call.int_arg("detail", 0)
    out = []
    for group in call.account.groups.values():
        for receiver in group.receivers.values():
            hit = any(e["type"] == kind and e["mailing_id"] == report["id"]
                      and e["stamp"] >= start and (not end or e["stamp"] <= end)
                      for e in receiver.events)
            if hit:
                out.append((group, receiver))
    return call.listing([receiver_json(call.settings, call.account, g, r, detail)
                         for g, r in out[page * size:(page + 1) * size]])


ROUTES = [
    Route("GET", "blacklist", list_blacklist, READ),
    Route("POST", "blacklist", add_blacklisted, WRITE),
    Route("POST", "blacklist/validate", validate, READ),
    Route("GET", "blacklist/{email}", get_blacklisted, READ),
    Route("DELETE", "blacklist/{email}", remove_blacklisted, WRITE),
    Route("GET", "bounces", list_bounces, READ),
    Route("GET", "reports", list_reports, "report"),
    Route("GET", "reports/{rid}", get_report, "report"),
    Route("GET", "reports/{rid}/receivers/{kind}", report_receivers, "report"),
]
