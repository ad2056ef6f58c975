"""The scheduler in-process against real loopback servers (rows B3, B7, B8 and hot reload)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from service.config import Settings
from service.notify.channels import Notifiers
from service.pipeline import Poller
from service.reload import Reloader
from service.rulebook import ActiveRuleBook
from service.scheduler import Scheduler
from service.sources.fetch import Fetcher
from service.store import db
from service.store.feeds import list_health
from service.store.tables import feeds, items
from service.store.watch import DatabaseWatch
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import test_settings, write_feeds


def rss(*titles: str) -> bytes:
    entries = "".join(f"<item><title>{t}</title><guid>{t}</guid></item>" for t in titles)
    return f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'.encode()


@pytest.fixture
def server() -> Any:
    with LoopbackHTTPServer() as srv:
        yield srv


def utcnow() -> datetime:
    return datetime.now(UTC)


async def scheduler_for(
    settings: Settings, engine: Engine, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[Scheduler]:
    fetcher = Fetcher.from_settings(settings)
    rules = ActiveRuleBook()
    poller = Poller(
        engine=engine,
        fetcher=fetcher,
        settings=settings,
        owner="test-owner",
        clock=clock,
        rng=random.Random(7),
        destinations=Notifiers.from_settings(settings),
        watch=DatabaseWatch.of(engine),
        rulebook=rules.get,
    )
    try:
        reloader = Reloader(engine=engine, rules_dir=settings.rules_dir, rules=rules, clock=utcnow)
        yield Scheduler(poller=poller, reloader=reloader)
    finally:
        await fetcher.aclose()


def names_by_status(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {f.name: f.status for f in list_health(conn)}


async def every_feed_polled(engine: Engine, *, within_s: float = 10.0) -> bool:
    """Wait (bounded) until every feed's last poll succeeded, without ticking."""
    for _ in range(round(within_s / 0.1)):
        if set(names_by_status(engine).values()) == {"ok"}:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_slow_feeds_do_not_hold_up_the_others(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    for i in range(2):
        server.route(f"/slow{i}.xml", body=rss(f"slow {i}"), delay_s=4.0)
    for i in range(6):
        server.route(f"/fast{i}.xml", body=rss(f"fast {i}"))
    declared = [(f"slow{i}", server.url(f"/slow{i}.xml")) for i in range(2)]
    declared += [(f"fast{i}", server.url(f"/fast{i}.xml")) for i in range(6)]
    write_feeds(tmp_path / "rules", declared)
    settings = test_settings(db_url, tmp_path / "rules", poll_concurrency=3, fetch_per_host_concurrency=8)
    async for scheduler in scheduler_for(settings, engine):
        scheduler.reloader.load()
        for _ in range(40):  # bounded: at most 40 ticks of 0.1 s
            await scheduler.tick()
            statuses = names_by_status(engine)
            if all(statuses[f"fast{i}"] == "ok" for i in range(6)):
                break
            await asyncio.sleep(0.1)
        statuses = names_by_status(engine)
        assert all(statuses[f"fast{i}"] == "ok" for i in range(6)), statuses
        assert statuses["slow0"] == "new" and statuses["slow1"] == "new"  # still in flight
        await scheduler.drain(grace_s=10)
    assert names_by_status(engine)["slow0"] == "ok"


async def test_slots_freed_between_ticks_are_filled_while_feeds_are_due(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    """One tick, 12 due feeds, 4 slots: the rest are claimed as slots free up, not a tick later
    each (which capped a service at poll_concurrency / tick_s polls a second); every scheduled
    start is timed from its due time."""
    from prometheus_client import REGISTRY

    for i in range(12):
        server.route(f"/f{i}.xml", body=rss(f"item {i}"))
    write_feeds(tmp_path / "rules", [(f"f{i}", server.url(f"/f{i}.xml")) for i in range(12)])
    settings = test_settings(db_url, tmp_path / "rules", poll_concurrency=4, fetch_per_host_concurrency=8)
    started_before = REGISTRY.get_sample_value("rivalwatch_poll_start_delay_seconds_count") or 0
    async for scheduler in scheduler_for(settings, engine):
        scheduler.reloader.load()
        assert await scheduler.tick() == 4
        assert await every_feed_polled(engine), "no second tick came: the freed slots must be filled"
        await scheduler.drain(grace_s=5)
    started = REGISTRY.get_sample_value("rivalwatch_poll_start_delay_seconds_count") or 0
    assert started - started_before == 12


async def test_a_tick_that_finds_every_slot_busy_keeps_filling_slots_as_they_free(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    """Under a backlog the slots are busy when the next tick comes: that tick claims nothing,
    and must not stop the slots from being filled as they free up."""
    for i in range(8):
        server.route(f"/s{i}.xml", body=rss(f"slow {i}"), delay_s=0.3)
    write_feeds(tmp_path / "rules", [(f"s{i}", server.url(f"/s{i}.xml")) for i in range(8)])
    settings = test_settings(db_url, tmp_path / "rules", poll_concurrency=2, fetch_per_host_concurrency=8)
    async for scheduler in scheduler_for(settings, engine):
        scheduler.reloader.load()
        assert await scheduler.tick() == 2
        assert await scheduler.tick() == 0  # every slot busy
        assert await every_feed_polled(engine), "no further tick came: the freed slots must be filled"
        await scheduler.drain(grace_s=5)


async def test_a_poll_that_outlives_its_lease_is_not_claimed_again_by_its_own_process(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    """The lease of a slow poll runs out while it is still fetching: the next tick must not
    start a second poll of the feed (both would pass the owner's fence, and the first to
    finish would take the other's slot with it)."""
    server.route("/slow.xml", body=rss("slow"), delay_s=1.5)
    write_feeds(tmp_path / "rules", [("slow", server.url("/slow.xml"))])
    settings = test_settings(db_url, tmp_path / "rules", poll_concurrency=4)
    later = timedelta(0)

    def clock() -> datetime:
        return utcnow() + later

    async for scheduler in scheduler_for(settings, engine, clock=clock):
        scheduler.reloader.load()
        assert await scheduler.tick() == 1
        later = timedelta(seconds=settings.poll_lease_s + 1)  # the lease has run out
        assert await scheduler.tick() == 0
        assert scheduler.in_flight == 1
        await scheduler.drain(grace_s=10)
    assert names_by_status(engine)["slow"] == "ok"


async def test_declarations_reload_on_change_and_a_broken_file_keeps_the_last_good(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    server.route("/a.xml", body=rss("a"))
    server.route("/b.xml", body=rss("b"))
    rules = tmp_path / "rules"
    write_feeds(rules, [("a", server.url("/a.xml"))])
    settings = test_settings(db_url, rules)
    async for scheduler in scheduler_for(settings, engine):
        scheduler.reloader.load()
        write_feeds(rules, [("a", server.url("/a.xml")), ("b", server.url("/b.xml"))])
        await scheduler.tick()
        assert set(names_by_status(engine)) == {"a", "b"}
        (rules / "feeds.yaml").write_text("feeds:\n  - name: a\n    url: ftp://nowhere\n")
        await scheduler.tick()
        with engine.connect() as conn:
            urls = dict(conn.execute(sa.select(feeds.c.name, feeds.c.url)).all())
        assert urls == {"a": server.url("/a.xml"), "b": server.url("/b.xml")}
        await scheduler.drain(grace_s=5)


async def test_a_full_database_fails_the_poll_cleanly_and_it_recovers(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    db_url = f"sqlite:///{tmp_path}/rw.db"
    setup = db.make_engine(db_url)
    db.upgrade(setup)
    setup.dispose()
    server.route("/f.xml", body=rss(*(f"item {i} " + "x" * 3000 for i in range(50))))
    write_feeds(tmp_path / "rules", [("f", server.url("/f.xml"))])
    settings = test_settings(db_url, tmp_path / "rules")
    full = db.make_engine(db_url)

    @event.listens_for(full, "connect")
    def _cap_size(dbapi_conn: Any, _record: Any) -> None:
        # The file may not grow past its current size: the next big write hits "disk full".
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    async for scheduler in scheduler_for(settings, full):
        scheduler.reloader.load()
        (outcome,) = await scheduler.poll_all_once()
    assert outcome.outcome == "failed" and "full" in (outcome.error or "")
    with full.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one() == 0
        # A small write still fits: the refused poll gave its lease back, so no wait for it.
        assert conn.execute(sa.select(feeds.c.lease_owner)).scalar_one() is None
    full.dispose()

    healthy = db.make_engine(db_url)
    async for scheduler in scheduler_for(settings, healthy):
        (outcome,) = await scheduler.poll_all_once()
    assert outcome.outcome == "new" and outcome.new_items == 50
    healthy.dispose()


@pytest.mark.postgres
def test_a_dropped_postgres_connection_is_rolled_back_and_retried(pg_database: str) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(pg_database)
    engine = db.make_engine(pg_database)
    db.upgrade(engine)
    now = utcnow()
    attempts: list[int] = []

    def work(conn: sa.Connection) -> None:
        attempts.append(1)
        conn.execute(
            sa.insert(feeds).values(
                name="once",
                url="https://o.example/rss",
                tags=[],
                enabled=True,
                declared=True,
                consecutive_failures=0,
                next_poll_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        if len(attempts) == 1:
            conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))

    db.run_transaction(engine, work)
    assert len(attempts) == 2
    with engine.connect() as conn:
        assert conn.execute(sa.select(feeds.c.name)).scalars().all() == ["once"]
    engine.dispose()


async def test_a_broken_rule_file_keeps_the_last_good_rules_and_a_fix_activates(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    write_feeds(rules, [("a", server.url("/a.xml"))])
    rule_file = rules / "watch.yaml"
    rule_file.write_text("rules:\n  - id: watch\n    name: Watch\n    match: alpha\n")
    settings = test_settings(db_url, rules)
    async for scheduler in scheduler_for(settings, engine):
        scheduler.reloader.load()
        book = scheduler.reloader.rules.get()
        assert book is not None and [m.rule_id for m in book.matcher.match(title="alpha", text="")] == [
            "watch"
        ]

        assert scheduler.reloader.rules.state.rejected_at is None

        rule_file.write_text("rules:\n  - id: watch\n    name: Watch\n    match: (beta\n")
        await scheduler.tick()
        assert scheduler.reloader.rules.get() is book  # the broken file changed nothing
        refused = scheduler.reloader.rules.state
        assert refused.rejected_at is not None and refused.book is book
        assert len(refused.problems) == 1 and refused.problems[0].startswith(f"{rule_file}:4:")

        rule_file.write_text("rules:\n  - id: watch\n    name: Watch\n    match: beta\n")
        await scheduler.tick()
        fixed = scheduler.reloader.rules.get()
        assert fixed is not None and fixed is not book and fixed.version != book.version
        assert (
            scheduler.reloader.rules.state.rejected_at is None
            and scheduler.reloader.rules.state.problems == ()
        )
        assert [m.rule_id for m in fixed.matcher.match(title="beta", text="")] == ["watch"]
        assert fixed.matcher.match(title="alpha", text="") == []
        await scheduler.drain(grace_s=5)
