"""One Chromium shared by a worker's threads, against one Chromium per thread (what the threads pool does).

Run: .venv/bin/python benchmarks/shared_browser.py [--threads 4] [--items 100] [--rounds 2] [--fresh-context]

Playwright's sync API belongs to the thread that started it, so the threads pool gives each thread its own
driver and Chromium. The one way for several threads to share one Chromium without async page objects is
Playwright's browser server (the driver's `launch-server`: one Chromium behind a loopback websocket with a
random path) that each thread's driver connects to. Measured here in one run, alternating, on a small local
page: T threads each load it, fill a field and read a table, N times, on a page kept warm per thread (as the
worker's isolation `page` does) or, with --fresh-context, in a new context per item. Printed: items/s and
CPU milliseconds per item of this process and everything below it (drivers, browser server, Chromium).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from backlog_drain import cpu_seconds  # noqa: E402
from playwright._impl._driver import compute_driver_executable  # noqa: E402
from playwright.sync_api import Browser, Playwright, sync_playwright  # noqa: E402

from bots.runtime.browser import CHROMIUM_ARGS  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402

PAGE = (
    b"<html><body><form><input name=a><input name=b><button>ok</button></form><table>"
    + b"<tr><td>Vertrag</td><td>KV-4712-0001</td></tr>" * 200
    + b"</table></body></html>"
)


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        try:
            self.wfile.write(PAGE)
        except BrokenPipeError:  # a context closed while its page still loaded
            pass

    def log_message(self, *args: object) -> None:
        pass


def browser_server(chromium: str | None) -> tuple[subprocess.Popen[str], str]:
    """Playwright's browser server on loopback; its websocket endpoint (the random path is its key)."""
    node, cli = compute_driver_executable()
    config = {"headless": True, "args": list(CHROMIUM_ARGS), "host": "127.0.0.1"}
    if chromium:
        config["executablePath"] = chromium
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    proc = subprocess.Popen(
        [node, cli, "launch-server", "--browser", "chromium", "--config", f.name],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    endpoint = proc.stdout.readline().strip()
    os.unlink(f.name)
    return proc, endpoint


def measure(
    shared: bool, threads: int, items: int, fresh: bool, url: str, chromium: str | None
) -> tuple[float, float]:
    """(items/s, CPU ms per item) of one run."""
    server, endpoint = browser_server(chromium) if shared else (None, "")

    def browser(p: Playwright) -> Browser:
        if shared:
            return p.chromium.connect(endpoint)
        return p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))

    ready, go = threading.Semaphore(0), threading.Event()

    def work() -> None:
        with sync_playwright() as p:
            b = browser(p)
            context = b.new_context()
            page = context.new_page()
            page.goto(url)
            ready.release()
            go.wait()
            for i in range(items):
                if fresh:
                    context.close()
                    context = b.new_context()
                    page = context.new_page()
                page.goto(f"{url}?{i}")
                page.fill("input[name=a]", "x")
                page.inner_text("table")
            context.close()
            b.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    cpu, wall = cpu_seconds(os.getpid()), time.perf_counter()
    go.set()
    for w in workers:
        w.join()
    cpu, wall = cpu_seconds(os.getpid()) - cpu, time.perf_counter() - wall
    if server is not None:
        server.terminate()
        server.wait(30)
    n = threads * items
    return n / wall, 1000 * cpu / n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--items", type=int, default=100, help="items per thread")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fresh-context", action="store_true", help="a new browser context per item")
    args = parser.parse_args()
    chromium = Settings().chromium_path
    chromium = chromium if chromium and Path(chromium).exists() else None
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for shared in (False, True):
            results[shared].append(
                measure(shared, args.threads, args.items, args.fresh_context, url, chromium)
            )
    context = "a fresh context per item" if args.fresh_context else "a warm page per thread"
    print(f"{args.threads} threads × {args.items} items, {context}, {os.cpu_count()} CPUs")
    for shared, label in ((False, "one Chromium per thread"), (True, "one shared Chromium (browser server)")):
        rates = ", ".join(f"{r:.1f}" for r, _ in results[shared])
        cpus = ", ".join(f"{c:.0f}" for _, c in results[shared])
        print(f"  {label:38} items/s {rates:14} CPU ms/item {cpus}")
    own = sum(c for _, c in results[False]) / args.rounds
    shared_cpu = sum(c for _, c in results[True]) / args.rounds
    own_rate = sum(r for r, _ in results[False]) / args.rounds
    shared_rate = sum(r for r, _ in results[True]) / args.rounds
    print(f"shared / per thread: {shared_rate / own_rate:.2f}× items/s, {shared_cpu / own:.2f}× CPU per item")


if __name__ == "__main__":
    main()
