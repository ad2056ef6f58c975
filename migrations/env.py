"""Alembic environment: runs against the connection rivalwatch hands over, or the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from service.store.tables import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from service.store.db import make_engine, writing

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with writing(engine, foreign_keys=False) as conn:  # as ``db.upgrade`` runs them, and why
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
