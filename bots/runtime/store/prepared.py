"""The hot path's statements, compiled once and run on the driver's cursor in the caller's transaction.

Every item runs the same three changes (submitted, claimed, ended; logged.py). SQLAlchemy's execution of
an already compiled statement still costs more CPU than the database's work for it: an execution context,
the result's metadata (psycopg describes all 24 columns of an item for it), the row's processing: run
prepared, a submit takes 0.50 instead of 0.65 ms of CPU on SQLite, a claim and a finish 1.5–1.7 instead
of 2.1–2.6 ms on PostgreSQL (in one process, one item after the other). Here such a statement is
compiled once per dialect and set of parameters; its values and its returned row go through the same type
processors SQLAlchemy itself would apply, and it runs on the driver's cursor of the caller's connection,
inside the caller's transaction (or, on an autocommit connection, as its own). A driver's error is raised as
SQLAlchemy raises it (IntegrityError, OperationalError, …: the store translates them as before), and a
connection the driver lost is invalidated and the pool renewed, as SQLAlchemy does for its own statements.

Only for statements without expanding parameters (IN lists) or values computed per call; anything else goes
through SQLAlchemy. The parameters are passed as construct_params would give them, in one pass per call
(a test holds them to what SQLAlchemy gives the driver).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError

Processor = Callable[[Any], Any]
Statement = sa.Insert | sa.Update | sa.Select[Any]  # an insert or update may return rows


_REQUIRED = object()  # a parameter the caller must give


@dataclass(frozen=True)
class _Prepared:
    sql: str
    # per parameter, in the driver's order (SQLite's positions, else as compiled): its name in the SQL, the
    # key the caller gives it by, its own value when the caller gives none (or _REQUIRED), its type processor
    slots: tuple[tuple[str, str, Any, Processor | None], ...]
    positional: bool  # a tuple for the driver (SQLite), else a dict by name (psycopg)
    results: tuple[tuple[int, Processor], ...]
    row: Callable[..., Any]  # a named tuple of the returned columns
    returns: bool  # returns rows of its own (an insert may return its id only for SQLAlchemy: not read)

    def arguments(self, params: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """What SQLAlchemy's construct_params and bind processors would give the driver, in one pass."""
        values = []
        for name, key, own, process in self.slots:
            if key in params:
                value = params[key]
            elif name in params:
                value = params[name]
            elif own is _REQUIRED:
                raise InvalidRequestError(f"A value is required for bind parameter {key!r}", code="cd3x")
            else:
                value = own
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return {slot[0]: value for slot, value in zip(self.slots, values, strict=True)}

    def record(self, got: Sequence[Any]) -> Any:
        if not self.results:
            return self.row(*got)
        values = list(got)
        for index, process in self.results:
            values[index] = process(values[index])
        return self.row(*values)


_prepared: dict[tuple[Statement, type[Dialect], tuple[str, ...]], _Prepared] = {}


def _prepare(statement: Statement, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared:
    """Compiled once per statement, kind of dialect (not per engine: a test run makes hundreds) and set of
    parameters; the statements are themselves built once (by cached functions), so this stays small."""
    key = (statement, type(dialect), keys)
    found = _prepared.get(key)
    if found is None:
        found = _prepared[key] = _compile(statement, dialect, keys)  # two threads at once: both the same
    return found


def _compile(statement: Statement, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared:
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
    binds = list(compiled.bind_names.items())  # by the names the parameters get (anonymous ones too)
    if compiled.escaped_bind_names or any(b.expanding or b.callable for b, _ in binds):
        raise ValueError("prepared statements take plain parameters only")
    own = compiled.construct_params(_check=False)  # the statement's own values (construct_params' rules)
    collected = getattr(compiled, "_collected_params", None) or {}  # values the statement carries itself
    by_name = {}
    for bind, name in binds:
        given_by_statement = not bind.required or bind.key in collected or name in collected
        by_name[name] = (
            name,
            bind.key,
            own[name] if given_by_statement else _REQUIRED,
            bind.type.dialect_impl(dialect).bind_processor(dialect),
        )
    order = compiled.positiontup if compiled.positional else [name for _, name in binds]
    columns = list(statement.exported_columns)
    results = []
    for index, column in enumerate(columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
    return _Prepared(
        sql=compiled.string,
        slots=tuple(by_name[name] for name in order),
        positional=bool(compiled.positional),
        results=tuple(results),
        row=namedtuple("Record", [str(c.key) for c in columns], rename=True),
        returns=bool(columns),
    )


def one_or_none(conn: Connection, statement: Statement, params: dict[str, Any]) -> Any | None:
    """Run `statement` with `params` on `conn`'s driver cursor; its first returned row as a named tuple
    (the columns by name, like SQLAlchemy's Row), None when it returned none or returns no rows."""
    dialect = conn.dialect
    prepared = _prepare(statement, dialect, tuple(sorted(params)))
    arguments = prepared.arguments(params)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(prepared.sql, arguments)
        got = cursor.fetchone() if prepared.returns else None
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, raw, cursor)
        if gone:
            conn.invalidate(exc)
            conn.engine.dispose()  # the others of its pool went with it (a server restart): a new pool
        raise DBAPIError.instance(
            prepared.sql,
            arguments,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=dialect,
        ) from exc
    finally:
        with suppress(dialect.loaded_dbapi.Error):
            cursor.close()
    return None if got is None else prepared.record(got)
