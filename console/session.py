"""What every view needs: the API client, the pool of network work, the hub, who is signed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.client import ApiClient
from console.hub import Hub
from console.tasks import Tasks


@dataclass
class Session:
    client: ApiClient
    tasks: Tasks
    hub: Hub
    operator: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.operator.get("name", ""))

    @property
    def is_supervisor(self) -> bool:
        return self.operator.get("role") == "supervisor"

    @property
    def units(self) -> list[str]:
        return list(self.operator.get("units") or [])
