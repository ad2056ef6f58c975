"""SQL for the delivery outbox, channel state, digests and mutes.

Delivery rows move ``pending → sending → sent`` (or ``failed``, or ``held`` while their channel
is broken). A worker claims due rows by setting ``sending`` with its lease; every later update
is fenced on ``lease_owner`` and ``state = 'sending'``, so a worker whose lease expired and was
taken over changes nothing when it wakes up. A ``sending`` row whose lease expired is due
again: the worker died between sending and recording, and the message is sent once more
(the one ambiguous window, marked and logged).

Pacing is shared by replicas through ``channels.next_send_at``: a claim takes one message slot
per channel and moves the channel's next slot forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.alerts.model import Alert
from service.store import alerts as alert_store
from service.store.db import chunked, insert_skipping_existing
from service.store.tables import alerts, channels, deliveries, delivery_alerts, digests, mutes

SENT, PENDING, SENDING, FAILED, HELD = "sent", "pending", "sending", "failed", "held"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    key: str
    channel: str
    kind: str
    alert_ids: tuple[int, ...]
    payload: Mapping[str, Any]
    attempts: int
    was_sending: bool  # a previous worker may already have delivered it
    created_at: datetime


def enqueue(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert deliveries not yet known by key; return key → id for those inserted."""
    if not rows:
        return {}
    insert = insert_skipping_existing(conn, deliveries, unique=["idempotency_key"]).returning(
        deliveries.c.idempotency_key, deliveries.c.id
    )
    added = {r.idempotency_key: r.id for row in rows for r in conn.execute(insert, row)}
    alert_ids = {r["idempotency_key"]: r["alert_ids"] for r in rows}
    _link(conn, [(delivery_id, a) for key, delivery_id in added.items() for a in alert_ids[key]])
    return added


def _link(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    if pairs:
        insert = insert_skipping_existing(conn, delivery_alerts, unique=["delivery_id", "alert_id"])
        conn.execute(insert, [{"delivery_id": d, "alert_id": a} for d, a in pairs])


@dataclass(frozen=True, slots=True)
class Enqueued:
    """A delivery already in the outbox under its key."""

    id: int
    payload: Mapping[str, Any]


def delivery_by_key(conn: Connection, key: str) -> Enqueued | None:
    query = sa.select(deliveries.c.id, deliveries.c.payload).where(deliveries.c.idempotency_key == key)
    row = conn.execute(query).first()
    return None if row is None else Enqueued(row.id, row.payload)


def join_delivery(
    conn: Connection, delivery_id: int, alert_ids: Sequence[int], *, payload: Mapping[str, Any]
) -> None:
    """Make these alerts and this payload the delivery's own, if it still waits to be sent.

    A message still waiting (pending or held) takes them; one already on its way or done is left
    as it is. Either way the alerts are linked, so their status follows it.
    """
    _link(conn, [(delivery_id, a) for a in alert_ids])
    conn.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.state.in_([PENDING, HELD]))
        .values(alert_ids=list(alert_ids), payload=dict(payload))
    )


# --- channels ----------------------------------------------------------------------------------


def ensure_channels(conn: Connection, names: Iterable[str], *, now: datetime) -> None:
    rows = [{"name": n, "updated_at": now} for n in sorted(set(names))]
    if rows:
        conn.execute(insert_skipping_existing(conn, channels, unique=["name"]), rows)


def _sendable_channels(conn: Connection, *, now: datetime, probe_after: timedelta) -> list[sa.Row[Any]]:
    muted = sa.select(mutes.c.target).where(mutes.c.until > now).scalar_subquery()
    query = sa.select(channels).where(
        sa.or_(channels.c.next_send_at.is_(None), channels.c.next_send_at <= now),
        sa.or_(channels.c.paused_until.is_(None), channels.c.paused_until <= now),
        sa.or_(channels.c.broken_at.is_(None), channels.c.broken_at <= now - probe_after),
        ("channel:" + channels.c.name).not_in(muted),
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query))


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    group_max: int,
    spacing: Callable[[str], timedelta],
    probe_after: timedelta,
) -> list[Claimed]:
    """Lease the due deliveries of every channel that may send now (one message slot each)."""
    claimed: list[Claimed] = []
    for channel in _sendable_channels(conn, now=now, probe_after=probe_after):
        probing = channel.broken_at is not None
        limit = 1 if probing else group_max
        rows = _due_rows(conn, channel.name, now=now, limit=limit, include_held=probing)
        if not rows:
            continue
        ids = [r.id for r in rows]
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id.in_(ids))
            .values(state=SENDING, lease_owner=owner, lease_expires_at=now + lease)
        )
        gap = spacing(channel.name)
        conn.execute(
            sa.update(channels)
            .where(channels.c.name == channel.name)
            .values(next_send_at=now + gap, updated_at=now)
        )
        claimed += [
            Claimed(
                r.id,
                r.idempotency_key,
                r.channel,
                r.kind,
                tuple(r.alert_ids),
                r.payload,
                r.attempts,
                r.state == SENDING,
                r.created_at,
            )
            for r in rows
        ]
    return claimed


