"""Feeds and items tables on both databases: declarations, leases, dedup, stories."""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import db
from service.store import feeds as feed_store
from service.store import items as item_store
from service.store.tables import feeds, items
from tests.support.service import FeedDeclaration as Spec

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    text: str = ""
    url: str | None = None
    guid: str | None = None
    published_at: datetime | None = None
    source_tag: str | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.md5(f"{self.title}\n{self.text}".encode()).hexdigest()  # noqa: S324

    @property
    def title_fp(self) -> str:
        return hashlib.md5(self.title.lower().encode()).hexdigest()  # noqa: S324


def declare(engine: Engine, *specs: Spec, now: datetime = NOW) -> feed_store.SyncReport:
    return db.run_transaction(engine, lambda c: feed_store.sync_declared(c, specs, now=now))


def claim(engine: Engine, owner: str, *, now: datetime = NOW, limit: int = 10, **kw: object) -> list[str]:
    got = db.run_transaction(
        engine,
        lambda c: feed_store.claim_due(c, owner=owner, now=now, lease_s=60, limit=limit, **kw),  # type: ignore[arg-type]
    )
    return [f.name for f in got]


def feed_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(feeds.c.id).where(feeds.c.name == name)).scalar_one())


def store(engine: Engine, name: str, *entries: Entry, now: datetime = NOW) -> item_store.StoreResult:
    fid = feed_id(engine, name)
    return db.run_transaction(
        engine, lambda c: item_store.store_items(c, fid, entries, now=now, story_window=WINDOW)
    )


def test_sync_adds_changes_and_retires_feeds(engine: Engine) -> None:
    report = declare(engine, Spec("a", "https://a.example/rss"), Spec("b", "https://b.example/rss"))
    assert report.added == ("a", "b")
    report = declare(engine, Spec("a", "https://a.example/rss2", tags=("nev",)))
    assert report.changed == ("a",) and report.removed == ("b",)
    with engine.connect() as conn:
        health = {f.name: f for f in feed_store.list_health(conn)}
    assert health["a"].url == "https://a.example/rss2" and health["a"].tags == ("nev",)
    assert health["a"].status == "new"
    assert health["b"].status == "disabled" and "no longer declared" in (health["b"].last_error or "")
    assert health["b"].next_poll_at is None
    assert declare(engine, Spec("a", "https://a.example/rss2", tags=("nev",))).changed == ()


def next_poll(engine: Engine, name: str) -> datetime:
    with engine.connect() as conn:
        return conn.execute(sa.select(feeds.c.next_poll_at).where(feeds.c.name == name)).scalar_one()


