"""The CleverReach emulator against shared/api/cleverreach.md §6: one test per conformance point.

Real HTTP over loopback with ``requests``; F points also check the recorded fixtures.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import requests

from connectors.cleverreach.emulator import CleverReachEmulator
from tests.connectors.cleverreach_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT,
    Api,
    fixture,
)

pytest_plugins = ["tests.connectors.cleverreach_support"]

GROUP_KEYS = ["id", "name", "locked", "backup", "receiver_info", "stamp", "last_mailing",
              "last_changed"]
ATTRIBUTE_KEYS = {"id", "groups_id", "name", "description", "preview_value", "value", "type",
                  "tag"}
TIME_KEYS = ("activated", "registered", "deactivated", "bounced", "imported")


def _attrs(api: Api, *names: str) -> None:
    for name in names:
        assert api.post("attributes.json", json={"name": name, "type": "text"}).status_code == 200


def _check_group(group: dict[str, Any]) -> None:
    assert list(group) == GROUP_KEYS
    assert isinstance(group["id"], str)
    assert isinstance(group["locked"], bool) and isinstance(group["backup"], bool)
    for key in ("stamp", "last_mailing", "last_changed"):
        assert isinstance(group[key], int) and not isinstance(group[key], bool)


def _check_receiver(receiver: dict[str, Any], reference: dict[str, Any]) -> None:
    assert set(reference) - {"orders"} <= set(receiver) or set(reference) <= set(receiver)
    assert isinstance(receiver["id"], str) and isinstance(receiver["group_id"], str)
    for key in TIME_KEYS:
        assert type(receiver[key]) is int
    assert isinstance(receiver["attributes"], dict)
    assert isinstance(receiver["global_attributes"], dict)
    for event in receiver.get("events", []):
        assert set(event) == {"stamp", "type", "type_id", "value", "mailing_id", "groups_id"}
        assert isinstance(event["mailing_id"], str) and isinstance(event["groups_id"], str)


def _receiver(api: Api, gid: str, ref: str) -> dict[str, Any]:
    response = api.get(f"groups.json/{gid}/receivers/{ref}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_cp01_whoami_keys(api: Api) -> None:
    reference = fixture("lc_getUserInfo.json")
    assert all(isinstance(v, str) for v in reference.values())
    whoami = api.get("debug/whoami.json").json()
    assert set(reference) <= set(whoami)
    assert all(isinstance(whoami[k], str) for k in reference)


def test_cp02_group_shape(api: Api) -> None:
    for group in fixture("lc_getAllGroups.json") + [fixture("lc_createGroup.json")]:
        _check_group(group)
    gid = api.group()
    _check_group(api.get(f"groups.json/{gid}").json())
    for group in api.get("groups.json").json():
        _check_group(group)


def test_cp03_created_group(api: Api, emu: CleverReachEmulator) -> None:
    created = api.post("groups.json", json={"name": "CRM - Frühjahr"}).json()
    now = emu.now_ts()
    assert created["name"] == "CRM - Frühjahr"
    assert created["stamp"] == created["last_changed"] == now
    assert created["last_mailing"] == 0
    assert created["locked"] is False and created["backup"] is True


def test_cp04_new_account_no_groups(api: Api) -> None:
    response = api.get("groups.json")
    assert response.status_code == 200 and response.json() == []


def test_cp05_receiver_single_shape(api: Api) -> None:
    reference = fixture("lc_recipientInfo.json")
    _check_receiver(reference, reference)
    _check_receiver(fixture("lc_fakeRecipientInfo.json"), reference)
    _attrs(api, "firstname", "lastname")
    gid = api.group()
    api.upsert(gid, [{"email": "ada@example.com", "global_attributes": {"firstname": "Ada"},
                      "tags": ["ListBridge-Type.1"]}])
    receiver = _receiver(api, gid, "ada@example.com")
    _check_receiver(receiver, reference)
    assert receiver["global_attributes"] == {"firstname": "Ada", "lastname": ""}
    assert receiver["events"][0]["type_id"] == "REST insert"
    assert receiver["events"][0]["groups_id"] == gid


def test_cp06_receiver_by_id_and_email(api: Api) -> None:
    gid = api.group()
    rid = api.upsert(gid, [{"email": "Ada@Example.com"}]).json()[0]["id"]
    by_id = api.get(f"groups.json/{gid}/receivers/{rid}")
    by_email = api.get(f"groups.json/{gid}/receivers/ada%40example.com")
    assert by_id.status_code == 200 and by_id.content == by_email.content


def test_cp07_unknown_receiver_404(api: Api) -> None:
    reference = fixture("rd_error_404_invalid_receiver.json")
    gid = api.group()
    response = api.get(f"groups.json/{gid}/receivers/nobody@example.com")
    assert response.status_code == 404
    assert response.json() == reference
    assert response.content == json.dumps(reference, separators=(",", ":")).encode()


def test_cp08_error_bodies(api: Api, session: requests.Session) -> None:
    gid = api.group()
    answers = [
        api.get("groups.json/999"),
        api.post("groups.json", json={}),
        api.post("groups.json", data=b"{not json", headers={"Content-Type": "application/json"}),
        api.delete(f"groups.json/{gid}/receivers"),
        api.get(f"groups.json/{gid}/receivers", params={"pagesize": 5001}),
        session.get(f"{api.emu.url}/v3/groups.json", timeout=5),
        api.get("nothing/here"),
    ]
    assert [a.status_code for a in answers] == [404, 400, 400, 405, 400, 401, 404]
    for answer in answers:
        body = answer.json()
        assert list(body) == ["error"] and set(body["error"]) == {"code", "message"}
        assert body["error"]["code"] == answer.status_code
        assert isinstance(body["error"]["message"], str)


def test_cp09_upsert_positional(api: Api) -> None:
    reference = fixture("mf_upsert_mixed_result.json")
    assert isinstance(reference[1], str) and reference[1].startswith("invalid address '")
    assert all(isinstance(r["id"], str) for r in reference if isinstance(r, dict))
    gid = api.group()
    results = api.upsert(gid, [{"email": "a@example.com"}, {"email": "test3-invalidmail"},
                               {"email": "b@example.com"}, {"email": "A@example.com"}]).json()
    assert len(results) == 4
    assert isinstance(results[0], dict) and isinstance(results[0]["id"], str)
    assert results[1] == "invalid address 'test3-invalidmail';"
    assert isinstance(results[2], dict) and results[2]["id"] != results[0]["id"]
    assert isinstance(results[3], str) and results[3].startswith("duplicate address '")


def test_cp10_upsertplus_items(api: Api) -> None:
    for item in fixture("lc_recipientsMassUpdate.json") + fixture("lc_recipientsDeactivate.json"):
        assert "events" not in item and "orders" not in item
    gid = api.group()
    items = api.post(f"groups.json/{gid}/receivers/upsertplus",
                     json=[{"email": "a@example.com"}, {"email": "broken"},
                           {"email": "b@example.com"}]).json()
    assert [i["email"] for i in items] == ["a@example.com", "b@example.com"]
    for item in items:
        assert "events" not in item and "orders" not in item
        assert isinstance(item["id"], str)


def test_cp11_upsert_activated_zero_inactive(api: Api) -> None:
    assert all(item["active"] is False for item in fixture("lc_recipientsDeactivate.json"))
    gid = api.group()
    api.upsert(gid, [{"email": "old@example.com"}])
    items = api.post(f"groups.json/{gid}/receivers/upsertplus",
                     json=[{"email": "old@example.com", "activated": 0},
                           {"email": "new@example.com", "activated": 0}]).json()
    assert len(items) == 2 and all(item["active"] is False for item in items)
    assert _receiver(api, gid, "old@example.com")["active"] is False


def test_cp12_new_receiver_active_now(api: Api, emu: CleverReachEmulator) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "new@example.com", "source": "ListBridge"}])
    receiver = _receiver(api, gid, "new@example.com")
    assert receiver["registered"] == receiver["activated"] == emu.now_ts()
    assert receiver["active"] is True and receiver["source"] == "ListBridge"


def test_cp13_unsubscribed_stays_inactive(api: Api, emu: CleverReachEmulator) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "gone@example.com"}])
    at = emu.now_ts() - 100
    api.admin("POST", "simulate/unsubscribe", email="gone@example.com", group_id=gid, at=at)
    api.upsert(gid, [{"email": "gone@example.com", "activated": emu.now_ts()}])
    receiver = _receiver(api, gid, "gone@example.com")
    assert receiver["active"] is False and receiver["deactivated"] == at


def test_cp14_unknown_global_keys_dropped(api: Api) -> None:
    _attrs(api, "firstname", "lastname")
    gid = api.group()
    results = api.upsert(gid, [{"email": "a@example.com", "global_attributes": {
        "firstname": "Ada", "lastname": "Lovelace", "shoesize": "42"}}]).json()
    assert isinstance(results[0], dict)
    values = _receiver(api, gid, "a@example.com")["global_attributes"]
    assert values == {"firstname": "Ada", "lastname": "Lovelace"}
    api.upsert(gid, [{"email": "a@example.com", "global_attributes": {"lastname": ""}}])
    values = _receiver(api, gid, "a@example.com")["global_attributes"]
    assert values == {"firstname": "Ada", "lastname": ""}


def test_cp15_receiver_delete_then_404(api: Api) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "a@example.com"}])
    first = api.delete(f"groups.json/{gid}/receivers/a@example.com")
    assert first.status_code == 200 and first.json() is True
    assert api.delete(f"groups.json/{gid}/receivers/a@example.com").status_code == 404


def test_cp16_activate_deactivate(api: Api) -> None:
    gid = api.group()
    rid = api.upsert(gid, [{"email": "a@example.com"}]).json()[0]["id"]
    answer = api.put(f"groups.json/{gid}/receivers/{rid}/deactivate")
    assert answer.status_code == 200 and answer.json() is True
    assert _receiver(api, gid, rid)["active"] is False
    answer = api.put(f"groups.json/{gid}/receivers/{rid}/activate")
    assert answer.json() is True
    assert _receiver(api, gid, rid)["active"] is True


def test_cp17_batch_delete_status_per_email(api: Api) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    result = api.post(f"groups.json/{gid}/receivers/delete",
                      json=["a@example.com", "nobody@example.com"]).json()
    assert [r["email"] for r in result] == ["a@example.com", "nobody@example.com"]
    assert result[0]["status"] == "success" and all("status" in r for r in result)
    assert api.get(f"groups.json/{gid}/receivers/a@example.com").status_code == 404
    assert _receiver(api, gid, "b@example.com")["email"] == "b@example.com"


def test_cp18_batch_too_large_413(api: Api, emu: CleverReachEmulator) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "keep@example.com"}])
    before = api.get(f"groups.json/{gid}/stats").json()["total_count"]
    too_many = [{"email": f"p{i}@example.com"} for i in range(emu.settings["max_batch"] + 1)]
    answer = api.upsert(gid, too_many)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == 413
    assert api.get(f"groups.json/{gid}/stats").json()["total_count"] == before == 1


def test_cp19_paging(api: Api) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": f"p{i:02}@example.com"} for i in range(23)])
    assert api.get(f"groups.json/{gid}/receivers", params={"pagesize": 5001}).status_code == 400
    for size in (1, 5, 7, 23, 50):
        seen: list[str] = []
        page = 0
        while True:
            batch = api.get(f"groups.json/{gid}/receivers",
                            params={"page": page, "pagesize": size}).json()
            seen += [r["email"] for r in batch]
            if len(batch) < size:
                break
            page += 1
        assert sorted(seen) == [f"p{i:02}@example.com" for i in range(23)]
    first = api.get(f"groups.json/{gid}/receivers", params={"page": 0, "pagesize": 5}).json()
    assert first[0]["email"] == "p00@example.com"


def test_cp20_path_forms_and_token_query(api: Api, session: requests.Session) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "a@example.com"}])
    bodies = [api.get(path).content for path in (
        f"groups.json/{gid}/receivers", f"groups/{gid}/receivers",
        f"groups/{gid}/receivers.json")]
    query = session.get(f"{api.emu.url}/v3/groups.json/{gid}/receivers",
                        params={"token": api.token}, timeout=5)
    assert query.status_code == 200
    assert bodies[0] == bodies[1] == bodies[2] == query.content
    assert json.loads(bodies[0])[0]["email"] == "a@example.com"


def test_cp21_attribute_shape(api: Api) -> None:
    reference = [fixture("lc_createAndUpdateGlobalAttribute.json"),
                 *fixture("lc_getAllGlobalAttributes.json")]
    for attribute in reference:
        assert set(attribute) == ATTRIBUTE_KEYS
        assert type(attribute["id"]) is int and type(attribute["groups_id"]) is int
        assert attribute["type"] in ("text", "number", "gender", "date")
    created = api.post("attributes.json", json={"name": "birthday", "type": "date"}).json()
    for attribute in [created, *api.get("attributes.json").json()]:
        assert set(attribute) == ATTRIBUTE_KEYS
        assert type(attribute["id"]) is int and attribute["groups_id"] == 0
    assert api.post("attributes.json", json={"name": "x", "type": "color"}).status_code == 400


def test_cp22_attribute_tag_and_conflict(api: Api) -> None:
    created = api.post("attributes.json", json={"name": "firstname", "type": "text",
                                                "description": "First name"}).json()
    assert created["tag"] == "{FIRSTNAME}" and created["description"] == "First name"
    again = api.post("attributes.json", json={"name": "firstname", "type": "text"})
    assert again.status_code == 409 and again.json()["error"]["code"] == 409


def test_cp23_stats(api: Api, emu: CleverReachEmulator) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "a@example.com"}, {"email": "b@example.com"},
                     {"email": "c@example.com", "activated": 0}])
    stats = api.get(f"groups.json/{gid}/stats").json()
    assert set(stats) == {"total_count", "inactive_count", "active_count", "bounce_count",
                          "avg_points", "quality", "time", "order_count"}
    assert stats["total_count"] == stats["active_count"] + stats["inactive_count"] == 3
    assert stats["active_count"] == 2 and stats["time"] == emu.now_ts()


def test_cp24_bounce_shape(api: Api, emu: CleverReachEmulator) -> None:
    keys = ["email", "category", "occurences", "last_update", "last_update_gmt", "expires_by",
            "expires_by_gmt", "bounce_message", "type", "type_id"]
    for entry in fixture("apt_bounces.json"):
        assert list(entry) == keys
        for stamp, text in (("last_update", "last_update_gmt"), ("expires_by", "expires_by_gmt")):
            assert datetime.fromisoformat(entry[text]).timestamp() == entry[stamp]
            assert entry[text].endswith("+00:00")
    gid = api.group()
    api.upsert(gid, [{"email": "b@example.com"}])
    emu.simulate_bounce("b@example.com", at=1668083102)
    entry = api.get("bounces.json").json()[0]
    assert list(entry) == keys
    assert entry["last_update_gmt"] == "2022-11-10T12:25:02+00:00"
    assert datetime.fromisoformat(entry["expires_by_gmt"]).timestamp() == entry["expires_by"]


def test_cp25_simulated_bounce(api: Api, emu: CleverReachEmulator) -> None:
    gid = api.group()
    api.upsert(gid, [{"email": "b@example.com"}])
    at = emu.now_ts() - 60
    api.admin("POST", "simulate/bounce", email="b@example.com", at=at, category="hardbounce",
              message="smtp; 550", mailing_id="77")
    api.admin("POST", "simulate/bounce", email="b@example.com", at=at + 1)
    entries = [e for e in api.get("bounces.json").json() if e["email"] == "b@example.com"]
    assert len(entries) == 1 and entries[0]["last_update"] == at + 1
    assert entries[0]["occurences"] == 2
    receiver = _receiver(api, gid, "b@example.com")
    assert receiver["bounced"] == at + 1 and receiver["active"] is False
    assert receiver["events"][1]["type"] == "mail_bounce"


def test_cp26_unsubscribe_event_groups_id(api: Api, emu: CleverReachEmulator) -> None:
    event = [e for e in fixture("apt_report_receiver_events.json")
             if e["type"] == "user_unsubscribe"][0]
    assert event["groups_id"] != "0"
    gid = api.group()
    api.upsert(gid, [{"email": "u@example.com"}])
    emu.simulate_unsubscribe("u@example.com", group_id=gid)
    events = _receiver(api, gid, "u@example.com")["events"]
    assert events[0]["type"] == "user_unsubscribe" and events[0]["groups_id"] == gid


def test_cp27_filters_find_unsubscribes_and_signups(api: Api, emu: CleverReachEmulator) -> None:
    gid, other = api.group("A"), api.group("B")
    api.upsert(gid, [{"email": "u@example.com"}, {"email": "stay@example.com"}])
    api.upsert(other, [{"email": "u@example.com"}])
    at = emu.now_ts() + 100
    api.admin("POST", "simulate/unsubscribe", email="u@example.com", group_id=gid, at=at)
    found = api.post("receivers/filter.json", json={
        "groups": [], "operator": "AND", "detail": 0,
        "rules": [{"field": "deactivated", "logic": "bg", "condition": str(at - 1)}]}).json()
    assert [(r["email"], r["group_id"]) for r in found] == [("u@example.com", gid)]
    api.admin("POST", "simulate/signup", group_id=other, email="new@example.com", at=at + 50)
    found = api.post("receivers/filter.json", json={
        "groups": [other], "rules": [{"field": "activated", "logic": "BG",
                                      "condition": at + 49}]}).json()
    assert [r["email"] for r in found] == ["new@example.com"]
    assert found[0]["active"] is True and found[0]["group_id"] == other


def _authorize(session: requests.Session, emu: CleverReachEmulator,
               **params: str) -> requests.Response:
    query = {"response_type": "code", "grant": "basic", "client_id": CLIENT_ID,
             "redirect_uri": REDIRECT, "state": "s-123", **params}
    return session.get(f"{emu.url}/oauth/authorize.php", params=query, allow_redirects=False,
                       timeout=5)


def _code(response: requests.Response) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def _token(session: requests.Session, emu: CleverReachEmulator, **fields: str) -> requests.Response:
    return session.post(f"{emu.url}/oauth/token.php", data=fields,
                        auth=(CLIENT_ID, CLIENT_SECRET), timeout=5)


def test_cp28_authorize_and_single_use_code(emu: CleverReachEmulator,
                                            session: requests.Session) -> None:
    rejected = _authorize(session, emu, grant="")
    assert rejected.status_code == 400 and "Location" not in rejected.headers
    answer = _authorize(session, emu)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(REDIRECT + "?code=")
    assert answer.headers["Location"].endswith("&state=s-123")
    code = _code(answer)
    first = _token(session, emu, grant_type="authorization_code", code=code,
                   redirect_uri=REDIRECT)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 31536000
    assert body["refresh_token"]
    second = _token(session, emu, grant_type="authorization_code", code=code,
                    redirect_uri=REDIRECT)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"


def test_cp29_refresh_rotation_and_expiry(emu: CleverReachEmulator,
                                          session: requests.Session) -> None:
    pair = emu.issue_token()
    refreshed = _token(session, emu, grant_type="refresh_token",
                       refresh_token=pair["refresh_token"]).json()
    assert refreshed["refresh_token"] != pair["refresh_token"]
    old = _token(session, emu, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    headers = {"Authorization": f"Bearer {refreshed['access_token']}"}
    whoami = session.get(f"{emu.url}/v3/debug/whoami.json", headers=headers, timeout=5)
    assert whoami.status_code == 200 and whoami.json()["id"] == next(iter(emu.state.accounts))
    session.post(f"{emu.url}/__emulator__/tokens/expire", json={"kind": "access"}, timeout=5)
    expired = session.get(f"{emu.url}/v3/groups.json", headers=headers, timeout=5)
    assert expired.status_code == 401
    assert expired.json() == {"error": {"code": 401, "message": "Unauthorized: token expired"}}


def test_cp30_ttl(api: Api, emu: CleverReachEmulator) -> None:
    payload = api.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert {"iss", "exp", "scopes", "account_id"} <= set(claims)
    assert api.get("debug/ttl.json").json()["ttl"] == claims["exp"] - emu.now_ts()
    emu.set_clock(advance=3600)
    answer = api.get("debug/ttl.json").json()
    assert answer["ttl"] == claims["exp"] - emu.now_ts()
    assert datetime.fromisoformat(answer["date"]).timestamp() == claims["exp"]


def test_cp31_accounts_isolated(emu: CleverReachEmulator, session: requests.Session) -> None:
    first, second = list(emu.state.accounts)[:2]
    a, b = Api(emu, session, first), Api(emu, session, second)
    gid = b.group("B's list")
    assert a.get(f"groups.json/{gid}").status_code == 404
    assert a.get(f"groups.json/{gid}/receivers").status_code == 404
    assert a.get("groups.json").json() == []
    assert a.get("debug/whoami.json").json()["id"] != b.get("debug/whoami.json").json()["id"]


def _script(emu: CleverReachEmulator, session: requests.Session) -> list[bytes]:
    api = Api(emu, session)
    gid = api.group("Replay")
    out = [api.get(f"groups.json/{gid}").content, api.token.encode(),
           api.upsert(gid, [{"email": f"r{i}@example.com"} for i in range(5)]).content,
           api.get(f"groups.json/{gid}/receivers", params={"detail": 7}).content,
           api.post("attributes.json", json={"name": "firstname"}).content]
    out.append(_authorize(session, emu).headers["Location"].encode())
    return out


def test_cp32_reset_replays_byte_identical(emu: CleverReachEmulator,
                                           session: requests.Session) -> None:
    session.post(f"{emu.url}/__emulator__/reset", json={"seed": 7}, timeout=5)
    first = _script(emu, session)
    session.post(f"{emu.url}/__emulator__/reset", json={"seed": 7}, timeout=5)
    assert _script(emu, session) == first
    session.post(f"{emu.url}/__emulator__/reset", json={"seed": 8}, timeout=5)
    assert _script(emu, session)[1] != first[1]


def test_cp33_locked_group_delete(api: Api) -> None:
    gid = api.group("Protected", locked=True)
    refused = api.delete(f"groups.json/{gid}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == 403
    assert api.put(f"groups.json/{gid}", json={"locked": False}).json()["locked"] is False
    deleted = api.delete(f"groups.json/{gid}")
    assert deleted.status_code == 200 and deleted.json() is True
    assert api.get(f"groups.json/{gid}").status_code == 404
