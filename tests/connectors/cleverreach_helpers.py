"""Helpers of the CleverReach emulator tests: the fixtures' folder and a thin /v3 client."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import requests

from connectors.cleverreach.emulator import DEFAULT_CLIENT, CleverReachEmulator

SHARED = Path(os.environ.get("LISTBRIDGE_SHARED") or Path(__file__).resolve().parents[3] / "shared")
FIXTURES = SHARED / "api" / "fixtures" / "cleverreach"
CLIENT_ID, CLIENT_SECRET = DEFAULT_CLIENT
REDIRECT = "http://127.0.0.1:53682/callback"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Api:
    """Requests against ``{base}/v3`` with one account's Bearer token."""

    def __init__(self, emu: CleverReachEmulator, session: requests.Session,
                 account: str | None = None) -> None:
        self.emu, self.session = emu, session
        self.token = emu.issue_token(account)["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(method, f"{self.emu.url}/v3/{path}", headers=headers,
                                    timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def group(self, name: str = "CRM - Spring", **fields: Any) -> str:
        response = self.post("groups.json", json={"name": name, **fields})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def upsert(self, gid: str, items: list[Any]) -> requests.Response:
        return self.post(f"groups.json/{gid}/receivers/upsert", json=items)

    def admin(self, method: str, hook: str, **body: Any) -> Any:
        response = self.session.request(method, f"{self.emu.url}/__emulator__/{hook}",
                                        json=body or None, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


