"""`portalbots console [--api URL] [--lang de|en]`: the operator console. Without --api it serves a local
operator API on loopback over this installation's store (first-run setup allowed), so the embedded default
needs no setup; the console itself talks only HTTP to whichever API it is given."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from typing import Any

import httpx
from rich.console import Console

from bots.runtime.serve import free_port
from bots.runtime.settings import Settings

err = Console(stderr=True)


def add_parser(sub: Any, fn: Callable[[argparse.Namespace, Settings], int] | None = None) -> None:
    """The `console` command; it runs `fn` (by default `run`)."""
    c = sub.add_parser("console", help="the operator console (PySide6) for supervisors and clerks")
    c.add_argument(
        "--api", metavar="URL", help="an operator API to use (default: a local one over the local store)"
    )
    c.add_argument(
        "--lang", choices=["de", "en"], help="language of the console (default: the last chosen, German)"
    )
    c.set_defaults(fn=fn or run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from console.app import main as console_main
    except ImportError as exc:  # PySide6 is the optional extra `console`
        err.print(f"[red]the console needs PySide6: pip install 'portalbots[console]' ({exc})[/red]")
        return 2
    if args.api:
        return console_main(args.api, args.lang)
    with local_api(settings) as url:
        return console_main(url, args.lang)


@contextmanager
def local_api(settings: Settings, timeout: float = 60.0) -> Iterator[str]:
    """The operator API over the local store, on a free loopback port, for as long as the console runs.

    It runs in a child process, not in a thread of the console: a thread would share the console's
    interpreter lock, and while it answers a page of items the window would stall for ~0.1 s (measured by
    benchmarks/console_items.py); in its own process the longest stall is ~15 ms. The child ends with the
    console, also when the console is killed (it watches its parent)."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_local_api, args=(settings, port, os.getpid()), name="operator-api", daemon=True
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, timeout)
        yield url
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()


def serve_local_api(settings: Settings, port: int, parent: int) -> None:
    """The child's work: migrate the local store (the embedded default needs no `db upgrade` first) and
    serve the operator API with first-run setup allowed, until the console (`parent`) is gone."""
    import uvicorn

    from bots.runtime.bot import Registry
    from bots.runtime.clock import clock_from_shift
    from bots.runtime.migrate import upgrade
    from bots.runtime.ops_api import create_ops_app
    from bots.runtime.store import Store

    settings.private_data_dir()
    url = settings.resolved_database_url()
    upgrade(url)
    store = Store(url, clock_from_shift(settings.clock_shift))
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    app = create_ops_app(store, Registry.discover(settings.bots), settings, allow_setup=True)
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, ws="none")
    finally:
        store.dispose()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _wait_until_up(url: str, process: BaseProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"the local operator API did not start (exit code {process.exitcode})")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the local operator API did not answer on {url} within {timeout:.0f} s")