def _due_rows(
    conn: Connection, channel: str, *, now: datetime, limit: int, include_held: bool
) -> list[sa.Row[Any]]:
    waiting = sa.and_(deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= now)
    orphaned = sa.and_(deliveries.c.state == SENDING, deliveries.c.lease_expires_at < now)
    due = sa.or_(waiting, orphaned, deliveries.c.state == HELD) if include_held else sa.or_(waiting, orphaned)
    query = (
        sa.select(deliveries)
        .where(deliveries.c.channel == channel, due)
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query))


def _fenced(ids: Sequence[int], owner: str) -> sa.ColumnElement[bool]:
    return sa.and_(deliveries.c.id.in_(ids), deliveries.c.lease_owner == owner, deliveries.c.state == SENDING)


def mark_sent(
    conn: Connection,
    ids: Sequence[int],
    *,
    owner: str,
    now: datetime,
    ambiguous: bool,
    note: str | None = None,
) -> list[int]:
    """Record delivery (after the receiver said yes); returns the ids this worker still owned.

    ``note`` keeps what the receiver refused in part (an SMTP recipient it rejected).
    """
    owned = _owned(conn, ids, owner)
    if owned:
        conn.execute(
            sa.update(deliveries)
            .where(_fenced(owned, owner))
            .values(
                state=SENT,
                sent_at=now,
                lease_owner=None,
                lease_expires_at=None,
                last_error=note,
                attempts=deliveries.c.attempts + 1,
                ambiguous=sa.or_(deliveries.c.ambiguous, sa.literal(ambiguous)),
            )
        )
    return owned


def still_leased(conn: Connection, ids: Sequence[int], *, owner: str, now: datetime) -> bool:
    """Whether every one of these rows is still ours and its lease has not run out."""
    query = sa.select(sa.func.count()).where(_fenced(ids, owner), deliveries.c.lease_expires_at > now)
    return int(conn.execute(query).scalar_one()) == len(ids)


def _owned(conn: Connection, ids: Sequence[int], owner: str) -> list[int]:
    return list(conn.execute(sa.select(deliveries.c.id).where(_fenced(ids, owner))).scalars())


