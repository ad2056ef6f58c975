"""The outbox worker's decision table with a fake notifier: each outcome class a notifier can
raise, and what it leaves in the outbox, the channel and the alert (one SQLite file, no poll)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.alerts.model import NewAlert
from service.config import load_settings
from service.errors import (
    ChannelBrokenError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    ThrottledDeliveryError,
)
from service.matching.compile import compile_rules
from service.notify.channels import Notifiers
from service.notify.enqueue import enqueue_alerts
from service.notify.notifier import Delivered, one_message_each
from service.notify.worker import OutboxWorker, RoundResult
from service.rulebook import RuleBook
from service.store import alerts as alert_store
from service.store import channel_state, db, outbox
from service.store.tables import alerts, deliveries

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NO_RULES = RuleBook(version="v1", rules={}, matcher=compile_rules([]), baselines={})  # routes by the alerts
SETTINGS = load_settings(delivery_retry_base_s=10.0, delivery_retry_max_s=60.0)


class FakeNotifier:
    """Answers each send with the next scripted outcome (None: delivered) and records what it got."""

    immediate = True
    configured = True
    targets = ("",)

    def __init__(self, *outcomes: DeliveryError | None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[list[int]] = []

    def missing(self, target: str) -> str | None:
        return None

    def settings_of(self, target: str) -> tuple[object, ...]:
        return ()

    def spacing(self, target: str) -> timedelta:
        return timedelta(0)

    def chunk(self, rows: Sequence[outbox.Claimed]) -> list[list[outbox.Claimed]]:
        return one_message_each(rows)

    async def send(self, channel: str, target: str, rows: Sequence[outbox.Claimed]) -> Delivered:
        self.sent.append([r.id for r in rows])
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return Delivered()

    async def aclose(self) -> None:
        return None


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outbox") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def engine(template: Path, tmp_path: Path) -> Iterator[Engine]:
    copy = tmp_path / "rivalwatch.db"
    copy.write_bytes(template.read_bytes())
    engine = db.make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


def raised(story: int) -> NewAlert:
    fields: dict[str, Any] = {
        "dedup_key": f"acme:story:{story}", "rule_id": "acme", "rule_name": "Acme", "rules_version": "v1",
        "kind": "keyword", "severity": "high", "status": "pending", "notify": ("fake",), "baselines": (),
        "title": f"Acme story {story}", "snippet": "Acme did a thing.", "reason": "new", "created_at": NOW,
        "story_id": story, "url": f"https://news.example/{story}", "matched": ("Acme",),
        "highlights": ((0, 4),), "novelty": None, "new_terms": (),
    }  # fmt: skip
    return NewAlert(**fields)


async def one_round(engine: Engine, notifier: FakeNotifier, *, stories: int = 1) -> RoundResult:
    notifiers = Notifiers({"fake": notifier})

    def enqueue(conn: Connection) -> None:
        stored = alert_store.insert_alerts(conn, [raised(s) for s in range(1, stories + 1)])
        enqueue_alerts(conn, book=NO_RULES, new_alerts=stored, destinations=notifiers, now=NOW)

    db.run_transaction(engine, enqueue)
    worker = OutboxWorker(
        engine=engine,
        notifiers=notifiers,
        settings=SETTINGS,
        owner="w",
        clock=lambda: NOW,
        rng=random.Random(1),
    )
    return await worker.run_once()


def table(engine: Engine, which: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(which).order_by(which.c.id))]


def channel(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        (health,) = channel_state.channel_health(conn, now=NOW)
    return health


@pytest.mark.parametrize(
    ("outcome", "result", "state", "attempts", "wait_s", "alert_status"),
    [
        (None, RoundResult(sent=1), "sent", 1, None, "sent"),
        (RetryableDeliveryError("503"), RoundResult(retried=1), "pending", 1, (5.0, 10.0), "pending"),
        (
            ThrottledDeliveryError("429", retry_after_s=7.0),
            RoundResult(retried=1),
            "pending",
            0,
            (7.0, 7.0),
            "pending",
        ),
        (PermanentDeliveryError("400 invalid"), RoundResult(failed=1), "failed", 1, None, "failed"),
        (ChannelBrokenError("404 gone"), RoundResult(held=1), "held", 0, None, "pending"),
    ],
    ids=["delivered", "retryable", "throttled", "permanent", "channel-broken"],
)
async def test_each_outcome_class_leaves_the_outbox_as_the_table_says(
    engine: Engine,
    outcome: DeliveryError | None,
    result: RoundResult,
    state: str,
    attempts: int,
    wait_s: tuple[float, float] | None,
    alert_status: str,
) -> None:
    assert await one_round(engine, FakeNotifier(outcome)) == result
    (row,) = table(engine, deliveries)
    assert (row["state"], row["attempts"]) == (state, attempts)
    if wait_s is not None:
        low, high = wait_s
        assert low <= (row["next_attempt_at"].replace(tzinfo=UTC) - NOW).total_seconds() <= high
    if outcome is not None:
        assert row["last_error"] == str(outcome)
    assert [a["status"] for a in table(engine, alerts)] == [alert_status]
    health = channel(engine)
    assert (health["broken"] is not None) is isinstance(outcome, ChannelBrokenError)
    assert (health["paused_until"] is not None) is isinstance(outcome, ThrottledDeliveryError)


async def test_an_ambiguous_retry_is_remembered_on_the_message(engine: Engine) -> None:
    await one_round(engine, FakeNotifier(RetryableDeliveryError("reset after sending", ambiguous=True)))
    (row,) = table(engine, deliveries)
    assert row["state"] == "pending" and row["ambiguous"]


async def test_after_a_failure_the_rest_of_the_claim_is_handed_back_untried(engine: Engine) -> None:
    notifier = FakeNotifier(RetryableDeliveryError("503"))
    assert await one_round(engine, notifier, stories=3) == RoundResult(retried=1)
    first, *rest = table(engine, deliveries)
    assert notifier.sent == [[first["id"]]]  # the other two were never offered
    assert (first["attempts"], first["last_error"]) == (1, "503")
    assert [(r["state"], r["attempts"], r["last_error"]) for r in rest] == [
        ("pending", 0, "not tried: channel failed")
    ] * 2
