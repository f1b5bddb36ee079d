"""`portalbots operators`: who may sign in to the operator API (the console) — add, list, passwd, disable,
enable. Passwords are asked twice without echo on a terminal (or read from stdin, `--password-stdin`), checked
(at least 10 characters) and stored only as a salted argon2id hash."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bots.runtime.clock import clock_from_shift
from bots.runtime.errors import OperatorExists
from bots.runtime.models import Role
from bots.runtime.operators import add_operator, change_password, check_password
from bots.runtime.settings import Settings
from bots.runtime.store import Store

out = Console()
err = Console(stderr=True)
CLI_ACTOR = "cli"


def add_parser(sub: Any, fn: Callable[[argparse.Namespace, Settings], int] | None = None) -> None:
    """The `operators` command and its actions, run by `fn` (by default `run`)."""
    o = sub.add_parser("operators", help="operators of the console: add, list, passwd, disable, enable")
    actions = o.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new supervisor or clerk")
    add.add_argument("name", help="1-64 characters of A-Z a-z 0-9 . _ -")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument(
        "--unit", default="", help="a clerk's business units, comma-separated (e.g. Kranken,Leben)"
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    listing = actions.add_parser("list", help="every operator")
    listing.add_argument("--json", action="store_true")
    passwd = actions.add_parser("passwd", help="a new password (the operator's sign-ins end)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for action, text in (
        ("disable", "no more sign-ins (the current ones end)"),
        ("enable", "sign-ins again"),
    ):
        p = actions.add_parser(action, help=text)
        p.add_argument("name")
    o.set_defaults(fn=fn or run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings.private_data_dir()
    store = Store(settings.resolved_database_url(), clock_from_shift(settings.clock_shift))
    try:
        return _run(args, settings, store)
    finally:
        store.dispose()


def _run(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    if args.action == "list":
        return _list(args, store)
    if args.action in ("disable", "enable"):
        store.set_operator_disabled(args.name, args.action == "disable", actor=CLI_ACTOR)
        out.print(f"{escape(args.name)}: {args.action}d")
        return 0
    try:
        password = read_password(args.password_stdin)
        if args.action == "passwd":
            change_password(store, settings, args.name, password, actor=CLI_ACTOR)
            out.print(f"{escape(args.name)}: new password; their sign-ins have ended")
            return 0
        units = [u for u in args.unit.split(",") if u.strip()]
        operator = add_operator(store, settings, args.name, Role(args.role), units, password, actor=CLI_ACTOR)
    except (ValueError, OperatorExists) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        return 2
    units_text = f" of {', '.join(operator.units)}" if operator.units else ""
    out.print(f"{escape(operator.name)}: {operator.role.value}{escape(units_text)} added")
    return 0


def read_password(from_stdin: bool) -> str:
    """Twice without echo on a terminal; else (or with `from_stdin`) the first line of stdin."""
    if from_stdin or not sys.stdin.isatty():
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    first = check_password(getpass.getpass("password: "))
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _list(args: argparse.Namespace, store: Store) -> int:
    operators = store.operators()
    if args.json:
        import json

        rows = [{**o.as_json(), "disabled": o.disabled} for o in operators]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    table = Table("name", "role", "units", "disabled")
    for o in operators:
        table.add_row(escape(o.name), o.role.value, escape(", ".join(o.units)), "yes" if o.disabled else "")
    out.print(table)
    return 0
