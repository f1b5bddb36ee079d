"""Fault knobs of the sandbox (latency, errors, hanging pages, changed layout, forced hours, services down)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class Faults:
    """What the sandbox does wrong on purpose; the defaults do nothing."""

    latency_ms: int = 0
    error_rate: float = 0.0  # share of page requests answered with HTTP 500
    error_seed: int = 0  # seeds the random source of error_rate, so a run is repeatable
    hang_paths: tuple[str, ...] = field(default_factory=tuple)  # path prefixes that never answer
    alt_layout: bool = False  # element ids change ("v2-" prefix), so old selectors break
    force_closed: bool = False  # closed whatever the service calendar says
    force_open: bool = False  # open whatever the service calendar says
    smtp_down: bool = False  # the Postfach SMTP server refuses every recipient with 421
    portal_down: bool = False  # the portal's contract overview (/portal/…) answers 503

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be within 0..1")
        if self.force_closed and self.force_open:
            raise ValueError("force_closed and force_open exclude each other")
        if any(not p.startswith("/") for p in self.hang_paths):
            raise ValueError("hang_paths are path prefixes starting with '/'")

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["hang_paths"] = list(self.hang_paths)
        return values

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with the given knobs changed; unknown knobs are an error."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        values = dict(changes)
        if "hang_paths" in values:
            values["hang_paths"] = tuple(values["hang_paths"] or ())
        return replace(self, **values)

    @classmethod
    def from_json(cls, text: str) -> Faults:
        """Faults from a JSON object (the sandbox_faults setting); "" gives the defaults."""
        return cls().updated(json.loads(text)) if text.strip() else cls()


class FaultInjector:
    """The live fault state of one running app; changed by the admin API, read per request."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.error_seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set(self, faults: Faults) -> Faults:
        """Replace the knobs; releases hanging requests when hang_paths no longer holds them."""
        with self._lock:
            old, self._faults = self._faults, faults
            self._rng = random.Random(faults.error_seed)
        if set(old.hang_paths) - set(faults.hang_paths):
            self.release_hangs()
        return faults

    def reset(self) -> Faults:
        return self.set(Faults())

    def should_fail(self) -> bool:
        with self._lock:
            rate = self._faults.error_rate
            return rate > 0 and self._rng.random() < rate

    def hangs(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.faults.hang_paths)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server's event loop (called at app startup)."""
        self._loop = loop
        self._release = asyncio.Event()

    async def hang(self) -> None:
        """Wait until hangs are released (reset, hang path removed or shutdown)."""
        if self._release is None:
            self.bind_loop(asyncio.get_running_loop())
        assert self._release is not None
        await self._release.wait()

    def release_hangs(self) -> None:
        """Wake every hanging request; safe to call from any thread."""
        loop, event = self._loop, self._release
        if loop is None or event is None:
            return

        def _release() -> None:
            event.set()
            # later hangs wait on a fresh event
            self._release = asyncio.Event()

        try:
            if _running_loop() is loop:
                _release()
            else:
                loop.call_soon_threadsafe(_release)
        except RuntimeError:  # the loop is already closed: nothing hangs any more
            pass


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
