"""Wrong logins slow down: each failure beyond the first few from one client doubles the wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LoginThrottle:
    """Per client address: `free` failures pass at once, then `base` seconds doubling up to `cap`; a good
    login (or `forget_after` seconds without a failure) clears the record."""

    def __init__(
        self,
        free: int = 3,
        base: float = 1.0,
        cap: float = 30.0,
        forget_after: float = 900.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base = base
        self.cap = cap
        self.forget_after = forget_after
        self.monotonic = monotonic
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def failed(self, client: str) -> float:
        """Record a failure; the seconds to wait before answering it."""
        now = self.monotonic()
        with self._lock:
            count, last = self._failures.get(client, (0, now))
            if now - last > self.forget_after:
                count = 0
            count += 1
            self._failures[client] = (count, now)
        if count <= self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** (count - self.free - 1)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
