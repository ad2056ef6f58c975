"""SQL for the state of each channel: broken (its messages held), paused after a 429, and its
health as shown by ``channels list`` and ``/healthz``.

A broken channel is probed — one held message tried — from its ``probe_at`` on: a while after it
broke, at once when a service starts, when the settings it broke under have changed, or on
``channels retry``. A probe that goes through releases every held message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.db import insert_skipping_existing
from service.store.mutes import active_mutes
from service.store.outbox import HELD, PENDING, SENDING, fenced
from service.store.tables import UTCDateTime, channels, deliveries


@dataclass(frozen=True, slots=True)
class Broken:
    name: str
    fingerprint: str | None  # of the settings it was last found broken under


def ensure_channels(conn: Connection, names: Iterable[str], *, now: datetime) -> None:
    rows = [{"name": n, "updated_at": now} for n in sorted(set(names))]
    if rows:
        conn.execute(insert_skipping_existing(conn, channels, unique=["name"]), rows)


def hold_channel(
    conn: Connection,
    channel: str,
    ids: Sequence[int],
    *,
    owner: str,
    now: datetime,
    reason: str,
    probe_at: datetime,
    fingerprint: str,
) -> None:
    """A broken destination: hold its messages (not dropped, not retried) and mark the channel,
    broken since the first failure, to be probed at ``probe_at``."""
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
        .values(
            broken_reason=reason,
            broken_at=sa.func.coalesce(channels.c.broken_at, sa.literal(now, UTCDateTime())),
            probe_at=probe_at,
            settings_fingerprint=fingerprint,
            updated_at=now,
        )
    )


def channel_recovered(conn: Connection, channel: str, *, now: datetime) -> int:
    """The channel works again: release its held messages; returns how many."""
    conn.execute(
        sa.update(channels)
        .where(channels.c.name == channel)
        .values(broken_reason=None, broken_at=None, probe_at=None, settings_fingerprint=None, updated_at=now)
    )
    result = conn.execute(
        sa.update(deliveries)
        .where(deliveries.c.channel == channel, deliveries.c.state == HELD)
        .values(state=PENDING, next_attempt_at=now)
    )
    return result.rowcount


def broken_channels(conn: Connection) -> list[Broken]:
    query = sa.select(channels).where(channels.c.broken_at.is_not(None)).order_by(channels.c.name)
    return [Broken(r.name, r.settings_fingerprint) for r in conn.execute(query)]


def probe_later(conn: Connection, name: str, *, probe_at: datetime, now: datetime) -> None:
    """A broken channel whose probe failed without breaking it again (a 503, a timeout) is probed
    next at ``probe_at``; a channel that is not broken is left alone."""
    conn.execute(
        sa.update(channels)
        .where(channels.c.name == name, channels.c.broken_at.is_not(None))
        .values(probe_at=probe_at, updated_at=now)
    )


def probe_now(conn: Connection, names: Sequence[str], *, now: datetime) -> None:
    """These channels, if broken, get their probe at the next round instead of later."""
    conn.execute(
        sa.update(channels)
        .where(channels.c.name.in_(names), channels.c.broken_at.is_not(None))
        .values(probe_at=now, updated_at=now)
    )


def retry_now(conn: Connection, channel: str, *, now: datetime) -> None:
    """``channels retry``: a broken channel is probed at the next round, and messages backing
    off after a failure are due now; a pause the receiver asked for (429) is kept."""
    probe_now(conn, [channel], now=now)
    paused = sa.select(channels.c.name).where(channels.c.name == channel, channels.c.paused_until > now)
    if conn.execute(paused).first() is None:
        conn.execute(
            sa.update(deliveries)
            .where(
                deliveries.c.channel == channel,
                deliveries.c.state == PENDING,
                deliveries.c.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
        )


def channel_names(conn: Connection) -> list[str]:
    """Every channel a message was ever queued for."""
    return list(conn.execute(sa.select(channels.c.name).order_by(channels.c.name)).scalars())


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
                "broken_since": r.broken_at,
                "next_probe_at": r.probe_at,
                "paused_until": r.paused_until,
                "muted_until": muted.get(f"channel:{r.name}"),
                "queue_depth": int(r.depth or 0),
                "oldest_pending_s": oldest_s,
            }
        )
    return out
