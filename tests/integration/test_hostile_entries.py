"""One entry, header or row a database cannot take loses nothing else of its feed, on both
databases: each of these once failed every poll of its feed, or made PostgreSQL look down."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service import pipeline
from service.runtime import poll_once
from service.sources.normalize import MAX_URL_CHARS
from service.store import db
from service.store.feeds import list_health
from service.store.tables import feeds, items
from service.store.trouble import trouble_of
from tests.conftest import reset_postgres
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import test_settings, write_feeds

LONG_LINK = "https://news.example.test/" + "a" * 6000


def _rss(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<link>https://news.example.test/</link><description>d</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


HOSTILE = _rss(
    "<item><title>A good item about XPeng</title><link>https://news.example.test/1</link>"
    "<guid>https://news.example.test/1</guid></item>",
    # an xml:base that is no URL: urljoin raised ValueError for the whole feed
    '<item xml:base="http://[oops/"><title>Base that is no URL</title><link>/2</link>'
    '<guid isPermaLink="false">g2</guid></item>',
    # a NUL in the guid: PostgreSQL cannot store it in a text column
    '<item><title>A guid with a NUL</title><link>https://news.example.test/3</link><guid isPermaLink="false">'
    "g&#0;3</guid></item>",
    # a link longer than PostgreSQL's index on items.url can hold
    f'<item><title>A link of 6,000 characters</title><link>{LONG_LINK}</link><guid isPermaLink="false">'
    "g4</guid></item>",
)


@pytest.fixture
def server() -> Any:
    with LoopbackHTTPServer() as srv:
        yield srv


def _stored(db_url: str) -> dict[str, tuple[str | None, str | None]]:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(items.c.title, items.c.url, items.c.guid))
            return {row.title: (row.url, row.guid) for row in rows}
    finally:
        engine.dispose()


def _feed_row(db_url: str, name: str) -> sa.Row[Any]:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(feeds).where(feeds.c.name == name)).one()
    finally:
        engine.dispose()


async def test_hostile_entries_are_stored_beside_the_good_ones(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    server.route("/hostile", body=HOSTILE, headers={"Content-Type": "application/rss+xml"})
    write_feeds(tmp_path / "rules", [("hostile", server.url("/hostile"))])
    settings = test_settings(db_url, tmp_path / "rules")

    (first,) = await poll_once(settings)
    assert (first.outcome, first.new_items, first.error) == ("new", 4, None)
    stored = _stored(db_url)
    assert stored["A good item about XPeng"][0] == "https://news.example.test/1"
    # the base that is no URL is no base: the link is resolved against the feed's address, or
    # (feedparser, which reads this damaged document, resolves it against the base) is no link
    assert stored["Base that is no URL"][0] in (server.url("/2"), None)
    assert stored["A guid with a NUL"][1] == "g3"
    assert len(LONG_LINK) > MAX_URL_CHARS and stored["A link of 6,000 characters"][0] is None

    (second,) = await poll_once(settings)
    assert (second.outcome, second.new_items) == ("unchanged", 0)


async def test_a_validator_that_is_not_ascii_is_neither_kept_nor_sent(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    headers = {"Content-Type": "application/rss+xml", "ETag": '"café-1"', "Last-Modified": "Mär 2024"}
    server.route("/feed", body=HOSTILE, headers=headers)
    write_feeds(tmp_path / "rules", [("accented", server.url("/feed"))])
    settings = test_settings(db_url, tmp_path / "rules")

    assert [o.outcome for o in await poll_once(settings)] == ["new"]
    row = _feed_row(db_url, "accented")
    assert (row.etag, row.last_modified) == (None, None)
    # the next poll goes out, unconditional, and succeeds; before, it failed before it was sent
    assert [(o.outcome, o.error) for o in await poll_once(settings)] == [("unchanged", None)]
    last = server.requests_to("/feed")[-1]
    assert "if-none-match" not in last.headers and "if-modified-since" not in last.headers


async def test_rows_the_database_refuses_fail_that_feed_alone_with_backoff(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/good", body=HOSTILE, headers={"Content-Type": "application/rss+xml"})
    server.route("/refused", body=HOSTILE, headers={"Content-Type": "application/rss+xml"})
    write_feeds(tmp_path / "rules", [("good", server.url("/good")), ("refused", server.url("/refused"))])
    settings = test_settings(db_url, tmp_path / "rules")
    real_store = pipeline.store_and_alert

    def refusing(conn: Connection, **kwargs: Any) -> Any:
        if kwargs["feed"].name == "refused":  # a row the real database refuses: no name
            conn.execute(sa.insert(feeds).values(name=None, url="https://x.test/"))
        return real_store(conn, **kwargs)

    monkeypatch.setattr(pipeline, "store_and_alert", refusing)
    before = datetime.now(UTC)
    outcomes = {o.feed: o for o in await poll_once(settings)}

    assert (outcomes["good"].outcome, outcomes["good"].new_items) == ("new", 4)
    assert outcomes["refused"].outcome == "failed"
    assert outcomes["refused"].error is not None and outcomes["refused"].error.startswith("database error: ")
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            health = {f.name: f for f in list_health(conn)}
    finally:
        engine.dispose()
    refused = health["refused"]
    # shown as failing and backed off, not polled again at the next tick
    assert (refused.status, refused.consecutive_failures, refused.items) == ("failing", 1, 0)
    assert refused.next_poll_at is not None and refused.next_poll_at > before
    assert health["good"].status == "ok"


@pytest.mark.postgres
def test_a_value_too_long_for_an_index_is_a_refusal_not_an_outage(pg_database: str) -> None:
    # PostgreSQL reports it as an OperationalError (SQLSTATE 54000), which read as "cannot reach
    # the database": one long link paused every poll and showed the database as down
    reset_postgres(pg_database)
    engine = db.make_engine(pg_database)
    value = "".join(secrets.choice(string.ascii_letters) for _ in range(6000))  # no compressing it
    try:
        with pytest.raises(sa.exc.OperationalError) as refused, engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE long_values (v text)"))
            conn.execute(sa.text("CREATE INDEX ix_long_values ON long_values (v)"))
            conn.execute(sa.text("INSERT INTO long_values VALUES (:v)"), {"v": value})
    finally:
        engine.dispose()
    assert refused.value.orig is not None and getattr(refused.value.orig, "sqlstate", "") == "54000"
    assert trouble_of(refused.value, database="test") is None
