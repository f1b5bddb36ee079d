"""Retry policy for system errors: a decision, carried out by the runner."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    at: datetime | None = None
    delay: timedelta | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full-range jitter of ±`jitter`, capped at `max_delay`."""

    base: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        raw = min(self.base.total_seconds() * 2 ** max(attempt - 1, 0), self.max_delay.total_seconds())
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return timedelta(seconds=raw * spread)

    def decide(
        self, attempts: int, max_attempts: int, now: datetime, rng: random.Random | None = None
    ) -> RetryDecision:
        """After the `attempts`-th failed run: retry later, or give up."""
        if attempts >= max_attempts:
            return RetryDecision(retry=False)
        d = self.delay(attempts, rng)
        return RetryDecision(retry=True, at=now + d, delay=d)
