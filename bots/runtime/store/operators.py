"""Operators: who may sign in to the operator API, their password hashes, failed sign-ins in a row, and their
tokens (kept only as the token's SHA-256). Every change is an event of subject "operator"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from bots.runtime import schema as t
from bots.runtime.clock import utc
from bots.runtime.errors import NotFound, OperatorExists
from bots.runtime.models import Operator, OperatorAccount, Role
from bots.runtime.store import events
from bots.runtime.store.engine import StoreBase

SUBJECT = "operator"


def _operator(row: Row[Any]) -> Operator:
    return Operator(row.name, Role(row.role), tuple(row.units or ()), bool(row.disabled))


def _record(
    conn: Connection, name: str, actor: str, reason: str, now: datetime, detail: dict[str, Any] | None = None
) -> None:
    events.record(conn, SUBJECT, name, None, None, None, actor, reason, now, detail)


def _revoke_all(conn: Connection, name: str) -> None:
    conn.execute(
        sa.update(t.operator_tokens)
        .where(t.operator_tokens.c.operator == name, t.operator_tokens.c.revoked == sa.false())
        .values(revoked=True)
    )


class OperatorStore(StoreBase):
    """Adding operators, signing them in and out, and finding the operator of a token."""

    def add_operator(
        self,
        name: str,
        role: Role,
        units: Sequence[str],
        password_hash: str,
        *,
        actor: str,
        first: bool = False,
    ) -> Operator:
        """A new operator; OperatorExists if the name is taken or, with `first` (the first-run setup), if
        any operator exists."""
        now = self.now()
        try:
            with self._write() as conn:
                if first and conn.execute(sa.select(t.operators.c.id).limit(1)).first() is not None:
                    raise OperatorExists("an operator exists already; setup is over")
                conn.execute(
                    sa.insert(t.operators).values(
                        name=name,
                        role=role.value,
                        units=list(units),
                        password_hash=password_hash,
                        failed_logins=0,
                        disabled=False,
                        created_at=now,
                        updated_at=now,
                    )
                )
                reason = "first-run setup: operator added" if first else "operator added"
                _record(conn, name, actor, reason, now, {"role": role.value, "units": list(units)})
        except IntegrityError:
            raise OperatorExists(f"an operator named {name!r} exists already") from None
        return Operator(name, role, tuple(units))

    def operator_count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.operators)).scalar_one())

    def operators(self) -> list[Operator]:
        with self._read() as conn:
            return [_operator(r) for r in conn.execute(sa.select(t.operators).order_by(t.operators.c.name))]

    def operator_account(self, name: str) -> OperatorAccount | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.operators).where(t.operators.c.name == name)).one_or_none()
        if row is None:
            return None
        locked = utc(row.locked_until) if row.locked_until else None
        return OperatorAccount(_operator(row), row.password_hash, row.failed_logins, locked)

    def failed_login(
        self, name: str, lock_for: Callable[[int], timedelta | None]
    ) -> tuple[int, datetime | None]:
        """Count a wrong password for operator `name`; `lock_for(failures in a row)` says how long further
        attempts wait. Returns the count and the end of the wait."""
        now = self.now()
        with self._write() as conn:
            failures = conn.execute(
                sa.update(t.operators)
                .where(t.operators.c.name == name)
                .values(failed_logins=t.operators.c.failed_logins + 1)
                .returning(t.operators.c.failed_logins)
            ).scalar_one_or_none()
            if failures is None:
                raise NotFound(f"no operator {name!r}")
            wait = lock_for(int(failures))
            until = now + wait if wait is not None else None
            conn.execute(sa.update(t.operators).where(t.operators.c.name == name).values(locked_until=until))
            detail: dict[str, Any] = {"failed_logins": failures}
            if until is not None:
                detail["locked_until"] = until.isoformat()
            _record(conn, name, name, "sign-in failed: wrong password", now, detail)
        return int(failures), until

    def record_operator_event(
        self, name: str, actor: str, reason: str, detail: dict[str, Any] | None = None
    ) -> None:
        """An event about an operator (or a name that is none: a sign-in attempt under an unknown name)."""
        with self._write() as conn:
            _record(conn, name, actor, reason, self.now(), detail)

    def signed_in(
        self, name: str, token_sha256: str, expires_at: datetime, *, rehashed: str | None = None
    ) -> None:
        """Operator `name` signed in: their failures in a row end, the token is kept (as its hash; their
        expired and revoked ones go), and the password's hash is renewed at today's cost when `rehashed` is
        given."""
        now = self.now()
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "updated_at": now}
        if rehashed is not None:
            values["password_hash"] = rehashed
        with self._write() as conn:
            conn.execute(sa.update(t.operators).where(t.operators.c.name == name).values(**values))
            # the operator's ended sign-ins are of no further use: their rows go
            conn.execute(
                sa.delete(t.operator_tokens).where(
                    t.operator_tokens.c.operator == name,
                    sa.or_(t.operator_tokens.c.expires_at <= now, t.operator_tokens.c.revoked == sa.true()),
                )
            )
            conn.execute(
                sa.insert(t.operator_tokens).values(
                    sha256=token_sha256, operator=name, expires_at=expires_at, created_at=now, revoked=False
                )
            )
            _record(conn, name, name, "signed in", now, {"expires_at": expires_at.isoformat()})

    def token_operator(self, token_sha256: str) -> tuple[Operator, datetime] | None:
        """The operator a token (by its hash) signs in, with its expiry; None when unknown, revoked or the
        operator is disabled. The caller checks the expiry (to answer "expired")."""
        q = (
            sa.select(t.operators, t.operator_tokens.c.expires_at)
            .join(t.operator_tokens, t.operator_tokens.c.operator == t.operators.c.name)
            .where(
                t.operator_tokens.c.sha256 == token_sha256,
                t.operator_tokens.c.revoked == sa.false(),
                t.operators.c.disabled == sa.false(),
            )
        )
        with self._read() as conn:
            row = conn.execute(q).one_or_none()
        return None if row is None else (_operator(row), utc(row.expires_at))

    def sign_out(self, token_sha256: str, actor: str) -> None:
        now = self.now()
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.operator_tokens)
                .where(t.operator_tokens.c.sha256 == token_sha256, t.operator_tokens.c.revoked == sa.false())
                .values(revoked=True)
            ).rowcount
            if n:
                _record(conn, actor, actor, "signed out", now)

    def set_password(self, name: str, password_hash: str, *, actor: str) -> None:
        """A new password; every token of the operator ends."""
        self._change(
            name, actor, "password changed", password_hash=password_hash, failed_logins=0, locked_until=None
        )

    def set_operator_disabled(self, name: str, disabled: bool, *, actor: str) -> None:
        """Disable (every token ends, no sign-in) or enable an operator."""
        self._change(name, actor, "disabled" if disabled else "enabled", disabled=disabled)

    def _change(self, name: str, actor: str, reason: str, **values: Any) -> None:
        now = self.now()
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.operators).where(t.operators.c.name == name).values(updated_at=now, **values)
            ).rowcount
            if n != 1:
                raise NotFound(f"no operator {name!r}")
            _revoke_all(conn, name)
            _record(conn, name, actor, reason, now)
