"""The Redis broker: kombu's Redis transport, with one Redis client per channel instead of one per command.

Kombu's channel makes a new client object (on the channel's shared connection pool) for every command it
sends outside its polling loop: each message sent, each message a worker takes under acks_late and each
acknowledgement. Building a redis-py client costs about 50 µs of CPU (its table of ~170 response callbacks),
a little less than the command itself: three per item, 0.15–0.2 ms or 6–8 % of a no-op item's CPU
(benchmarks/runtime_throughput.py). This channel builds its client once. A redis-py client is safe to share
between threads (each command takes a connection from the pool), and the pool opens new connections in a
forked child. Used for `redis://` broker URLs (dispatch.py); `rediss://` and Sentinel URLs keep kombu's own
transport.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis

TRANSPORT = f"{__name__}:Transport"


class Channel(redis.Channel):
    _commands: Any = None  # the client for commands outside the polling loop, built on first use

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        if self._commands is None:
            self._commands = self._create_client()  # type: ignore[no-untyped-call]
        yield self._commands

    def close(self) -> None:
        self._commands = None
        super().close()  # type: ignore[no-untyped-call]


class Transport(redis.Transport):
    Channel = Channel
