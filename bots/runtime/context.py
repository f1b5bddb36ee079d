"""What a bot gets while it processes one item."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bots.runtime.calendar import ServiceCalendar
from bots.runtime.clock import Clock
from bots.runtime.mail import Mailer
from bots.runtime.models import AUTHORITY_KEY, Artifact, ClerkAuthority, WorkItem
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from bots.runtime.store.artifacts import NewFile

if TYPE_CHECKING:
    from playwright.sync_api import Page


@dataclass
class Context:
    """Per-item services: artifacts, checkpoints, time, mail, and the process's shared resources."""

    item: WorkItem
    store: Store
    settings: Settings
    clock: Clock
    mailer: Mailer
    calendars: dict[str, ServiceCalendar]
    resources: dict[str, Any]
    log: logging.Logger
    scratch: dict[str, Any] = field(default_factory=dict)  # per-run state for middleware (e.g. open pages)

    @property
    def clerk_authority(self) -> ClerkAuthority | None:
        """The clerk's authority this run carries out (a resolution `with_authority`, e.g. "apply anyway"),
        or None. It lasts until the item next ends done, rejected, handed off or failed; a deferral or a
        crash in between keeps it, as the next run carries out the same decision."""
        return ClerkAuthority.of(self.item.progress)

    def save_artifact(self, data: bytes, media_type: str, filename: str, kind: str) -> Artifact:
        return self.store.add_artifact(self.item.id, data, media_type, filename, kind)

    def browser(self, **options: Any) -> AbstractContextManager[Page]:
        """A page in a fresh browser context for this item: `with ctx.browser() as page:` (see runtime.browser)."""
        # Imported here so that only processes that drive a browser load Playwright.
        from bots.runtime.browser import session

        return session(self, **options)

    def uploads(self) -> list[Artifact]:
        return [a for a in self.store.artifacts(self.item.id) if a.kind == "upload"]

    def artifact_bytes(self, artifact_id: int) -> bytes:
        return self.store.artifact_bytes(artifact_id)[1]

    def recall(self, key: str, default: Any = None) -> Any:
        """A checkpoint a previous run of this item saved."""
        return self.item.progress.get(key, default)

    def remember(self, key: str, value: Any) -> None:
        """Save a checkpoint now (JSON), so a retry after a crash does not repeat a side effect."""
        assert self.item.lease_owner is not None
        _own_key(key)
        self.store.remember(self.item.id, self.item.lease_owner, key, value)
        self.item.progress[key] = value

    def keep(self, key: str, files: Sequence[NewFile], describe: Callable[[list[Artifact]], Any]) -> Any:
        """Store `files` as artifacts and the checkpoint `key` = describe(their artifacts), in one transaction;
        returns the checkpoint's value."""
        assert self.item.lease_owner is not None
        _own_key(key)
        kept: list[Any] = []

        def value(stored: list[Artifact]) -> Any:
            kept.append(describe(stored))
            return kept[0]

        self.store.remember(self.item.id, self.item.lease_owner, key, value, files)
        self.item.progress[key] = kept[0]
        return kept[0]


def _own_key(key: str) -> None:
    if key == AUTHORITY_KEY:
        raise ValueError(f"checkpoint {key!r} is the runtime's: only a clerk's resolution grants authority")
