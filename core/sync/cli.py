"""``listbridge journal``: what was sent, what failed and what will be retried (no connector needed)."""

from __future__ import annotations

import argparse
import json
import sys

from core.paths import Profile

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from core.sync.queue import STATES

    parser = sub.add_parser(
        "journal", help="show the sync journal (queued, sent, failed and retried records)",
        description="Show the sync journal: the latest queue rows of each integration (200 per "
                    "integration, newest first), or with --runs the latest runs.",
        epilog="Exit status: 0 shown, 1 failed (e.g. unknown integration), 2 bad usage.")
    parser.add_argument("--integration", metavar="NAME",
                        help="only this integration (its name, as `listbridge integration list` "
                             "shows it); default: every integration")
    parser.add_argument("--state", choices=STATES, metavar="STATE",
                        help=f"only queue rows in this state: {', '.join(STATES)} (not with "
                             "--runs)")
    parser.add_argument("--email", metavar="TEXT",
                        help="only queue rows whose email address contains this text (not with "
                             "--runs)")
    parser.add_argument("--limit", type=int, default=200, metavar="N",
                        help="at most N rows (or runs) per integration, newest first (200)")
    parser.add_argument("--runs", action="store_true",
                        help="list the latest runs (start, end, trigger, status, result) "
                             "instead of queue rows")
    parser.add_argument("--json", action="store_true",
                        help="print JSON (every field, internal names) instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, profile: Profile) -> int:
    from core.integrations import find_integration
    from core.sync.journal import journal_rows, run_rows

    integration = None
    if args.integration:
        integration = find_integration(args.integration)
        if integration is None:
            print(f"listbridge: no integration named {args.integration!r}", file=sys.stderr)
            return EXIT_FAILED
    if args.limit < 1:
        print("listbridge: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.runs:
        runs = run_rows(integration, limit=args.limit)
        if args.json:
            print(json.dumps([r.as_dict() for r in runs], indent=2))
            return EXIT_OK
        if not runs:
            print("No sync has run yet.")
            return EXIT_OK
        print(f"{'Started':19}  {'Ended':19}  {'Integration':20}  {'Trigger':13}  "
              f"{'Status':22}  Result")
        for run_row in runs:
            ended = run_row.ended_at.strftime("%Y-%m-%d %H:%M:%S") if run_row.ended_at else "-"
            print(f"{run_row.started_at:%Y-%m-%d %H:%M:%S}  {ended:19}  "
                  f"{run_row.integration:20.20}  {run_row.trigger:13}  "
                  f"{run_row.status_label:22}  {run_row.error or run_row.summary or '-'}")
        return EXIT_OK
    rows = journal_rows(integration, state=args.state, email=args.email, limit=args.limit)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return EXIT_OK
    if not rows:
        print("The journal is empty.")
        return EXIT_OK
    print(f"{'Updated':19}  {'Integration':20}  {'Action':10}  {'Email':30}  {'State':10}  "
          f"Tries  Last error")
    for r in rows:
        print(f"{r.updated:%Y-%m-%d %H:%M:%S}  {r.integration:20.20}  {r.action:10.10}  "
              f"{r.email:30.30}  {r.state_label:10}  {r.attempts}/{r.max_attempts}    "
              f"{r.last_error}")
    return EXIT_OK
