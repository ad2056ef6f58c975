"""The OutboxWorker in-process against a scripted Slack receiver and SMTP server (reliability A1-A18).

Deliveries are made the real way: a loopback feed is polled through the pipeline (fetch, parse,
match an ``acme`` rule, store, enqueue in one transaction); then worker rounds run on a fake
clock that the worker, the Slack pacer and the receiver's arrival stamps share, so backoff,
Retry-After, pacing, leases and expiry are exercised without sleeping. Every test runs on
SQLite and PostgreSQL (``db_url`` / ``engine``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
import time as wallclock
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service import pipeline
from service.config import Settings
from service.notify.channels import Notifiers
from service.notify.delivery import Delivery
from service.notify.smtp import SmtpSender, TlsMode
from service.notify.worker import OutboxWorker
from service.store import channel_state, db, mutes, outbox
from service.store.tables import alerts, deliveries, digests
from tests.conftest import reset_postgres
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import (
    ACME_RULE,
    FakeClock,
    GcraLimit,
    ProgrammableSlack,
    acme_items,
    claim_as,
    health,
    ingest,
    make_worker,
    rows,
    rss_without_guid,
    run_rounds,
    write_acme_rules,
)
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, shipped_rules, test_settings, write_feeds
from tests.support.slack import (
    WEBHOOK_PATH,
    Answer,
    SlackReceiver,
    archived,
    channel_not_found,
    forbidden,
    invalid_blocks,
    rate_limited,
    reset,
    server_error,
    slow,
)
from tests.support.smtp import ScriptedSmtpServer, SmtpScript, Stall, scripted_smtp

pytestmark = pytest.mark.timeout(120)

FROM = "rivalwatch@example.test"


@pytest.fixture
def slack(clock: FakeClock) -> Iterator[ProgrammableSlack]:
    with ProgrammableSlack(clock=clock.mono) as receiver:
        yield receiver


async def scenario(
    db_url: str,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    items: list[tuple[str, str, str]],
    *,
    notify: list[str],
    **overrides: Any,
) -> Settings:
    """Serve ``items``, poll them through the acme rule; returns the settings used."""
    feed.route("/f.xml", body=rss_items(*items))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=notify)
    values: dict[str, Any] = {
        "slack_min_interval_s": 0,
        "delivery_retry_base_s": 1.0,
        "delivery_retry_max_s": 4.0,
        "email_from": FROM,
    }
    settings = test_settings(db_url, rules, **(values | overrides))
    (outcome,) = await ingest(settings)
    assert outcome.alerts == len(items), outcome
    return settings


def smtp_overrides(server: ScriptedSmtpServer, **extra: Any) -> dict[str, Any]:
    return {"smtp_host": server.host, "smtp_port": server.port, "smtp_starttls": False} | extra


def alert_statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(alerts.c.status).order_by(alerts.c.id)).scalars())


def urls_in(bodies: list[bytes], urls: list[str]) -> dict[str, int]:
    """In how many received messages each URL appears."""
    return {u: sum(1 for b in bodies if u.encode() in b) for u in urls}


def event_records(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [dict(getattr(r, "rw_fields", {})) for r in caplog.records if r.getMessage() == event]


# --- A1 / A2 -----------------------------------------------------------------------------------


async def test_server_errors_back_off_with_growing_capped_delays_then_one_delivery(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    settings = await scenario(
        db_url,
        tmp_path,
        feed,
        acme_items(1),
        notify=["slack"],
        slack_webhook_url=slack.url,
        delivery_retry_base_s=1.0,
        delivery_retry_max_s=2.0,
    )
    slack.script(server_error(), server_error(), server_error())
    # attempt n: min(max, base * 2^(n-1)) = 1, 2, 2 (capped), jittered into [cap/2, cap]
    expected_gaps = [(0.5, 1.0), (1.0, 2.0), (1.0, 2.0)]
    worker, notifiers = make_worker(engine, settings, clock)
    gaps: list[float] = []
    try:
        for attempt, (low, high) in enumerate(expected_gaps, start=1):
            failed_at = clock.now()
            result = await worker.run_once()
            assert (result.retried, result.sent) == (1, 0)
            (row,) = rows(engine)
            assert row["state"] == "pending" and row["attempts"] == attempt
            assert "500" in row["last_error"] and "rollup_error" in row["last_error"]
            gap = (row["next_attempt_at"] - failed_at).total_seconds()
            assert low <= gap <= high, (attempt, gap)
            gaps.append(gap)
            clock.advance(gap - 0.05)
            assert (await worker.run_once()).attempted == 0  # not before its time
            assert len(slack.received) == attempt
            clock.advance(0.05)
        result = await worker.run_once()
    finally:
        await notifiers.aclose()
    assert result.sent == 1
    assert gaps[1] >= gaps[0] and max(gaps) <= settings.delivery_retry_max_s
    assert len(slack.received) == 4 and len({r.body for r in slack.received}) == 1
    (row,) = rows(engine)
    assert row["state"] == "sent" and row["attempts"] == 4 and row["last_error"] is None
    assert alert_statuses(engine) == ["sent"]


async def test_retry_after_pauses_the_channel_and_is_not_a_failed_attempt(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    settings = await scenario(
        db_url, tmp_path, feed, acme_items(1), notify=["slack"], slack_webhook_url=slack.url
    )
    slack.script(rate_limited("2"))
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        throttled_at = clock.now()
        result = await worker.run_once()
        assert (result.retried, result.failed, result.sent) == (1, 0, 0)
        (row,) = rows(engine)
        assert row["state"] == "pending" and row["attempts"] == 0  # a 429 is not a failed attempt
        assert row["next_attempt_at"] == throttled_at + timedelta(seconds=2)
        assert health(engine, clock)["slack"]["paused_until"] == throttled_at + timedelta(seconds=2)
        for _ in range(19):  # 1.9 s of fake time, nothing goes to the webhook
            clock.advance(0.1)
            assert (await worker.run_once()).attempted == 0
        assert len(slack.received) == 1
        clock.advance(0.1)
        result = await worker.run_once()
    finally:
        await notifiers.aclose()
    assert result.sent == 1
    first, second = slack.received
    assert second.arrived_at - first.arrived_at >= 2.0
    (row,) = rows(engine)
    assert row["state"] == "sent" and row["attempts"] == 1


# --- A3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_max", "min_interval_s", "max_messages"),
    [(10, 1.0, 10), (1, 1.0, 30), (10, 0.0, 10)],
    ids=["grouped-paced", "one-per-message-paced", "grouped-unpaced"],
)
async def test_a_burst_of_thirty_is_grouped_or_paced_without_a_single_429(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    group_max: int,
    min_interval_s: float,
    max_messages: int,
) -> None:
    items = acme_items(30)
    with ProgrammableSlack(clock=clock.mono, limit=GcraLimit(rate_per_s=1.0, burst=3)) as slack:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            items,
            notify=["slack"],
            slack_webhook_url=slack.url,
            delivery_group_max=group_max,
            slack_min_interval_s=min_interval_s,
        )
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            total, _rounds = await run_rounds(worker, clock, engine, max_rounds=200, idle_step_s=0.25)
        finally:
            await notifiers.aclose()
    assert slack.throttled == 0, "the receiver had to answer 429"
    received = slack.received
    assert len(received) <= max_messages
    assert total.sent == 30 and {r["state"] for r in rows(engine)} == {"sent"}
    assert urls_in([r.body for r in received], [u for _, u, _ in items]) == {u: 1 for _, u, _ in items}
    arrivals = [r.arrived_at for r in received]
    for i in range(len(arrivals)):
        for j in range(i, len(arrivals)):  # at most the burst plus one a second, over any window
            assert j - i + 1 <= 3 + (arrivals[j] - arrivals[i]) + 1e-6


# --- A4 / A5 -----------------------------------------------------------------------------------


async def test_invalid_blocks_fails_that_delivery_for_good_and_another_channel_continues(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    with SlackReceiver(path="/services/T000/B001/OTHERTOKEN", clock=clock.mono) as other:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["slack", "slack:other"],
            slack_webhook_url=slack.url,
            slack_webhooks={"other": other.url},
        )
        slack.script(invalid_blocks())
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
            for _ in range(10):  # an hour later: still not retried
                clock.advance(360)
                total.add(await worker.run_once())
        finally:
            await notifiers.aclose()
        assert len(other.received) == 1
    assert (total.failed, total.sent) == (1, 1)
    by_channel = {r["channel"]: r for r in rows(engine)}
    assert by_channel["slack"]["state"] == "failed" and by_channel["slack"]["attempts"] == 1
    assert (
        "400" in by_channel["slack"]["last_error"] and "invalid_blocks" in by_channel["slack"]["last_error"]
    )
    assert by_channel["slack:other"]["state"] == "sent"
    assert len(slack.received) == 1
    assert alert_statuses(engine) == ["failed"]


async def test_a_message_that_cannot_be_rendered_fails_alone_and_its_channel_goes_on(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    """A stored payload the code can no longer read (a bug, an old shape) among others for the
    same channel: grouping them into messages fails; that row is failed for good with the
    reason and the others are sent, rather than every round crashing on all of them."""
    settings = await scenario(
        db_url, tmp_path, feed, acme_items(3), notify=["slack"], slack_webhook_url=slack.url
    )
    broken_id = rows(engine)[1]["id"]
    the_row = deliveries.c.id == broken_id
    with engine.begin() as conn:
        payload = conn.execute(sa.select(deliveries.c.payload).where(the_row)).scalar_one()
        del payload["view"]["created_at"]
        conn.execute(sa.update(deliveries).where(the_row).values(payload=payload))
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    states = {r["id"]: (r["state"], r["last_error"]) for r in rows(engine)}
    assert states.pop(broken_id) == ("failed", "internal error: KeyError")
    assert {state for state, _ in states.values()} == {"sent"}
    assert (total.failed, total.sent) == (1, 2)
    assert len(slack.received) == 2  # one message each: grouping had failed for the round


@pytest.mark.parametrize(
    "answer",
    [channel_not_found(), archived(), forbidden(), forbidden("invalid_token")],
    ids=["404", "410", "403", "403-invalid_token"],
)
async def test_a_broken_channel_holds_its_messages_probes_rarely_and_releases_them(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
    answer: Answer,
) -> None:
    items = acme_items(3)
    settings = await scenario(
        db_url,
        tmp_path,
        feed,
        items,
        notify=["slack"],
        slack_webhook_url=slack.url,
        delivery_probe_broken_s=60,
    )
    slack.script(answer, answer)  # the first send and the first probe are refused
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        assert (await worker.run_once()).held == 3
        assert {r["state"] for r in rows(engine)} == {"held"}
        assert all(answer.body in r["last_error"] for r in rows(engine))
        status = health(engine, clock)["slack"]
        assert status["broken"] is not None and answer.body in status["broken"]
        assert status["queue_depth"] == 3  # held, not dropped
        for _ in range(29):  # 58 s of rounds: no retry storm
            clock.advance(2)
            assert (await worker.run_once()).attempted == 0
        assert len(slack.received) == 1
        clock.advance(2)  # the probe interval has passed: one probe, one message
        assert (await worker.run_once()).held == 1
        assert len(slack.received) == 2 and len(slack.received[1].payload["blocks"]) < len(
            slack.received[0].payload["blocks"]
        )
        clock.advance(59)
        assert (await worker.run_once()).attempted == 0
        clock.advance(1)  # the receiver works again: the probe goes through, the rest is released
        assert (await worker.run_once()).sent == 1
        total, _ = await run_rounds(worker, clock, engine, max_rounds=5)
    finally:
        await notifiers.aclose()
    assert total.sent == 2
    assert {r["state"] for r in rows(engine)} == {"sent"}
    assert (
        health(engine, clock)["slack"]["broken"] is None
        and health(engine, clock)["slack"]["queue_depth"] == 0
    )
    assert len(slack.received) == 4
    delivered = [r.body for r in slack.received[2:]]
    assert urls_in(delivered, [u for _, u, _ in items]) == {u: 1 for _, u, _ in items}


# --- A6 / A7 -----------------------------------------------------------------------------------


async def test_reset_after_sending_is_retried_once_and_logged_as_a_possible_duplicate(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = await scenario(
        db_url, tmp_path, feed, acme_items(1), notify=["slack"], slack_webhook_url=slack.url
    )
    slack.script(reset())
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        assert (await worker.run_once()).retried == 1
        (row,) = rows(engine)
        assert row["state"] == "pending" and "possible duplicate" in row["last_error"]
        total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    assert total.sent == 1
    assert len(slack.received) == 2  # the reset one reached the receiver; at most one extra
    retries = event_records(caplog, "delivery_retry")
    logged = any(r.get("note") == "ambiguous, possible duplicate" for r in retries)
    (row,) = rows(engine)
    assert row["state"] == "sent"
    assert row["ambiguous"] or logged


async def test_receiver_down_stays_pending_is_retried_and_shows_in_health(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    with SlackReceiver() as gone:
        url = gone.url  # a port that had a listener a moment ago and now has none
    settings = await scenario(db_url, tmp_path, feed, acme_items(1), notify=["slack"], slack_webhook_url=url)
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        total, _ = await run_rounds(worker, clock, engine, max_rounds=6)
    finally:
        await notifiers.aclose()
    assert total.sent == 0 and total.failed == 0 and total.retried >= 3
    (row,) = rows(engine)
    assert row["state"] == "pending" and row["attempts"] == total.retried
    assert "could not connect" in row["last_error"] and WEBHOOK_PATH not in row["last_error"]
    status = health(engine, clock)["slack"]
    assert status["broken"] is None and status["queue_depth"] == 1 and status["oldest_pending_s"] > 0
    assert alert_statuses(engine) == ["pending"]


async def test_a_receiver_failing_for_a_while_is_one_warning_and_one_line_when_it_recovers(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="service.notify.worker")
    settings = await scenario(
        db_url, tmp_path, feed, acme_items(1), notify=["slack"], slack_webhook_url=slack.url
    )
    slack.script(server_error(), server_error(), server_error())
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    assert (total.retried, total.sent) == (3, 1)
    retries = [r for r in caplog.records if r.getMessage() == "delivery_retry"]
    assert [r.levelno for r in retries] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    [back] = event_records(caplog, "delivery_recovered")
    assert back["channel"] == "slack" and "500" in back["after"]


async def test_a_worker_killed_right_after_recording_a_send_leaves_no_alert_pending(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The alert's status is settled in the transaction that records the send: nothing after it
    in the round (which dies here) is needed. It used to be settled at the end of the round."""
    settings = await scenario(
        db_url, tmp_path, feed, acme_items(1), notify=["slack"], slack_webhook_url=slack.url
    )
    worker, notifiers = make_worker(engine, settings, clock)
    record = worker._sent

    def record_then_die(*args: Any) -> Any:
        record(*args)
        raise RuntimeError("killed right after the send was recorded")

    monkeypatch.setattr(worker, "_sent", record_then_die)
    try:
        await worker.run_once()
    finally:
        await notifiers.aclose()
    assert len(slack.received) == 1
    assert [r["state"] for r in rows(engine)] == ["sent"]
    assert alert_statuses(engine) == ["sent"]


