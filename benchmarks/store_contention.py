"""SQLite with several processes writing: the store's CPU per item against the floor's, without Celery.

Run: .venv/bin/python benchmarks/store_contention.py [--items N] [--rounds R] [--against CHECKOUT]

What runtime_throughput.py measures with Celery around it, here the database part alone, as the embedded
installation runs it: one process submits N no-op items (Store.submit) and hands their ids to two forked
processes through a multiprocessing queue, which run them (Runner.run with NoopBot: claim, then finish). The
floor (durable_floor.py, hand-written SQL on the same tables) does the same with FloorStore. Each side's
round is a fresh SQLite database, built by its checkout's migrations, in a subprocess that imports that
checkout's code. Printed: wall time, CPU per item of the submitter and of the two runners
(`time.process_time` in each, imports and start-up excluded), and the size of SQLite's log file at the end
(it shows whether the log was started over while all three wrote). Rounds alternate the order of the sides;
medians, and runtime/floor (and with `--against`, current/before) per round.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import checkout

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = 2
PAYLOAD = {"customer_id": "K1", "action": "noop"}


# ------------------------------------------------------------------ one round (a subprocess in its checkout)


def _runner(kind: str, url: str, ids: Any, out: Any) -> None:
    """A forked runner: take ids until None, run each; report the items run and their CPU seconds."""
    if kind == "runtime":
        from bots.runtime.bot import Registry
        from bots.runtime.clock import SystemClock
        from bots.runtime.runner import Runner
        from bots.runtime.settings import Settings
        from bots.runtime.store import Store

        settings = Settings(
            data_dir=Path(tempfile.mkdtemp()),
            database_url=url,
            bots="tests.bots_for_tests:NoopBot",
            _env_file=None,
        )
        runner = Runner(Store(url, SystemClock()), Registry.discover(settings.bots), settings, SystemClock())
        run = runner.run
    else:
        import durable_floor

        floor = durable_floor.FloorStore(url)

        def run(item_id: int) -> None:
            if floor.claim(item_id) is not None:
                floor.finish(item_id)

    done, start = 0, time.process_time()
    while (item_id := ids.get()) is not None:
        run(item_id)
        done += 1
    out.put((done, time.process_time() - start))


def _report(out: Any, runners: list[Any], kind: str) -> tuple[int, float]:
    """The next runner's report; a runner that died without one (it could not start, say) ends the round."""
    while True:
        try:
            report: tuple[int, float] = out.get(timeout=1)
            return report
        except queue.Empty:
            died = [p.exitcode for p in runners if p.exitcode not in (None, 0)]
            if died:
                raise RuntimeError(
                    f"{kind}: a runner died (exit code {died[0]}); its error is above"
                ) from None


def measure(kind: str, url: str, items: int) -> dict[str, float]:
    """One round of `kind` (runtime or floor) on the migrated SQLite database at `url`."""
    ctx = mp.get_context("fork")
    ids, out = ctx.Queue(), ctx.Queue()
    runners = [ctx.Process(target=_runner, args=(kind, url, ids, out)) for _ in range(RUNNERS)]
    for process in runners:
        process.start()
    if kind == "runtime":
        from bots.runtime.store import Store

        store = Store(url)

        def submit() -> int:
            return store.submit("noop", PAYLOAD, customer_id="K1")[0].id
    else:
        import durable_floor

        floor = durable_floor.FloorStore(url)

        def submit() -> int:
            return floor.submit(PAYLOAD, "K1")

    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(items):
        ids.put(submit())
    submitter = time.process_time() - cpu
    for _ in runners:
        ids.put(None)
    reports = [_report(out, runners, kind) for _ in runners]
    wall = time.perf_counter() - wall
    for process in runners:
        process.join()
    if sum(done for done, _ in reports) != items:
        raise RuntimeError(f"{kind}: {items} items submitted, {sum(d for d, _ in reports)} run")
    log = Path(url.removeprefix("sqlite:///") + "-wal")
    return {
        "wall_s": wall,
        "submitter_ms": 1000 * submitter / items,
        "runners_ms": 1000 * sum(seconds for _, seconds in reports) / items,
        "log_mb": log.stat().st_size / 1e6 if log.exists() else 0.0,
    }


# ------------------------------------------------------------------ the rounds (this process)


def run_round(code: Path, kind: str, items: int, tmp: Path) -> dict[str, float]:
    """`kind` with checkout `code`'s modules, on a fresh database built by its migrations."""
    url = f"sqlite:///{tmp / 'contention.db'}"
    env = os.environ | {
        # the runner discovers that checkout's bots (checkout.py); durable_floor beside this file in it
        "PYTHONPATH": checkout.pythonpath(code, code / "benchmarks"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env = {k: v for k, v in env.items() if not k.startswith("PORTALBOTS_")} | {
        "PORTALBOTS_DATA_DIR": str(tmp)
    }
    checkout.migrate(url, code)
    child = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure",
        kind,
        "--url",
        url,
        "--items",
        str(items),
    ]
    done = subprocess.run(child, cwd=code, env=env, check=True, capture_output=True, text=True)
    measured: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", help="also the runtime of this checkout")
    parser.add_argument("--measure", choices=["runtime", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a round, in the checkout named by PYTHONPATH
        print(json.dumps(measure(args.measure, args.url, args.items)))
        return
    from rich.console import Console
    from rich.table import Table

    sides = [("runtime", ROOT), ("floor", ROOT)]
    if args.against is not None:
        against = args.against.resolve()
        if not (against / "bots" / "runtime").is_dir() or against == ROOT:
            parser.error(f"{against} is not another checkout of this repository")
        sides.append(("runtime", against))
    console = Console()
    results: dict[tuple[str, Path], list[dict[str, float]]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="pb-contention-") as tmp:
        for r in range(args.rounds):
            for n, side in enumerate(sides if r % 2 == 0 else list(reversed(sides))):
                label = f"{side[0]} ({side[1]})"
                console.print(f"[dim]round {r + 1}/{args.rounds}: {label} …[/dim]")
                folder = Path(tmp) / f"{r}-{n}"
                folder.mkdir()
                results[side].append(run_round(side[1], side[0], args.items, folder))
    table = Table(
        "side",
        "wall s",
        "submitter CPU ms/item",
        "runners CPU ms/item",
        "all CPU ms/item",
        "log MB at the end",
        title=f"SQLite, 1 submitter + {RUNNERS} runners, {args.items} no-op items, {os.cpu_count()} CPUs, "
        f"medians of {args.rounds} rounds",
    )
    for (kind, code), rounds in results.items():
        table.add_row(
            f"{kind} ({code})",
            f"{median(x['wall_s'] for x in rounds):.2f}",
            f"{median(x['submitter_ms'] for x in rounds):.3f}",
            f"{median(x['runners_ms'] for x in rounds):.3f}",
            f"{median(x['submitter_ms'] + x['runners_ms'] for x in rounds):.3f}",
            f"{median(x['log_mb'] for x in rounds):.1f}",
        )
    console.print(table)

    def per_round(top: tuple[str, Path], bottom: tuple[str, Path]) -> str:
        cpu = [
            (a["submitter_ms"] + a["runners_ms"]) / (b["submitter_ms"] + b["runners_ms"])
            for a, b in zip(results[top], results[bottom], strict=True)
        ]
        return " ".join(f"{x:.2f}" for x in cpu)

    console.print(f"CPU per item, runtime/floor per round: {per_round(sides[0], sides[1])}")
    if len(sides) == 3:
        console.print(f"CPU per item, runtime current/before per round: {per_round(sides[0], sides[2])}")


if __name__ == "__main__":
    main()
