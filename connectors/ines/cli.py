"""Headless INES commands (ines.md §3.14, §3.3, §3.12) and ``listbridge emulator ines``.

    listbridge ines sync [--integration NAME] [--number-of-leads-to-process=N]
    listbridge ines get-mapping [--integration NAME]
    listbridge ines push --integration NAME (--contact EMAIL | --list NAME)
    listbridge ines journal [--integration NAME] [--status STATUS] [--limit N] [--json]
    listbridge ines retry [--integration NAME] [--row ID ...]
    listbridge ines configure --integration NAME [--push on|off] [--full-sync on|off]
                              [--published on|off] [--create-fields]
    listbridge emulator ines [--port N] [--user ACCOUNT:USER:PASSWORD ...] [--demo] ...

Exit statuses: 0 done, 1 failed, 2 bad usage (``ines sync``: 0 also when full sync is off, after
saying so; 1 when no INES session can be opened, no row touched; ``ines push``: 1 also when no
contact was pushed, every one ignored or failed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from connectors.emulation.cli import add_emulator_command
from core.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from core.paths import Profile

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("ines", help="INES CRM: full sync, mapping, push, journal",
                            description="INES CRM commands.",
                            epilog="Exit status: 0 done, 1 failed, 2 bad usage.")
    commands = parser.add_subparsers(dest="ines_command", metavar="ACTION")
    parser.set_defaults(handler=_missing_action(parser))

    run = commands.add_parser(
        "sync", help="send queued contacts to INES and run the initial sync (for cron)",
        description="The full-sync run (the plugin's crm:ines): the first N pending updates, "
                    "the first N pending deletions, then the initial sync.",
        epilog="Exit status: 0 done (also when full sync is off), 1 no INES session or the run "
               "failed, 2 bad usage.")
    run.add_argument("--integration", metavar="NAME", help="the INES integration (default: the "
                                                          "only one)")
    run.add_argument("--number-of-leads-to-process", dest="leads", type=_positive_int,
                     default=10, metavar="N",
                     help="how many queued contacts to send per action in this run (10)")
    run.set_defaults(handler=sync)

    mapping = commands.add_parser("get-mapping", help="print the getMapping JSON document")
    mapping.add_argument("--integration", metavar="NAME")
    mapping.set_defaults(handler=get_mapping)

    push = commands.add_parser("push", help="push a contact or a marketing list to INES now")
    push.add_argument("--integration", metavar="NAME", required=True)
    which = push.add_mutually_exclusive_group(required=True)
    which.add_argument("--contact", metavar="EMAIL")
    which.add_argument("--list", dest="list_name", metavar="NAME")
    push.set_defaults(handler=push_command)

    journal = commands.add_parser("journal", help="print the INES journal (200 latest rows)")
    journal.add_argument("--integration", metavar="NAME")
    journal.add_argument("--status", choices=("PENDING", "DONE", "FAILED"))
    journal.add_argument("--limit", type=_positive_int, default=200)
    journal.add_argument("--json", action="store_true")
    journal.set_defaults(handler=journal_command)

    retry = commands.add_parser("retry", help="put FAILED rows back to PENDING")
    retry.add_argument("--integration", metavar="NAME")
    retry.add_argument("--row", type=int, action="append", metavar="ID",
                       help="only these rows (repeatable; default: every FAILED row)")
    retry.set_defaults(handler=retry_command)

    configure = commands.add_parser(
        "configure", help="switch push, full sync and publishing; create the INES fields",
        description="Switch an INES integration's features without the window (for cron "
                    "users). Without an option, print its state.",
        epilog="Exit status: 0 done, 1 failed (no such integration, or a problem left), 2 bad "
               "usage.")
    configure.add_argument("--integration", metavar="NAME", required=True)
    configure.add_argument("--push", type=_on_off, metavar="on|off",
                           help="\"Push contacts to this integration\" (off also turns full "
                                "sync off)")
    configure.add_argument("--full-sync", dest="full_sync", type=_on_off, metavar="on|off",
                           help="\"Full sync of all contacts\" (on also turns push on)")
    configure.add_argument("--published", type=_on_off, metavar="on|off",
                           help="publish the integration (its runs and pushes) or not")
    configure.add_argument("--create-fields", dest="create_fields", action="store_true",
                           help="create the INES contact ID, client ID and stop-sync fields and "
                                "map them")
    configure.set_defaults(handler=configure_command)

    add_emulator_command(sub, "ines", _emulator_arguments, emulator,
                         help_text="the ines emulator")


def _missing_action(parser: argparse.ArgumentParser) -> Callable[..., int]:
    def handler(args: argparse.Namespace, profile: Profile) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return handler


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _on_off(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: say on or off")


def _pick(name: str | None) -> tuple[Any, int]:
    """The INES integration named, or the only one; (None, exit status) with a message."""
    from core.models.sync import Integration

    query = Integration.select().where(Integration.type == "ines").order_by(Integration.name)
    if name:
        found = query.where(Integration.name == name.strip()).first()
        if found is None:
            print(f"listbridge: no INES integration named {name!r}", file=sys.stderr)
            return None, EXIT_FAILED
        return found, EXIT_OK
    found_all = list(query)
    if not found_all:
        print("listbridge: there is no INES integration (add one with `listbridge integration "
              "add --type ines`)", file=sys.stderr)
        return None, EXIT_FAILED
    if len(found_all) > 1:
        names = ", ".join(i.name for i in found_all)
        print(f"listbridge: several INES integrations ({names}): name one with --integration",
              file=sys.stderr)
        return None, EXIT_USAGE
    return found_all[0], EXIT_OK


def sync(args: argparse.Namespace, profile: Profile) -> int:
    """§3.14: full sync off → say so, 0; no session → 1, no row touched; after a run → 0."""
    from connectors.ines.connector import InesConnector, counts_of
    from connectors.ines.mapping import (
        FULL_SYNC_OFF,
        NOT_PUBLISHED,
        PUSH_LEAD,
        features,
        mode_problems,
    )
    from core.sync.lock import AlreadyRunning
    from core.sync.runner import run_sync

    integration, status = _pick(args.integration)
    if integration is None:
        return status
    problems = mode_problems(integration)
    if problems:
        name = _quoted(integration.name)
        fixes = []
        if FULL_SYNC_OFF in problems:
            fixes.append("--full-sync on")
        if NOT_PUBLISHED in problems:
            fixes.append("--published on")
        what = {(FULL_SYNC_OFF,): "Full sync is off for the INES integration {0}",
                (NOT_PUBLISHED,): "The INES integration {0} is not published",
                (FULL_SYNC_OFF, NOT_PUBLISHED): "Full sync is off for the INES integration "
                                                "{0}, and it is not published"}[tuple(problems)]
        print(what.format(repr(integration.name)) + ": nothing to do (`listbridge ines configure "
              f"--integration {name} {' '.join(fixes)}` changes that).")
        if problems == [FULL_SYNC_OFF] and features(integration)[PUSH_LEAD]:
            print("Push is on: contacts created or changed are pushed by the integration's "
                  f"runs (`listbridge sync --integration {name}` or `listbridge sync --loop`).")
        return EXIT_OK
    try:
        result = run_sync(integration, InesConnector(leads_per_run=args.leads), trigger="headless")
    except AlreadyRunning as exc:
        print(f"listbridge: {exc.admin_message}", file=sys.stderr)
        return EXIT_FAILED
    if not result.ok:
        print(f"listbridge: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    for line in counts_of(result).lines():
        print(line)
    return EXIT_OK


def get_mapping(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.ines.catalogue import cached_config
    from connectors.ines.mapping import get_mapping_json

    integration, status = _pick(args.integration)
    if integration is None:
        return status
    print(get_mapping_json(integration, cached_config(integration)))
    return EXIT_OK


def push_command(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.ines.connector import list_contacts, not_started_message, push
    from core.models.store import Contact, MarketingList, email_key
    from core.secrets import NoKeyringError
    from core.sync.lock import AlreadyRunning

    integration, status = _pick(args.integration)
    if integration is None:
        return status
    activity = ""
    if args.contact:
        contact = Contact.get_or_none(Contact.email_key == email_key(args.contact))
        if contact is None:
            print(f"listbridge: no contact with the email {args.contact!r}", file=sys.stderr)
            return EXIT_FAILED
        ids = [contact.id]
        activity = "Pushed from the command line"
    else:
        mlist = MarketingList.get_or_none(MarketingList.name == args.list_name)
        if mlist is None:
            print(f"listbridge: no marketing list named {args.list_name!r}", file=sys.stderr)
            return EXIT_FAILED
        ids = list_contacts(mlist)
        activity = f"List {mlist.name}"
    try:
        summary = push(integration, ids, activity=activity)
    except (AlreadyRunning, NoKeyringError) as exc:  # each contact's history says so too
        print(f"listbridge: {not_started_message(exc)}", file=sys.stderr)
        return EXIT_FAILED
    for outcome in summary.outcomes:
        line = f"{outcome.email or outcome.contact_id}: {outcome.status}: {outcome.message}"
        print(line, file=sys.stdout if outcome.ok else sys.stderr)
        for warning in outcome.warnings:
            print(f"{outcome.email or outcome.contact_id}: warning: {warning}")
    if len(summary.outcomes) != 1:
        print(summary.message)
    pushed = any(outcome.ok for outcome in summary.outcomes)
    if not pushed:
        print("listbridge: nothing was pushed to INES"
              + (" (no contact to push)." if not summary.outcomes else
                 ": every contact was ignored or failed (reasons above)."), file=sys.stderr)
    return EXIT_FAILED if summary.failed or not pushed else EXIT_OK


def journal_command(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.ines.queue import journal

    integration, status = _pick(args.integration)
    if integration is None:
        return status
    rows = journal(integration, limit=args.limit, status=args.status)
    if args.json:
        print(json.dumps([{**row.__dict__, "date_added": row.date_added.isoformat(),
                           "date_last_update": row.date_last_update.isoformat()}
                          for row in rows], indent=1))
        return EXIT_OK
    for row in rows:
        print(f"{row.date_added:%Y-%m-%d %H:%M}  {row.action:6}  {row.email:30.30}  "
              f"{row.company:20.20}  {row.status:7}  {row.attempts}  "
              f"{row.date_last_update:%Y-%m-%d %H:%M}  {row.last_error}")
    return EXIT_OK


def retry_command(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.ines.queue import retry_failed

    integration, status = _pick(args.integration)
    if integration is None:
        return status
    count = retry_failed(integration, args.row)
    print(f"{count} failed row(s) back in the queue.")
    return EXIT_OK


def configure_command(args: argparse.Namespace, profile: Profile) -> int:
    """Switch push, full sync and publishing, create the special fields; print the state."""
    from connectors.ines.connector import InesConnector, configuration_problems, set_up_mapping
    from connectors.ines.mapping import FULL_SYNC, PUSH_LEAD, features, set_features
    from core.integrations import update_integration

    integration, status = _pick(args.integration)
    if integration is None:
        return status
    push, full = args.push, args.full_sync
    if push is False and full is True:
        print("listbridge ines configure: full sync needs push: --push off and --full-sync on "
              "cannot go together", file=sys.stderr)
        return EXIT_USAGE
    if args.create_fields:
        created = set_up_mapping(integration)
        print("INES fields: " + (f"created {', '.join(created)}; " if created else "")
              + "contact ID, client ID and stop-sync fields mapped.")
    if push is False and full is None and features(integration)[FULL_SYNC]:
        full = False
        print("Full sync turned off too: it needs push.")
    if push is not None or full is not None:
        set_features(integration, push_lead=push, full_sync=full)
    if args.published is not None and bool(integration.active) != args.published:
        from core.models.sync import Integration

        integration = update_integration(Integration.get_by_id(integration.id), InesConnector(),
                                         active=args.published)
    from core.models.sync import Integration

    integration = Integration.get_by_id(integration.id)
    ticked = features(integration)
    on = {True: "on", False: "off"}
    print(f"INES integration {integration.name!r}: published {on[bool(integration.active)]}, "
          f"push {on[ticked[PUSH_LEAD]]}, full sync {on[ticked[FULL_SYNC]]}.")
    problems = configuration_problems(integration)
    for problem in problems:
        print(f"listbridge: {problem}", file=sys.stderr)
    if problems and not args.create_fields:
        print("listbridge: `listbridge ines configure --integration NAME --create-fields` creates "
              "and maps the missing fields.".replace("NAME", _quoted(integration.name)),
              file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK


def _quoted(name: str) -> str:
    import shlex

    return shlex.quote(name)


# -- listbridge emulator ines ------------------------------------------------------------------------

def _emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="TCP port (0 = any free one)")
    parser.add_argument("--user", action="append", metavar="ACCOUNT:USER:PASSWORD",
                        help="a login the emulator accepts (repeatable)")
    parser.add_argument("--demo", action="store_true", help="start with demo data")
    parser.add_argument("--state", metavar="FILE", help="load the data from FILE, save it back")
    parser.add_argument("--admin-http", action="store_true",
                        help="serve the test hooks under /_emulator/")
    parser.add_argument("--strict", action="store_true",
                        help="exact namespace and SOAPAction (lenient=false)")


def emulator(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.ines import emulator as ines_emulator

    argv: list[str] = []
    if args.port is not None:
        argv += ["--port", str(args.port)]
    for user in args.user or ():
        argv += ["--user", user]
    for flag, on in (("--demo", args.demo), ("--admin-http", args.admin_http),
                     ("--strict", args.strict)):
        if on:
            argv.append(flag)
    if args.state:
        argv += ["--state", args.state]
    return ines_emulator.main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m connectors.ines.cli ...``: the headless commands with INES's own."""
    from core.cli import main as core_main

    return core_main(list(argv) if argv is not None else None, registrars=[register])


if __name__ == "__main__":
    sys.exit(main())
