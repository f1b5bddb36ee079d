"""Connections kept open between the store's writes, instead of taken from the pool and given back each time.

Taking a connection from SQLAlchemy's pool and giving it back costs more CPU than the write around it
needs: on SQLite 28 of the 41 µs a write transaction costs outside SQLite itself, on PostgreSQL 19 of the
21 µs around a one-statement change (the checkout, the switch to autocommit and back, the checkin), and a
no-op item makes three such writes. Kept, a no-op item costs 3–8 % less CPU (benchmarks/
runtime_throughput.py). So the store keeps the few connections its writes go through: a use takes a kept
one (or a new one from the pool) and gives it back here. A use that fails closes its connection (the next
use starts afresh); one that lay idle for a while is pinged first, and renewed when the server has gone;
a forked child never uses its parent's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection


class Kept:
    """Up to `most` connections from `connect`, kept for the next use; one kept longer than `idle_limit()`
    seconds is pinged before it is used again."""

    def __init__(
        self, connect: Callable[[], Connection], most: int, idle_limit: Callable[[], float] | None = None
    ) -> None:
        self._connect = connect
        self._most = most
        self._idle_limit = idle_limit
        self._lock = threading.Lock()
        self._spare: list[tuple[Connection, float]] = []  # with the time each was given back
        self._pid = os.getpid()

    @contextmanager
    def use(self) -> Iterator[Connection]:
        conn = self._take() or self._connect()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        self._give(conn)

    def close(self) -> None:
        """Close the kept connections (those of this process: a forked child leaves its parent's alone)."""
        with self._lock:
            spare = self._spare if self._pid == os.getpid() else []
            self._spare, self._pid = [], os.getpid()
        for conn, _ in spare:
            conn.close()

    def _take(self) -> Connection | None:
        while True:
            with self._lock:
                if self._pid != os.getpid():
                    self._spare, self._pid = [], os.getpid()
                if not self._spare:
                    return None
                conn, since = self._spare.pop()
            if conn.closed or conn.invalidated:
                conn.close()  # an invalidated one still holds its place in the pool
                continue
            if self._idle_limit is None or time.monotonic() - since < self._idle_limit() or _alive(conn):
                return conn

    def _give(self, conn: Connection) -> None:
        if not conn.closed and not conn.invalidated:
            with self._lock:
                if self._pid == os.getpid() and len(self._spare) < self._most:
                    self._spare.append((conn, time.monotonic()))
                    return
        conn.close()


def _alive(conn: Connection) -> bool:
    """Ping a connection that lay idle (a server restarted, a firewall dropped it); a dead one is invalidated,
    and its pool's other connections are checked as they are taken out (engine.py)."""
    try:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        conn.dialect.do_ping(raw)
    except Exception as exc:
        conn.invalidate(exc)
        conn.close()
        return False
    return True
