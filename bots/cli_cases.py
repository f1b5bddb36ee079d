"""`portalbots cases`: the clerks' cases from the terminal — list, show (with the resolutions on offer),
claim, resolve. Everything printed goes through the item view, so IBANs are masked."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bots.runtime.bot import Registry
from bots.runtime.item_view import case_view, operator_row
from bots.runtime.resolutions import decide, offered
from bots.runtime.states import CaseStatus
from bots.runtime.store import Store

out = Console()
err = Console(stderr=True)


def add_parser(sub: Any, fn: Callable[[argparse.Namespace, Any], int]) -> None:
    """The `cases` command and its actions, run by `fn`."""
    c = sub.add_parser("cases", help="clerks' cases: list, show, claim, resolve")
    actions = c.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="cases by due date")
    listing.add_argument("--unit", help="comma-separated business units")
    listing.add_argument("--status", help="comma-separated: " + ", ".join(s.value for s in CaseStatus))
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="a case with its notes and the resolutions on offer")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    claim = actions.add_parser("claim", help="take a case")
    claim.add_argument("id", type=int)
    claim.add_argument("--as", dest="clerk", required=True, metavar="CLERK")
    resolve = actions.add_parser("resolve", help="decide a case with one of the resolutions its bot offers")
    resolve.add_argument("id", type=int)
    resolve.add_argument("--as", dest="clerk", required=True, metavar="CLERK")
    resolve.add_argument("--resolution", required=True, metavar="CODE")
    resolve.add_argument("--note", default="", metavar="TEXT")
    c.set_defaults(fn=fn)


def run(args: argparse.Namespace, store: Store, registry: Callable[[], Registry]) -> int:
    """Carry out `portalbots cases ACTION`; `registry` is called only by the actions that need the bots."""
    if args.action == "list":
        return _list(args, store)
    if args.action == "show":
        case = store.get_case(args.id)
        view = case_view(case, offered(registry(), case.queue))
        if args.json:
            print(json.dumps(view, indent=2, ensure_ascii=False))
        else:
            _print_case(view)
        return 0
    if args.action == "claim":
        print(json.dumps(case_view(store.claim_case(args.id, args.clerk)), indent=2, ensure_ascii=False))
        return 0
    bots = registry()
    try:
        case, item = decide(store, bots, args.id, args.clerk, args.resolution, args.note)
    except ValueError as exc:  # a resolution that needs a note got none
        err.print(f"[red]{escape(str(exc))}: give it with --note[/red]")
        return 2
    decided = {"case": case_view(case, offered(bots, case.queue)), "item": operator_row(item)}
    print(json.dumps(decided, indent=2, ensure_ascii=False))
    return 0


def _list(args: argparse.Namespace, store: Store) -> int:
    names = args.status.split(",") if args.status else []
    unknown = [s for s in names if s not in set(CaseStatus)]
    if unknown:
        err.print(f"[red]unknown status {', '.join(unknown)}; known: {', '.join(CaseStatus)}[/red]")
        return 2
    units = args.unit.split(",") if args.unit else None
    cases = store.cases(units=units, statuses=[CaseStatus(s) for s in names], limit=args.limit)
    views = [case_view(c) for c in cases]
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False))
        return 0
    table = Table("case", "item", "queue", "unit", "status", "assignee", "due", "reason", "note")
    for v in views:
        table.add_row(
            str(v["id"]),
            str(v["item_id"]),
            v["queue"],
            escape(v["unit"]),
            v["status"],
            escape(v["assignee"] or ""),
            _when(v["due_at"]),
            escape(v["reason_code"]),
            escape(v["note"]),
        )
    out.print(table)
    return 0


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else ""


def _print_case(v: dict[str, Any]) -> None:
    say = {"markup": False, "highlight": False}
    out.print(f"case {v['id']} ({v['status']}) for item {v['item_id']} of {v['queue']}", style="bold", **say)
    out.print(f"unit: {v['unit']}   due: {_when(v['due_at'])}   assignee: {v['assignee'] or '-'}", **say)
    out.print(f"reason: {v['reason_code']}: {v['note']}", **say)
    for note in v["notes"]:
        out.print(f"  {_when(note['at'])} {note['author']}: {note['text']}", **say)
    if v["resolution"]:
        out.print(f"resolution: {v['resolution']} {v['resolution_title'] or ''}".rstrip(), **say)
    if v["resolutions"]:
        table = Table("resolution", "title", "outcome", "note", title="resolutions on offer")
        for r in v["resolutions"]:
            outcome = r["outcome"] + (" with the clerk's authority" if r["with_authority"] else "")
            table.add_row(r["code"], escape(r["title"]), outcome, "needed" if r["needs_note"] else "")
        out.print(table)
