"""Alerts as the store keeps them, and a later rule on a story whose message already exists."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.alerts.model import Alert, NewAlert
from service.baselines.change import FactChange
from service.config import load_settings
from service.matching.compile import compile_rules
from service.notify.alert_status import settle_alert_statuses
from service.notify.channels import Notifiers
from service.notify.digest_job import enqueue_digest, preview_digest
from service.notify.enqueue import enqueue_alerts
from service.rulebook import RuleBook
from service.store import alerts as alert_store
from service.store import db, digests, outbox
from service.store.tables import alerts, deliveries, delivery_alerts

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STORY = 7
KEY = f"slack:story:{STORY}"
NO_RULES = RuleBook(version="v1", rules={}, matcher=compile_rules([]), baselines={})  # routes by the alerts
SLACK = Notifiers.from_settings(load_settings(slack_webhook_url="http://127.0.0.1:9/hook"))


def raised(rule: str, **changes: Any) -> NewAlert:
    fields: dict[str, Any] = {
        "dedup_key": f"{rule}:story:{STORY}", "rule_id": rule, "rule_name": f"{rule} news",
        "rules_version": "v1", "kind": "keyword", "severity": "high", "status": "pending", "notify": None,
        "baselines": ({"id": "nissan-china", "version": "abc"},), "title": "Nissan to sell the N7 in Mexico",
        "snippet": "Nissan will sell the N7 in Mexico.", "reason": "new against nissan-china (novelty 0.7)",
        "created_at": NOW, "story_id": STORY, "url": "https://news.example/n7", "matched": (rule.title(),),
        "highlights": ((0, 6),), "novelty": 0.7, "new_terms": ("N7",),
    }  # fmt: skip
    return NewAlert(**(fields | changes))


def store_and_enqueue(engine: Engine, *new: NewAlert) -> tuple[list[Alert], int]:
    def work(conn: Connection) -> tuple[list[Alert], int]:
        stored = alert_store.insert_alerts(conn, new)
        return stored, enqueue_alerts(conn, book=NO_RULES, new_alerts=stored, destinations=SLACK, now=NOW)

    return db.run_transaction(engine, work)


def delivery(engine: Engine) -> tuple[str, list[int], dict[str, Any], set[int]]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(deliveries).where(deliveries.c.idempotency_key == KEY)).one()
        linked = set(conn.execute(sa.select(delivery_alerts.c.alert_id)).scalars())
    return row.state, row.alert_ids, row.payload, linked


def set_delivery(engine: Engine, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(deliveries).where(deliveries.c.idempotency_key == KEY).values(**values))


def test_an_alert_reads_back_as_it_was_raised_with_its_id(engine: Engine) -> None:
    change = FactChange(
        "nev-models", "NEV models for China", 10.0, 8.0, "models", "Eight now.", "NEV: 10 → 8"
    )
    new = raised("nissan", fact_changes=(change,), notify=("slack", "digest"))

    stored, _ = store_and_enqueue(engine, new, new)  # the second copy is the same alert: not stored

    with engine.connect() as conn:
        listed = alert_store.list_alerts(conn)
        undigested = digests.undigested_alerts(conn, until=NOW)
    assert len(stored) == 1 and listed == undigested == stored
    assert stored[0] == Alert(**{f: getattr(new, f) for f in NewAlert.__dataclass_fields__}, id=stored[0].id)


def test_a_later_rule_is_named_in_the_waiting_message_and_its_alert_linked(engine: Engine) -> None:
    (first,), added = store_and_enqueue(engine, raised("nissan"))
    (later,), added_later = store_and_enqueue(engine, raised("mexico"))

    state, alert_ids, payload, linked = delivery(engine)
    assert (added, added_later) == (1, 0)
    assert state == outbox.PENDING and alert_ids == [first.id, later.id] == payload["view"]["alert_ids"]
    assert [r["id"] for r in payload["view"]["rules"]] == ["nissan", "mexico"]
    assert linked == {first.id, later.id}


def test_a_later_rule_leaves_a_sent_message_as_it_was_and_follows_its_status(engine: Engine) -> None:
    (first,), _ = store_and_enqueue(engine, raised("nissan"))
    set_delivery(engine, state=outbox.SENT, sent_at=NOW)
    _, _, sent_payload, _ = delivery(engine)

    (later,), added = store_and_enqueue(engine, raised("mexico"))

    state, alert_ids, payload, linked = delivery(engine)
    with engine.connect() as conn:
        (status,) = [a.status for a in alert_store.list_alerts(conn, alert_id=later.id)]
    assert added == 0 and state == outbox.SENT
    assert (alert_ids, payload) == ([first.id], sent_payload)
    assert linked == {first.id, later.id} and status == "sent"


def test_a_message_waiting_since_before_rule_hits_were_objects_takes_a_later_rule(engine: Engine) -> None:
    (first,), _ = store_and_enqueue(engine, raised("nissan"))
    _, _, payload, _ = delivery(engine)
    old_rules = [[r["id"], r["name"], r["severity"], r["matched"]] for r in payload["view"]["rules"]]
    set_delivery(engine, payload={**payload, "view": {**payload["view"], "rules": old_rules}})

    (later,), _ = store_and_enqueue(engine, raised("mexico", severity="critical"))

    _, alert_ids, joined, _ = delivery(engine)
    assert alert_ids == joined["view"]["alert_ids"] == [first.id, later.id]
    assert joined["view"]["rules"] == [
        {"id": "nissan", "name": "nissan news", "severity": "high", "matched": ["Nissan"]},
        {"id": "mexico", "name": "mexico news", "severity": "critical", "matched": ["Mexico"]},
    ]


def test_a_digest_built_while_another_is_open_reports_none_of_its_alerts_again(
    engine: Engine, db_url: str
) -> None:
    """The scheduled digest is still rendering when ``digest --send`` builds one of its own."""
    settings = load_settings(
        database_url=db_url, smtp_host="127.0.0.1", smtp_starttls=False, digest_to="team@example.com"
    )
    (alert,) = db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, [raised("nissan")]))
    later = NOW + timedelta(hours=1)
    scheduled = engine.connect()
    transaction = scheduled.begin()
    enqueue_digest(scheduled, settings=settings, period_key="2026-03-01", now=later, send_empty=False)

    def send_now() -> None:
        db.run_transaction(
            engine,
            lambda conn: enqueue_digest(
                conn,
                settings=settings,
                period_key="manual:x",
                now=later + timedelta(seconds=1),
                send_empty=True,
            ),
        )

    manual = threading.Thread(target=send_now)
    manual.start()
    manual.join(timeout=1.0)  # it reads the alerts the open digest is reporting: it must wait
    transaction.commit()
    scheduled.close()
    manual.join(timeout=30)
    assert not manual.is_alive()
    with engine.connect() as conn:
        digest_rows = conn.execute(
            sa.select(deliveries.c.idempotency_key, deliveries.c.alert_ids).where(
                deliveries.c.channel == "digest"
            )
        ).all()
        reported_in = conn.execute(sa.select(alerts.c.digest_id).where(alerts.c.id == alert.id)).scalar_one()
    assert [key for key, ids in digest_rows if alert.id in (ids or [])] == ["digest:2026-03-01"]
    assert reported_in == 1


def test_a_digest_preview_reads_without_locking_what_a_writer_holds(engine: Engine, db_url: str) -> None:
    settings = load_settings(
        database_url=db_url, smtp_host="127.0.0.1", smtp_starttls=False, digest_to="team@example.com"
    )
    (alert,) = db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, [raised("nissan")]))
    with engine.connect() as writer, engine.connect() as reader:
        writing = writer.begin()
        writer.execute(sa.update(alerts).where(alerts.c.id == alert.id).values(reason="being written"))
        if engine.dialect.name == "postgresql":  # a lock it waited for would fail fast, not hang
            reader.execute(sa.text("SET lock_timeout = '2s'"))
        draft = preview_digest(reader, settings=settings, now=NOW + timedelta(hours=1))
        writing.rollback()
    assert list(draft.alert_ids) == [alert.id]


def racing(engine: Engine, first: NewAlert, second: Callable[[], object]) -> None:
    """A poll stores and enqueues ``first`` and, before it commits, ``second`` runs in another
    transaction: on PostgreSQL it must wait for the poll wherever they touch the same message
    (SQLite's writers wait for each other anyway)."""
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            second()
        except BaseException as exc:  # re-raised by the test below
            errors.append(exc)

    other = threading.Thread(target=run_second)
    with db.writing(engine) as conn:
        stored = alert_store.insert_alerts(conn, [first])
        enqueue_alerts(conn, book=NO_RULES, new_alerts=stored, destinations=SLACK, now=NOW)
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive(), "the second transaction did not wait for the poll"
    other.join(timeout=30)
    assert not other.is_alive() and not errors, errors


def test_two_polls_joining_one_waiting_message_at_once_both_are_named(engine: Engine) -> None:
    # Both merged their rule into the payload they had read; the second's write dropped the first's.
    store_and_enqueue(engine, raised("nissan"))

    racing(engine, raised("mexico"), lambda: store_and_enqueue(engine, raised("tesla")))

    state, alert_ids, payload, linked = delivery(engine)
    assert state == outbox.PENDING and len(alert_ids) == 3 and payload["view"]["alert_ids"] == alert_ids
    assert [r["id"] for r in payload["view"]["rules"]] == ["nissan", "mexico", "tesla"]
    assert linked == set(alert_ids)


def test_a_poll_joining_a_message_while_the_worker_records_its_send_leaves_no_alert_pending(
    engine: Engine,
) -> None:
    # The poll linked its alert to a message being sent; the worker, recording the send meanwhile,
    # settled the alerts it could see, and the poll's stayed pending for good.
    store_and_enqueue(engine, raised("nissan"))
    set_delivery(
        engine, state=outbox.SENDING, lease_owner="worker-1", lease_expires_at=NOW + timedelta(hours=1)
    )

    def record_the_send() -> None:
        def work(conn: Connection) -> None:
            sent = outbox.mark_sent(conn, [1], owner="worker-1", now=NOW, ambiguous=False)
            settle_alert_statuses(conn, outbox.linked_alert_ids(conn, sent), immediate=SLACK.immediate)

        db.run_transaction(engine, work)

    racing(engine, raised("mexico"), record_the_send)

    with engine.connect() as conn:
        statuses = {a.rule_id: a.status for a in alert_store.list_alerts(conn)}
    assert delivery(engine)[0] == outbox.SENT
    assert statuses == {"nissan": "sent", "mexico": "sent"}
