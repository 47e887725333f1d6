"""Migrations build exactly the declared schema, on SQLite and PostgreSQL, and reverse."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from radiocalico.db import alembic_config, make_engine, upgrade
from radiocalico.db.schema import declared, metadata


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_upgrade_builds_the_declared_schema(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": declared}
        )
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == _head()
    engine.dispose()


def test_upgrade_is_repeatable_and_downgrade_empties(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert {"songs", "users", "votes", "plays"} <= set(inspect(engine).get_table_names())
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    assert not {"songs", "users", "votes", "plays"} & set(inspect(engine).get_table_names())
    engine.dispose()
