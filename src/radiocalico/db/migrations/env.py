"""Alembic environment: runs on the connection or URL handed over by radiocalico.db."""

from alembic import context

from radiocalico.db.engine import make_engine
from radiocalico.db.schema import declared, metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=declared,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


run_migrations_online()
