"""Headless commands that need connectors: ``integration add|list|remove`` and ``sync``.

Exit statuses (as every ListBridge command): 0 done, 1 failed, 2 bad usage.

Connector packages add their own commands (``listbridge ines sync``, ``listbridge emulator``...)
from a ``connectors/<name>/cli.py`` module with a ``register(sub)`` function, found here.

Run with ``python -m connectors.cli ...`` (or the ``listbridge`` script once it passes this
module's ``register``).
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from connectors.base import (
    API_URL_FIELD_KEY,
    Connector,
    FormField,
    all_connectors,
    check_api_url,
    get_connector,
)
from core.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from core.paths import Profile

EXIT_STATUS_TEXT = "Exit status: 0 done, 1 failed, 2 bad usage."
_CONNECTOR_CLI_PACKAGES = ("dotmailer", "ines", "cleverreach")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_integration(sub)
    _register_sync(sub)
    for name in _CONNECTOR_CLI_PACKAGES:
        module_name = f"connectors.{name}.cli"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name not in (module_name, f"connectors.{name}"):
                raise
            continue
        module.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """``listbridge`` with the connector commands: the headless entry point."""
    from connectors.base import load_all
    from core.cli import main as core_main

    load_all()  # the connectors' migration series, before any command opens the database
    return core_main(argv, registrars=[register])


# -- integration ---------------------------------------------------------------------------------------

def _register_integration(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("integration", help="add, list or remove integrations",
                            description="Add, list or remove integrations.",
                            epilog=EXIT_STATUS_TEXT)
    commands = parser.add_subparsers(dest="integration_command", metavar="ACTION")
    parser.set_defaults(handler=_usage(parser))

    connectors = all_connectors()
    types = ", ".join(c.type_name for c in connectors) or "none registered"
    add = commands.add_parser(
        "add", help="add an integration",
        description=_paragraphs(
            "Add an integration. Options are the integration form's fields, in lower case "
            "(every type accepts api_url). The password or key is never taken from the command "
            "line: it is read from standard input when that is not a terminal (one line per "
            "secret field, in form order), else asked for."),
        epilog=_option_keys(connectors) + "\n\n"
               "Example: echo \"$PASSWORD\" | listbridge integration add --type dotmailer "
               "--name 'Dotmailer EU' --option username=apiuser-1@apiconnector.com\n"
               + EXIT_STATUS_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("--type", required=True, dest="type_name", metavar="TYPE",
                     help=f"the kind of service to connect: {types}")
    add.add_argument("--name", required=True,
                     help="a name for the integration, unique among the integrations (the "
                          "other commands' --integration NAME)")
    add.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                     help="the value of one field of the integration form (repeatable; keys "
                          "below); secrets are read from standard input instead")
    add.add_argument("--owner", metavar="USERNAME",
                     help="who manages the integration and owns the records it imports "
                          "(default: the default user, as in the window)")
    add.add_argument("--schedule", type=int, metavar="MINUTES",
                     help="minutes between scheduled syncs (0: manual only; default: the "
                          "connector's)")
    add.add_argument("--inactive", action="store_true",
                     help="add it switched off: no scheduled sync until it is switched on")
    add.add_argument("--check", action="store_true",
                     help="check the connection first; nothing is saved if it fails")
    add.set_defaults(handler=integration_add)

    listing = commands.add_parser(
        "list", help="list the integrations",
        description="List the integrations: type, whether active, schedule, last and next "
                    "sync. Secrets are never shown.",
        epilog=EXIT_STATUS_TEXT)
    listing.add_argument("--json", action="store_true",
                         help="print JSON, with the owner and the settings (secrets left out)")
    listing.set_defaults(handler=integration_list)

    remove = commands.add_parser(
        "remove", help="remove an integration and its keyring entries",
        description="Remove an integration: its settings, runs, queue and keyring entries. "
                    "Refused while it is synchronising.",
        epilog=EXIT_STATUS_TEXT)
    remove.add_argument("name", help="the integration's name (as `integration list` shows it)")
    remove.set_defaults(handler=integration_remove)


def _paragraphs(text: str) -> str:
    """Wrap a description for a raw-formatted help (which keeps the epilog's lines as they are)."""
    import textwrap

    return textwrap.fill(text, width=78)


def _option_keys(connectors: Sequence[Connector]) -> str:
    """The ``--option`` keys of each registered type, for ``integration add --help``."""
    lines = ["Option keys (--option KEY=VALUE) by type; * required:"]
    for connector in connectors:
        keys = [f"{f.key}{'*' if f.required else ''}" for f in connector.form_fields()
                if not f.secret]
        if API_URL_FIELD_KEY not in {f.key for f in connector.form_fields()}:
            keys.append(API_URL_FIELD_KEY)
        lines.append(f"  {connector.type_name}: {', '.join(keys)}")
    return "\n".join(lines)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace, Profile], int]:
    def show(args: argparse.Namespace, profile: Profile) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return show


