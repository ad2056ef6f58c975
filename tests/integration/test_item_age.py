"""A team adds a feed with years of back catalogue: only recent news alerts, the old items are
kept and counted, and every alert says when its article was published (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from sqlalchemy.engine import Engine

from service.notify.digest_job import draft_digest, enqueue_digest
from service.notify.render_email import message_text
from service.store.alerts import list_alerts
from service.views import alert_json
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import ingest
from tests.support.processes import rivalwatch, service_env
from tests.support.service import test_settings

OLD = datetime(2014, 8, 3, 9, 30, tzinfo=UTC)
RECENT = datetime.now(UTC) - timedelta(hours=1)


def dated_rss(items: list[tuple[str, datetime | None]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example.test/{n}</link>"
        f"<guid>https://news.example.test/{n}</guid>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + f"<description>{escape(title)} for the market.</description></item>"
        for n, (title, when) in enumerate(items)
    )
    return f'<rss version="2.0"><channel><title>Autos</title>{entries}</channel></rss>'.encode()


def rules_with_feed(rules_dir: Path, url: str, **feed: object) -> Path:
    rules_dir.mkdir(parents=True, exist_ok=True)
    (rules_dir / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [{"name": "autos", "url": url, **feed}]}))
    (rules_dir / "acme.yaml").write_text("rules:\n  - id: acme\n    name: Acme watch\n    match: Acme\n")
    return rules_dir


def alerts_by_title(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        return {a.title: alert_json(a) for a in list_alerts(conn)}


async def test_a_new_feed_s_back_catalogue_is_stored_but_only_recent_news_alerts(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    recent = datetime.now(UTC) - timedelta(hours=1)
    items = [
        ("Acme opens a plant in 2014", OLD),
        ("Acme cuts prices today", recent),
        ("Acme undated note", None),
    ]
    with LoopbackHTTPServer() as feed:
        feed.route("/autos.xml", body=dated_rss(items))
        settings = test_settings(db_url, rules_with_feed(tmp_path / "rules", feed.url("/autos.xml")))
        (outcome,) = await ingest(settings)
    assert (outcome.new_items, outcome.alerts, outcome.stories, outcome.stale) == (3, 2, 2, 1)
    alerts = alerts_by_title(engine)
    old = alerts["Acme opens a plant in 2014"]
    assert old["status"] == "stale"
    assert str(old["reason"]).startswith("held back: published 2014-08-03 09:30 UTC, older than 3d")
    assert old["published_at"] == "2014-08-03T09:30:00Z"
    assert alerts["Acme cuts prices today"]["status"] == "pending"
    assert alerts["Acme cuts prices today"]["published_at"] == recent.replace(
        microsecond=0
    ).isoformat().replace("+00:00", "Z")
    assert (
        alerts["Acme undated note"]["status"] == "pending"
        and alerts["Acme undated note"]["published_at"] is None
    )

    with engine.connect() as conn:
        stored = list_alerts(conn)
    digest = message_text(
        draft_digest(
            stored, settings=settings, key="digest:t", period_start=None, now=datetime.now(UTC)
        ).message
    )
    assert "1 alert on articles already older than the age limit when first seen was held back" in digest
    assert "Acme opens a plant in 2014" not in digest and "Acme cuts prices today" in digest
    assert f"published {recent:%a %d %b %H:%M}" in digest


async def test_a_feed_can_lift_the_limit_and_the_service_default_can_be_changed(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    items = [("Acme opens a plant in 2014", OLD)]
    with LoopbackHTTPServer() as feed:
        feed.route("/autos.xml", body=dated_rss(items))
        rules = rules_with_feed(tmp_path / "rules", feed.url("/autos.xml"), max_age="0")
        (outcome,) = await ingest(test_settings(db_url, rules, max_item_age="12h"))
    assert (outcome.alerts, outcome.stale) == (1, 0)
    assert alerts_by_title(engine)["Acme opens a plant in 2014"]["status"] == "pending"


def dry_run_items(env: dict[str, str], *args: str) -> dict[str, dict[str, object]]:
    done = rivalwatch("rules", "test", "acme", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {item["title"]: item for item in json.loads(done.stdout)}


def test_rules_test_ignores_the_age_limit_unless_asked_for_it(tmp_path: Path) -> None:
    page = tmp_path / "autos.xml"
    page.write_bytes(dated_rss([("Acme opens a plant in 2014", OLD), ("Acme cuts prices today", RECENT)]))
    rules = rules_with_feed(tmp_path / "rules", "https://news.example.test/autos.xml")
    env = service_env(f"sqlite:///{tmp_path}/unused.db", rules)

    plain = dry_run_items(env, "--file", str(page))
    assert [m["status"] for item in plain.values() for m in item["matches"]] == ["pending", "pending"]
    assert plain["Acme opens a plant in 2014"]["published_at"] == "2014-08-03 09:30:00+00:00"

    aged = dry_run_items(env, "--file", str(page), "--max-age", "3d")
    [old] = aged["Acme opens a plant in 2014"]["matches"]
    [recent] = aged["Acme cuts prices today"]["matches"]
    assert (old["status"], recent["status"]) == ("stale", "pending")
    assert old["reason"].startswith("held back: published 2014-08-03 09:30 UTC, older than 3d")

    text = rivalwatch("rules", "test", "acme", "--file", str(page), "--max-age", "3d", env=env).stdout
    assert (
        "== Acme opens a plant in 2014  <https://news.example.test/0>  published 2014-08-03 09:30 UTC" in text
    )
    assert "   acme: stale, novelty -; terms: Acme" in text

    wrong = rivalwatch("rules", "test", "acme", "--file", str(page), "--max-age", "soon", env=env)
    assert wrong.returncode == 2 and "'soon' is not a duration" in wrong.stderr


async def test_a_backtest_holds_back_what_was_already_old_when_first_seen_only_when_asked(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    items = [("Acme opens a plant in 2014", OLD), ("Acme cuts prices today", RECENT)]
    with LoopbackHTTPServer() as feed:
        feed.route("/autos.xml", body=dated_rss(items))
        rules = rules_with_feed(tmp_path / "rules", feed.url("/autos.xml"), max_age="0")
        (outcome,) = await ingest(test_settings(db_url, rules))
    assert outcome.alerts == 2  # the feed lifts the limit: both alerted live
    env = service_env(db_url, rules)

    def backtest(*args: str) -> dict[str, str]:
        done = rivalwatch("rules", "backtest", "acme", "--days", "1", "--json", *args, env=env)
        assert done.returncode == 0, done.stderr
        return {r["title"]: r["status"] for r in json.loads(done.stdout)}

    assert backtest() == {"Acme opens a plant in 2014": "pending", "Acme cuts prices today": "pending"}
    assert backtest("--max-age", "3d") == {
        "Acme opens a plant in 2014": "stale",
        "Acme cuts prices today": "pending",
    }
    text = rivalwatch("rules", "backtest", "acme", "--days", "1", "--max-age", "3d", env=env).stdout
    assert "1 would alert, 0 suppressed as known, 1 held back as too old, 0 not raised" in text
    assert "  old  " in text


def test_eval_with_an_age_limit_counts_from_when_each_feed_file_was_captured(tmp_path: Path) -> None:
    captured = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    items = [
        ("Acme opens a plant", captured - timedelta(days=40)),
        ("Acme cuts prices", captured - timedelta(days=2)),
        ("Acme names a new chief", captured),
    ]
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "autos.xml").write_bytes(dated_rss(items))
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {"feed_file": "autos.xml", "title": title, "must": ["acme"], "never": [], "unsure": []}
                for title, _ in items
            ]
        ),
        encoding="utf-8",
    )
    rules = rules_with_feed(tmp_path / "rules", "https://news.example.test/autos.xml")
    env = service_env(f"sqlite:///{tmp_path}/unused.db", rules)

    def evaluated(*args: str) -> dict[str, object]:
        done = rivalwatch(
            "rules", "eval", "--labels", str(labels), "--feeds", str(feeds), "--json", *args, env=env
        )
        assert done.returncode == 0, done.stderr
        report: dict[str, object] = json.loads(done.stdout)
        return report

    [theme] = evaluated()["themes"]  # type: ignore[misc]
    assert theme["recall"] == 1.0  # labelled items are years old today: no limit unless asked
    aged = evaluated("--max-age", "30d")
    [theme] = aged["themes"]  # type: ignore[misc]
    assert (theme["true_alerts"], theme["missed"]) == (2, 1)
    [miss] = aged["misses"]  # type: ignore[misc]
    assert (miss["title"], miss["verdict"]) == ("Acme opens a plant", "stale")
    assert "older than 30d" in miss["reason"]


async def test_a_day_whose_only_news_was_a_back_catalogue_still_gets_its_digest_line(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    with LoopbackHTTPServer() as feed:
        feed.route("/autos.xml", body=dated_rss([("Acme opens a plant in 2014", OLD)]))
        settings = test_settings(db_url, rules_with_feed(tmp_path / "rules", feed.url("/autos.xml")))
        (outcome,) = await ingest(settings)
    assert (outcome.alerts, outcome.stale) == (0, 1)
    with engine.begin() as conn:
        draft = enqueue_digest(
            conn, settings=settings, period_key="2026-12-06", now=datetime.now(UTC), send_empty=False
        )
    assert draft is not None and draft.queued and (draft.listed, draft.too_old) == (0, 1)
    text = message_text(draft.message)
    assert "1 alert on articles already older than the age limit when first seen was held back" in text
