"""The headless commands: integration add/list/remove, sync and journal."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import base
from connectors import cli as connectors_cli
from core.cli import main
from core.models.sync import Integration
from core.sync import lock
from tests.helpers.fake_service import GOOD_PASSWORD, GOOD_USER, FakeService, register_fake

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fake_connector() -> Iterator[None]:
    register_fake()
    yield
    base.unregister("fake")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    root = logging.getLogger("listbridge")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.propagate = True
    root.setLevel(logging.NOTSET)


@pytest.fixture
def service() -> Iterator[FakeService]:
    fake = FakeService().start()
    yield fake
    fake.stop()


def run(profile, *argv: str, stdin: str | None = None, monkeypatch=None) -> int:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--data-dir", str(profile.root), *argv],
                registrars=[connectors_cli.register])


def add(profile, monkeypatch, service: FakeService, name: str = "Main",
        password: str = GOOD_PASSWORD) -> int:
    return run(profile, "integration", "add", "--type", "fake", "--name", name,
               "--option", f"USERNAME={GOOD_USER}", "--option", f"api_url={service.base_url}",
               stdin=password + "\n", monkeypatch=monkeypatch)


# -- integration add ---------------------------------------------------------------------------------

def test_add_reads_the_password_from_standard_input(profile, memory_keyring, monkeypatch,
                                                    service, capsys):
    assert add(profile, monkeypatch, service) == 0
    integration = Integration.get(Integration.name == "Main")
    assert integration.settings["username"] == GOOD_USER
    assert integration.settings["api_url"] == service.base_url
    assert memory_keyring.entries[("listbridge", f"{integration.secret_ref}:password")] == \
        GOOD_PASSWORD
    assert "added" in capsys.readouterr().out


def test_add_asks_for_the_password_on_a_terminal(profile, memory_keyring, monkeypatch, service):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts = []
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr("getpass.getpass", lambda text: prompts.append(text) or GOOD_PASSWORD)
    assert run(profile, "integration", "add", "--type", "fake", "--name", "Main",
               "--option", f"username={GOOD_USER}") == 0
    assert prompts == ["Password: "]


def test_a_password_on_the_command_line_is_refused(profile, memory_keyring, monkeypatch,
                                                   capsys):
    code = run(profile, "integration", "add", "--type", "fake", "--name", "Main",
               "--option", f"username={GOOD_USER}", "--option", f"password={GOOD_PASSWORD}",
               stdin="", monkeypatch=monkeypatch)
    assert code == 2
    err = capsys.readouterr().err
    assert "never taken from the command line" in err and GOOD_PASSWORD not in err
    assert Integration.select().count() == 0


@pytest.mark.parametrize("argv, stdin, message", [
    (["--type", "fake", "--name", "M", "--option", "colour=red"], "pw\n", "no option 'colour'"),
    (["--type", "fake", "--name", "M", "--option", "username"], "pw\n", "not KEY=VALUE"),
    (["--type", "fake", "--name", "M", "--option", "username=u"], "", "Password missing"),
    (["--type", "fake", "--name", "M", "--option", "username=u"], "short\n", "at least 8"),
    (["--type", "nosuch", "--name", "M"], "", "Unknown integration type"),
])
def test_add_reports_bad_usage(profile, memory_keyring, monkeypatch, capsys, argv, stdin,
                               message):
    assert run(profile, "integration", "add", *argv, stdin=stdin, monkeypatch=monkeypatch) == 2
    assert message in capsys.readouterr().err
    assert Integration.select().count() == 0


def test_add_with_check_saves_nothing_when_the_connection_fails(profile, memory_keyring,
                                                                monkeypatch, service, capsys):
    code = run(profile, "integration", "add", "--type", "fake", "--name", "Main", "--check",
               "--option", f"username={GOOD_USER}", "--option", f"api_url={service.base_url}",
               stdin="Wrong-pa55word\n", monkeypatch=monkeypatch)
    assert code == 1
    assert "refused the credentials" in capsys.readouterr().err
    assert Integration.select().count() == 0


def test_add_defaults_the_owner_to_the_person_at_the_desk(profile, memory_keyring, monkeypatch,
                                                         service, capsys):
    """As the window's form does: ``integration list --json`` shows an owner, not null."""
    from core.models.store import User
    from core.store import default_owner

    assert add(profile, monkeypatch, service) == 0
    capsys.readouterr()
    assert run(profile, "integration", "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["owner"] == default_owner().username is not None
    User.create(username="marie")
    assert run(profile, "integration", "add", "--type", "fake", "--name", "Hers",
               "--owner", "marie", "--option", f"username={GOOD_USER}",
               stdin=GOOD_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert Integration.get(Integration.name == "Hers").owner.username == "marie"


@pytest.mark.parametrize("url, problem", [("http://example.com/", "plain http"),
                                          ("example.com", "not a valid https URL")])
def test_add_refuses_a_service_url_that_no_sync_would_use(profile, memory_keyring, monkeypatch,
                                                          capsys, url, problem):
    code = run(profile, "integration", "add", "--type", "fake", "--name", "Main",
               "--option", f"username={GOOD_USER}", "--option", f"api_url={url}",
               stdin=GOOD_PASSWORD + "\n", monkeypatch=monkeypatch)
    assert code == 2
    err = capsys.readouterr().err
    assert "api_url" in err and problem in err
    assert Integration.select().count() == 0


def test_add_checks_the_service_url_of_a_form_that_does_not(profile, memory_keyring,
                                                            monkeypatch, capsys):
    """A connector whose Service URL field has no ``validate`` (or no such field) is covered
    by the command itself."""
    from connectors.base import FormField
    from tests.helpers.fake_service import FakeConnector

    class Unchecked(FakeConnector):
        type_name = "unchecked"

        def form_fields(self) -> list[FormField]:
            return [f for f in super().form_fields() if f.key != "api_url"]

    base.register(Unchecked())
    try:
        code = run(profile, "integration", "add", "--type", "unchecked", "--name", "Main",
                   "--option", f"username={GOOD_USER}", "--option", "api_url=http://x.test/",
                   stdin=GOOD_PASSWORD + "\n", monkeypatch=monkeypatch)
    finally:
        base.unregister("unchecked")
    assert code == 2 and "plain http" in capsys.readouterr().err
    assert Integration.select().count() == 0


def test_a_name_in_use_fails_with_a_clear_message(profile, memory_keyring, monkeypatch, service,
                                                  capsys):
    assert add(profile, monkeypatch, service) == 0
    capsys.readouterr()
    assert add(profile, monkeypatch, service, name=" Main ") == 1  # a conflict, not bad usage
    err = capsys.readouterr().err
    assert "an integration named 'Main' already exists" in err
    assert "Choose another --name" in err and "integration remove 'Main'" in err
    assert Integration.select().count() == 1


def test_add_calls_the_connectors_on_saved(profile, memory_keyring, monkeypatch, service):
    """A headless add finishes the set-up as the window does (INES's special fields, Dotmailer's
    address books)."""
    saved: list[str] = []
    monkeypatch.setattr(base.REGISTRY["fake"], "on_saved",
                        lambda integration: saved.append(integration.name), raising=False)
    assert add(profile, monkeypatch, service) == 0
    assert saved == ["Main"]


def test_add_in_a_real_process_reads_the_password_from_stdin(profile, tmp_path):
    keyring_file = tmp_path / "keyring.json"
    env = {**os.environ, "LISTBRIDGE_TEST_KEYRING_FILE": str(keyring_file),
           "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.helpers.fake_service", "--data-dir", str(profile.root),
         "integration", "add", "--type", "fake", "--name", "Piped",
         "--option", f"username={GOOD_USER}"],
        input=GOOD_PASSWORD + "\n", capture_output=True, text=True, cwd=REPO_ROOT, env=env,
        timeout=60)
    assert done.returncode == 0, done.stderr
    integration = Integration.get(Integration.name == "Piped")
    stored = json.loads(keyring_file.read_text())
    assert stored == {f"listbridge/{integration.secret_ref}:password": GOOD_PASSWORD}
    assert GOOD_PASSWORD.encode() not in profile.database.read_bytes()


# -- integration list and remove ---------------------------------------------------------------------

def test_list_shows_the_integrations_without_secrets(profile, memory_keyring, monkeypatch,
                                                     service, capsys):
    assert run(profile, "integration", "list") == 0
    assert "No integrations yet" in capsys.readouterr().out
    add(profile, monkeypatch, service)
    capsys.readouterr()
    assert run(profile, "integration", "list", "--json") == 0
    out = capsys.readouterr().out
    rows = json.loads(out)
    assert [(r["name"], r["type"], r["active"], r["schedule_minutes"]) for r in rows] == [
        ("Main", "fake", True, 5)]
    assert rows[0]["settings"] == {"username": GOOD_USER, "api_url": service.base_url}
    assert GOOD_PASSWORD not in out
    assert run(profile, "integration", "list") == 0
    assert "Main" in capsys.readouterr().out


def test_remove_deletes_the_integration_and_its_keyring_entries(profile, memory_keyring,
                                                                monkeypatch, service, capsys):
    add(profile, monkeypatch, service)
    assert run(profile, "integration", "remove", "Main") == 0
    assert Integration.select().count() == 0 and memory_keyring.entries == {}
    assert run(profile, "integration", "remove", "Main") == 1
    assert "no integration named" in capsys.readouterr().err


def test_integration_without_an_action_is_a_usage_error(profile):
    assert run(profile, "integration") == 2


# -- sync --------------------------------------------------------------------------------------------

def test_sync_prints_each_steps_counts(profile, memory_keyring, monkeypatch, service, capsys):
    from core.models.store import Contact
    from core.store import save_record

    add(profile, monkeypatch, service)
    save_record(Contact(email="one@example.com"))
    save_record(Contact(email="two@example.com"))
    capsys.readouterr()
    assert run(profile, "sync", "--integration", "Main") == 0
    out = capsys.readouterr().out
    assert "Main: succeeded" in out
    assert "Find changed contacts: 2 queued to send" in out  # the grid's words (count first)
    assert "Send queued changes: 2 sent" in out
    assert Integration.get(Integration.name == "Main").last_result == (
        "Check the account: 1 checked; Find changed contacts: 2 queued to send; "
        "Send queued changes: 2 sent.")
    assert service.writes == {"one@example.com": 1, "two@example.com": 1}
    assert run(profile, "sync", "--all") == 0


def test_sync_fails_with_the_admins_message(profile, memory_keyring, monkeypatch, service,
                                            capsys):
    add(profile, monkeypatch, service, password="Wrong-pa55word")
    assert run(profile, "sync") == 1
    out = capsys.readouterr().out
    assert "failed" in out and "refused the credentials" in out


def test_sync_of_an_integration_already_running_fails(profile, memory_keyring, monkeypatch,
                                                      service, capsys):
    add(profile, monkeypatch, service)
    integration = Integration.get(Integration.name == "Main")
    held = lock.try_acquire(integration.id, ttl=60, holder="server-2:77:MainThread")
    assert held is not None
    try:
        assert run(profile, "sync", "--integration", "Main") == 1
    finally:
        held.release()
    assert "Main is already synchronising (on server-2)" in capsys.readouterr().err


def test_sync_of_an_integration_whose_connector_is_gone_says_so(profile, memory_keyring,
                                                                monkeypatch, service, capsys):
    add(profile, monkeypatch, service)
    assert base.unregister("fake") is not None
    assert base.unregister("fake") is None  # already gone: nothing to do
    capsys.readouterr()
    assert run(profile, "sync", "--integration", "Main") == 1
    assert "Unknown integration type 'fake'" in capsys.readouterr().err


def test_sync_of_an_integration_whose_configuration_lets_nothing_sync_fails(
        profile, memory_keyring, monkeypatch, service, capsys):
    """A connector's ``configuration_problems`` (INES: fail closed) are printed, and the command
    exits 1 instead of reporting a run that did nothing as a success."""
    from core.models.sync import SyncRun

    add(profile, monkeypatch, service)
    problems = ["The INES contact reference is not mapped to an existing local field, so no "
                "contact is synchronised.", "The stop-sync indicator is not mapped."]
    monkeypatch.setattr(base.REGISTRY["fake"], "configuration_problems",
                        lambda integration: list(problems), raising=False)
    capsys.readouterr()
    assert run(profile, "sync", "--integration", "Main") == 1
    err = capsys.readouterr().err
    assert "Main: not synchronised: its configuration lets nothing sync." in err
    assert all(f"  {problem}" in err for problem in problems)
    assert SyncRun.select().count() == 0
    assert run(profile, "sync") == 1  # --all too
    problems.clear()
    assert run(profile, "sync", "--integration", "Main") == 0
    assert SyncRun.select().count() == 1


def test_sync_of_an_unknown_integration_fails(profile, capsys):
    assert run(profile, "sync", "--integration", "Nope") == 1
    assert run(profile, "sync", "--loop", "--integration", "Nope") == 2


def test_help_documents_the_exit_statuses(profile, capsys):
    for command in (["sync"], ["integration", "add"], ["journal"]):
        with pytest.raises(SystemExit) as caught:
            run(profile, *command, "--help")
        assert caught.value.code == 0
        assert "Exit status" in capsys.readouterr().out


def _subparser(parser, *names: str):
    import argparse

    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("command", [("integration", "add"), ("integration", "list"),
                                     ("integration", "remove"), ("sync",), ("journal",),
                                     ("import",)])
def test_every_option_has_help(command):
    import argparse

    from core.cli import build_parser

    parser = _subparser(build_parser([connectors_cli.register]), *command)
    undocumented = [a.dest for a in parser._actions
                    if not isinstance(a, argparse._HelpAction)
                    and (not a.help or a.help == argparse.SUPPRESS)]
    assert undocumented == []
    assert parser.description or parser.format_usage()


def test_add_help_lists_the_registered_types_and_their_option_keys(profile, capsys):
    with pytest.raises(SystemExit):
        run(profile, "integration", "add", "--help")
    out = capsys.readouterr().out
    options = out[out.index("options:"):]
    type_help = " ".join(options[options.index("--type TYPE"):options.index("--name NAME")]
                         .split())
    registered = [c.type_name for c in base.all_connectors()]
    assert "fake" in registered and "cleverreach" not in registered
    assert type_help == f"--type TYPE the kind of service to connect: {', '.join(registered)}"
    assert "  fake: username*, api_url" in out  # the password is a secret: not an option


# -- journal -----------------------------------------------------------------------------------------

def test_journal_lists_queue_rows_and_runs(profile, memory_keyring, monkeypatch, service,
                                           capsys):
    from core.models.store import Contact
    from core.store import save_record

    assert run(profile, "journal", "--runs") == 0
    assert capsys.readouterr().out == "No sync has run yet.\n"
    add(profile, monkeypatch, service)
    save_record(Contact(email="ok@example.com"))
    save_record(Contact(email="refused@example.com"))
    service.fail_permanently("refused@example.com")
    run(profile, "sync")
    capsys.readouterr()
    assert run(profile, "journal", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["email"], r["state"]) for r in rows} == {("ok@example.com", "done"),
                                                       ("refused@example.com", "retrying")}
    assert run(profile, "journal", "--integration", "Main", "--state", "retrying") == 0
    out = capsys.readouterr().out
    assert "refused@example.com" in out and "is refused" in out and "ok@example.com" not in out
    assert {r["action"] for r in rows} == {"upsert"}  # JSON keeps the internal names
    assert run(profile, "journal", "--runs") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["Started", "Ended", "Integration", "Trigger", "Status", "Result"]
    assert "Main" in table[1] and "Succeeded with errors" in table[1]
    assert run(profile, "journal", "--runs", "--json") == 0
    runs = json.loads(capsys.readouterr().out)
    assert runs[0]["status"] == "partial"
    assert set(runs[0]["counts"]) == {"account", "changes", "queue"}
    assert run(profile, "journal", "--integration", "Nope") == 1
    with pytest.raises(SystemExit) as caught:
        run(profile, "journal", "--state", "lost")
    assert caught.value.code == 2
