"""SQL for the delivery outbox: the messages, their leases and their outcomes.

Delivery rows move ``pending → sending → sent`` (or ``failed``, or ``held`` while their channel
is broken). A worker claims due rows by setting ``sending`` with its lease; every later update
is fenced on ``lease_owner`` and ``state = 'sending'``, so a worker whose lease expired and was
taken over changes nothing when it wakes up. A ``sending`` row whose lease expired is due
again: the worker died between sending and recording, and the message is sent once more
(the one ambiguous window, marked and logged).

Pacing is shared by replicas through ``channels.next_send_at``: a claim takes one message slot
per channel and moves the channel's next slot forward (the channel rows themselves:
:mod:`service.store.channel_state`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.db import chunked, insert_skipping_existing, row_locked
from service.store.tables import channels, deliveries, delivery_alerts, mutes

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


def deliveries_by_key(conn: Connection, keys: Collection[str]) -> dict[str, Enqueued]:
    """The deliveries under these keys, to join. On PostgreSQL their rows stay locked until the
    caller commits, taken in id order as the worker takes the rows it records (``still_owned``),
    so that joins and the worker's recording of a send take turns: two polls joining one waiting
    message each merged into the payload both had read, and the second dropped the first's rule;
    a poll joining a message being sent linked its alert after the worker had settled the
    message's alerts, which left it pending for good. (SQLite's writers take turns already.)"""
    if not keys:
        return {}
    query = (
        sa.select(deliveries.c.id, deliveries.c.idempotency_key, deliveries.c.payload)
        .where(deliveries.c.idempotency_key.in_(sorted(keys)))
        .order_by(deliveries.c.id)
    )
    return {
        row.idempotency_key: Enqueued(row.id, row.payload) for row in conn.execute(row_locked(conn, query))
    }


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


def _sendable_channels(conn: Connection, *, now: datetime, only: str | None) -> list[sa.Row[Any]]:
    muted = sa.select(mutes.c.target).where(mutes.c.until > now).scalar_subquery()
    query = sa.select(channels).where(
        sa.or_(channels.c.next_send_at.is_(None), channels.c.next_send_at <= now),
        sa.or_(channels.c.paused_until.is_(None), channels.c.paused_until <= now),
        sa.or_(channels.c.broken_at.is_(None), channels.c.probe_at.is_(None), channels.c.probe_at <= now),
        ("channel:" + channels.c.name).not_in(muted),
    )
    if only is not None:
        query = query.where(channels.c.name == only)
    return list(conn.execute(row_locked(conn, query, skip_locked=True)))


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    group_max: int,
    spacing: Callable[[str], timedelta],
    only: str | None = None,
) -> list[Claimed]:
    """Lease the due deliveries of every channel that may send now (one message slot each), or
    of the channel ``only``. A broken channel whose probe is due gets one message, held or not."""
    claimed: list[Claimed] = []
    for channel in _sendable_channels(conn, now=now, only=only):
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
    return list(conn.execute(row_locked(conn, query, skip_locked=True)))


def fenced(ids: Sequence[int], owner: str) -> sa.ColumnElement[bool]:
    return sa.and_(deliveries.c.id.in_(ids), deliveries.c.lease_owner == owner, deliveries.c.state == SENDING)


def still_owned(
    conn: Connection, ids: Sequence[int], *, owner: str, with_rows: Sequence[sa.ColumnElement[bool]] = ()
) -> list[int]:
    """Which of ``ids`` ``owner`` still holds (leased to it and being sent), in id order.

    On PostgreSQL their rows are locked in that order, in one statement, together with the rows
    the conditions ``with_rows`` select (``fenced``, ``in_channel``): the others the transaction
    writes, a channel's messages it holds or releases and the rows of a round it did not try.
    A poll joining messages locks them so too (``deliveries_by_key``). Rows locked as each
    statement came to them waited for a poll in a circle: the worker held the message it sent
    and wanted a waiting one the poll held, while the poll wanted the sent one to join it,
    until the server rolled one back a second later."""
    ours = fenced(ids, owner)
    wanted = sa.or_(ours, *with_rows)
    query = sa.select(deliveries.c.id, ours.label("ours")).where(wanted).order_by(deliveries.c.id)
    return [row.id for row in conn.execute(row_locked(conn, query)) if row.ours]


def in_channel(channel: str, *states: str) -> sa.ColumnElement[bool]:
    """A channel's messages in these states (for ``still_owned``'s ``with_rows``)."""
    return sa.and_(deliveries.c.channel == channel, deliveries.c.state.in_(states))


def mark_sent(
    conn: Connection,
    ids: Sequence[int],
    *,
    owner: str,
    now: datetime,
    ambiguous: bool,
    note: str | None = None,
    with_rows: Sequence[sa.ColumnElement[bool]] = (),
) -> list[int]:
    """Record delivery (after the receiver said yes); returns the ids this worker still owned.

    ``note`` keeps what the receiver refused in part (an SMTP recipient it rejected);
    ``with_rows``: the other rows the caller writes next (see ``still_owned``).
    """
    owned = still_owned(conn, ids, owner=owner, with_rows=with_rows)
    if owned:
        conn.execute(
            sa.update(deliveries)
            .where(fenced(owned, owner))
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


def renew_lease(conn: Connection, ids: Sequence[int], *, owner: str, now: datetime, lease: timedelta) -> bool:
    """Whether every one of these rows is still ours, each then leased for ``lease`` from
    ``now`` again. A lease that ran out with nobody taking the row over still leaves it ours
    (a takeover changes the owner); a row that is not ours stops the sender, and the others it
    renewed are taken up again once their lease runs out."""
    owned = still_owned(conn, ids, owner=owner)
    if owned:
        conn.execute(sa.update(deliveries).where(fenced(owned, owner)).values(lease_expires_at=now + lease))
    return len(owned) == len(ids)


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
        .where(fenced(ids, owner))
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
    where = fenced(ids, owner) if owner is not None else deliveries.c.id.in_(ids)
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
    ids = list(conn.execute(sa.select(deliveries.c.id).where(stale)).scalars())
    result = conn.execute(
        sa.update(deliveries)
        .where(stale)
        .values(
            state=FAILED, last_error="expired: undelivered for too long (the daily digest still lists it)"
        )
    )
    return Expired(result.rowcount, tuple(linked_alert_ids(conn, ids)))


def linked_alert_ids(conn: Connection, delivery_ids: Iterable[int]) -> list[int]:
    """Every alert linked to these deliveries: those they were made for, and those that joined
    one already on its way (``join_delivery``), whose ``alert_ids`` it no longer takes."""
    found: set[int] = set()
    for chunk in chunked(sorted(set(delivery_ids))):
        query = sa.select(delivery_alerts.c.alert_id).where(delivery_alerts.c.delivery_id.in_(chunk))
        found.update(conn.execute(query).scalars())
    return sorted(found)


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


def waiting(conn: Connection, channel: str) -> int:
    """Messages of ``channel`` not yet delivered nor failed (pending, held or being sent)."""
    query = sa.select(sa.func.count()).where(
        deliveries.c.channel == channel, deliveries.c.state.in_([PENDING, HELD, SENDING])
    )
    return int(conn.execute(query).scalar_one())


def next_due(conn: Connection, *, channel: str | None = None) -> datetime | None:
    """When the next waiting message (of ``channel``) becomes due (None: nothing waits): a
    pending row at its next attempt, a row a dead worker left ``sending`` when its lease runs out,
    the held rows of a broken channel when its probe is due."""
    pending = sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(deliveries.c.state == PENDING)
    orphaned = sa.select(sa.func.min(deliveries.c.lease_expires_at)).where(deliveries.c.state == SENDING)
    holding = sa.exists().where(deliveries.c.channel == channels.c.name, deliveries.c.state == HELD)
    probe = sa.select(sa.func.min(channels.c.probe_at)).where(channels.c.broken_at.is_not(None), holding)
    if channel is not None:
        pending = pending.where(deliveries.c.channel == channel)
        orphaned = orphaned.where(deliveries.c.channel == channel)
        probe = probe.where(channels.c.name == channel)
    times = [t for t in (conn.execute(q).scalar() for q in (pending, orphaned, probe)) if t is not None]
    return min(times, default=None)