def mark_retry(
    conn: Connection,
    ids: Sequence[int],
    *,
    owner: str,
    at: datetime,
    error: str,
    count_attempt: bool,
    ambiguous: bool = False,
) -> None:
    """Back to pending until ``at``; an ambiguous failure (the receiver may have it) is remembered."""
    attempts = deliveries.c.attempts + (1 if count_attempt else 0)
    conn.execute(
        sa.update(deliveries)
        .where(_fenced(ids, owner))
        .values(
            state=PENDING,
            next_attempt_at=at,
            last_error=error,
            attempts=attempts,
            ambiguous=sa.or_(deliveries.c.ambiguous, sa.literal(ambiguous)),
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def mark_failed(conn: Connection, ids: Sequence[int], *, owner: str | None, error: str) -> None:
    where = _fenced(ids, owner) if owner is not None else deliveries.c.id.in_(ids)
    conn.execute(
        sa.update(deliveries)
        .where(where)
        .values(
            state=FAILED,
            last_error=error,
            attempts=deliveries.c.attempts + 1,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def hold_channel(
    conn: Connection, channel: str, ids: Sequence[int], *, owner: str, now: datetime, reason: str
) -> None:
    """A broken destination: hold its messages (not dropped, not retried) and mark the channel."""
    conn.execute(
        sa.update(deliveries)
        .where(_fenced(ids, owner))
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


@dataclass(frozen=True, slots=True)
class Expired:
    deliveries: int
    alert_ids: tuple[int, ...]  # so their status can follow


def expire_old(conn: Connection, *, older_than: datetime, keep_kinds: Sequence[str]) -> Expired:
    """Backlog policy: undelivered messages older than the limit fail with a clear reason;
    those of ``keep_kinds`` (scheduled summaries) never expire."""
    abandoned = sa.and_(deliveries.c.state == SENDING, deliveries.c.lease_expires_at < older_than)
    stale = sa.and_(
        sa.or_(deliveries.c.state.in_([PENDING, HELD]), abandoned),
        deliveries.c.created_at < older_than,
        deliveries.c.kind.not_in(keep_kinds),
    )
    alert_ids = [
        a for row in conn.execute(sa.select(deliveries.c.alert_ids).where(stale)) for a in row.alert_ids
    ]
    result = conn.execute(
        sa.update(deliveries)
        .where(stale)
        .values(
            state=FAILED, last_error="expired: undelivered for too long (the daily digest still lists it)"
        )
    )
    return Expired(result.rowcount, tuple(alert_ids))


# --- alert status ---------------------------------------------------------------------------


def delivery_states(conn: Connection, alert_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """(kind, state) of every delivery naming each alert (an empty list: none does)."""
    ids = sorted(set(alert_ids))
    states: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    for chunk in chunked(ids):
        query = (
            sa.select(delivery_alerts.c.alert_id, deliveries.c.kind, deliveries.c.state)
            .join(deliveries, deliveries.c.id == delivery_alerts.c.delivery_id)
            .where(delivery_alerts.c.alert_id.in_(chunk))
        )
        for row in conn.execute(query):
            states[row.alert_id].append((row.kind, row.state))
    return states


def settle_pending_alerts(conn: Connection, statuses: Mapping[str, Sequence[int]]) -> None:
    """Give still-``pending`` alerts their settled status (status → alert ids)."""
    for status, ids in statuses.items():  # one statement per status, not one per alert
        for chunk in chunked(sorted(ids)):
            conn.execute(
                sa.update(alerts)
                .where(alerts.c.id.in_(chunk), alerts.c.status == PENDING)
                .values(status=status)
            )


# --- views -------------------------------------------------------------------------------------


def list_deliveries(
    conn: Connection, *, state: str | None = None, limit: int = 200, alert_id: int | None = None
) -> list[dict[str, Any]]:
    """Outbox rows, newest first; only those naming ``alert_id`` when it is given."""
    query = (
        sa.select(deliveries).order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc()).limit(limit)
    )
    if state is not None:
        query = query.where(deliveries.c.state == state)
    if alert_id is not None:
        naming = sa.select(delivery_alerts.c.delivery_id).where(delivery_alerts.c.alert_id == alert_id)
        query = query.where(deliveries.c.id.in_(naming))
    return [dict(r._mapping) for r in conn.execute(query)]


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


# --- digests and mutes -------------------------------------------------------------------------


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


def undigested_alerts(conn: Connection, *, until: datetime) -> list[Alert]:
    """Every alert up to ``until`` not yet reported in a digest, oldest first."""
    unreported = (alerts.c.digest_id.is_(None), alerts.c.created_at <= until)
    return alert_store.select_alerts(conn, *unreported, oldest_first=True)


def close_digest(
    conn: Connection, digest_id: int, alert_ids: Sequence[int], *, listed: int, suppressed: int
) -> None:
    for chunk in chunked(alert_ids):
        conn.execute(sa.update(alerts).where(alerts.c.id.in_(chunk)).values(digest_id=digest_id))
    conn.execute(
        sa.update(digests).where(digests.c.id == digest_id).values(alerts=listed, suppressed=suppressed)
    )


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


def next_due(conn: Connection) -> datetime | None:
    """When the next waiting message becomes due (None: nothing waits): a pending row at its
    next attempt, a row a dead worker left ``sending`` when its lease runs out."""
    pending = sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(deliveries.c.state == PENDING)
    orphaned = sa.select(sa.func.min(deliveries.c.lease_expires_at)).where(deliveries.c.state == SENDING)
    times = [t for t in (conn.execute(pending).scalar(), conn.execute(orphaned).scalar()) if t is not None]
    return min(times, default=None)
