"""The migrations build exactly the schema the code declares, on each database, and step back down."""

from __future__ import annotations

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


def test_the_migrations_build_the_declared_schema(db_url: str) -> None:
    assert differences(db_url) == []


def test_the_last_migration_steps_down_and_up_again(db_url: str) -> None:
    head = current(db_url)
    command.downgrade(alembic_config(db_url), "-1")
    assert current(db_url) != head
    upgrade(db_url)
    assert current(db_url) == head and differences(db_url) == []
