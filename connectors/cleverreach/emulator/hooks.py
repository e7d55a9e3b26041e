"""The test hooks (§5.2) as Python methods; ``/__emulator__/<hook>`` calls the same methods.

==========================================  ==================================================
HTTP                                        Python
==========================================  ==================================================
``POST reset {seed}``                       :meth:`Hooks.reset`
``POST accounts {...}``, ``GET accounts``   :meth:`Hooks.add_account`, :meth:`Hooks.accounts`
``POST clients {...}``                      :meth:`Hooks.add_client`
``POST token {account, client_id}``         :meth:`Hooks.issue_token` (skips the sign-in)
``GET state?account=``                      :meth:`Hooks.inspect`
``POST clock {now}`` / ``{advance}``        :meth:`Hooks.set_clock`
``POST simulate/unsubscribe``               :meth:`Hooks.simulate_unsubscribe`
``POST simulate/bounce``                    :meth:`Hooks.simulate_bounce`
``POST simulate/signup``                    :meth:`Hooks.simulate_signup`
``POST simulate/confirm``                   :meth:`Hooks.simulate_confirm`
``POST simulate/blacklist``                 :meth:`Hooks.simulate_blacklist`
``POST tokens/expire``, ``tokens/revoke``   :meth:`Hooks.expire_tokens`, :meth:`Hooks.revoke_tokens`
``POST faults``, ``DELETE faults``          :meth:`Hooks.add_fault`, :meth:`Hooks.clear_faults`
``GET requests``, ``DELETE requests``       :meth:`Hooks.requests`, :meth:`Hooks.clear_requests`
``POST settings``, ``GET settings``         :meth:`Hooks.set_settings`, :meth:`Hooks.get_settings`
``POST forms``, ``POST reports``            :meth:`Hooks.add_form`, :meth:`Hooks.add_report`
==========================================  ==================================================
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from connectors.cleverreach.emulator import oauth
from connectors.cleverreach.emulator.reports import blacklist_entry, bounce_entry
from connectors.cleverreach.emulator.settings import check_setting, default_settings
from connectors.cleverreach.emulator.state import (
    Account,
    App,
    Attribute,
    Group,
    Receiver,
    State,
    norm_email,
    valid_email,
)
from connectors.emulation import Clock, Fault, FaultRules, RequestLog

__all__ = ["Hooks"]

_PROFILES = [
    {"name": "Brandt", "firstname": "Julia", "salutation": "Frau", "street": "Hafenstraße 4",
     "company": "Nordlicht Versand GmbH", "zip": "20457", "city": "Hamburg",
     "phone": "040 1234567", "fax": "", "email": "julia.brandt@nordlicht.example",
     "country": "Deutschland", "lang": "de", "whitelabel_id": "0"},
    {"name": "Keller", "firstname": "Tobias", "salutation": "Herr", "street": "Marktplatz 1",
     "company": "Keller & Söhne KG", "zip": "79098", "city": "Freiburg",
     "phone": "0761 987654", "fax": "", "email": "tobias.keller@keller-soehne.example",
     "country": "Deutschland", "lang": "de", "whitelabel_id": "0"},
]


class Hooks:
    """Mixin of :class:`~connectors.cleverreach.emulator.core.CleverReachEmulator`."""

    _lock: threading.RLock
    state: State
    settings: dict[str, Any]
    clock: Clock
    faults: FaultRules
    log: RequestLog
    _clients: list[tuple[str, str]]
    _account_count: int
    _auto_approve: bool
    _demo: bool
    _rate_window: dict[str, tuple[int, int]]

    def now_ts(self) -> int:
        raise NotImplementedError

    def admin_hooks(self) -> dict[tuple[str, str], Callable[..., Any]]:
        return {
            ("POST", "reset"): self.reset,
            ("POST", "accounts"): self.add_account,
            ("GET", "accounts"): self.accounts,
            ("POST", "clients"): self.add_client,
            ("POST", "token"): self.issue_token,
            ("GET", "state"): self.inspect,
            ("POST", "clock"): self.set_clock,
            ("POST", "simulate/unsubscribe"): self.simulate_unsubscribe,
            ("POST", "simulate/bounce"): self.simulate_bounce,
            ("POST", "simulate/signup"): self.simulate_signup,
            ("POST", "simulate/confirm"): self.simulate_confirm,
            ("POST", "simulate/blacklist"): self.simulate_blacklist,
            ("POST", "tokens/expire"): self.expire_tokens,
            ("POST", "tokens/revoke"): self.revoke_tokens,
            ("POST", "faults"): self.add_fault,
            ("DELETE", "faults"): self.clear_faults,
            ("GET", "requests"): self.requests,
            ("DELETE", "requests"): self.clear_requests,
            ("POST", "settings"): self.set_settings,
            ("GET", "settings"): self.get_settings,
            ("POST", "forms"): self.add_form,
            ("POST", "reports"): self.add_report,
        }

    # -- set-up ----------------------------------------------------------------------------------
    def reset(self, seed: int = 0) -> dict[str, Any]:
        """A fresh state from ``seed``: the accounts, the apps, the default settings."""
        with self._lock:
            self.state = State(seed=int(seed))
            self.settings = default_settings()
            self.settings["auto_approve"] = self._auto_approve
            self._rate_window.clear()
            self.faults.clear()
            self.log.clear()
            for index in range(self._account_count):
                self.add_account(**_PROFILES[index % len(_PROFILES)])
            first = next(iter(self.state.accounts))
            for client_id, secret in self._clients:
                self.add_client(client_id, secret, account=first)
            if self._demo:
                from connectors.cleverreach.emulator.demo import seed_demo

                seed_demo(self)
            return {"seed": int(seed), "accounts": list(self.state.accounts)}

    def add_account(self, id: str | None = None, **profile: Any) -> dict[str, Any]:  # noqa: A002
        """A new account with a ``whoami`` profile; answers that profile."""
        with self._lock:
            account_id = str(id) if id is not None else str(self.state.next_id("account"))
            if account_id in self.state.accounts:
                raise ValueError(f"account {account_id} exists")
            profile = {k: str(v) for k, v in profile.items()}
            profile["id"] = account_id
            profile.setdefault("login_domain", f"{account_id}.eu2.cleverreach.com")
            account = Account(id=account_id, profile=profile)
            self.state.accounts[account_id] = account
            return account.whoami()

    def accounts(self) -> list[dict[str, str]]:
        with self._lock:
            return [a.whoami() for a in self.state.accounts.values()]

    def add_client(self, client_id: str, client_secret: str, account: str | None = None,
                   scopes: list[str] | None = None,
                   redirect_uris: list[str] | None = None) -> dict[str, Any]:
        """An OAuth app owned by ``account`` (default: the first)."""
        with self._lock:
            owner = self._account(account).id
            app = App(client_id=client_id, client_secret=client_secret, owner=owner,
                      scopes=list(scopes if scopes is not None else oauth.ALL_SCOPES),
                      redirect_uris=list(redirect_uris or []))
            self.state.apps[client_id] = app
            return {"client_id": client_id, "owner": owner, "scopes": app.scopes}

    def issue_token(self, account: str | None = None,
                    client_id: str | None = None) -> dict[str, Any]:
        """A token pair for ``account`` as if it had signed in through ``client_id``."""
        with self._lock:
            target = self._account(account).id
            app = self.state.apps[client_id] if client_id else next(iter(self.state.apps.values()))
            return oauth.issue_tokens(self, target, app)  # type: ignore[arg-type]

    def inspect(self, account: str | None = None) -> dict[str, Any]:
        """The whole state of one account (``GET state?account=``), as JSON."""
        with self._lock:
            chosen = self._account(account)
            data = State(seed=self.state.seed, accounts={chosen.id: chosen}).to_json()
            return {"now": self.now_ts(), "account": data["accounts"][0]}

    def set_clock(self, now: int | str | None = None,
                  advance: float | None = None) -> dict[str, Any]:
        with self._lock:
            if now is not None:
                from datetime import UTC, datetime

                self.clock.set(datetime.fromtimestamp(now, UTC) if isinstance(now, int)
                               else now)
            if advance is not None:
                self.clock.advance(float(advance))
            return {"now": self.now_ts()}

    def set_settings(self, **settings: Any) -> dict[str, Any]:
        with self._lock:
            for name, value in settings.items():
                check_setting(name, value)
            self.settings.update(settings)
            return dict(self.settings)

    def get_settings(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.settings)

    # -- simulations -----------------------------------------------------------------------------
    def _account(self, account: str | int | None) -> Account:
        if account is None:
            return next(iter(self.state.accounts.values()))
        found = self.state.accounts.get(str(account))
        if found is None:
            raise KeyError(f"no account {account}")
        return found

    def _at(self, at: int | None) -> int:
        return self.now_ts() if at is None else int(at)

    def _holding(self, account: Account, email: str,
                 group_id: str | None = None) -> list[tuple[Group, Receiver]]:
        key = norm_email(email)
        return [(g, g.receivers[key]) for g in account.groups.values()
                if key in g.receivers and (group_id is None or g.id == str(group_id))]

    def simulate_unsubscribe(self, email: str, account: str | None = None,
                             group_id: str | None = None, at: int | None = None,
                             blacklist: bool = False, mailing_id: str = "0") -> dict[str, Any]:
        """The person unsubscribes in one group (or all): ``deactivated = at``."""
        with self._lock:
            acc, when = self._account(account), self._at(at)
            holders = self._holding(acc, email, group_id)
            if not holders:
                raise KeyError(f"{email} is in no such group")
            for group, receiver in holders:
                receiver.deactivated = when
                receiver.cr_deactivated = True
                receiver.last_changed = group.last_changed = when
                receiver.add_event(when, "user_unsubscribe", str(group.id), "127.0.0.1",
                                   str(mailing_id), group.id)
            if blacklist:
                acc.blacklist[norm_email(email)] = blacklist_entry(email, "unsubscribe", when)
            return {"groups": [g.id for g, _ in holders], "deactivated": when}

    def simulate_bounce(self, email: str, account: str | None = None, at: int | None = None,
                        category: str = "hardbounce", message: str = "smtp; 550 No such user",
                        mailing_id: str = "0") -> dict[str, Any]:
        with self._lock:
            acc, when = self._account(account), self._at(at)
            key = norm_email(email)
            entry = bounce_entry(acc.bounces.get(key), email, when, category, message, mailing_id)
            acc.bounces.pop(key, None)
            acc.bounces[key] = entry  # the newest last
            for group, receiver in self._holding(acc, email):
                receiver.bounced = when
                receiver.last_changed = group.last_changed = when
                receiver.add_event(when, "mail_bounce", category, message, str(mailing_id), "0")
            return dict(entry)

    def simulate_signup(self, email: str, group_id: str, account: str | None = None,
                        at: int | None = None, global_attributes: dict[str, Any] | None = None,
                        doi: bool = False) -> dict[str, Any]:
        """A sign-up through a form: ``registered = activated = at``, ``source "Form"``; with
        ``doi`` ``activated`` stays 0 until :meth:`simulate_confirm`."""
        with self._lock:
            acc, when = self._account(account), self._at(at)
            group = acc.groups.get(str(group_id))
            if group is None:
                raise KeyError(f"no group {group_id}")
            if not valid_email(email):
                raise ValueError(f"invalid address {email!r}")
            key = norm_email(email)
            receiver = group.receivers.get(key)
            if receiver is None:
                if self.settings["receiver_id_scope"] == "account":
                    rid = acc.receiver_ids.setdefault(key, str(acc.next_id("receiver")))
                else:
                    rid = str(acc.next_id("receiver"))
                receiver = Receiver(id=rid, email=email.strip(), group_id=group.id,
                                    registered=when, activated=0)
                group.put(receiver)
            receiver.registered = when
            receiver.activated = 0 if doi else when
            receiver.deactivated = 0
            receiver.cr_deactivated = False
            receiver.doi_pending = doi
            receiver.source = "Form"
            receiver.last_changed = group.last_changed = when
            values = (acc.global_values.setdefault(key, {})
                      if self.settings["global_attributes_shared"] else receiver.global_attributes)
            known = {a.name for a in acc.attributes.values()}
            values.update({k: v for k, v in (global_attributes or {}).items() if k in known})
            receiver.add_event(when, "form", "subscribe", "127.0.0.1", "0", group.id)
            return {"id": receiver.id, "group_id": group.id, "activated": receiver.activated}

    def simulate_confirm(self, email: str, group_id: str, account: str | None = None,
                         at: int | None = None) -> dict[str, Any]:
        """The person clicks the double opt-in link: the receiver activates."""
        with self._lock:
            acc, when = self._account(account), self._at(at)
            holders = self._holding(acc, email, group_id)
            if not holders:
                raise KeyError(f"{email} is not in group {group_id}")
            group, receiver = holders[0]
            receiver.activated = when
            receiver.deactivated = 0
            receiver.cr_deactivated = False
            receiver.doi_pending = False
            receiver.last_changed = group.last_changed = when
            for mail in acc.doi_mails:
                if norm_email(mail["email"]) == norm_email(email) and mail["group_id"] == group.id:
                    mail["confirmed"] = True
            return {"id": receiver.id, "activated": when}

    def simulate_blacklist(self, email: str, account: str | None = None, at: int | None = None,
                           comment: str = "") -> dict[str, Any]:
        with self._lock:
            acc, when = self._account(account), self._at(at)
            entry = blacklist_entry(email.strip(), comment, when)
            acc.blacklist[norm_email(email)] = entry
            return dict(entry)

    def add_form(self, group_id: str, name: str = "Anmeldeformular",
                 account: str | None = None) -> dict[str, Any]:
        with self._lock:
            acc = self._account(account)
            if str(group_id) not in acc.groups:
                raise KeyError(f"no group {group_id}")
            form = {"id": str(acc.next_id("form")), "name": name,
                    "customer_tables_id": str(group_id), "type": "doi"}
            acc.forms[form["id"]] = form
            return dict(form)

    def add_report(self, group_id: str, name: str, subject: str = "",
                   sent: int | None = None, account: str | None = None) -> dict[str, Any]:
        """A sent mailing to every active receiver of the group (``mail_send`` events)."""
        with self._lock:
            acc, when = self._account(account), self._at(sent)
            group = acc.groups[str(group_id)]
            report: dict[str, Any] = {"id": str(acc.next_id("report")), "name": name,
                      "subject": subject or name, "groups_id": group.id, "sent": when}
            acc.reports[report["id"]] = report
            group.last_mailing = when
            for receiver in group.receivers.values():
                if receiver.activated > 0 and receiver.deactivated == 0:
                    receiver.add_event(when, "mail_send", report["id"], "", report["id"], "0")
            return dict(report)

    def add_attribute(self, name: str, type: str = "text",  # noqa: A002
                      account: str | None = None) -> dict[str, Any]:
        with self._lock:
            acc = self._account(account)
            attribute = Attribute(id=acc.next_id("attribute"), groups_id=0, name=name,
                                  description=name, preview_value="", value=None, type=type)
            acc.attributes[attribute.id] = attribute
            return attribute.to_json()

    # -- tokens ----------------------------------------------------------------------------------
    def _tokens_of(self, account: str | None, token: str | None) -> tuple[list[Any], list[Any]]:
        access = [t for t in self.state.access_tokens.values()
                  if (token is None or t.token == token)
                  and (account is None or t.account == str(account))]
        refresh = [t for t in self.state.refresh_tokens.values()
                   if (token is None or t.token == token)
                   and (account is None or t.account == str(account))]
        if token is not None:  # a token's whole sign-in chain
            chains = {t.chain for t in access + refresh}
            access = [t for t in self.state.access_tokens.values() if t.chain in chains]
            refresh = [t for t in self.state.refresh_tokens.values() if t.chain in chains]
        return access, refresh

    def expire_tokens(self, account: str | None = None, token: str | None = None,
                      kind: str = "access") -> dict[str, int]:
        """``kind`` access (the next /v3 call gets 401), refresh (the refresh grant gets
        invalid_grant) or both."""
        if kind not in ("access", "refresh", "both"):
            raise ValueError("kind is access, refresh or both")
        with self._lock:
            access, refresh = self._tokens_of(account, token)
            now = self.now_ts()
            if kind in ("access", "both"):
                for item in access:
                    item.expires = min(item.expires, now)
            if kind in ("refresh", "both"):
                for item in refresh:
                    item.expires = min(item.expires, now)
            return {"access": len(access) if kind != "refresh" else 0,
                    "refresh": len(refresh) if kind != "access" else 0}

    def revoke_tokens(self, account: str | None = None,
                      token: str | None = None) -> dict[str, int]:
        with self._lock:
            access, refresh = self._tokens_of(account, token)
            for item in access + refresh:
                item.revoked = True
            return {"access": len(access), "refresh": len(refresh)}

    # -- faults and the log ----------------------------------------------------------------------
    def add_fault(self, match: dict[str, Any] | None = None,
                  action: dict[str, Any] | None = None) -> dict[str, Any]:
        """``match {method, path_regex, nth, times}``; ``action {status, body, raw_body,
        headers, delay_ms, hang, drop_connection, kind, rate, seed}`` (``kind``: any of the
        shared half's kinds, such as ``lost`` or ``truncated``)."""
        match, action = dict(match or {}), dict(action or {})
        regex = re.compile(match.get("path_regex") or ".*")
        nth = int(match.get("nth") or 1)
        delay = action.get("delay_ms")
        kind = action.get("kind")
        if kind is None:
            if action.get("drop_connection"):
                kind = "reset"
            elif action.get("hang"):
                kind = "timeout"
            elif action.get("status") is not None or "raw_body" in action or "body" in action:
                kind = "status"
            else:
                kind = "delay"
        body = action.get("raw_body", action.get("body"))
        fault = Fault(kind=kind, method=str(match.get("method") or "*"),
                      times=match.get("times", 1), rate=action.get("rate"),
                      seed=int(action.get("seed") or 0),
                      status=action.get("status", 200 if "raw_body" in action else None),
                      body=body, headers=dict(action.get("headers") or {}),
                      delay=None if delay is None else float(delay) / 1000.0,
                      seconds=action.get("seconds"),
                      params={"regex": regex, "skip": nth - 1})
        if kind == "delay" and fault.delay is None:
            fault.delay = 1.0
        original = fault.matches

        def matches(method: str, path: str) -> bool:
            if not original(method, path) or not regex.search(path):
                return False
            if fault.params["skip"] > 0:
                fault.params["skip"] -= 1
                return False
            return True

        fault.matches = matches  # type: ignore[method-assign]
        self.faults.add(fault)
        return {"kind": kind, "faults": len(self.faults)}

    def clear_faults(self) -> dict[str, int]:
        self.faults.clear()
        return {"faults": 0}

    def requests(self) -> list[dict[str, Any]]:
        return self.log.entries()

    def clear_requests(self) -> dict[str, int]:
        self.log.clear()
        return {"requests": 0}
