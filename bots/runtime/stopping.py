"""A worker stops when asked, even in the middle of an item whose page hangs.

Ctrl-C or SIGTERM make Celery's main process begin a warm shutdown: it waits for the running tasks. It
then asks each pool process to stop (STOP_SIGNAL); a pool process gives the step it is in `grace`
seconds to end by itself, then ends its own child processes — the Playwright driver and its Chromium —
so whatever waits on the browser fails at once. The runner sees that the worker is stopping and puts the
item back to pending, its attempt given back, instead of counting an error; housekeeping sends it again.
A pool process that is stopping starts no further item. A worker whose items run in threads of one process
(`--pool threads`) does all of this itself.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

# a real-time signal: billiard takes SIGUSR1 (soft time limits), Celery SIGUSR2, SIGHUP and SIGINT
STOP_SIGNAL: int = signal.SIGRTMIN + 3
_stopping = threading.Event()


def stopping() -> bool:
    """Whether this process was asked to stop."""
    return _stopping.is_set()


def install(grace: float) -> None:
    """In a pool process: on STOP_SIGNAL, note it and end the child processes after `grace` seconds."""
    _stopping.clear()

    def asked(_signum: int, _frame: FrameType | None) -> None:
        begin(grace)

    signal.signal(STOP_SIGNAL, asked)


def begin(grace: float) -> None:
    """This process stops: it starts no further item and ends its child processes after `grace` seconds.

    Called by STOP_SIGNAL in a pool process, and by the worker itself when its items run in threads."""
    if _stopping.is_set():
        return
    _stopping.set()
    timer = threading.Timer(grace, end_children)
    timer.daemon = True
    timer.start()


def ask_to_stop(pids: list[int]) -> None:
    """In the main process: ask the pool processes `pids` to stop."""
    for pid in pids:
        try:
            os.kill(pid, STOP_SIGNAL)
        except ProcessLookupError:
            pass


def end_children() -> list[int]:
    """Kill every descendant of this process (a browser and its driver); the pids killed."""
    victims = descendants(os.getpid())
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if victims:
        log.warning("worker stopping: ended %d child processes (browser) of the running step", len(victims))
    return victims


def descendants(pid: int) -> list[int]:
    """Processes below `pid`, read from /proc (Linux); [] where there is no /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found
