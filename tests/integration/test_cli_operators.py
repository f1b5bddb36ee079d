"""`portalbots operators`: add (password from stdin, checked, hashed), list, passwd, disable."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from bots import cli_operators
from bots.runtime.migrate import upgrade
from bots.runtime.models import Role
from bots.runtime.store import Store
from tests.integration.ops_world import cheap_settings


def operators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli_operators.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["operators", *argv])
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return int(args.fn(args, cheap_settings(tmp_path)))


def test_operators_are_added_listed_and_changed_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(f"sqlite:///{tmp_path / 'portalbots.db'}")
    add = ("add", "anna", "--role", "clerk", "--unit", "Kranken,Leben", "--password-stdin")
    assert operators(tmp_path, monkeypatch, "zu kurz\n", *add) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert operators(tmp_path, monkeypatch, "ein langes Passwort\n", *add) == 0
    assert operators(tmp_path, monkeypatch, "ein langes Passwort\n", *add) == 2
    assert "exists already" in capsys.readouterr().err
    assert operators(tmp_path, monkeypatch, "x" * 12 + "\n", "add", "bob", "--role", "clerk") == 2
    assert operators(tmp_path, monkeypatch, "", "list", "--json") == 0
    assert '"units": [\n      "Kranken",\n      "Leben"\n    ]' in capsys.readouterr().out

    store = Store(f"sqlite:///{tmp_path / 'portalbots.db'}")
    try:
        account = store.operator_account("anna")
        assert account is not None and account.operator.role == Role.CLERK
        assert account.password_hash.startswith("$argon2id$")
        first_hash = account.password_hash
        assert (
            operators(tmp_path, monkeypatch, "ein neues Passwort\n", "passwd", "anna", "--password-stdin")
            == 0
        )
        changed = store.operator_account("anna")
        assert changed is not None and changed.password_hash != first_hash
        assert operators(tmp_path, monkeypatch, "", "disable", "anna") == 0
        assert store.operators()[0].disabled
        assert [e.actor for e in store.events("operator", "anna")] == ["cli"] * 3
    finally:
        store.dispose()
