"""The data layer: one schema and one set of queries for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

from radiocalico.db.engine import make_engine
from radiocalico.db.store import Store

__all__ = ["Store", "make_engine", "upgrade", "alembic_config"]


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "radiocalico.db:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind `engine` to `revision` (the newest by default)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        # In a transaction even on the store's engine, whose PostgreSQL connections default
        # to autocommit: a failed migration must leave no half-changed schema behind.
        connection = connection.execution_options(
            isolation_level=connection.default_isolation_level
        )
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