def test_a_shorter_interval_reschedules_the_next_poll_and_a_longer_one_waits_for_it(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss", interval_s=900))
    polled_at = NOW
    with engine.begin() as conn:  # polled at NOW, next poll in 15 minutes
        conn.execute(
            sa.update(feeds).values(last_polled_at=polled_at, next_poll_at=polled_at + timedelta(minutes=15))
        )
    later = NOW + timedelta(seconds=10)
    declare(engine, Spec("a", "https://a.example/rss", interval_s=60), now=later)
    assert next_poll(engine, "a") == polled_at + timedelta(seconds=60)
    declare(engine, Spec("a", "https://a.example/rss", interval_s=3600), now=later)
    assert next_poll(engine, "a") == polled_at + timedelta(seconds=60)  # the poll already due stands


def test_an_interval_removed_in_favour_of_a_shorter_default_reschedules_the_next_poll(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss", interval_s=6 * 3600))
    with engine.begin() as conn:  # polled at NOW, next poll in six hours
        conn.execute(sa.update(feeds).values(last_polled_at=NOW, next_poll_at=NOW + timedelta(hours=6)))

    def redeclare(spec: Spec) -> None:
        db.run_transaction(
            engine,
            lambda c: feed_store.sync_declared(
                c, [spec], now=NOW + timedelta(seconds=10), default_interval_s=900
            ),
        )

    redeclare(Spec("a", "https://a.example/rss"))  # the interval line removed: the default is 15 min
    assert next_poll(engine, "a") == NOW + timedelta(seconds=900)
    redeclare(Spec("a", "https://a.example/rss"))  # nothing changed: the schedule stands
    assert next_poll(engine, "a") == NOW + timedelta(seconds=900)


def test_a_leased_feed_is_not_claimed_twice_until_the_lease_expires(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    assert claim(engine, "one") == ["a"]
    assert claim(engine, "two") == []
    assert claim(engine, "two", now=NOW + timedelta(seconds=61)) == ["a"]


def test_late_updates_from_a_lost_lease_are_fenced(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    claim(engine, "one")
    claim(engine, "two", now=NOW + timedelta(seconds=61))
    fid = feed_id(engine, "a")

    def late(owner: str) -> bool:
        return db.run_transaction(
            engine,
            lambda c: feed_store.record_success(
                c,
                fid,
                owner=owner,
                now=NOW,
                status=200,
                etag="x",
                last_modified=None,
                next_poll_at=NOW + timedelta(hours=1),
            ),
        )

    assert late("one") is False
    assert late("two") is True


def test_a_new_address_disowns_a_poll_of_the_old_one_still_running(engine: Engine) -> None:
    """The declared URL changes while the old address is being polled: what that poll would
    record (here a 410, which disables a feed) is refused, and the new address is polled."""
    declare(engine, Spec("a", "https://old.example/rss"))
    assert claim(engine, "one") == ["a"]
    declare(engine, Spec("a", "https://new.example/rss"), now=NOW + timedelta(seconds=5))
    fid = feed_id(engine, "a")
    recorded = db.run_transaction(
        engine,
        lambda c: feed_store.record_failure(
            c, fid, owner="one", now=NOW, error="HTTP 410", status=410, next_poll_at=NOW, gone=True
        ),
    )
    assert recorded is False
    with engine.connect() as conn:
        row = conn.execute(sa.select(feeds.c.url, feeds.c.gone_at).where(feeds.c.id == fid)).one()
    assert (row.url, row.gone_at) == ("https://new.example/rss", None)
    assert claim(engine, "two", now=NOW + timedelta(seconds=5)) == ["a"]


def test_failures_count_up_and_a_success_resets_them(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    fid = feed_id(engine, "a")
    for n in range(3):
        claim(engine, "me", now=NOW + timedelta(hours=n), limit=1, force=True)
        db.run_transaction(
            engine,
            lambda c: feed_store.record_failure(
                c, fid, owner="me", now=NOW, error="HTTP 503", status=503, next_poll_at=NOW
            ),
        )
    with engine.connect() as conn:
        (a,) = feed_store.list_health(conn)
    assert (a.status, a.consecutive_failures, a.last_error) == ("failing", 3, "HTTP 503")
    claim(engine, "me", force=True)
    db.run_transaction(
        engine,
        lambda c: feed_store.record_success(
            c, fid, owner="me", now=NOW, status=200, etag=None, last_modified=None, next_poll_at=NOW
        ),
    )
    with engine.connect() as conn:
        (a,) = feed_store.list_health(conn)
    assert (a.status, a.consecutive_failures, a.last_error) == ("ok", 0, None)


def test_a_success_stores_what_the_poll_learned_and_gives_the_lease_back(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    fid = feed_id(engine, "a")
    claim(engine, "me")
    later = NOW + timedelta(minutes=30)
    modified = "Mon, 01 Jan 2024 00:00:00 GMT"
    for warning, warned_at in (("the feed lists no entries", NOW), (None, None)):
        claim(engine, "me", force=True)
        assert db.run_transaction(
            engine,
            lambda c, warning=warning: feed_store.record_success(
                c,
                fid,
                owner="me",
                now=NOW,
                status=200,
                etag='"v2"',
                last_modified=modified,
                next_poll_at=later,
                warning=warning,
            ),
        )
        with engine.connect() as conn:
            row = conn.execute(sa.select(feeds).where(feeds.c.id == fid)).one()
        assert (row.etag, row.last_modified, row.last_status) == ('"v2"', modified, 200)
        assert row.last_polled_at == row.last_success_at == row.updated_at == NOW
        assert (row.last_error, row.last_error_at) == (warning, warned_at)
        assert (row.next_poll_at, row.consecutive_failures) == (later, 0)
        assert (row.lease_owner, row.lease_expires_at) == (None, None)


def test_gone_disables_until_the_url_changes(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    fid = feed_id(engine, "a")
    claim(engine, "me")
    db.run_transaction(
        engine,
        lambda c: feed_store.record_failure(
            c, fid, owner="me", now=NOW, error="HTTP 410", status=410, next_poll_at=NOW, gone=True
        ),
    )
    assert claim(engine, "me", force=True) == []
    with engine.connect() as conn:
        assert feed_store.list_health(conn)[0].status == "disabled"
    declare(engine, Spec("a", "https://a.example/new-rss"))
    assert claim(engine, "me") == ["a"]


def test_claims_from_two_pollers_at_once_never_overlap(engine: Engine) -> None:
    declare(engine, *(Spec(f"f{i:03d}", f"https://f{i}.example/rss") for i in range(60)))
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def worker(owner: str) -> None:
        barrier.wait(timeout=10)
        got: list[str] = []
        for _ in range(20):
            got += claim(engine, owner, limit=3)
        results[owner] = got

    threads = [threading.Thread(target=worker, args=(o,)) for o in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not set(results["one"]) & set(results["two"])
    assert len(results["one"]) + len(results["two"]) == 60


def test_overdue_feeds_are_spread_over_the_startup_window(engine: Engine) -> None:
    declare(
        engine, *(Spec(f"f{i}", f"https://f{i}.example/rss") for i in range(20)), now=NOW - timedelta(hours=3)
    )
    moved = db.run_transaction(
        engine, lambda c: feed_store.spread_overdue(c, now=NOW, spread_s=120, rng=random.Random(1))
    )
    assert moved == 20
    with engine.connect() as conn:
        times = [f.next_poll_at for f in feed_store.list_health(conn)]
    assert all(t is not None and NOW <= t <= NOW + timedelta(seconds=120) for t in times)
    assert len(set(times)) == 20
    assert claim(engine, "me", now=NOW + timedelta(seconds=60), limit=100)  # some, not all, due
    assert len(claim(engine, "me", now=NOW + timedelta(seconds=60), limit=100)) == 0


def test_bulk_inserted_items_store_values_exactly_as_a_core_insert_does(engine: Engine) -> None:
    """The ingest path hands rows to the driver itself: its datetimes must land in the same
    stored form as SQLAlchemy's own (on SQLite a string, compared as text by range queries)."""
    declare(engine, Spec("a", "https://a.example/rss"), Spec("b", "https://b.example/rss"))
    published = datetime(2026, 2, 27, 8, 30, 5, 250, tzinfo=UTC)
    store(engine, "a", Entry("k1", "BYD opens plant", published_at=published))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(items).values(
                feed_id=feed_id(engine, "b"), item_key="k1", title="BYD opens plant", text="",
                published_at=published, first_seen_at=NOW, revision=1, content_hash="h", title_fp="f",
            )
        )  # fmt: skip
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT published_at, first_seen_at FROM items ORDER BY feed_id").all()
    assert stored[0] == stored[1]


def test_items_are_stored_once_and_edits_update_in_place(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    first = store(
        engine,
        "a",
        Entry("k1", "BYD opens plant"),
        Entry("k2", "Tesla cuts prices"),
        Entry("k1", "duplicate key in the same document"),
    )
    assert len(first.inserted) == 2
    again = store(engine, "a", Entry("k1", "BYD opens plant"), Entry("k2", "Tesla cuts prices"))
    assert (again.inserted, again.updated, again.unchanged) == ((), 0, 2)
    edited = store(engine, "a", Entry("k1", "BYD opens plant in Hungary"))
    assert (edited.inserted, edited.updated) == ((), 1)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(items.c.item_key, items.c.title, items.c.revision).order_by(items.c.item_key)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("k1", "BYD opens plant in Hungary", 2),
        ("k2", "Tesla cuts prices", 1),
    ]


def test_an_edit_keeps_the_date_it_does_not_give_and_takes_the_one_it_gives(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    dated = datetime(2026, 2, 27, 8, 30, tzinfo=UTC)
    store(engine, "a", Entry("k1", "BYD opens plant", published_at=dated))

    def stored() -> tuple[datetime, int]:
        with engine.connect() as conn:
            row = conn.execute(sa.select(items.c.published_at, items.c.revision)).one()
        return row.published_at.replace(tzinfo=UTC), row.revision

    store(engine, "a", Entry("k1", "BYD opens plant in Hungary"))  # the edit has no date
    assert stored() == (dated, 2)
    redated = dated + timedelta(hours=2)
    store(engine, "a", Entry("k1", "BYD opens plant in Szeged", published_at=redated))
    assert stored() == (redated, 3)
    # written in another zone, stored in UTC as an insert stores it
    store(
        engine,
        "a",
        Entry("k1", "BYD opens Szeged plant", published_at=redated.astimezone(timezone(timedelta(hours=2)))),
    )
    assert stored() == (redated, 4)


def test_a_corrected_link_is_an_edit_and_a_new_date_alone_is_not(engine: Engine) -> None:
    # Left stored, the wrong link made a later copy under the right one start its own story
    declare(engine, Spec("a", "https://a.example/rss"), Spec("b", "https://b.example/rss"))
    store(engine, "a", Entry("k1", "XPeng opens plant", "t", "https://n.example/wrong-slug"))
    fixed = store(engine, "a", Entry("k1", "XPeng opens plant", "t", "https://n.example/right-slug"))
    assert (fixed.inserted, fixed.updated) == ((), 1)
    redated = store(
        engine, "a", Entry("k1", "XPeng opens plant", "t", "https://n.example/right-slug", published_at=NOW)
    )
    assert (redated.updated, redated.unchanged) == (0, 1)
    # the query is part of the link: on many sites ?id=42 is the article
    by_id = store(engine, "a", Entry("k1", "XPeng opens plant", "t", "https://n.example/right-slug?id=42"))
    assert (by_id.updated, by_id.unchanged) == (1, 0)
    store(engine, "a", Entry("k1", "XPeng opens plant", "t", "https://n.example/right-slug"))
    copy = store(
        engine, "b", Entry("b1", "XPeng starts output in Guangzhou", "u", "https://n.example/right-slug")
    )
    with engine.connect() as conn:
        first = conn.execute(sa.select(items.c.url, items.c.story_id).where(items.c.item_key == "k1")).one()
    assert first.url == "https://n.example/right-slug"
    assert copy.inserted[0].story_id == first.story_id


def test_syndicated_copies_join_the_first_items_story(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"), Spec("b", "https://b.example/rss"))
    text = "BYD said on Monday it will build a second European plant in Turkey, with output from 2026."
    (orig, other) = store(
        engine,
        "a",
        Entry("a1", "BYD to build plant in Turkey", text, "https://n.example/1"),
        Entry("a2", "Nissan and Tsinghua open lab", "x", "https://n.example/2"),
    ).inserted
    copies = store(
        engine,
        "b",
        Entry("b1", "Some other headline", "y", "https://n.example/1"),  # same URL
        Entry("b2", "BYD to build plant in Turkey", text + " Reuters", None),  # same title+text
        Entry(
            "b3",
            "BYD to build plant in Turkey",
            "A completely different report about unrelated matters in another country entirely.",
        ),
    ).inserted
    assert copies[0].story_id == orig.story_id
    assert copies[1].story_id == orig.story_id
    assert copies[2].story_id not in (orig.story_id, other.story_id)
    late = store(engine, "b", Entry("b4", "BYD to build plant in Turkey", text), now=NOW + WINDOW * 2)
    assert late.inserted[0].story_id != orig.story_id  # outside the story window


def test_copies_inside_one_batch_share_a_story(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    got = store(
        engine,
        "a",
        Entry("k1", "One", "t", "https://n.example/x"),
        Entry("k2", "Two", "t", "https://n.example/x"),
        Entry("k3", "Three", "t"),
    )
    assert got.inserted[0].story_id == got.inserted[1].story_id != got.inserted[2].story_id
    assert got.inserted[0].story_id == got.inserted[0].id  # a story is named by its first item
    with engine.connect() as conn:
        stories = conn.execute(sa.select(sa.func.count(sa.distinct(items.c.story_id)))).scalar_one()
    assert stories == 2


@pytest.mark.parametrize("many", [False, True], ids=["one lock a key", "one lock for all"])
def test_copies_stored_at_once_by_two_writers_share_a_story(
    engine: Engine, many: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two replicas (or two ingest threads on PostgreSQL) store copies of one article at once: the
    # second looked its story up before the first committed, found none and started its own, so
    # every alert of the story was posted twice. It now waits for the first to commit.
    if many:
        monkeypatch.setattr(db, "STORY_KEY_LOCKS_MAX", 0)
    declare(engine, Spec("a", "https://a.example/rss"), Spec("b", "https://b.example/rss"))
    first_stored, release = threading.Event(), threading.Event()
    second_done = threading.Event()

    def first(conn: sa.Connection) -> item_store.StoreResult:
        done = item_store.store_items(
            conn, feed_id(engine, "a"), [Entry("a1", "Nissan exports EVs", "t", "https://n.example/x")],
            now=NOW, story_window=WINDOW,
        )  # fmt: skip
        first_stored.set()
        assert release.wait(10)
        return done

    results: dict[str, item_store.StoreResult] = {}
    writer = threading.Thread(target=lambda: results.setdefault("a", db.run_transaction(engine, first)))
    writer.start()
    assert first_stored.wait(10)

    def second() -> None:
        results["b"] = store(engine, "b", Entry("b1", "Nissan exports EVs", "t", "https://n.example/x"))
        second_done.set()

    other = threading.Thread(target=second)
    other.start()
    # on SQLite the second waits for the write lock; on PostgreSQL for the story's lock
    assert not second_done.wait(0.5)
    release.set()
    writer.join(10)
    other.join(10)
    assert results["b"].inserted[0].story_id == results["a"].inserted[0].story_id


def test_a_copy_stored_while_another_writer_corrects_the_link_joins_its_story(engine: Engine) -> None:
    declare(engine, Spec("a", "https://a.example/rss"), Spec("b", "https://b.example/rss"))
    store(engine, "a", Entry("k1", "XPeng opens plant", "t", "https://n.example/wrong-slug"))
    edited, release, copied = threading.Event(), threading.Event(), threading.Event()

    def correct(conn: sa.Connection) -> None:
        item_store.store_items(
            conn, feed_id(engine, "a"), [Entry("k1", "XPeng opens plant", "t", "https://n.example/right-slug")],
            now=NOW, story_window=WINDOW,
        )  # fmt: skip
        edited.set()
        assert release.wait(10)

    editor = threading.Thread(target=lambda: db.run_transaction(engine, correct))
    editor.start()
    assert edited.wait(10)
    results: dict[str, item_store.StoreResult] = {}

    def copy() -> None:
        results["b"] = store(
            engine, "b", Entry("b1", "XPeng starts output", "u", "https://n.example/right-slug")
        )
        copied.set()

    other = threading.Thread(target=copy)
    other.start()
    assert not copied.wait(0.5)  # it waits for the correction to commit
    release.set()
    editor.join(10)
    other.join(10)
    with engine.connect() as conn:
        first = conn.execute(sa.select(items.c.story_id).where(items.c.item_key == "k1")).scalar_one()
    assert results["b"].inserted[0].story_id == first


@pytest.mark.parametrize("attempts", [3])
def test_run_transaction_rolls_back_a_failed_attempt(engine: Engine, attempts: int) -> None:
    declare(engine, Spec("a", "https://a.example/rss"))
    calls = []

    def work(conn: sa.Connection) -> None:
        calls.append(1)
        conn.execute(sa.update(feeds).values(etag="half-written"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        db.run_transaction(engine, work, attempts=attempts)
    assert len(calls) == 1  # not a transient database error: no retry
    with engine.connect() as conn:
        assert conn.execute(sa.select(feeds.c.etag)).scalar_one() is None


def test_replicas_declaring_the_same_feeds_at_once_do_not_collide(engine: Engine) -> None:
    specs = [Spec(f"f{i:03d}", f"https://f{i}.example/rss") for i in range(100)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def replica() -> None:
        barrier.wait(timeout=10)
        try:
            declare(engine, *specs)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(feeds)).scalar_one() == 100