# --- A10 ---------------------------------------------------------------------------------------

A, B, C = acme_items(3, prefix="a10")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (rss_items(A, B), rss_items(A, B), [A, B]),
        (rss_items(A, B), rss_items(C, B, A), [A, B, C]),
        (rss_without_guid([A, B]), rss_without_guid([A, B]), [A, B]),
        (rss_without_guid([A, B]), rss_without_guid([B, C, A]), [A, B, C]),
    ],
    ids=["same-twice", "reordered-plus-new", "no-guid-twice", "no-guid-reordered"],
)
@pytest.mark.parametrize("deliver_between", [True, False], ids=["delivered-between", "pending-between"])
async def test_the_same_item_polled_again_is_notified_once(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
    first: bytes,
    second: bytes,
    expected: list[tuple[str, str, str]],
    deliver_between: bool,
) -> None:
    feed.route("/f.xml", body=first)
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["slack"])
    settings = test_settings(db_url, rules, slack_webhook_url=slack.url, slack_min_interval_s=0)
    await ingest(settings)
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        if deliver_between:
            await run_rounds(worker, clock, engine, max_rounds=10)
        feed.route("/f.xml", body=second)
        await ingest(settings)
        clock.advance(5)
        await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    urls = [u for _, u, _ in (A, B, C)]
    assert urls_in([r.body for r in slack.received], urls) == {
        u: int((t, u, d) in expected) for t, u, d in (A, B, C)
    }
    assert {r["state"] for r in rows(engine)} == {"sent"}


