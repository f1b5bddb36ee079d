"""What a bot contributes to `portalbots demo`: its requests and how its finished items read.

The demo hands a scenario the seeded customers of the stand-in core system as plain records (the JSON
of `portalbots sandbox seed --json`: customer_id, names, policies with policy_number, line, status,
end_date, insured_persons, accounts, flags), so bots read them without importing the sandbox.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bots.runtime.models import WorkItem

Customers = list[dict[str, Any]]


@dataclass(frozen=True)
class DemoFile:
    filename: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class DemoRequest:
    """One request the demo sends through the intake as the portal would; `label` is German."""

    label: str
    body: dict[str, Any]
    files: tuple[DemoFile, ...] = field(default=())  # for multipart bots


class DemoScenario(ABC):
    """A bot's part of the demo: requests in business hours, requests on a Saturday night, summaries."""

    @abstractmethod
    def daytime(self, customers: Customers, today: date) -> list[DemoRequest]:
        """Requests sent while the core systems are open (valid ones and ones a rule refuses)."""

    def night(self, customers: Customers, today: date) -> list[DemoRequest]:
        """Requests sent on Saturday night: most wait for Monday's opening; some are decided at once by
        their own checks."""
        return []

    def outcome(self, item: WorkItem) -> str:
        """One line for the demo's summary table about a finished item of this bot."""
        return f"Versuche {item.attempts}"
