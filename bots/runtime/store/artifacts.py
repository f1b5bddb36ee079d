"""Artifacts of an item (uploads, screenshots, documents) over content-addressed blobs stored once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.errors import NotFound
from bots.runtime.models import Artifact
from bots.runtime.store import rows
from bots.runtime.store.engine import StoreBase


@dataclass(frozen=True)
class NewFile:
    """A file a bot made (a certificate, a letter), to be stored as an artifact of its item."""

    filename: str
    media_type: str
    data: bytes
    kind: str


@dataclass(frozen=True)
class Upload:
    """A file that arrives with a request and is stored with its item in the same transaction."""

    filename: str
    media_type: str
    data: bytes


def add(
    conn: Connection,
    item_id: int,
    data: bytes,
    media_type: str,
    filename: str,
    kind: str,
    now: datetime,
) -> Artifact:
    """Store `data` with the item; the same file under the same name again returns the first artifact."""
    digest = hashlib.sha256(data).hexdigest()
    exists = conn.execute(sa.select(t.blobs.c.sha256).where(t.blobs.c.sha256 == digest)).first()
    if exists is None:
        conn.execute(sa.insert(t.blobs).values(sha256=digest, size=len(data), data=data))
    row = conn.execute(
        sa.select(t.artifacts).where(
            t.artifacts.c.item_id == item_id,
            t.artifacts.c.sha256 == digest,
            t.artifacts.c.filename == filename,
        )
    ).one_or_none()
    if row is None:
        art_id = conn.execute(
            sa.insert(t.artifacts)
            .values(
                item_id=item_id,
                sha256=digest,
                media_type=media_type,
                filename=filename,
                kind=kind,
                created_at=now,
            )
            .returning(t.artifacts.c.id)
        ).scalar_one()
        row = conn.execute(sa.select(t.artifacts).where(t.artifacts.c.id == art_id)).one()
    return rows.artifact(row, len(data))


class ArtifactStore(StoreBase):
    """Adding and reading the artifacts of an item."""

    def add_artifact(self, item_id: int, data: bytes, media_type: str, filename: str, kind: str) -> Artifact:
        with self._write() as conn:
            return add(conn, item_id, data, media_type, filename, kind, self.now())

    def artifacts(self, item_id: int) -> list[Artifact]:
        q = (
            sa.select(t.artifacts, t.blobs.c.size)
            .join(t.blobs, t.blobs.c.sha256 == t.artifacts.c.sha256)
            .where(t.artifacts.c.item_id == item_id)
            .order_by(t.artifacts.c.id)
        )
        with self._read() as conn:
            return [rows.artifact(r, r.size) for r in conn.execute(q)]

    def artifact_bytes(self, artifact_id: int) -> tuple[Artifact, bytes]:
        q = (
            sa.select(t.artifacts, t.blobs.c.size, t.blobs.c.data)
            .join(t.blobs, t.blobs.c.sha256 == t.artifacts.c.sha256)
            .where(t.artifacts.c.id == artifact_id)
        )
        with self._read() as conn:
            row = conn.execute(q).one_or_none()
        if row is None:
            raise NotFound(f"no artifact {artifact_id}")
        return rows.artifact(row, row.size), bytes(row.data)
