"""The engine every command and the service work through: the configured database, at this
code's schema (else :class:`~service.errors.SchemaOutdatedError`). Light on purpose: every
command opens one, so nothing here may pull in the service's heavier parts."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from service.config import Settings
from service.store import db


def open_engine(settings: Settings) -> Engine:
    engine = db.make_engine(
        settings.database_url,
        pool_size=max(5, settings.poll_concurrency // 2),
        busy_timeout_s=settings.sqlite_busy_timeout_s,
    )
    db.ensure_schema_current(engine)
    return engine
