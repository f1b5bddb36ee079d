"""Signing operators in: argon2id password hashes (salted, slow), tokens that expire (handed out once,
kept only as their SHA-256), and sign-ins slowed down after repeated wrong passwords.

After `ops_login_free_failures` wrong passwords in a row for a name, every further attempt within the wait
is refused (429 with Retry-After) without looking at the password; the wait starts at
`ops_login_first_lock_seconds` and doubles with every further failure up to `ops_login_max_lock_seconds`;
a sign-in that succeeds ends it. An unknown name costs the same hash check as a known one, and is slowed
down the same way (counted in this process), so neither the time taken nor the answer tells whether a name
exists.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bots.runtime.errors import RuntimeProblem
from bots.runtime.models import Operator, Role

if TYPE_CHECKING:
    from bots.runtime.settings import Settings
    from bots.runtime.store import Store

NAME_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
UNIT_PATTERN = r"^[^\x00-\x1f,]{1,64}$"
_NAME = re.compile(NAME_PATTERN)
_UNKNOWN_NAMES_KEPT = 10_000  # failures of unknown names this process remembers (the oldest are forgotten)


class InvalidCredentials(RuntimeProblem):
    """Unknown name or wrong password."""


class TooManyAttempts(RuntimeProblem):
    """Too many wrong passwords in a row for this name; wait before trying again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins; try again in {math.ceil(retry_after)} s")
        self.retry_after = max(1, math.ceil(retry_after))


class TokenExpired(RuntimeProblem):
    """The sign-in token has expired; sign in again."""


class InvalidToken(RuntimeProblem):
    """No such token, or it was revoked."""


@dataclass(frozen=True)
class Session:
    """What a sign-in hands out: the token (shown once, never stored), its expiry and the operator."""

    token: str
    expires_at: datetime
    operator: Operator


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError("an operator name is 1 to 64 characters of A-Z a-z 0-9 . _ -")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


def check_units(role: Role, units: Sequence[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(u.strip() for u in units if u.strip()))
    if role == Role.CLERK and not cleaned:
        raise ValueError("a clerk needs at least one business unit (--unit Kranken)")
    return cleaned


def token_digest(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def password_hasher(settings: Settings) -> PasswordHasher:
    """argon2id at the cost the settings name (argon2-cffi's defaults unless changed)."""
    return PasswordHasher(
        time_cost=settings.ops_argon2_time_cost,
        memory_cost=settings.ops_argon2_memory_kib,
        parallelism=settings.ops_argon2_parallelism,
    )


def lock_after(settings: Settings, failures: int) -> timedelta | None:
    """How long sign-ins under a name wait after `failures` wrong passwords in a row (None: not at all)."""
    beyond = failures - settings.ops_login_free_failures
    if beyond < 0:
        return None
    seconds = settings.ops_login_first_lock_seconds * 2.0 ** min(beyond, 40)
    return timedelta(seconds=min(seconds, settings.ops_login_max_lock_seconds))


def add_operator(
    store: Store,
    settings: Settings,
    name: str,
    role: Role,
    units: Sequence[str],
    password: str,
    *,
    actor: str,
    first: bool = False,
) -> Operator:
    """Add an operator with a password (checked, then hashed); ValueError for a bad name, password or units,
    OperatorExists for a taken name (or any operator, with `first`)."""
    check_name(name)
    check_password(password)
    return store.add_operator(
        name,
        role,
        check_units(role, units),
        password_hasher(settings).hash(password),
        actor=actor,
        first=first,
    )


def change_password(store: Store, settings: Settings, name: str, password: str, *, actor: str) -> None:
    check_password(password)
    store.set_password(name, password_hasher(settings).hash(password), actor=actor)


class Authenticator:
    """Signs operators in and out and finds the operator of a token; one per API."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.hasher = password_hasher(settings)
        self._dummy_hash: str | None = None  # made at the first unknown name (it costs a hash)
        self._unknown: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def login(self, name: str, password: str) -> Session:
        """A new session for `name`; InvalidCredentials (the same for an unknown name and a wrong password),
        TooManyAttempts while the name waits after repeated failures."""
        now = self.store.now()
        account = self.store.operator_account(name) if _NAME.fullmatch(name) else None
        if account is None:
            return self._unknown_name(name, password, now)
        if account.locked_until is not None and account.locked_until > now:
            raise TooManyAttempts((account.locked_until - now).total_seconds())
        if not self._verify(account.password_hash, password) or account.operator.disabled:
            # this attempt is answered as wrong; the wait applies to the attempts after it
            self.store.failed_login(name, lambda n: lock_after(self.settings, n))
            raise InvalidCredentials()
        rehashed = (
            self.hasher.hash(password) if self.hasher.check_needs_rehash(account.password_hash) else None
        )
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=self.settings.ops_token_hours)
        self.store.signed_in(name, token_digest(token), expires, rehashed=rehashed)
        return Session(token, expires, account.operator)

    def operator(self, token: str) -> Operator:
        """The operator `token` signs in; InvalidToken, TokenExpired."""
        found = self.store.token_operator(token_digest(token)) if token else None
        if found is None:
            raise InvalidToken()
        operator, expires = found
        if expires <= self.store.now():
            raise TokenExpired()
        return operator

    def logout(self, token: str, operator: Operator) -> None:
        self.store.sign_out(token_digest(token), operator.name)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _unknown_name(self, name: str, password: str, now: datetime) -> Session:
        key = name[:64]
        with self._lock:
            failures, until = self._unknown.get(key, (0, None))
        if until is not None and until > now:
            raise TooManyAttempts((until - now).total_seconds())
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        # compared against, so an unknown name takes as long as a known one
        self._verify(self._dummy_hash, password)
        failures += 1
        wait = lock_after(self.settings, failures)
        until = now + wait if wait is not None else None
        with self._lock:
            self._unknown[key] = (failures, until)
            self._unknown.move_to_end(key)
            while len(self._unknown) > _UNKNOWN_NAMES_KEPT:
                self._unknown.popitem(last=False)
        self.store.record_operator_event(
            key, key, "sign-in failed: unknown name", {"failed_logins": failures}
        )
        raise InvalidCredentials()
