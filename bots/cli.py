"""The `portalbots` command: the composition root that wires runtime, bots, sandbox and console."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bots import cli_cases, cli_console, cli_operators
from bots.runtime.bot import Registry
from bots.runtime.clock import clock_from_shift
from bots.runtime.errors import (
    ConfigurationError,
    FieldInvalid,
    IdempotencyConflict,
    NotFound,
    RuntimeProblem,
)
from bots.runtime.filenames import safe_filename
from bots.runtime.privacy import install_log_masking
from bots.runtime.settings import Settings, get_settings
from bots.runtime.states import Status
from bots.runtime.store import Store

out = Console()
err = Console(stderr=True)


def open_store(settings: Settings) -> Store:
    settings.private_data_dir()
    return Store(settings.resolved_database_url(), clock_from_shift(settings.clock_shift))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bots.runtime.migrate import current, upgrade

    url = settings.resolved_database_url()
    settings.private_data_dir()
    upgrade(url)
    out.print(f"database at revision [bold]{current(url)}[/bold]")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bots.runtime.dispatch import configure, worker_argv

    registry = Registry.discover(settings.bots)
    queues = args.queues.split(",") if args.queues else registry.queues
    unknown = [q for q in queues if q not in registry.queues]
    if unknown:
        err.print(f"[red]unknown queue(s): {', '.join(unknown)}; known: {', '.join(registry.queues)}[/red]")
        return 2
    app = configure(settings)
    app.worker_main(worker_argv(queues, args.concurrency, args.loglevel, args.pool))
    return 0


def cmd_beat(args: argparse.Namespace, settings: Settings) -> int:
    from bots.runtime.dispatch import beat_argv, configure

    settings.private_data_dir()
    configure(settings).start(beat_argv(args.loglevel))
    return 0


def build_intake(settings: Settings) -> Any:
    from bots.runtime.dispatch import CeleryDispatcher, configure
    from bots.runtime.intake import create_intake_app

    configure(settings)
    return create_intake_app(
        open_store(settings), Registry.discover(settings.bots), CeleryDispatcher(), settings
    )


def intake_app() -> Any:
    """The intake of this process's settings: what each of several uvicorn worker processes builds."""
    install_log_masking()
    os.umask(0o077)
    return build_intake(get_settings())


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def cmd_intake(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.intake_host
    default_token = Settings.model_fields["intake_token"].default.get_secret_value()
    if host not in LOOPBACK_HOSTS and settings.intake_token.get_secret_value() == default_token:
        err.print(
            f"[red]refusing to serve the intake on {host} with the development token; "
            "set PORTALBOTS_INTAKE_TOKEN to a secret shared with the portal[/red]"
        )
        return 2
    try:
        app = build_intake(settings)  # built here too, so a bad setting is refused before serving
    except ConfigurationError as exc:
        err.print(f"[red]refusing to serve the intake: {exc}[/red]")
        return 2
    port = args.port or settings.intake_port
    workers = args.workers or settings.intake_workers
    if workers > 1:  # each worker process builds its own app (and database connections) after the fork
        uvicorn.run(
            "bots.cli:intake_app", factory=True, host=host, port=port, workers=workers, log_level="info"
        )
    else:
        uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox import server
    from sandbox.settings import SandboxSettings

    own = SandboxSettings()
    if args.action == "seed":
        print(server.seed_command(args.customers, args.json, own))
        return 0
    try:
        server.run_forever(own)
    except server.RemoteRefused as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    return 0


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    from bots.runtime.dispatch import CeleryDispatcher, configure

    registry = Registry.discover(settings.bots)
    bot = next((b for b in registry if args.kind in (b.queue, b.route)), None)
    if bot is None:
        err.print(
            f"[red]unknown request kind {args.kind!r}; known: {', '.join(b.route for b in registry)}[/red]"
        )
        return 2
    from pydantic import ValidationError

    uploads: list[Any] = []
    if args.eml:  # the portal's mail: the same form fields and files as the multipart route
        from bots.claims_forwarder.eml import eml_request

        try:
            raw, uploads, key = eml_request(bot, Path(args.eml).read_bytes())
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            return 2
        args.key = args.key or key
    else:
        raw = Path(args.file).read_text() if args.file else args.json
    if raw is None:
        err.print("[red]give the request with --json, --file or --eml[/red]")
        return 2

    try:
        model = bot.request_model.model_validate_json(raw)
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            err.print(f"[red]{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}[/red]")
        return 2
    from bots.runtime.submission import Submitter

    configure(settings)
    submitter = Submitter(open_store(settings), CeleryDispatcher(), settings)
    try:
        item, created = submitter.submit(bot, model, reference=args.key, uploads=uploads)
    except FieldInvalid as exc:
        err.print(f"[red]{exc.field}: {exc.message}[/red]")
        return 2
    except IdempotencyConflict as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    out.print(
        json.dumps(
            {"id": item.id, "status": item.status.value, "reference": item.reference, "created": created}
        )
    )
    return 0


def cmd_items(args: argparse.Namespace, settings: Settings) -> int:
    from bots.runtime.item_view import load_operator_detail, operator_row

    store = open_store(settings)
    if args.action == "show":
        try:
            data = load_operator_detail(store, args.id)
        except NotFound as exc:
            err.print(f"[red]{exc}[/red]")
            return 1
        if args.json:
            print(json.dumps(data, indent=2, ensure_ascii=False))
            return 0
        print_item(data)
        return 0
    statuses = [Status(s) for s in args.status.split(",")] if args.status else []
    items = store.list_items(queue=args.queue, statuses=statuses, customer_id=args.customer, limit=args.limit)
    rows = [operator_row(i) for i in items]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table("id", "queue", "status", "customer", "attempts", "updated", "reference")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["queue"],
            row["status"],
            escape(row["customer_id"] or ""),
            str(row["attempts"]),
            _when(row["updated_at"]),
            escape(row["reference"]),
        )
    out.print(table)
    return 0