# --- A12 ---------------------------------------------------------------------------------------


async def test_an_expired_lease_is_fenced_the_late_worker_changes_nothing(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = await scenario(
        db_url, tmp_path, feed, acme_items(1), notify=["slack"], slack_webhook_url=slack.url
    )
    lease = timedelta(seconds=settings.delivery_lease_s)

    (claimed,) = claim_as(engine, settings, clock, owner="worker-1")
    worker_2, notifiers = make_worker(engine, settings, clock, owner="worker-2")
    try:
        clock.advance(lease.total_seconds() - 1)
        assert (await worker_2.run_once()).attempted == 0  # the lease still holds
        clock.advance(2)
        assert (await worker_2.run_once()).sent == 1
    finally:
        await notifiers.aclose()
    (sent,) = rows(engine)
    assert sent["state"] == "sent" and sent["ambiguous"]  # it was found mid-send: logged below
    assert event_records(caplog, "delivery_ambiguous")

    def late_worker_1(conn: sa.Connection) -> list[int]:
        owned = outbox.mark_sent(conn, [claimed.id], owner="worker-1", now=clock.now(), ambiguous=False)
        outbox.mark_retry(conn, [claimed.id], owner="worker-1", at=clock.now(), error="x", count_attempt=True)
        outbox.mark_failed(conn, [claimed.id], owner="worker-1", error="late failure")
        channel_state.hold_channel(
            conn,
            "slack",
            [claimed.id],
            owner="worker-1",
            now=clock.now(),
            reason="late",
            probe_at=clock.now(),
            fingerprint="",
        )
        return owned

    clock.advance(5)
    assert db.run_transaction(engine, late_worker_1) == []
    (after,) = rows(engine)
    assert after == sent | {"last_error": after["last_error"]} and after["state"] == "sent"
    assert after["last_error"] is None
    assert len(slack.received) == 1


async def test_a_claim_sent_message_by_message_keeps_its_lease_however_long_it_takes(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Emails go one per message; a slow relay makes a claim of several outlast one lease. The
    second email starts just before the claim's lease would run out and takes a while: another
    worker looking for orphaned rows meanwhile must find none, or the email is sent twice."""
    with scripted_smtp(SmtpScript()) as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(2),
            notify=["email"],
            **smtp_overrides(server, alert_email_to="a@example.com"),
        )
        lease_s = settings.delivery_lease_s
        worker, notifiers = make_worker(engine, settings, clock)
        taken_over: list[outbox.Claimed] = []
        real_deliver = notifiers.deliver
        sends = 0

        async def slow_relay(channel: str, chunk: Sequence[outbox.Claimed]) -> Any:
            nonlocal sends
            sends += 1
            clock.advance(0.9 * lease_s if sends == 1 else 0.2 * lease_s)  # the relay takes its time
            if sends == 2:  # mid-send, past the first claim's lease: another worker looks
                taken_over.extend(claim_as(engine, settings, clock, owner="worker-2"))
            return await real_deliver(channel, chunk)

        monkeypatch.setattr(notifiers, "deliver", slow_relay)
        try:
            result = await worker.run_once()
        finally:
            await notifiers.aclose()
        received = server.received
    assert taken_over == []
    assert result.sent == 2 and len(received) == 2
    assert {r["state"] for r in rows(engine)} == {"sent"}


# --- A13-A16: SMTP -----------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["451 4.3.0 try again later", "421 4.3.2 shutting down"])
async def test_temporary_smtp_failure_is_retried_and_one_email_arrives(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock, first: str
) -> None:
    with scripted_smtp(SmtpScript(data=[first])) as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["email"],
            **smtp_overrides(server, alert_email_to="a@example.com"),
        )
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            assert (await worker.run_once()).retried == 1
            (row,) = rows(engine)
            assert row["state"] == "pending" and first.split()[0] in row["last_error"]
            total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
        finally:
            await notifiers.aclose()
        received = server.received
    assert total.sent == 1
    (mail,) = received
    assert mail.rcpt_tos == ("a@example.com",) and "Acme" in str(mail.message["Subject"])
    (row,) = rows(engine)
    assert row["state"] == "sent" and row["attempts"] == 2


async def test_one_refused_recipient_of_three_is_recorded_and_the_others_get_it(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    to = ["a@example.com", "b@example.com", "c@example.com"]
    with scripted_smtp(SmtpScript(rcpt={to[2]: "550 5.1.1 no such user"})) as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["email"],
            **smtp_overrides(server, alert_email_to=",".join(to)),
        )
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            total, _ = await run_rounds(worker, clock, engine, max_rounds=5)
        finally:
            await notifiers.aclose()
        received = server.received
    assert total.sent == 1
    (mail,) = received
    assert mail.rcpt_tos == tuple(to[:2])
    (row,) = rows(engine)
    assert row["state"] == "sent"
    assert "c@example.com" in row["last_error"] and "550" in row["last_error"]
    assert "a@example.com" not in row["last_error"]


async def test_a_recipient_that_defers_gets_the_same_message_later(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    to = ["a@example.com", "b@example.com"]
    with scripted_smtp(SmtpScript(rcpt={to[1]: "451 4.2.1 mailbox busy, try later"})) as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["email"],
            **smtp_overrides(server, alert_email_to=",".join(to)),
        )
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            first = await worker.run_once()
            assert first.sent == 1 and [m.rcpt_tos for m in server.received] == [(to[0],)]
            follow_up = rows(engine)[-1]
            assert follow_up["state"] == "pending" and follow_up["payload"]["recipients"] == [to[1]]
            server.handler.script.rcpt.pop(to[1])  # the mailbox is free again
            await run_rounds(worker, clock, engine, max_rounds=10)
        finally:
            await notifiers.aclose()
        received = server.received
    assert [m.rcpt_tos for m in received] == [(to[0],), (to[1],)]
    assert received[0].message["Message-ID"] == received[1].message["Message-ID"]
    assert {r["state"] for r in rows(engine)} == {"sent"}


async def test_a_stall_after_data_is_retried_with_the_same_message_id(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with scripted_smtp(SmtpScript(data=[Stall(3.0)])) as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["email"],
            **smtp_overrides(server, alert_email_to="a@example.com"),
        )
        sender = SmtpSender(host=server.host, port=server.port, tls=TlsMode.NONE, timeout_s=1.0)
        worker, notifiers = make_worker(engine, settings, clock, smtp=sender)
        try:
            started = wallclock.monotonic()
            assert (await worker.run_once()).retried == 1
            assert wallclock.monotonic() - started < 2.5
            total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
        finally:
            await notifiers.aclose()
        await asyncio.sleep(2.5)  # let the stalled transaction finish, so its copy is counted too
        received = server.received
    assert total.sent == 1
    assert 1 <= len(received) <= 2
    assert len({str(m.message["Message-ID"]) for m in received}) == 1
    retries = event_records(caplog, "delivery_retry")
    assert any(r.get("note") == "ambiguous, possible duplicate" for r in retries)


async def test_the_configured_smtp_timeout_bounds_a_stalled_send(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    with scripted_smtp(SmtpScript(data=[Stall(4.0)])) as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["email"],
            **smtp_overrides(server, alert_email_to="a@example.com", smtp_timeout_s=1.0),
        )
        notifiers = Notifiers.from_settings(settings, write=lambda _text: None)  # production wiring
        worker = OutboxWorker(
            engine=engine,
            notifiers=notifiers,
            settings=settings,
            owner="worker-1",
            clock=clock.now,
            rng=random.Random(1),
        )
        try:
            started = wallclock.monotonic()
            result = await worker.run_once()
            elapsed = wallclock.monotonic() - started
        finally:
            await notifiers.aclose()
    assert result.retried == 1 and elapsed < 3.0


async def test_starttls_required_but_missing_refuses_and_breaks_the_channel(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    with scripted_smtp() as server:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["email"],
            **smtp_overrides(server, alert_email_to="a@example.com", smtp_starttls=True),
        )
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            assert (await worker.run_once()).held == 1
            for _ in range(5):
                clock.advance(60)
                assert (await worker.run_once()).attempted == 0
        finally:
            await notifiers.aclose()
        assert server.handler.data_transactions == 0 and not server.received
    (row,) = rows(engine)
    assert row["state"] == "held" and "STARTTLS" in row["last_error"]
    status = health(engine, clock)["email"]
    assert status["broken"] is not None and "refusing to send" in status["broken"]
    assert "STARTTLS" in status["broken"] and status["queue_depth"] == 1


# --- A17 ---------------------------------------------------------------------------------------


def outage(payload: Any, now: float) -> Answer:
    return server_error(503, "service unavailable")


async def run_outage(
    engine: Engine, settings: Settings, clock: FakeClock, slack: ProgrammableSlack, *, hours: float
) -> int:
    """Worker rounds over ``hours`` of fake time with the receiver down; returns the rounds run."""
    worker, notifiers = make_worker(engine, settings, clock)
    end = clock.now() + timedelta(hours=hours)
    rounds = 0
    try:
        while clock.now() < end and rounds < 2000:
            rounds += 1
            result = await worker.run_once()
            if result.attempted == 0:
                with engine.connect() as conn:
                    due = outbox.next_due(conn)
                step = (due - clock.now()).total_seconds() if due is not None else 600.0
                clock.advance(min(max(step, 1.0), (end - clock.now()).total_seconds() + 1))
        await worker.run_once()  # one round after the end, as a running service would
        rounds += 1
    finally:
        await notifiers.aclose()
    assert rounds < 2000
    return rounds


async def test_a_day_long_outage_expires_old_messages_with_a_reason(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with ProgrammableSlack(clock=clock.mono, decide=outage) as slack:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(3),
            notify=["slack"],
            slack_webhook_url=slack.url,
            delivery_retry_max_s=3600.0,
        )
        rounds = await run_outage(engine, settings, clock, slack, hours=24.5)
        requests = len(slack.received)
    assert requests <= rounds and requests <= 24.5 * 3600 / 1800 + 12  # backoff capped, no storm
    states = rows(engine)
    assert {r["state"] for r in states} == {"failed"}
    assert all(r["last_error"].startswith("expired") for r in states)
    assert health(engine, clock)["slack"]["queue_depth"] == 0
    assert sum(r["count"] for r in event_records(caplog, "deliveries_expired")) == 3


async def test_alerts_whose_messages_expired_are_marked_failed(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    with ProgrammableSlack(clock=clock.mono, decide=outage) as slack:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            acme_items(1),
            notify=["slack"],
            slack_webhook_url=slack.url,
            delivery_max_age_s=600,
            delivery_retry_max_s=300.0,
        )
        await run_outage(engine, settings, clock, slack, hours=0.5)
    assert [r["state"] for r in rows(engine)] == ["failed"]
    assert alert_statuses(engine) == ["failed"]


@pytest.mark.parametrize("group_max", [7, 14, 20])
async def test_a_200_message_backlog_drains_grouped_after_the_outage(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock, group_max: int
) -> None:
    down = True

    def maybe_down(payload: Any, now: float) -> Answer | None:
        return server_error(503, "service unavailable") if down else None

    items = acme_items(200)
    with ProgrammableSlack(clock=clock.mono, decide=maybe_down) as slack:
        settings = await scenario(
            db_url,
            tmp_path,
            feed,
            items,
            notify=["slack"],
            slack_webhook_url=slack.url,
            delivery_group_max=group_max,
            delivery_retry_max_s=900.0,
        )
        await run_outage(engine, settings, clock, slack, hours=2)
        assert health(engine, clock)["slack"]["queue_depth"] == 200  # waiting, bounded, nothing lost
        during = len(slack.received)
        down = False
        clock.advance(settings.delivery_retry_max_s)  # every backed-off message is due again
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            total, _ = await run_rounds(worker, clock, engine, max_rounds=200)
        finally:
            await notifiers.aclose()
        after = [r.body for r in slack.received[during:]]
    assert total.sent == 200 and {r["state"] for r in rows(engine)} == {"sent"}
    per_message = max(len(slack.received[during + i].payload["blocks"]) for i in range(len(after)))
    stories_per_message = 7  # 50 blocks: one header, then stories of at most 7 blocks
    assert per_message <= 50
    assert len(after) <= math.ceil(200 / group_max) * math.ceil(group_max / stories_per_message)
    assert urls_in(after, [u for _, u, _ in items]) == {u: 1 for _, u, _ in items}


# --- A18 ---------------------------------------------------------------------------------------


async def test_a_rules_reload_leaves_pending_messages_as_they_were(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    items = acme_items(1)
    settings = await scenario(db_url, tmp_path, feed, items, notify=["slack"], slack_webhook_url=slack.url)
    slack.script(server_error())
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        assert (await worker.run_once()).retried == 1
        (before,) = rows(engine)
        write_acme_rules(settings.rules_dir, feed.url("/f.xml"), notify=["slack"], name="Renamed rule")
        await ingest(settings)  # loads the changed rule file; the item is not new
        (reloaded,) = rows(engine)
        assert reloaded["idempotency_key"] == before["idempotency_key"]
        assert reloaded["payload"] == before["payload"]
        total, _ = await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    assert total.sent == 1
    delivered = slack.received[-1].body.decode()
    assert ACME_RULE in delivered and "Renamed rule" not in delivered
    (after,) = rows(engine)
    assert after["state"] == "sent" and after["payload"] == before["payload"]


# --- digest ------------------------------------------------------------------------------------

CHANGED = (
    "Nissan trims its China electric line-up to eight new-energy models",
    "https://news.example.test/nissan-eight-nevs",
    "Nissan now plans eight new-energy vehicles for China instead of the earlier target, the "
    "company said, as price competition with BYD and other local makers intensifies.",
)
RESTATEMENT = (
    "Nissan to develop ten new-energy vehicles for China",
    "https://news.example.test/nissan-ten-nevs",
    "Nissan plans ten new-energy vehicles for China, four under its own brand and six with its "
    "joint-venture partners; the first Nissan-brand model comes in the second half of 2024.",
)
TEAM = "team@example.test"


async def test_digest_is_sent_once_per_period_across_calls_and_replicas(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, request: pytest.FixtureRequest
) -> None:
    tz = ZoneInfo("Europe/Berlin")
    tomorrow = (datetime.now(tz) + timedelta(days=1)).date()
    before = datetime.combine(tomorrow, time(7, 59), tz)  # later than anything stored now
    clock = FakeClock(before)
    feed.route("/f.xml", body=rss_items(CHANGED, RESTATEMENT))
    rules = shipped_rules(tmp_path / "rules", [("wire", feed.url("/f.xml"))])
    with scripted_smtp() as server:
        settings = test_settings(
            db_url,
            rules,
            **smtp_overrides(server, digest_to=TEAM, digest_at="08:00", timezone="Europe/Berlin"),
            email_from=FROM,
        )
        await ingest(settings)
        with engine.connect() as conn:
            stored = [dict(r._mapping) for r in conn.execute(sa.select(alerts))]
        suppressed = [a for a in stored if a["status"] == "suppressed"]
        listed = [a for a in stored if a["status"] != "suppressed"]
        assert suppressed and listed
        replicas = [make_worker(engine, settings, clock, owner=f"replica-{i}") for i in range(2)]
        deliveries_ = [
            Delivery(engine=engine, worker=w, settings=settings, clock=clock.now) for w, _ in replicas
        ]
        try:
            assert [d.digest_if_due() for d in deliveries_] == [None, None]  # 07:59 in Berlin
            clock.advance(120)
            draft = deliveries_[0].digest_if_due()
            assert draft is not None
            assert deliveries_[0].digest_if_due() is None and deliveries_[1].digest_if_due() is None
            for d in deliveries_ * 2:
                await d.tick()
            clock.advance(3600)
            for d in deliveries_:
                await d.tick()
        finally:
            for _, notifiers in replicas:
                await notifiers.aclose()
        received = server.received
    assert draft.suppressed == len(suppressed) and draft.listed == len({a["story_id"] for a in listed})
    (mail,) = received
    assert mail.rcpt_tos == (TEAM,)
    html = mail.message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert CHANGED[1] in content and RESTATEMENT[1] not in content  # suppressed: counted, not listed
    with engine.connect() as conn:
        (digest_id,) = conn.execute(sa.select(digests.c.id)).scalars()
        digest_row = conn.execute(sa.select(digests)).one()
        assert set(conn.execute(sa.select(alerts.c.digest_id)).scalars()) == {digest_id}
    assert digest_row.suppressed == len(suppressed) and digest_row.period_key == tomorrow.isoformat()


async def test_digest_send_through_the_cli_sends_exactly_one_email(
    db_url: str, tmp_path: Path, feed: LoopbackHTTPServer, request: pytest.FixtureRequest
) -> None:
    feed.route("/f.xml", body=rss_items(CHANGED, RESTATEMENT))
    rules = shipped_rules(tmp_path / "rules", [("wire", feed.url("/f.xml"))])
    with scripted_smtp() as server:
        env = service_env(
            db_url,
            rules,
            RIVALWATCH_SMTP_HOST=server.host,
            RIVALWATCH_SMTP_PORT=str(server.port),
            RIVALWATCH_SMTP_STARTTLS="false",
            RIVALWATCH_EMAIL_FROM=FROM,
            RIVALWATCH_DIGEST_TO=TEAM,
            RIVALWATCH_TIMEZONE="UTC",
            RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S="10",
        )
        polled = rivalwatch("poll", "--once", env=env)
        assert polled.returncode == 0, polled.stderr[-2000:]
        assert not server.received  # the alerts wait for the digest
        sent = rivalwatch("digest", "--send", env=env)
        assert sent.returncode == 0, sent.stderr[-2000:]
        received = server.received
    (mail,) = received
    assert mail.rcpt_tos == (TEAM,)
    assert mail.message.get_body(("plain",)) is not None
    html = mail.message.get_body(("html",))
    assert html is not None and CHANGED[1] in html.get_content()
    assert "1 sent" in sent.stdout


def test_channel_health_shows_a_channel_mute(engine: Engine, clock: FakeClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        channel_state.ensure_channels(conn, ["slack"], now=now)
        mutes.mute(conn, "channel:slack", until=now + timedelta(hours=2), now=now)
    assert health(engine, clock)["slack"]["muted_until"] == now + timedelta(hours=2)
    clock.advance(3 * 3600)
    assert health(engine, clock)["slack"]["muted_until"] is None


# --- mutes and cooldowns -------------------------------------------------------------------------


async def test_a_muted_rule_stores_its_alerts_as_muted_and_sends_only_later_ones(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    items = acme_items(3, prefix="muted")  # three distinct stories
    first, later = items[:2], items[2:]
    with engine.begin() as conn:
        mutes.mute(conn, "rule:acme", until=datetime.now(UTC) + timedelta(hours=1), now=datetime.now(UTC))
    settings = await scenario(db_url, tmp_path, feed, first, notify=["slack"], slack_webhook_url=slack.url)
    # Kept for the digest, and marked so: a mute drops the immediate message for good.
    assert rows(engine) == [] and alert_statuses(engine) == ["muted", "muted"]

    with engine.begin() as conn:
        now = datetime.now(UTC)
        assert mutes.unmute(conn, "rule:acme", now=now) and not mutes.unmute(conn, "rule:acme", now=now)
    feed.route("/f.xml", body=rss_items(*first, *later))
    await ingest(settings)
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    bodies = [r.body for r in slack.received]
    assert urls_in(bodies, [u for _, u, _ in first + later]) == {
        first[0][1]: 0,
        first[1][1]: 0,
        later[0][1]: 1,
    }
    assert alert_statuses(engine) == ["muted", "muted", "sent"]


async def test_a_muted_channel_holds_its_messages_until_the_mute_ends(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    items = acme_items(2, prefix="held")
    settings = await scenario(db_url, tmp_path, feed, items, notify=["slack"], slack_webhook_url=slack.url)
    with engine.begin() as conn:
        mutes.mute(conn, "channel:slack", until=clock.now() + timedelta(minutes=30), now=clock.now())
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        await run_rounds(worker, clock, engine, max_rounds=5)
        assert slack.received == [] and {r["state"] for r in rows(engine)} == {"pending"}
        clock.advance(31 * 60)  # the mute runs out by itself
        await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    assert urls_in([r.body for r in slack.received], [u for _, u, _ in items]) == {u: 1 for _, u, _ in items}
    assert {r["state"] for r in rows(engine)} == {"sent"}


async def test_a_rule_in_its_cooldown_stores_new_alerts_without_sending_them(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    slack: SlackReceiver,
) -> None:
    first, second = acme_items(2, prefix="cool")
    feed.route("/f.xml", body=rss_items(first))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["slack"])
    acme = rules / "acme.yaml"
    acme.write_text(acme.read_text(encoding="utf-8") + "    cooldown: 1h\n", encoding="utf-8")
    settings = test_settings(db_url, rules, slack_webhook_url=slack.url, slack_min_interval_s=0)
    await ingest(settings)
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        await run_rounds(worker, clock, engine, max_rounds=10)
        feed.route("/f.xml", body=rss_items(first, second))
        (outcome,) = await ingest(settings)
        await run_rounds(worker, clock, engine, max_rounds=10)
    finally:
        await notifiers.aclose()
    assert outcome.alerts == 1  # the second story's alert is stored ...
    assert len(rows(engine)) == 1  # ... but nothing was queued for it
    assert urls_in([r.body for r in slack.received], [first[1], second[1]]) == {first[1]: 1, second[1]: 0}
    assert alert_statuses(engine) == ["sent", "cooldown"]


def test_mutes_are_listed_and_ended_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    rules = shipped_rules(tmp_path / "rules", [("wire", "http://127.0.0.1:9/f.xml")])
    env = service_env(db_url, rules, RIVALWATCH_SLACK_WEBHOOK_URL="http://127.0.0.1:9/hook")
    assert rivalwatch("channels", "mute", "rule:byd", "--for", "2h", env=env).returncode == 0
    assert rivalwatch("channels", "mute", "channel:slack", "--for", "30m", env=env).returncode == 0
    listed = rivalwatch("channels", "mutes", "--json", env=env)
    assert [m["target"] for m in json.loads(listed.stdout)] == ["channel:slack", "rule:byd"]

    ended = rivalwatch("channels", "unmute", "rule:byd", env=env)
    again = rivalwatch("channels", "unmute", "rule:byd", env=env)
    bad = rivalwatch("channels", "unmute", "byd", env=env)
    assert ended.returncode == 0 and "rule:byd unmuted" in ended.stdout
    assert again.returncode == 0 and "rule:byd was not muted" in again.stdout
    assert bad.returncode == 2 and "rule:<id> or channel:<name>" in bad.stderr
    remaining = json.loads(rivalwatch("channels", "mutes", "--json", env=env).stdout)
    assert [m["target"] for m in remaining] == ["channel:slack"]


def test_unmuting_a_mute_that_already_ran_out_says_it_was_not_muted(engine: Engine, clock: FakeClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        mutes.mute(conn, "rule:old", until=now - timedelta(minutes=1), now=now - timedelta(hours=1))
        mutes.mute(conn, "rule:live", until=now + timedelta(minutes=1), now=now)
        assert [target for target, _ in mutes.active_mutes(conn, now=now)] == ["rule:live"]
        assert not mutes.unmute(conn, "rule:old", now=now)
        assert mutes.unmute(conn, "rule:live", now=now)
        assert mutes.active_mutes(conn, now=now) == []


def two_wire_rules(
    rules: Path, wire: str, wire2: str, *, second_notify: str, first_on_wire_only: bool = False
) -> Path:
    """Rule acme on every feed (or on wire alone) to Slack; rule acme2 only on wire2, to
    ``second_notify``."""
    rules.mkdir()
    only_wire = "    feeds: [wire]\n" if first_on_wire_only else ""
    (rules / "r.yaml").write_text(
        "rules:\n"
        "  - id: acme\n    name: Acme watch\n    match: Acme\n    severity: high\n"
        f"{only_wire}    notify: [slack]\n"
        "  - id: acme2\n    name: Acme on wire2\n    match: Acme\n    severity: high\n"
        f"    feeds: [wire2]\n    notify: {second_notify}\n",
        encoding="utf-8",
    )
    write_feeds(rules, [("wire", wire), ("wire2", wire2)])
    return rules


STORY = ("Acme opens a battery factory", "https://news.example.test/acme-1.html", "Acme opens a plant.")


async def test_an_alert_joining_a_message_on_its_way_settles_with_it(
    db_url: str, tmp_path: Path, engine: Engine, clock: FakeClock
) -> None:
    # A second rule fired on the story while its Slack message was being sent: the alert was
    # linked to the message but settled from the message's own list, which a message on its way
    # no longer takes, so it stayed pending for good.
    with LoopbackHTTPServer() as feed, SlackReceiver() as receiver:
        feed.route("/1.xml", body=rss_items(STORY))
        feed.route("/2.xml", body=rss_items())
        rules = two_wire_rules(
            tmp_path / "rules", feed.url("/1.xml"), feed.url("/2.xml"), second_notify="[slack]"
        )
        settings = test_settings(db_url, rules, slack_webhook_url=receiver.url, slack_min_interval_s=0)
        await ingest(settings)
        worker, notifiers = make_worker(engine, settings, clock)
        receiver.script(slow(1.5))
        sending = asyncio.create_task(worker.run_once())
        for _ in range(100):  # until the message is on its way
            if [row["state"] for row in rows(engine)] == ["sending"]:
                break
            await asyncio.sleep(0.05)
        assert [row["state"] for row in rows(engine)] == ["sending"]
        feed.route("/2.xml", body=rss_items(STORY))  # the same story on wire2: acme2 fires on it
        await ingest(settings)
        await sending
        await notifiers.aclose()
    assert len(receiver.received) == 1
    assert alert_statuses(engine) == ["sent", "sent"]


async def test_a_message_another_replica_adds_meanwhile_is_joined_not_lost(
    db_url: str, tmp_path: Path, engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two replicas polling copies of one story: the second looked for the story's Slack message
    # before the first committed it, so its own insert was skipped, and its alert, linked to no
    # message, stayed pending for good. The look that misses once stands in for that timing.
    with LoopbackHTTPServer() as feed, SlackReceiver() as receiver:
        feed.route("/1.xml", body=rss_items(STORY))
        feed.route("/2.xml", body=rss_items())
        rules = two_wire_rules(
            tmp_path / "rules", feed.url("/1.xml"), feed.url("/2.xml"), second_notify="[slack]"
        )
        settings = test_settings(db_url, rules, slack_webhook_url=receiver.url, slack_min_interval_s=0)
        await ingest(settings)  # acme's message for the story, pending
        looked = outbox.deliveries_by_key
        misses = iter([True])
        monkeypatch.setattr(
            outbox, "deliveries_by_key", lambda conn, keys: {} if next(misses, False) else looked(conn, keys)
        )
        feed.route("/2.xml", body=rss_items(STORY))  # the same story on wire2: acme2 fires on it
        await ingest(settings)
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            await worker.run_once()
        finally:
            await notifiers.aclose()
    (post,) = receiver.received
    assert b"Acme watch" in post.body and b"Acme on wire2" in post.body  # one message, both rules
    assert alert_statuses(engine) == ["sent", "sent"]


async def test_an_alert_joining_a_sent_message_waits_for_its_new_one_on_another_channel(
    db_url: str, tmp_path: Path, engine: Engine, clock: FakeClock
) -> None:
    # acme2 joined the story's Slack message, already sent, and started an email: it was marked
    # sent before the email was even linked, and stayed so whatever became of the email.
    with LoopbackHTTPServer() as feed, SlackReceiver() as receiver, scripted_smtp(SmtpScript()) as server:
        feed.route("/1.xml", body=rss_items(STORY))
        feed.route("/2.xml", body=rss_items())
        rules = two_wire_rules(
            tmp_path / "rules", feed.url("/1.xml"), feed.url("/2.xml"), second_notify="[slack, email]"
        )
        overrides = smtp_overrides(server, alert_email_to="a@example.com", email_from=FROM)
        settings = test_settings(
            db_url, rules, slack_webhook_url=receiver.url, slack_min_interval_s=0, **overrides
        )
        await ingest(settings)
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            await worker.run_once()  # the story posted to Slack
            feed.route("/2.xml", body=rss_items(STORY))
            await ingest(settings)
            assert alert_statuses(engine) == ["sent", "pending"]
            await worker.run_once()  # the email
        finally:
            await notifiers.aclose()
        received = server.received
    assert len(receiver.received) == 1 and len(received) == 1
    assert alert_statuses(engine) == ["sent", "sent"]


async def test_a_probe_answered_with_a_retryable_error_waits_for_the_next_probe(
    db_url: str, tmp_path: Path, engine: Engine, clock: FakeClock
) -> None:
    # A broken channel (404) whose probe then got a 503 kept its probe time in the past: every
    # round took another held message as a probe, 89 posts in a minute instead of one per
    # delivery_probe_broken_s.
    status = {"now": 404}

    def decide(_payload: object, _now: float) -> Answer:
        return Answer(status["now"], "channel_not_found" if status["now"] == 404 else "service_unavailable")

    with LoopbackHTTPServer() as feed, ProgrammableSlack(clock=clock.mono, decide=decide) as receiver:
        feed.route("/1.xml", body=rss_items(*acme_items(5)))
        rules = write_acme_rules(tmp_path / "rules", feed.url("/1.xml"), notify=["slack"])
        settings = test_settings(
            db_url, rules, slack_webhook_url=receiver.url, delivery_group_max=1, delivery_probe_broken_s=900,
            delivery_retry_base_s=5.0, delivery_retry_max_s=900.0,
        )  # fmt: skip
        await ingest(settings)
        worker, notifiers = make_worker(engine, settings, clock)
        await worker.run_once()  # 404: the channel is broken, its messages held
        assert {row["state"] for row in rows(engine)} == {"held"}
        status["now"] = 503
        clock.advance(900)
        before = len(receiver.received)
        for _ in range(40):  # ten seconds of rounds after the probe came due
            await worker.run_once()
            clock.advance(0.25)
        await notifiers.aclose()
    assert len(receiver.received) - before == 1


# --- the worker and a poll meet on one channel's messages (PostgreSQL) --------------------------

TWO_STORIES = (
    STORY,
    ("Acme recalls a model", "https://news.example.test/acme-2.html", "Acme calls back cars."),
)


class PollMeetsWorker:
    """A poll joining both stories' Slack messages, started when the worker's transaction comes
    to ``name`` of ``module`` (the row of the message it tried locked already) and let through
    once the poll waits for a lock. Counts how often each transaction ran: in a lock circle the
    server rolls one back (40P01), and it runs again."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, engine: Engine, settings: Settings, module: Any, name: str
    ) -> None:
        self.worker_runs = 0
        self.poll_runs = 0
        self.errors: list[BaseException] = []
        self._poll = threading.Thread(target=self._run_poll, args=(settings,))
        real_step, real_enqueue = getattr(module, name), pipeline.enqueue_alerts

        def step(*args: Any, **kw: Any) -> Any:
            self.worker_runs += 1
            if self.worker_runs == 1:
                self._poll.start()
                self._until_a_lock_is_waited_for(engine)
            return real_step(*args, **kw)

        def enqueue(*args: Any, **kw: Any) -> Any:
            self.poll_runs += 1
            return real_enqueue(*args, **kw)

        monkeypatch.setattr(module, name, step)
        monkeypatch.setattr(pipeline, "enqueue_alerts", enqueue)

    def _run_poll(self, settings: Settings) -> None:
        try:
            asyncio.run(ingest(settings))
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    @staticmethod
    def _until_a_lock_is_waited_for(engine: Engine) -> None:
        waiting = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
        for _ in range(200):
            with engine.connect() as conn:
                if conn.execute(waiting).scalar_one():
                    return
            wallclock.sleep(0.05)
        raise AssertionError("the poll never waited for the worker")

    def join(self) -> None:
        self._poll.join(timeout=60)
        assert not self._poll.is_alive() and not self.errors, self.errors


async def two_waiting_messages(
    pg_database: str, tmp_path: Path, feed: LoopbackHTTPServer, slack_url: str
) -> Settings:
    """Two stories' Slack messages from wire: the first backing off (due in an hour), the second
    due now. wire2 then carries both stories, so a poll's acme2 alerts join both messages (and
    raise nothing the worker's settling of acme's alerts could hold up)."""
    reset_postgres(pg_database)
    engine = db.make_engine(pg_database)
    db.upgrade(engine)
    feed.route("/1.xml", body=rss_items(*TWO_STORIES))
    feed.route("/2.xml", body=rss_items())
    rules = two_wire_rules(
        tmp_path / "rules",
        feed.url("/1.xml"),
        feed.url("/2.xml"),
        second_notify="[slack]",
        first_on_wire_only=True,
    )
    settings = test_settings(pg_database, rules, slack_webhook_url=slack_url, slack_min_interval_s=0)
    await ingest(settings)
    with engine.begin() as conn:
        first = sa.select(sa.func.min(deliveries.c.id)).scalar_subquery()
        later = datetime.now(UTC) + timedelta(hours=1)
        conn.execute(sa.update(deliveries).where(deliveries.c.id == first).values(next_attempt_at=later))
    engine.dispose()
    feed.route("/2.xml", body=rss_items(*TWO_STORIES))
    return settings


@pytest.mark.postgres
async def test_a_send_that_breaks_its_channel_and_a_poll_joining_its_messages_wait_in_no_circle(
    pg_database: str,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker locked the message it tried, then the channel's waiting messages as it held each;
    # the poll had locked the first waiting one and wanted the tried one, to join it.
    with SlackReceiver() as receiver:
        settings = await two_waiting_messages(pg_database, tmp_path, feed, receiver.url)
        engine = db.make_engine(pg_database)
        receiver.script(channel_not_found())
        meeting = PollMeetsWorker(monkeypatch, engine, settings, channel_state, "hold_channel")
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            assert (await worker.run_once()).held == 1
        finally:
            await notifiers.aclose()
        meeting.join()
        states = [r["state"] for r in rows(engine)]
        engine.dispose()
    assert (meeting.worker_runs, meeting.poll_runs) == (1, 1)
    assert states == ["held", "held"]


@pytest.mark.postgres
async def test_a_probe_that_goes_through_and_a_poll_joining_the_held_messages_wait_in_no_circle(
    pg_database: str,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker locked the probed message, then released the held ones as it came to each; the
    # poll had locked the first held one and wanted the probed one, to join it.
    with SlackReceiver() as receiver:
        settings = await two_waiting_messages(pg_database, tmp_path, feed, receiver.url)
        engine = db.make_engine(pg_database)
        receiver.script(channel_not_found())
        worker, notifiers = make_worker(engine, settings, clock)
        try:
            assert (await worker.run_once()).held == 1  # both held now; the probe takes the second
            clock.advance(settings.delivery_probe_broken_s + 1)
            meeting = PollMeetsWorker(monkeypatch, engine, settings, channel_state, "channel_recovered")
            assert (await worker.run_once()).sent == 1
        finally:
            await notifiers.aclose()
        meeting.join()
        states = [r["state"] for r in rows(engine)]
        engine.dispose()
    assert (meeting.worker_runs, meeting.poll_runs) == (1, 1)
    assert states == ["pending", "sent"]
