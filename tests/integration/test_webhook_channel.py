"""The generic JSON webhook channel end to end: a loopback feed polled through the pipeline, the
outbox worker on a fake clock, a scripted receiver on loopback; SQLite and PostgreSQL.

What a receiver relies on: one POST of JSON per story with the documented fields, an
``Idempotency-Key`` that is the same on every retry of one message (including the resend
after a worker died mid-send), 2xx delivered, 429 and 5xx retried with the outbox's
guarantees, a gone endpoint holding its channel.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.config import Settings
from service.notify.webhook import IDEMPOTENCY_HEADER
from service.store.tables import alerts
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import (
    FakeClock,
    acme_items,
    claim_as,
    health,
    ingest,
    make_worker,
    rows,
    write_acme_rules,
)
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, test_settings
from tests.support.slack import (
    Answer,
    SlackReceiver,
    channel_not_found,
    rate_limited,
    reset,
    server_error,
    slow,
)

pytestmark = pytest.mark.timeout(120)

HOOK_PATH = "/hooks/ops/SECRETHOOKTOKEN"
CONTRACT_FIELDS = {
    "title",
    "url",
    "feed",
    "rules",
    "severity",
    "novelty",
    "fact_changes",
    "new_terms",
    "alert_ids",
}


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[SlackReceiver]:
    with SlackReceiver(path=HOOK_PATH, clock=clock.mono) as hook:
        yield hook


async def scenario(
    db_url: str,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    receiver: SlackReceiver,
    *,
    stories: int,
    **options: object,
) -> Settings:
    items = acme_items(stories)
    feed.route("/f.xml", body=rss_items(*items))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["webhook:ops"])
    settings = test_settings(
        db_url,
        rules,
        webhooks={"ops": receiver.url},
        delivery_retry_base_s=1.0,
        delivery_retry_max_s=2.0,
        **options,
    )
    (outcome,) = await ingest(settings)
    assert outcome.alerts == stories, outcome
    return settings


def alert_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(alerts).order_by(alerts.c.id))]


async def test_one_json_post_per_story_with_the_fields_receivers_rely_on(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    receiver: SlackReceiver,
) -> None:
    settings = await scenario(db_url, tmp_path, feed, receiver, stories=3)
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        assert (await worker.run_once()).sent == 3
    finally:
        await notifiers.aclose()
    stored = {a["id"]: a for a in alert_rows(engine)}
    keys = {r["idempotency_key"] for r in rows(engine)}
    assert len(receiver.received) == 3
    for request in receiver.received:
        assert request.headers["content-type"].startswith("application/json")
        body = request.payload
        assert set(body) >= CONTRACT_FIELDS
        (alert_id,) = body["alert_ids"]
        alert = stored[alert_id]
        assert body["title"] == alert["title"] and body["url"] == alert["url"]
        assert (body["feed"], body["rules"], body["severity"]) == ("wire", ["acme"], "high")
        assert body["fact_changes"] == [] and isinstance(body["new_terms"], list)
        assert request.headers[IDEMPOTENCY_HEADER.lower()] in keys
    assert len({r.headers[IDEMPOTENCY_HEADER.lower()] for r in receiver.received}) == 3
    assert {a["status"] for a in stored.values()} == {"sent"}


async def test_retries_after_5xx_429_and_a_reset_carry_one_idempotency_key_and_deliver_once(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    receiver: SlackReceiver,
) -> None:
    settings = await scenario(db_url, tmp_path, feed, receiver, stories=1)
    receiver.script(server_error(503, "busy"), rate_limited("3"), reset())
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        assert (await worker.run_once()).retried == 1  # 503: back off, one failed attempt
        (row,) = rows(engine)
        assert (row["state"], row["attempts"]) == ("pending", 1) and "503" in row["last_error"]
        clock.advance_to(row["next_attempt_at"])
        throttled_at = clock.now()
        assert (await worker.run_once()).retried == 1  # 429: pause, not a failed attempt
        (row,) = rows(engine)
        assert row["attempts"] == 1 and row["next_attempt_at"] == throttled_at + timedelta(seconds=3)
        assert health(engine, clock)["webhook:ops"]["paused_until"] == throttled_at + timedelta(seconds=3)
        clock.advance(2.9)
        assert (await worker.run_once()).attempted == 0
        clock.advance(0.1)
        assert (await worker.run_once()).retried == 1  # reset after the body went: ambiguous
        (row,) = rows(engine)
        assert row["ambiguous"] and row["attempts"] == 2
        clock.advance_to(row["next_attempt_at"])
        assert (await worker.run_once()).sent == 1
    finally:
        await notifiers.aclose()
    (row,) = rows(engine)
    assert (row["state"], row["attempts"], row["ambiguous"]) == ("sent", 3, True)
    assert len(receiver.received) == 4 and len({r.body for r in receiver.received}) == 1
    assert {r.headers[IDEMPOTENCY_HEADER.lower()] for r in receiver.received} == {row["idempotency_key"]}
    assert [a["status"] for a in alert_rows(engine)] == ["sent"]


async def test_a_post_never_outlasts_half_the_delivery_lease(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    receiver: SlackReceiver,
) -> None:
    """Each message is sent under a fresh lease, and a post still running when its lease ran out
    could be claimed and posted again by another worker. Under a 6 s lease a receiver that
    answers after 5 s is given up on at 3 s (maybe posted: retried with the same key)."""
    settings = await scenario(db_url, tmp_path, feed, receiver, stories=1, delivery_lease_s=6)
    receiver.script(slow(5.0))
    worker, notifiers = make_worker(engine, settings, clock, own_clients=True)
    try:
        started = time.monotonic()
        assert (await worker.run_once()).retried == 1
        assert time.monotonic() - started < 4.5
        (row,) = rows(engine)
        assert row["ambiguous"] and "3 s" in row["last_error"], row["last_error"]
        clock.advance_to(row["next_attempt_at"])
        assert (await worker.run_once()).sent == 1
    finally:
        await notifiers.aclose()


async def test_a_worker_that_dies_mid_send_is_followed_by_a_resend_with_the_same_key(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    receiver: SlackReceiver,
) -> None:
    settings = await scenario(db_url, tmp_path, feed, receiver, stories=1)
    lease = timedelta(seconds=settings.delivery_lease_s)
    claimed = claim_as(engine, settings, clock, owner="worker-1")
    _, notifiers_1 = make_worker(engine, settings, clock, owner="worker-1")
    try:
        await notifiers_1.deliver("webhook:ops", claimed)  # sent; the worker dies before recording
    finally:
        await notifiers_1.aclose()
    second, notifiers_2 = make_worker(engine, settings, clock, owner="worker-2")
    try:
        assert (await second.run_once()).attempted == 0  # the dead worker's lease still holds
        clock.advance(lease.total_seconds() + 1)
        assert (await second.run_once()).sent == 1
    finally:
        await notifiers_2.aclose()
    (row,) = rows(engine)
    assert row["state"] == "sent" and row["ambiguous"]
    assert len(receiver.received) == 2
    assert {r.headers[IDEMPOTENCY_HEADER.lower()] for r in receiver.received} == {row["idempotency_key"]}


@pytest.mark.parametrize(
    ("answer", "state", "status"),
    [(channel_not_found(), "held", "pending"), (Answer(422, "unprocessable"), "failed", "failed")],
    ids=["gone-holds-the-channel", "refused-fails-the-message"],
)
async def test_a_gone_endpoint_holds_its_channel_and_a_refused_message_fails_alone(
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed: LoopbackHTTPServer,
    clock: FakeClock,
    receiver: SlackReceiver,
    answer: Answer,
    state: str,
    status: str,
) -> None:
    settings = await scenario(db_url, tmp_path, feed, receiver, stories=1)
    receiver.script(answer)
    worker, notifiers = make_worker(engine, settings, clock)
    try:
        await worker.run_once()
    finally:
        await notifiers.aclose()
    (row,) = rows(engine)
    assert row["state"] == state and str(answer.status) in row["last_error"]
    assert "SECRETHOOKTOKEN" not in row["last_error"]
    assert [a["status"] for a in alert_rows(engine)] == [status]
    assert (health(engine, clock)["webhook:ops"]["broken"] is not None) is (state == "held")


def test_poll_once_posts_to_the_webhook_named_in_the_environment_and_never_logs_its_url(
    db_url: str, tmp_path: Path, feed: LoopbackHTTPServer
) -> None:
    with SlackReceiver(path=HOOK_PATH) as hook:
        feed.route("/f.xml", body=rss_items(*acme_items(2)))
        rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["webhook:ops"])
        env = service_env(db_url, rules, RIVALWATCH_WEBHOOKS=f'{{"ops": "{hook.url}"}}')
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        done = rivalwatch("poll", "--once", env=env)
        assert done.returncode == 0, done.stderr
        assert "2 alerts on 2 stories" in done.stdout
        assert len(hook.received) == 2
        assert all(r.payload["rules"] == ["acme"] for r in hook.received)
    assert "SECRETHOOKTOKEN" not in done.stdout + done.stderr
