"""A team drops feeds from its files and clears them from `feeds list` (the real console script)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from service.store import db
from service.store.tables import feeds, items
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, write_feeds


def stored_items(db_url: str) -> int:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one())
    finally:
        engine.dispose()


def listed(env: dict[str, str]) -> dict[str, str]:
    return {f["name"]: f["status"] for f in json.loads(rivalwatch("feeds", "list", "--json", env=env).stdout)}


def test_a_feed_dropped_from_the_files_can_be_removed_with_or_without_its_items(
    db_url: str, tmp_path: Path
) -> None:
    with LoopbackHTTPServer() as server:
        for name in ("a", "b", "c"):
            server.route(f"/{name}.xml", body=rss_items((f"{name} news", f"https://news.example/{name}", "")))
        rules = tmp_path / "rules"
        write_feeds(rules, [(n, server.url(f"/{n}.xml")) for n in ("a", "b", "c")])
        env = service_env(db_url, rules)
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        assert rivalwatch("poll", "--once", env=env).returncode == 0
        assert stored_items(db_url) == 3
        write_feeds(rules, [("a", server.url("/a.xml"))])  # b and c dropped from the files
        # Removed at once, before any poll or reload has noticed the files changed.
        removed = rivalwatch("feeds", "remove", "b", env=env)
        assert removed.returncode == 0 and "removed feed 'b': 1 stored items deleted" in removed.stdout
        assert rivalwatch("poll", "--once", env=env).returncode == 0
    assert listed(env) == {"a": "ok", "c": "disabled"}

    still_declared = rivalwatch("feeds", "remove", "a", env=env)
    assert still_declared.returncode == 2 and "still declared" in still_declared.stderr
    unknown = rivalwatch("feeds", "remove", "d", env=env)
    assert unknown.returncode == 1 and "no feed named 'd'" in unknown.stderr

    kept = rivalwatch("feeds", "remove", "c", "--keep-items", env=env)
    assert kept.returncode == 0 and "its items kept" in kept.stdout
    assert listed(env) == {"a": "ok"}
    assert stored_items(db_url) == 2  # a's and c's

    with LoopbackHTTPServer() as server:
        write_feeds(rules, [("a", server.url("/a.xml")), ("c", server.url("/c.xml"))])  # c declared again
        server.route("/a.xml", body=rss_items(("a news", "https://news.example/a", "")))
        server.route("/c.xml", body=rss_items(("c news", "https://news.example/c", "")))
        assert rivalwatch("poll", "--once", env=env).returncode == 0
    assert set(listed(env)) == {"a", "c"}


def test_poll_once_names_the_feeds_another_poller_holds_and_until_when(db_url: str, tmp_path: Path) -> None:
    with LoopbackHTTPServer() as server:
        for name in ("a", "b"):
            server.route(f"/{name}.xml", body=rss_items((f"{name} news", f"https://news.example/{name}", "")))
        rules = tmp_path / "rules"
        write_feeds(rules, [(n, server.url(f"/{n}.xml")) for n in ("a", "b")])
        env = service_env(db_url, rules)
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        assert rivalwatch("poll", "--once", env=env).returncode == 0
        engine = db.make_engine(db_url)
        until = datetime.now(UTC) + timedelta(minutes=2)
        with engine.begin() as conn:  # a running service is polling b right now
            conn.execute(
                sa.update(feeds)
                .where(feeds.c.name == "b")
                .values(lease_owner="run:1", lease_expires_at=until)
            )
        engine.dispose()
        done = rivalwatch("poll", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert f"b  skipped: another poller holds it until {until:%H:%M:%S} UTC" in done.stdout
    assert done.stdout.splitlines()[-1] == (
        "1 feeds polled, 0 new items, 0 alerts on 0 stories, 0 failed, 1 skipped (another poller holds them)"
    )
