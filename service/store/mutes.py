"""SQL for mutes: ``rule:<id>`` or ``channel:<name>`` silenced until a time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.tables import mutes


def mute(conn: Connection, target: str, *, until: datetime, now: datetime) -> None:
    conn.execute(sa.delete(mutes).where(mutes.c.target == target))
    conn.execute(sa.insert(mutes).values(target=target, until=until, created_at=now))


def unmute(conn: Connection, target: str, *, now: datetime) -> bool:
    """End a mute now; False when ``target`` was not muted (or its mute had already run out)."""
    running = conn.execute(sa.select(mutes.c.until).where(mutes.c.target == target, mutes.c.until > now))
    was_muted = running.first() is not None
    conn.execute(sa.delete(mutes).where(mutes.c.target == target))
    return was_muted


def active_mutes(conn: Connection, *, now: datetime) -> list[tuple[str, datetime]]:
    """(target, until) of every mute still running, soonest to end first."""
    query = sa.select(mutes.c.target, mutes.c.until).where(mutes.c.until > now).order_by(mutes.c.until)
    return [(r.target, r.until) for r in conn.execute(query)]


def muted_targets(conn: Connection, *, now: datetime) -> set[str]:
    return {target for target, _until in active_mutes(conn, now=now)}
