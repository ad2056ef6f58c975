"""SQL for the state of each channel: broken (its messages held), paused after a 429, and its
health as shown by ``channels list`` and ``/healthz``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.db import insert_skipping_existing
from service.store.mutes import active_mutes
from service.store.outbox import HELD, PENDING, SENDING, fenced
from service.store.tables import channels, deliveries


def ensure_channels(conn: Connection, names: Iterable[str], *, now: datetime) -> None:
    rows = [{"name": n, "updated_at": now} for n in sorted(set(names))]
    if rows:
        conn.execute(insert_skipping_existing(conn, channels, unique=["name"]), rows)


def hold_channel(
    conn: Connection, channel: str, ids: Sequence[int], *, owner: str, now: datetime, reason: str
) -> None:
    """A broken destination: hold its messages (not dropped, not retried) and mark the channel."""
    conn.execute(
        sa.update(deliveries)
        .where(fenced(ids, owner))
        .values(state=HELD, last_error=reason, lease_owner=None, lease_expires_at=None)
    )
    conn.execute(
        sa.update(deliveries)
        .where(deliveries.c.channel == channel, deliveries.c.state == PENDING)
        .values(state=HELD, last_error=reason)
    )
    conn.execute(
        sa.update(channels)
        .where(channels.c.name == channel)
        .values(broken_reason=reason, broken_at=now, updated_at=now)
    )


def channel_recovered(conn: Connection, channel: str, *, now: datetime) -> int:
    """The channel works again: release its held messages; returns how many."""
    conn.execute(
        sa.update(channels)
        .where(channels.c.name == channel)
        .values(broken_reason=None, broken_at=None, updated_at=now)
    )
    result = conn.execute(
        sa.update(deliveries)
        .where(deliveries.c.channel == channel, deliveries.c.state == HELD)
        .values(state=PENDING, next_attempt_at=now)
    )
    return result.rowcount


def pause_channel(conn: Connection, channel: str, *, until: datetime, now: datetime) -> None:
    conn.execute(
        sa.update(channels).where(channels.c.name == channel).values(paused_until=until, updated_at=now)
    )


def channel_health(conn: Connection, *, now: datetime) -> list[dict[str, Any]]:
    depth = (
        sa.select(
            deliveries.c.channel,
            sa.func.count().label("depth"),
            sa.func.min(deliveries.c.created_at).label("oldest"),
        )
        .where(deliveries.c.state.in_([PENDING, SENDING, HELD]))
        .group_by(deliveries.c.channel)
        .subquery()
    )
    query = sa.select(channels, depth.c.depth, depth.c.oldest).outerjoin(
        depth, depth.c.channel == channels.c.name
    )
    # Mutes live in the mutes table (`channels mute`), not in the channel row.
    muted = dict(active_mutes(conn, now=now))
    out = []
    for r in conn.execute(query.order_by(channels.c.name)):
        oldest_s = (now - r.oldest).total_seconds() if r.oldest is not None else 0.0
        out.append(
            {
                "name": r.name,
                "broken": r.broken_reason,
                "paused_until": r.paused_until,
                "muted_until": muted.get(f"channel:{r.name}"),
                "queue_depth": int(r.depth or 0),
                "oldest_pending_s": oldest_s,
            }
        )
    return out
