"""SQL for the daily digest's periods: taking a period once, and the alerts it reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.alerts.model import Alert
from service.store import alerts as alert_store
from service.store.db import chunked, insert_skipping_existing
from service.store.tables import alerts, digests


def start_digest(conn: Connection, *, period_key: str, period_end: datetime, now: datetime) -> int | None:
    """Take the digest of this period; None when another process or an earlier run took it."""
    previous = conn.execute(sa.select(sa.func.max(digests.c.period_end))).scalar()
    inserted = conn.execute(
        insert_skipping_existing(conn, digests, unique=["period_key"])
        .values(
            period_key=period_key,
            period_start=previous,
            period_end=period_end,
            alerts=0,
            suppressed=0,
            created_at=now,
        )
        .returning(digests.c.id)
    ).first()
    if inserted is None:
        return None
    return int(inserted.id)


def digest_period_start(conn: Connection, digest_id: int) -> datetime | None:
    return conn.execute(sa.select(digests.c.period_start).where(digests.c.id == digest_id)).scalar()


def undigested_alerts(conn: Connection, *, until: datetime, lock: bool = False) -> list[Alert]:
    """Every alert up to ``until`` not yet reported in a digest, oldest first. ``lock``, for the
    digest that reports them: locked until it is closed, so a second digest built meanwhile
    (``digest --send`` while the scheduled one renders, on PostgreSQL) waits, then finds them
    reported, instead of listing them again. A preview reads without locking."""
    unreported = (alerts.c.digest_id.is_(None), alerts.c.created_at <= until)
    return alert_store.select_alerts(conn, *unreported, oldest_first=True, lock=lock)


def close_digest(
    conn: Connection, digest_id: int, alert_ids: Sequence[int], *, listed: int, suppressed: int
) -> None:
    for chunk in chunked(alert_ids):
        conn.execute(sa.update(alerts).where(alerts.c.id.in_(chunk)).values(digest_id=digest_id))
    conn.execute(
        sa.update(digests).where(digests.c.id == digest_id).values(alerts=listed, suppressed=suppressed)
    )
