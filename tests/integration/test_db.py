"""Migrations, schema checks and SQLite locking (matrix rows B4, B6, B9)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from service.errors import SchedulerLockedError, SchemaOutdatedError
from service.store import db
from service.store.search import SEARCH_TABLE
from service.store.tables import feeds, metadata

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_the_schema_check_reads_the_revisions_alembic_reads() -> None:
    """Every command checks the schema without importing Alembic: its reading must agree."""
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    assert db.code_revisions() == {r.revision: r.down_revision for r in script.walk_revisions()}
    assert db.code_heads() == set(script.get_heads())


def test_the_revision_recorded_in_the_database_is_read_as_alembic_reads_it(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert db.database_heads(engine) == set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def _outside_search_index(name: str | None, kind: str, parent: object) -> bool:
    return not (name or "").startswith(SEARCH_TABLE)


def test_upgrade_from_empty_reaches_the_code_schema(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    with pytest.raises(SchemaOutdatedError, match="rivalwatch db upgrade"):
        db.ensure_schema_current(engine)
    db.upgrade(engine)
    db.ensure_schema_current(engine)
    with engine.connect() as conn:
        # The search index differs by database and lives outside the metadata (store.search).
        context = MigrationContext.configure(conn, opts={"include_name": _outside_search_index})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"tables.py and migrations/ disagree: {diff}"
    engine.dispose()


def test_each_revision_upgrades_with_data_kept(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    revisions = revisions_oldest_first()
    db.upgrade(engine, revisions[0])
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO feeds (name, url, tags, enabled, declared, consecutive_failures, next_poll_at,"
                " created_at, updated_at) VALUES ('kept', 'https://k.example/rss', '[]', true, true, 0,"
                " :t, :t, :t)"
            ),
            {"t": NOW.replace(tzinfo=None)},
        )
    for revision in revisions[1:]:
        db.upgrade(engine, revision)
    db.upgrade(engine)
    db.ensure_schema_current(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(feeds.c.name)).scalars().all() == ["kept"]
    engine.dispose()


ONE_FEED = (
    "INSERT INTO feeds (id, name, url, tags, enabled, declared, consecutive_failures, next_poll_at,"
    " created_at, updated_at)"
    " VALUES (1, 'f', 'https://k.example/rss', '[]', true, true, 0, :t, :t, :t)"
)
"""Feed 1, the row the items of a revision test point at."""


def run_statements(engine: Engine, statements: Sequence[str], t: datetime) -> None:
    """Rows written as a revision's tables stand, in SQL (the current tables' code may not fit them)."""
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), {"t": t})


def test_hits_of_items_moved_before_0013_take_their_items_story(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine, "0012")
    t = NOW.replace(tzinfo=None)
    statements = [
        ONE_FEED,
        "INSERT INTO items (id, feed_id, item_key, story_id, title, text, first_seen_at, revision,"
        " content_hash, title_fp) VALUES (1, 1, 'a', 1, 'Acme', '', :t, 1, 'c', 'fp'),"
        " (2, 1, 'b', 1, 'Acme', '', :t, 2, 'd', 'fp')",  # b was moved into a's story by an edit
        "INSERT INTO rule_hits (rule_id, item_id, story_id, created_at)"
        " VALUES ('acme', 1, 1, :t), ('acme', 2, 2, :t), ('zenith', 2, 2, :t)",
    ]
    run_statements(engine, statements, t)
    db.upgrade(engine)
    with engine.connect() as conn:
        hits = conn.execute(sa.text("SELECT rule_id, item_id, story_id FROM rule_hits")).all()
    assert sorted(tuple(hit) for hit in hits) == [("acme", 1, 1), ("acme", 2, 1), ("zenith", 2, 1)]
    engine.dispose()


def test_a_downgrade_keeps_the_rows_that_point_at_the_tables_it_alters(empty_db_url: str) -> None:
    """Down from 0012 (items) and 0010 (alerts): on SQLite a batch operation rebuilds the table,
    and with foreign keys on, dropping the old copy fired the cascades of the rows pointing at it
    (delivery_alerts emptied)."""
    from alembic import command

    engine = db.make_engine(empty_db_url)
    db.upgrade(engine)
    t = NOW.replace(tzinfo=None)
    statements = [
        ONE_FEED,
        "INSERT INTO items (id, feed_id, item_key, story_id, title, text, first_seen_at, revision,"
        " content_hash, title_fp, source_tag) VALUES (1, 1, 'k', 1, 'Nissan', '', :t, 1, 'c', 'fp', 'tag')",
        "INSERT INTO rule_hits (rule_id, item_id, story_id, created_at) VALUES ('nissan', 1, 1, :t)",
        "INSERT INTO alerts (id, dedup_key, rule_id, rule_name, rules_version, kind, status, severity,"
        " item_id, title, matched, snippet, highlights, fact_changes, new_terms, baselines, reason,"
        " created_at) VALUES (1, 'd', 'nissan', 'Nissan', 'v', 'keyword', 'sent', 'notice', 1, 'Nissan',"
        " '[]', '', '[]', '[]', '[]', '[]', 'new', :t)",
        "INSERT INTO deliveries (id, idempotency_key, channel, kind, alert_ids, payload, state, attempts,"
        " next_attempt_at, ambiguous, created_at) VALUES (1, 'i', 'slack', 'alert', '[1]', '{}', 'sent', 1,"
        " :t, false, :t)",
        "INSERT INTO delivery_alerts (delivery_id, alert_id) VALUES (1, 1)",
    ]
    run_statements(engine, statements, t)
    command.downgrade(db.alembic_config(empty_db_url), "0009")
    with engine.connect() as conn:
        tables = ("items", "rule_hits", "delivery_alerts")
        counts = [conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tables]
        assert counts == [1, 1, 1]
        assert conn.execute(sa.text("SELECT item_id FROM alerts")).scalar_one() == 1
    db.upgrade(engine)
    db.ensure_schema_current(engine)
    engine.dispose()


def test_an_upgrade_runs_without_sqlite_foreign_keys_and_turns_them_on_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    seen: list[tuple[object, int]] = []
    upgrade = command.upgrade

    def recording(cfg: Any, revision: str) -> None:
        conn = cfg.attributes["connection"]
        seen.append((conn.connection.driver_connection, conn.exec_driver_sql("PRAGMA foreign_keys").scalar()))
        upgrade(cfg, revision)

    monkeypatch.setattr(command, "upgrade", recording)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'rw.db'}")
    db.upgrade(engine)
    ((driver, during),) = seen
    assert during == 0
    assert driver.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # type: ignore[attr-defined]
    engine.dispose()


def test_a_database_newer_than_the_code_is_refused(db_url: str) -> None:
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    with pytest.raises(SchemaOutdatedError, match="newer than this code"):
        db.ensure_schema_current(engine)
    engine.dispose()


def test_second_scheduler_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rw.db"
    with db.scheduler_lock(url):
        refused = pytest.raises(SchedulerLockedError, match="already running")
        with refused, db.scheduler_lock(url):
            pass
    with db.scheduler_lock(url):  # released after the first one ended
        pass


def test_a_write_waits_for_another_writer_holding_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rw.db"
    engine = db.make_engine(url)
    db.upgrade(engine)
    holder = sqlite3.connect(tmp_path / "rw.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE feeds SET etag = 'x'")
    released = threading.Event()

    def release_later() -> None:
        time.sleep(2)
        holder.execute("COMMIT")
        released.set()

    threading.Thread(target=release_later, daemon=True).start()
    started = time.monotonic()

    def read_then_write(conn: sa.Connection) -> int:
        count = conn.execute(sa.select(sa.func.count()).select_from(feeds)).scalar_one()
        conn.execute(
            sa.insert(feeds).values(
                name="n",
                url="https://n.example/",
                tags=[],
                enabled=True,
                declared=True,
                consecutive_failures=0,
                next_poll_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        return int(count)

    assert db.run_transaction(engine, read_then_write) == 0
    assert released.is_set() and time.monotonic() - started >= 1.5
    holder.close()
    engine.dispose()


def test_a_reader_does_not_wait_for_a_writer_holding_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rw.db"
    engine = db.make_engine(url)
    db.upgrade(engine)
    holder = sqlite3.connect(tmp_path / "rw.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE feeds SET etag = 'x'")
    try:
        started = time.monotonic()
        with engine.connect() as conn:  # health checks and listings read like this
            assert conn.execute(sa.select(sa.func.count()).select_from(feeds)).scalar_one() == 0
        assert time.monotonic() - started < 1.0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()


def test_writers_of_one_process_take_turns_and_their_wait_is_counted(tmp_path: Path) -> None:
    """Two threads of one process: the second writer waits for the first one's COMMIT in this
    process (not in SQLite's sleeping busy handler), and the wait shows in ``WRITE_WAITS``."""
    engine = db.make_engine(f"sqlite:///{tmp_path}/turns.db")
    db.upgrade(engine)
    inside = threading.Event()
    order: list[str] = []

    def first() -> None:
        with db.writing(engine) as conn:
            conn.execute(sa.update(feeds).values(etag="first"))
            inside.set()
            time.sleep(0.5)
            order.append("first done")

    waited_before, begun_before = db.WRITE_WAITS.seconds, db.WRITE_WAITS.transactions
    holder = threading.Thread(target=first)
    holder.start()
    assert inside.wait(5)
    with db.writing(engine) as conn:
        order.append("second in")
        conn.execute(sa.update(feeds).values(etag="second"))
    holder.join()
    engine.dispose()
    assert order == ["first done", "second in"]
    assert db.WRITE_WAITS.transactions - begun_before == 2
    assert db.WRITE_WAITS.seconds - waited_before >= 0.3
    from prometheus_client import REGISTRY

    import service.metrics  # noqa: F401  (registers the collector that reads WRITE_WAITS)

    assert REGISTRY.get_sample_value("rivalwatch_db_write_wait_seconds_total") == db.WRITE_WAITS.seconds
    assert REGISTRY.get_sample_value("rivalwatch_db_write_transactions_total") == db.WRITE_WAITS.transactions


def test_a_writer_that_cannot_get_its_turn_in_time_is_told_the_database_is_locked(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path}/turns.db", busy_timeout_s=0.3)
    db.upgrade(engine)
    inside, done = threading.Event(), threading.Event()

    def hold() -> None:
        with db.writing(engine):
            inside.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="database is locked"), db.writing(engine):
            pass
        assert 0.25 <= time.monotonic() - started < 3
    finally:
        done.set()
        holder.join()
        engine.dispose()


@pytest.mark.postgres
def test_a_transaction_postgres_picks_as_a_deadlock_victim_runs_again(pg_database: str) -> None:
    # Two writers locking two rows in opposite orders: the server rolls one back (40P01), and
    # running it again is all it takes. (Told by its code: the words of the message, which say
    # "blocked by process", are the server's to change.)
    from tests.conftest import reset_postgres

    reset_postgres(pg_database)
    engine = db.make_engine(pg_database)
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int); INSERT INTO pair VALUES (1, 0), (2, 0)")
        )
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def writer(name: str, first: int, second: int) -> None:
        def work(conn: sa.Connection) -> None:
            attempts[name] += 1
            conn.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
            if attempts[name] == 1:
                both_hold_one.wait()  # the circle: each now waits for the row the other holds
            conn.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})

        try:
            db.run_transaction(engine, work)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=args) for args in (("a", 1, 2), ("b", 2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with engine.connect() as conn:
        counts = conn.execute(sa.text("SELECT n FROM pair ORDER BY id")).scalars().all()
    engine.dispose()
    assert not errors, errors
    assert sorted(attempts.values()) == [1, 2] and counts == [2, 2]  # the victim ran again, in full