class UsageError(Exception):
    pass


def parse_options(connector: Connector, options: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs keyed by the form's field keys; secrets are refused."""
    fields = {f.key.lower(): f for f in connector.form_fields()}
    values: dict[str, Any] = {}
    for option in options:
        key, sep, value = option.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise UsageError(f"--option {option!r} is not KEY=VALUE")
        field = fields.get(key)
        if field is None and key != API_URL_FIELD_KEY:
            known = ", ".join(sorted({*fields, API_URL_FIELD_KEY}))
            raise UsageError(f"{connector.type_name} has no option {key!r} (options: {known})")
        if field is not None and field.secret:
            raise UsageError(f"{field.label} is a secret: it is never taken from the command "
                             "line. Give it on standard input, or type it when asked.")
        values[field.key if field else API_URL_FIELD_KEY] = value
    return values


def read_secret_values(fields: Sequence[FormField], values: dict[str, Any],
                       stdin: IO[str] | None = None,
                       prompt: Callable[[str], str] | None = None) -> dict[str, str]:
    """The secret fields' values: from standard input when it is not a terminal, else asked."""
    stream = stdin or sys.stdin
    ask = prompt or getpass.getpass
    wanted = [f for f in fields if f.secret and f.is_shown(values)]
    if not wanted:
        return {}
    if stream is None or not stream.isatty():
        lines = (stream.read() if stream is not None else "").splitlines()
        secrets = {f.key: line for f, line in zip(wanted, lines, strict=False) if line}
    else:
        secrets = {f.key: ask(f"{f.label}: ") for f in wanted}
    missing = [f.label for f in wanted if f.required and not secrets.get(f.key)]
    if missing:
        raise UsageError(f"{', '.join(missing)} missing: give it on standard input (one line "
                         "per secret), or run the command in a terminal to be asked.")
    return secrets


def integration_add(args: argparse.Namespace, profile: Profile, stdin: IO[str] | None = None,
                    prompt: Callable[[str], str] | None = None) -> int:
    from connectors.base import ConfigurationError
    from core.integrations import InvalidIntegration, create_integration, find_integration
    from core.models.store import User
    from core.secrets import NoKeyringError

    try:
        connector = get_connector(args.type_name)
        values = parse_options(connector, args.option)
        owner = None  # create_integration's default: the default user, as in the window
        if args.owner:
            owner = User.get_or_none(User.username == args.owner)
            if owner is None:
                raise UsageError(f"no user named {args.owner!r}")
        url_problem = _unchecked_api_url(connector, values)
        if url_problem:
            raise UsageError(f"{API_URL_FIELD_KEY}: {url_problem}")
        if find_integration(args.name or "") is not None:
            return _name_taken(args.name)
        values.update(read_secret_values(connector.form_fields(), values, stdin, prompt))
    except (UsageError, ConfigurationError) as exc:
        print(f"listbridge integration add: {getattr(exc, 'admin_message', None) or exc}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        code = _check(connector, values)
        if code != EXIT_OK:
            return code
    schedule: Any = {} if args.schedule is None else {"schedule_minutes": args.schedule or None}
    try:
        integration = create_integration(connector, args.name, values, owner=owner,
                                         active=not args.inactive, **schedule)
    except InvalidIntegration as exc:
        if exc.name_taken and set(exc.errors) == {"name"}:
            return _name_taken(args.name)
        for key, message in exc.errors.items():
            print(f"listbridge integration add: {key}: {message}", file=sys.stderr)
        return EXIT_USAGE
    except NoKeyringError as exc:
        print(f"listbridge integration add: {exc}", file=sys.stderr)
        return EXIT_FAILED
    from core.secrets import backend_description

    print(f"Integration {integration.name!r} ({connector.label}) added. "
          f"{backend_description()}.")
    return EXIT_OK


def _name_taken(name: str) -> int:
    """A name already in use: not a mistake in the command's usage, but a conflict (exit 1)."""
    cleaned = name.strip()
    print(f"listbridge integration add: an integration named {cleaned!r} already exists. "
          f"Choose another --name, or remove it first (listbridge integration remove "
          f"{cleaned!r}).", file=sys.stderr)
    return EXIT_FAILED


def _unchecked_api_url(connector: Connector, values: dict[str, Any]) -> str | None:
    """Why ListBridge would refuse the given ``api_url``, when the connector's form does not
    check it itself (a form without a Service URL field, or one without ``validate``)."""
    if not values.get(API_URL_FIELD_KEY):
        return None
    field = next((f for f in connector.form_fields() if f.key == API_URL_FIELD_KEY), None)
    if field is not None and field.validate is not None:
        return None  # create_integration validates it with the form
    return check_api_url(values[API_URL_FIELD_KEY])


def _check(connector: Connector, values: dict[str, Any]) -> int:
    secret_keys = {f.key for f in connector.form_fields() if f.secret}
    settings = {k: v for k, v in values.items() if k not in secret_keys}
    secrets = {k: str(v) for k, v in values.items() if k in secret_keys}
    result = connector.check_connection(settings, secrets)
    if not result.ok:
        print(f"listbridge integration add: the connection check failed: {result.message}",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"Connection checked: {result.message}")
    return EXIT_OK


def integration_list(args: argparse.Namespace, profile: Profile) -> int:
    from core.integrations import list_integrations, public_settings
    from core.sync.lock import lock_holder

    rows = []
    for integration in list_integrations():
        rows.append({
            "name": integration.name, "type": integration.type, "active": integration.active,
            "owner": integration.owner.username if integration.owner else None,
            "schedule_minutes": integration.schedule_minutes,
            "last_sync_at": _when(integration.last_sync_at),
            "next_sync_at": _when(integration.next_sync_at),
            "last_status": integration.last_status, "last_result": integration.last_result,
            "running": lock_holder(integration) is not None,
            "settings": public_settings(integration),
        })
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    if not rows:
        print("No integrations yet. Add one with: listbridge integration add --type TYPE "
              "--name NAME")
        return EXIT_OK
    print(f"{'Name':24}  {'Type':11}  {'Active':6}  {'Every':7}  {'Last sync':19}  "
          f"{'Status':10}  Next sync")
    for row in rows:
        every = f"{row['schedule_minutes']} min" if row["schedule_minutes"] else "manual"
        status = "running" if row["running"] else row["last_status"] or "-"
        print(f"{row['name']:24.24}  {row['type']:11}  {'yes' if row['active'] else 'no':6}  "
              f"{every:7}  {row['last_sync_at'] or '-':19}  {status:10}  "
              f"{row['next_sync_at'] or '-'}")
    return EXIT_OK


def _when(value: Any) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None


def integration_remove(args: argparse.Namespace, profile: Profile) -> int:
    from core.integrations import IntegrationBusy, delete_integration, find_integration

    integration = find_integration(args.name)
    if integration is None:
        print(f"listbridge: no integration named {args.name!r}", file=sys.stderr)
        return EXIT_FAILED
    try:
        delete_integration(integration)
    except IntegrationBusy as exc:
        print(f"listbridge: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Integration {integration.name!r} removed, with its keyring entries.")
    return EXIT_OK


# -- sync ----------------------------------------------------------------------------------------------

def _register_sync(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "sync", help="synchronise integrations now, or keep running scheduled syncs (--loop)",
        description="Synchronise one integration (--integration) or every active one (--all, "
                    "the default) and print each step's counts. With --loop, keep running and "
                    "synchronise each active integration when its schedule says so, until "
                    "stopped (Ctrl+C or SIGTERM).",
        epilog="Exit status: 0 every run succeeded (some records may be queued for retry), "
               "1 a run failed, will retry, was cancelled or is already running elsewhere, or "
               "an integration's configuration lets nothing sync (the problems are printed), "
               "2 bad usage.")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--integration", metavar="NAME",
                       help="only this integration (its name; active or not)")
    which.add_argument("--all", action="store_true",
                       help="every active integration, one after the other (the default)")
    parser.add_argument("--loop", action="store_true",
                        help="keep running: synchronise each active integration when its "
                             "schedule says so, until Ctrl+C or SIGTERM")
    parser.add_argument("--wait", action="store_true",
                        help="if a sync of the integration is running (here or on another "
                             "computer), wait for it to end instead of failing")
    parser.add_argument("--tick", type=float, default=30.0, metavar="SECONDS",
                        help="with --loop: how often to look for due integrations (30)")
    parser.set_defaults(handler=sync)


def sync(args: argparse.Namespace, profile: Profile) -> int:
    from core.integrations import find_integration, list_integrations

    if args.loop:
        if args.integration:
            print("listbridge sync: --loop runs every active integration; leave out "
                  "--integration", file=sys.stderr)
            return EXIT_USAGE
        return _loop(args)
    if args.integration:
        integration = find_integration(args.integration)
        if integration is None:
            print(f"listbridge: no integration named {args.integration!r}", file=sys.stderr)
            return EXIT_FAILED
        targets = [integration]
    else:
        targets = list_integrations(active_only=True)
        if not targets:
            print("No active integration to synchronise.")
            return EXIT_OK
    code = EXIT_OK
    for integration in targets:
        if sync_one(integration, wait=args.wait) != EXIT_OK:
            code = EXIT_FAILED
    return code


def sync_one(integration: Any, wait: bool = False) -> int:
    """Run one sync in a worker thread (Ctrl+C cancels it cleanly) and print its result."""
    from core.db import database_proxy
    from core.sync.lock import AlreadyRunning
    from core.sync.runner import RunResult, run_sync

    try:
        connector = get_connector(integration.type)
    except Exception as exc:
        print(f"{integration.name}: {getattr(exc, 'admin_message', exc)}", file=sys.stderr)
        return EXIT_FAILED
    problems = configuration_problems(connector, integration)
    if problems:
        print(f"{integration.name}: not synchronised: its configuration lets nothing sync.",
              file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    cancel = threading.Event()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = run_sync(integration, connector, trigger="headless",
                                         cancel_event=cancel, wait=wait)
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc
        finally:
            database_proxy.close()

    worker = threading.Thread(target=work, name=f"sync-{integration.id}")
    worker.start()
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            print("Cancelling...", file=sys.stderr)
            cancel.set()
    error = outcome.get("error")
    if isinstance(error, AlreadyRunning):
        print(f"{error.admin_message}", file=sys.stderr)
        return EXIT_FAILED
    if error is not None:
        raise error
    result: RunResult = outcome["result"]
    print_result(result)
    return EXIT_OK if result.ok else EXIT_FAILED


def configuration_problems(connector: Any, integration: Any) -> list[str]:
    """Why nothing of this integration can sync, by the connector's own
    ``configuration_problems(integration)`` (duck-typed, as the Integrations grid reads it);
    [] when the connector has no such check, or when the check itself breaks (logged: the run
    then says what is wrong)."""
    import logging

    check = getattr(connector, "configuration_problems", None)
    if check is None:
        return []
    try:
        return [str(problem) for problem in check(integration) or ()]
    except Exception:
        logging.getLogger("listbridge.cli").exception("configuration_problems failed for %s",
                                                     integration.name)
        return []


def print_result(result: Any, out: IO[str] | None = None) -> None:
    from core.sync.runner import RUN_STATUS_LABELS, describe_counts

    stream = out or sys.stdout
    seconds = (result.ended_at - result.started_at).total_seconds()
    label = RUN_STATUS_LABELS.get(result.status, result.status)
    print(f"{result.integration_name}: {label.lower()} in {seconds:.1f} s", file=stream)
    for step in result.steps:
        counts = describe_counts(step.counts) or "nothing to do"
        line = f"  {step.label}: {counts}"
        if step.status not in ("succeeded",):
            line += f" [{step.status}]"
        print(line, file=stream)
    if not result.ok:
        print(f"  {result.message}", file=stream)


def _loop(args: argparse.Namespace) -> int:
    from core.sync.scheduler import Scheduler

    stop = threading.Event()

    def finished(result: Any) -> None:
        print_result(result)
        sys.stdout.flush()

    def failed(integration_id: int, message: str) -> None:
        print(message, file=sys.stderr)

    scheduler = Scheduler(lambda integration: get_connector(integration.type),
                          tick_seconds=args.tick, on_finished=finished, on_failed=failed)
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Synchronising scheduled integrations every {args.tick:g} s; Ctrl+C stops.")
    scheduler.start()
    try:
        while not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping: runs under way stop at their next safe point...", file=sys.stderr)
        scheduler.stop(cancel_running=True, wait=True)
        signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