def _when(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else ""


def print_item(data: dict[str, Any]) -> None:
    """An item's operator view (item_view.operator_detail) as text for the terminal."""
    for key in (
        "id",
        "queue",
        "status",
        "reference",
        "customer_id",
        "attempts",
        "defer_reason",
        "not_before",
        "due_at",
    ):
        out.print(f"[bold]{key}[/bold]: {escape(str(data[key]))}")
    out.print_json(data=data["payload"])
    if data["result"]:
        out.print_json(data=data["result"])
    if data["error"]:
        error = data["error"]
        out.print(f"{error['kind']} {error['code']}: {error['message']}", style="red", markup=False)
        if error["traceback"]:
            out.print(error["traceback"], markup=False, highlight=False)
    if data["artifacts"]:
        table = Table("artifact", "file", "type", "kind", "size")
        for a in data["artifacts"]:
            table.add_row(str(a["id"]), escape(a["filename"]), a["media_type"], a["kind"], str(a["size"]))
        out.print(table)
    history = Table("at", "actor", "from", "to", "reason", title="events")
    for e in data["events"]:
        history.add_row(e["at"], escape(e["actor"]), e["from"] or "", e["to"] or "", escape(e["reason"]))
    out.print(history)
    for case in data["cases"]:
        out.print(
            f"[bold]case {case['id']}[/bold] "
            + escape(f"({case['status']}) {case['unit']} {case['reason_code']}: {case['note']}"),
            highlight=False,
        )
        if case["resolution"]:
            out.print(f"  resolution: {case['resolution']}", markup=False, highlight=False)
        for note in case["notes"]:
            out.print(
                f"  {_when(note['at'])} {note['author']}: {note['text']}", markup=False, highlight=False
            )


def cmd_artifacts(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    arts = store.artifacts(args.item_id)
    if not arts:
        err.print(f"[yellow]item {args.item_id} has no artifacts[/yellow]")
        return 1
    failed = []
    for art in arts:
        path = target / f"{art.id}-{safe_filename(art.filename, f'artifact-{art.id}')}"
        try:
            _, data = store.artifact_bytes(art.id)
            write_new_file(path, data)
        except OSError as exc:
            failed.append(art.id)
            err.print(
                f"[red]artifact {art.id}: not written to {path}: {exc.strerror or exc}[/red]", highlight=False
            )
            continue
        out.print(str(path), highlight=False)
    if failed:
        err.print(
            f"[red]{len(failed)} of {len(arts)} artifacts not exported: {', '.join(map(str, failed))}[/red]"
        )
        return 1
    return 0


def write_new_file(path: Path, data: bytes) -> None:
    """Create `path` (never an existing file, never through a symbolic link) readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    import runpy

    script = Path(__file__).resolve().parent.parent / "benchmarks" / f"{args.name}.py"
    if not script.exists():
        err.print(f"[red]no benchmark {args.name!r} in {script.parent}[/red]")
        return 2
    sys.argv = [str(script), *args.rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def cmd_cases(args: argparse.Namespace, settings: Settings) -> int:
    return cli_cases.run(args, open_store(settings), lambda: Registry.discover(settings.bots))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bots.demo import run_demo

    return run_demo(settings, at=args.at, customers=args.customers)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="portalbots", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the bots end to end against the sandbox")
    d.add_argument("--at", help="stand the demo at this ISO date-time (sets the clock shift)")
    d.add_argument("--customers", type=int, default=20)
    d.set_defaults(fn=cmd_demo)

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(fn=cmd_db_upgrade)

    w = sub.add_parser("worker", help="run a Celery worker for bot queues")
    w.add_argument("--queues", help="comma-separated queues (default: every bot)")
    w.add_argument("--concurrency", type=int, default=2)
    w.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    w.add_argument("--loglevel", default="INFO")
    w.set_defaults(fn=cmd_worker)

    b = sub.add_parser("beat", help="run the periodic housekeeping scheduler")
    b.add_argument("--loglevel", default="INFO")
    b.set_defaults(fn=cmd_beat)

    i = sub.add_parser("intake", help="serve the intake HTTP API for the portal")
    i.add_argument("--host")
    i.add_argument("--port", type=int)
    i.add_argument(
        "--workers", type=int, help="uvicorn worker processes (PORTALBOTS_INTAKE_WORKERS, default 1)"
    )
    i.set_defaults(fn=cmd_intake)

    s = sub.add_parser("sandbox", help="run or seed the stand-in core systems")
    s.add_argument("action", nargs="?", choices=["run", "seed"], default="run")
    s.add_argument("--customers", type=int, default=50)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_sandbox)

    su = sub.add_parser("submit", help="submit a request as the portal would")
    su.add_argument("kind", help="queue or route, e.g. ark-certificates")
    su.add_argument("--json", help="the request as JSON")
    su.add_argument("--file", help="a file with the request as JSON")
    su.add_argument("--eml", help="claims: the portal's mail (RFC 822) with the receipts attached")
    su.add_argument("--key", help="idempotency key")
    su.set_defaults(fn=cmd_submit)

    it = sub.add_parser("items", help="list or show work items")
    it_sub = it.add_subparsers(dest="action", required=True)
    il = it_sub.add_parser("list")
    il.add_argument("--queue")
    il.add_argument("--status", help="comma-separated states")
    il.add_argument("--customer")
    il.add_argument("--limit", type=int, default=50)
    il.add_argument("--json", action="store_true")
    ish = it_sub.add_parser("show")
    ish.add_argument("id", type=int)
    ish.add_argument("--json", action="store_true")
    it.set_defaults(fn=cmd_items)

    cli_cases.add_parser(sub, cmd_cases)
    cli_console.add_parser(sub)
    cli_operators.add_parser(sub)

    a = sub.add_parser("artifacts", help="export an item's artifacts")
    a_sub = a.add_subparsers(dest="action", required=True)
    ae = a_sub.add_parser("export")
    ae.add_argument("item_id", type=int)
    ae.add_argument("dir")
    a.set_defaults(fn=cmd_artifacts)

    be = sub.add_parser("bench", help="run a benchmark from benchmarks/")
    be.add_argument("name", nargs="?", default="runtime_throughput")
    be.add_argument("rest", nargs=argparse.REMAINDER)
    be.set_defaults(fn=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    install_log_masking()  # IBANs never reach a log of any PortalBots process
    os.umask(0o077)  # what PortalBots writes (database, PDFs, screenshots, exports) only its user may read
    settings = get_settings()
    os.environ.setdefault("PORTALBOTS_DATA_DIR", str(settings.data_dir))
    try:
        return int(args.fn(args, settings) or 0)
    except RuntimeProblem as exc:
        err.print(f"[red]{type(exc).__name__}: {exc}[/red]")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
