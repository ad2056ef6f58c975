"""A team adds a feed with years of back catalogue: only recent news alerts, the old items are
kept and counted, and every alert says when its article was published (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from sqlalchemy.engine import Engine

from service.notify.digest_job import draft_digest
from service.notify.render_email import message_text
from service.store.alerts import list_alerts
from service.views import alert_json
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import ingest
from tests.support.service import test_settings

OLD = datetime(2014, 8, 3, 9, 30, tzinfo=UTC)


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
