"""Delivery workers: claim due outbox rows, send, and record — in that order.

A row is marked ``sent`` only after the receiver accepted it (Slack: 200 ``ok``; SMTP: 250).
What happens after a failure is decided by :func:`~service.notify.after_failure.next_step`
from the error's class: retryable failures back off exponentially with jitter up to
``delivery_retry_max_s``; a 429 pauses the channel for its Retry-After and does not count as
a failed attempt; a permanent failure fails that message with its reason and the others
continue; a broken destination holds every message of its channel, shows in health, and is
probed again every ``delivery_probe_broken_s`` — one held message at a time — until it works.
A probe is also due at once when a service starts (:meth:`OutboxWorker.probe_broken`), when
the channel's settings differ from those it broke under (their fingerprint is kept in the
channel row), and on ``channels retry`` (:meth:`OutboxWorker.retry_now`).

A row found ``sending`` with an expired lease was claimed by a worker that died between
sending and recording: it is sent again and logged "ambiguous, possible duplicate". That is
the one window where a receiver may see a message twice; every other update is fenced on
the lease owner. A burst for one channel is grouped into as few messages as Slack's limits
allow; messages older than ``delivery_max_age_s`` expire (the digest still lists them).

An alert's status follows its messages (``sent`` when every immediate one was sent, ``failed``
when one failed for good) and is settled in the same transaction that records them, so no
crash between the two can leave an alert ``pending`` after its message went out.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service import metrics
from service.config import Settings
from service.errors import DeliveryError, PermanentDeliveryError
from service.logs import log_event
from service.notify.after_failure import Fail, Hold, Pause, Retry, Step, next_step
from service.notify.alert_status import settle_alert_statuses
from service.notify.channels import Notifiers
from service.notify.notifier import Delivered
from service.retry import backoff_s
from service.store import channel_state, db, outbox
from service.store.outbox import Claimed

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RoundResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0

    def add(self, other: RoundResult) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.held += other.held

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed + self.held


class OutboxWorker:
    def __init__(
        self,
        *,
        engine: Engine,
        notifiers: Notifiers,
        settings: Settings,
        owner: str,
        clock: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self._engine = engine
        self._retrying: dict[str, str] = {}  # channel → the reason its sends are being retried
        self.notifiers = notifiers
        self._settings = settings
        self._owner = owner
        self._clock = clock
        self._rng = rng

    async def run_once(self, *, channel: str | None = None) -> RoundResult:
        """One round: claim what is due on every channel (or on ``channel``), send it, record
        the outcome."""
        claimed = await asyncio.to_thread(self._claim, channel)
        by_channel: dict[str, list[Claimed]] = defaultdict(list)
        for row in claimed:
            by_channel[row.channel].append(row)
        results = await asyncio.gather(
            *(self._deliver_channel(c, rows) for c, rows in by_channel.items()), return_exceptions=True
        )
        total = RoundResult()
        database_error: SQLAlchemyError | None = None
        for result in results:
            if isinstance(result, SQLAlchemyError):
                # Recording failed: the leases expire and the rows come back. The caller's
                # database watch decides what it is (and tells an outage once).
                database_error = database_error or result
            elif isinstance(result, BaseException):
                log.error("delivery_round_failed", exc_info=result)  # a bug in one channel's round
            else:
                total.add(result)
        if database_error is not None:
            raise database_error
        return total

    async def drain(self, *, timeout_s: float, channel: str | None = None) -> RoundResult:
        """Rounds until nothing is due right now or the time is up (``poll --once``, shutdown,
        ``channels retry``), on every channel or on ``channel`` only."""
        total = RoundResult()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        give_up_at = self._clock() + timedelta(seconds=timeout_s)
        while loop.time() < deadline:
            result = await self.run_once(channel=channel)
            total.add(result)
            if result.attempted == 0:
                if not await asyncio.to_thread(self._due_before, give_up_at, channel):
                    break
                await asyncio.sleep(0.2)
        return total

    # --- broken channels ------------------------------------------------------------------------

    def probe_broken(self, *, every: bool) -> list[str]:
        """Make broken channels due for a probe now: every one (a service starting, so a fixed
        setting shows at once) or only those whose settings differ from the ones they broke
        under. Returns their names."""
        now = self._clock()
        with self._engine.connect() as conn:
            broken = channel_state.broken_channels(conn)
        changed = {b.name for b in broken if b.fingerprint != self.notifiers.fingerprint(b.name)}
        due = [b.name for b in broken if every or b.name in changed]
        if due:
            db.run_transaction(self._engine, lambda conn: channel_state.probe_now(conn, due, now=now))
        for name in due:
            why = "settings changed" if name in changed else "start-up"
            log_event(log, logging.INFO, "channel_probe_due", channel=name, reason=why)
        return due

    def retry_now(self, channel: str) -> None:
        """``channels retry``: probe ``channel`` now if broken; what backs off is due now."""
        now = self._clock()
        db.run_transaction(self._engine, lambda conn: channel_state.retry_now(conn, channel, now=now))

    # --- database steps -------------------------------------------------------------------------

    def _claim(self, channel: str | None) -> list[Claimed]:
        s = self._settings
        now = self._clock()

        def work(conn: Connection) -> list[Claimed]:
            expired = outbox.expire_old(
                conn,
                older_than=now - timedelta(seconds=s.delivery_max_age_s),
                keep_kinds=self.notifiers.summary_kinds(),
            )
            if expired.deliveries:
                self._settle(conn, expired.alert_ids)
                log_event(
                    log,
                    logging.WARNING,
                    "deliveries_expired",
                    count=expired.deliveries,
                    max_age_s=s.delivery_max_age_s,
                )
            return outbox.claim(
                conn,
                owner=self._owner,
                now=now,
                lease=timedelta(seconds=s.delivery_lease_s),
                group_max=s.delivery_group_max,
                spacing=self.notifiers.spacing,
                only=channel,
            )

        return db.run_transaction(self._engine, work)

    def _settle(self, conn: Connection, alert_ids: Iterable[int]) -> None:
        settle_alert_statuses(conn, alert_ids, immediate=self.notifiers.immediate)

    def _due_before(self, when: datetime, channel: str | None) -> bool:
        """Whether a waiting message becomes due before ``when`` (worth waiting for)."""
        with self._engine.connect() as conn:
            due = outbox.next_due(conn, channel=channel)
        return due is not None and due <= when

    # --- sending ----------------------------------------------------------------------------------

    async def _deliver_channel(self, channel: str, rows: list[Claimed]) -> RoundResult:
        result = RoundResult()
        for chunk in self._messages(channel, rows):
            # A slow receiver may have held us past the lease: whatever another worker took
            # over is theirs now. Before each message its rows are checked and, still ours,
            # leased afresh: a claim's messages sent one after another (ten slow emails) may take
            # longer than one lease, the first may wait for a thread (more email channels at once
            # than the pool has), and a row whose lease ran out mid-send would be claimed and
            # sent again by another worker.
            if not await asyncio.to_thread(self._renew_lease, chunk):
                log_event(log, logging.WARNING, "delivery_lease_lost", channel=channel, rows=len(chunk))
                break
            try:
                delivered = await self.notifiers.deliver(channel, chunk)
            except DeliveryError as exc:
                rest = rows[rows.index(chunk[0]) :]
                result.add(await asyncio.to_thread(self._failed, channel, chunk, rest, exc))
                return result
            except Exception as exc:
                # A message we cannot even render (a bug, an old payload): fail it for good with
                # the reason rather than let it crash every round and be re-sent as "ambiguous".
                log.exception("delivery_crashed", extra={"rw_fields": {"channel": channel}})
                internal = PermanentDeliveryError(f"internal error: {type(exc).__name__}")
                rest = rows[rows.index(chunk[0]) :]
                result.add(await asyncio.to_thread(self._failed, channel, chunk, rest, internal))
                return result
            sent = await asyncio.to_thread(self._sent, channel, chunk, delivered)
            result.add(sent)
            if sent.sent < len(chunk):
                break
        return result

    def _messages(self, channel: str, rows: list[Claimed]) -> list[list[Claimed]]:
        """The rows grouped into messages as the channel groups them; one message per row when
        grouping fails (a row that cannot be rendered), so that row fails alone when it is sent
        (below) instead of failing every round for all of them and holding up the channel."""
        try:
            return self.notifiers.chunk(channel, rows)
        except Exception:
            log.exception("delivery_grouping_failed", extra={"rw_fields": {"channel": channel}})
            return [[row] for row in rows]

    def _renew_lease(self, chunk: Sequence[Claimed]) -> bool:
        ids = [r.id for r in chunk]
        lease = timedelta(seconds=self._settings.delivery_lease_s)
        return db.run_transaction(
            self._engine,
            lambda conn: outbox.renew_lease(conn, ids, owner=self._owner, now=self._clock(), lease=lease),
        )

    def _sent(self, channel: str, chunk: Sequence[Claimed], delivered: Delivered) -> RoundResult:
        now = self._clock()
        note = delivered.note
        ambiguous = any(r.was_sending for r in chunk)
        if ambiguous:
            metrics.DELIVERIES_AMBIGUOUS.labels(channel).inc(len(chunk))
            log_event(
                log,
                logging.WARNING,
                "delivery_ambiguous",
                channel=channel,
                keys=",".join(r.key for r in chunk),
                note="ambiguous, possible duplicate",
            )
        ids = [r.id for r in chunk]

        def work(conn: Connection) -> list[int]:
            held = [outbox.in_channel(channel, outbox.HELD)]  # released by channel_recovered below
            owned = outbox.mark_sent(
                conn, ids, owner=self._owner, now=now, ambiguous=ambiguous, note=note, with_rows=held
            )
            # In the same transaction: a worker killed after this commit leaves no alert pending.
            self._settle(conn, outbox.linked_alert_ids(conn, owned))
            if owned and delivered.retry_to:
                (row,) = chunk  # email and digest messages go one at a time
                outbox.enqueue(conn, [self._follow_up(row, delivered.retry_to, now=now)])
            released = channel_state.channel_recovered(conn, channel, now=now)
            if released:
                log_event(log, logging.INFO, "channel_recovered", channel=channel, released=released)
            return owned

        owned = db.run_transaction(self._engine, work)
        if owned and (failing := self._retrying.pop(channel, None)) is not None:
            log_event(log, logging.INFO, "delivery_recovered", channel=channel, after=failing)
        if len(owned) < len(ids):
            log_event(
                log, logging.WARNING, "delivery_lease_lost", channel=channel, rows=len(ids) - len(owned)
            )
        if note:
            log_event(log, logging.WARNING, "delivery_partly_refused", channel=channel, detail=note)
        metrics.DELIVERIES_SENT.labels(channel).inc(len(owned))
        metrics.CHANNEL_BROKEN.labels(channel).set(0)
        return RoundResult(sent=len(owned))

    def _follow_up(self, row: Claimed, recipients: Sequence[str], *, now: datetime) -> dict[str, Any]:
        """The same message again, later, for the recipients whose server answered 4xx."""
        addresses = sorted(recipients)
        digest = hashlib.sha256(",".join(addresses).encode()).hexdigest()[:12]
        payload = {
            **row.payload,
            "recipients": addresses,
            "message_key": row.payload.get("message_key", row.key),
        }
        return {
            "idempotency_key": f"{row.key}:deferred:{digest}", "channel": row.channel, "kind": row.kind,
            "story_id": None, "alert_ids": list(row.alert_ids), "payload": payload, "state": outbox.PENDING,
            "attempts": 0, "ambiguous": False, "created_at": now,
            "next_attempt_at": now + timedelta(seconds=self._backoff_s(1)),
        }  # fmt: skip

    def _failed(
        self, channel: str, chunk: Sequence[Claimed], rest: Sequence[Claimed], exc: DeliveryError
    ) -> RoundResult:
        """Record a failed send of ``chunk``; the rows after it in this round were not tried."""
        now = self._clock()
        tried = [r.id for r in chunk]
        untried = [r.id for r in rest if r not in chunk]
        reason = str(exc)
        step = next_step(exc, attempts=max(r.attempts for r in chunk), now=now, backoff_s=self._backoff_s)
        # Hashed before the transaction: the hash is slow on purpose (see settings_fingerprint).
        fingerprint = self.notifiers.fingerprint(channel) if isinstance(step, Hold) else ""
        probe_at = now + timedelta(seconds=self._settings.delivery_probe_broken_s)

        def work(conn: Connection) -> list[int]:
            # Rows another worker took over while this one waited are theirs: nothing to record.
            # The rows written below are locked with them, in one statement (see still_owned).
            others = [outbox.fenced(untried, self._owner)] if untried else []
            if isinstance(step, Hold):  # hold_channel holds the channel's waiting messages
                others.append(outbox.in_channel(channel, outbox.PENDING))
            owned = outbox.still_owned(conn, tried, owner=self._owner, with_rows=others)
            if untried:
                outbox.mark_retry(
                    conn,
                    untried,
                    owner=self._owner,
                    at=now,
                    error="not tried: channel failed",
                    count_attempt=False,
                )
            if not owned:
                return owned
            match step:
                case Hold():
                    channel_state.hold_channel(
                        conn,
                        channel,
                        owned,
                        owner=self._owner,
                        now=now,
                        reason=reason,
                        probe_at=probe_at,
                        fingerprint=fingerprint,
                    )
                case Pause(until=until):
                    channel_state.pause_channel(conn, channel, until=until, now=now)
                    outbox.mark_retry(
                        conn, owned, owner=self._owner, at=until, error=reason, count_attempt=False
                    )
                case Retry(at=at, ambiguous=ambiguous):
                    # a probe of a broken channel answered with a retryable error (a 503) is no
                    # reason to try the next held message at once: every round took one, 89 posts a
                    # minute. (A 429 pauses the channel; a message failed alone lets the next one be
                    # probed.)
                    channel_state.probe_later(conn, channel, probe_at=probe_at, now=now)
                    outbox.mark_retry(
                        conn,
                        owned,
                        owner=self._owner,
                        at=at,
                        error=reason,
                        count_attempt=True,
                        ambiguous=ambiguous,
                    )
                case Fail():
                    outbox.mark_failed(conn, owned, owner=self._owner, error=reason)
                    self._settle(conn, outbox.linked_alert_ids(conn, owned))
            return owned

        owned = db.run_transaction(self._engine, work)
        if len(owned) < len(tried):
            log_event(
                log, logging.WARNING, "delivery_lease_lost", channel=channel, rows=len(tried) - len(owned)
            )
        if not owned:
            return RoundResult()
        self._report_failure(channel, step, exc, rows=len(owned))
        match step:
            case Hold():
                return RoundResult(held=len(owned))
            case Fail():
                return RoundResult(failed=len(owned))
            case _:
                return RoundResult(retried=len(owned))

    def _backoff_s(self, attempt: int) -> float:
        s = self._settings
        return backoff_s(
            attempt=attempt, base_s=s.delivery_retry_base_s, max_s=s.delivery_retry_max_s, rng=self._rng
        )

    def _report_failure(self, channel: str, step: Step, exc: DeliveryError, *, rows: int) -> None:
        match step:
            case Hold():
                metrics.CHANNEL_BROKEN.labels(channel).set(1)
                log_event(log, logging.ERROR, "channel_broken", channel=channel, reason=str(exc), held=rows)
            case Pause():
                metrics.DELIVERIES_THROTTLED.labels(channel).inc()
                log_event(log, logging.INFO, "channel_throttled", channel=channel, reason=str(exc))
            case Retry(ambiguous=ambiguous):
                metrics.DELIVERIES_RETRIED.labels(channel).inc(rows)
                note = "ambiguous, possible duplicate" if ambiguous else ""
                # Told when a channel starts failing or fails differently, not at every retry.
                level = logging.DEBUG if self._retrying.get(channel) == str(exc) else logging.WARNING
                self._retrying[channel] = str(exc)
                log_event(log, level, "delivery_retry", channel=channel, reason=str(exc), note=note)
            case Fail():
                metrics.DELIVERIES_FAILED.labels(channel).inc(rows)
                log_event(log, logging.ERROR, "delivery_failed", channel=channel, reason=str(exc))
