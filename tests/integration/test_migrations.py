"""The migrations build exactly the schema the code declares, on each database, and step back down."""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bots.runtime.migrate import alembic_config, current, upgrade
from bots.runtime.schema import metadata
from bots.runtime.store import make_engine


def differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _state(where: object) -> str | None:
    """The state a partial index holds ("status = 'pending'" in any dialect's spelling), None for a whole one."""
    found = re.search(r"WHERE\b.*?'(\w+)'", str(where or ""), re.S) if where is not None else None
    return found.group(1) if found else None


def partial_indexes(url: str) -> dict[str, str | None]:
    """Each index of the database, and the state it is limited to (Alembic does not compare that)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                got = conn.execute(
                    sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
                )
            else:
                got = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
            return {name: _state(sql) for name, sql in got if name.startswith("ix_")}
    finally:
        engine.dispose()


def declared_partial_indexes() -> dict[str, str | None]:
    return {
        str(index.name): _state(f"WHERE {index.dialect_options['sqlite']['where']}")
        if index.dialect_options["sqlite"]["where"] is not None
        else None
        for table in metadata.tables.values()
        for index in table.indexes
    }


def test_the_migrations_build_the_declared_schema(db_url: str) -> None:
    assert differences(db_url) == []
    assert partial_indexes(db_url) == declared_partial_indexes()
    assert declared_partial_indexes()["ix_work_items_claim"] == "pending"


def test_the_last_migration_steps_down_and_up_again(db_url: str) -> None:
    head = current(db_url)
    command.downgrade(alembic_config(db_url), "-1")
    assert current(db_url) != head
    upgrade(db_url)
    assert current(db_url) == head and differences(db_url) == []
    assert partial_indexes(db_url) == declared_partial_indexes()
