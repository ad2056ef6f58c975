"""An edited item raises what its edit adds, and nothing it said before, on both databases.

Feeds rewrite items in place: a stub ("story developing") becomes the article, a headline is
sharpened, a typo fixed. The rewrite can be the news; a restatement of what the item said is not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.runtime import poll_once
from service.store.alerts import list_alerts
from service.store.tables import items
from service.views import alert_json
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import shipped_rules, test_settings, write_feeds

STUB = ("Coming up", "Details to follow.")


@pytest.fixture
def server() -> Any:
    with LoopbackHTTPServer() as srv:
        yield srv


def rss(*entries: tuple[str, str, str, str], dated: datetime | None = None) -> bytes:
    """(guid, link, title, description) entries; every entry carries ``dated`` when given."""
    date = f"<pubDate>{format_datetime(dated)}</pubDate>" if dated else ""
    body = "".join(
        f"<item><guid>{escape(g)}</guid><link>{escape(u)}</link><title>{escape(t)}</title>{date}"
        f"<description>{escape(d)}</description></item>"
        for g, u, t, d in entries
    )
    return f'<rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()


def entry(guid: str, title: str, text: str, *, link: str | None = None) -> tuple[str, str, str, str]:
    return (guid, link or f"https://wire.example.test/{guid}", title, text)


def keyword_rules(rules_dir: Path, url: str, *words: str) -> Path:
    """A rules folder watching one feed, "wire", with a rule per word (no baseline: all is news)."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    write_feeds(rules_dir, [("wire", url)])
    lines = ["rules:"]
    for word in words:
        lines += [f"  - id: {word.lower()}", f"    name: {word} watch", f"    match: {word}"]
    (rules_dir / "watch.yaml").write_text("\n".join(lines) + "\n")
    return rules_dir


def raised(engine: Engine) -> list[tuple[str, str, str]]:
    """(rule, title, status) of every alert, oldest first."""
    with engine.connect() as conn:
        found = [alert_json(a) for a in list_alerts(conn)]
    return sorted((a["rule"], a["title"], a["status"]) for a in found)


async def test_a_stub_rewritten_into_the_article_alerts_once(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    server.route("/f.xml", body=rss(entry("g1", *STUB)))
    (outcome,) = await poll_once(settings)
    assert (outcome.new_items, outcome.alerts, raised(engine)) == (1, 0, [])

    article = ("Acme opens a plant in Szeged", "Acme will build cars there.")
    server.route("/f.xml", body=rss(entry("g1", *article)))
    (outcome,) = await poll_once(settings)
    assert (outcome.new_items, outcome.updated_items, outcome.alerts) == (0, 1, 1)
    assert raised(engine) == [("acme", "Acme opens a plant in Szeged", "sent")]
    with engine.connect() as conn:
        (item_id,) = conn.execute(sa.select(items.c.id)).scalars()
        (alert,) = list_alerts(conn)
    assert alert.item_id == item_id and alert.url == "https://wire.example.test/g1"

    # the same document again, then a typo fixed: nothing more
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (0, 0)
    server.route("/f.xml", body=rss(entry("g1", article[0], article[1].rstrip("."))))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 0)
    assert len(raised(engine)) == 1


async def test_an_edit_raises_only_the_rules_it_newly_satisfies(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(
        db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme", "Zenith", "Orbit")
    )
    server.route("/f.xml", body=rss(entry("g1", "Acme opens a plant", "Acme builds it alone.")))
    await poll_once(settings)
    both = entry("g1", "Acme and Zenith open a plant", "The two build it together.")
    server.route("/f.xml", body=rss(both))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 1)
    assert raised(engine) == [
        ("acme", "Acme opens a plant", "sent"),
        ("zenith", "Acme and Zenith open a plant", "sent"),
    ]


async def test_a_rule_written_since_the_item_was_stored_does_not_fire_on_a_later_typo_fix(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    url = server.url("/f.xml")
    rules = keyword_rules(tmp_path / "rules", url, "Acme")
    server.route("/f.xml", body=rss(entry("g1", "Zenith opens a plant", "Zenith builds cars.")))
    await poll_once(test_settings(db_url, rules))
    keyword_rules(rules, url, "Acme", "Zenith")  # the team starts watching Zenith
    server.route("/f.xml", body=rss(entry("g1", "Zenith opens a plant", "Zenith builds cars there.")))
    (outcome,) = await poll_once(test_settings(db_url, rules))
    assert (outcome.updated_items, outcome.alerts) == (1, 0)
    assert raised(engine) == []  # the old version said as much: the rule is newer, not the news


async def test_an_old_article_rewritten_today_is_held_back_as_stale(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    recent = datetime.now(UTC) - timedelta(hours=1)
    # g1 has no date and was first seen a month ago; g2 was first seen now but re-stamps its date
    server.route("/f.xml", body=rss(entry("g1", *STUB), entry("g2", "Quiet week", "Nothing new.")))
    await poll_once(settings)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as conn:
        conn.execute(sa.update(items).values(first_seen_at=month_ago))
    rewritten = rss(
        entry("g1", "Acme opens a plant", "Acme builds cars."),
        entry("g2", "Acme recalls a model", "Acme calls back cars."),
        dated=recent,  # a date the feed stamps on every edit
    )
    server.route("/f.xml", body=rewritten)
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts, outcome.stale) == (2, 0, 2)
    with engine.connect() as conn:
        found = {a.title: alert_json(a) for a in list_alerts(conn)}
    for title in ("Acme opens a plant", "Acme recalls a model"):
        assert found[title]["status"] == "stale"
        reason = str(found[title]["reason"])
        assert reason.startswith(f"held back: first seen {month_ago:%Y-%m-%d %H:%M} UTC")
        assert found[title]["published_at"] == f"{recent:%Y-%m-%dT%H:%M:%S}Z"  # the item's own date


async def test_an_edit_that_now_restates_another_story_raises_nothing(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    news = ("Acme opens a plant in Szeged", "Acme will build cars there.")
    server.route("/f.xml", body=rss(entry("g1", *news), entry("g2", *STUB)))
    await poll_once(settings)
    assert raised(engine) == [("acme", news[0], "sent")]
    # g2 is re-pointed at g1's article: a copy of a known story, not news of its own
    copy = entry("g2", *news, link="https://wire.example.test/g1")
    server.route("/f.xml", body=rss(entry("g1", *news), copy))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 0)
    assert raised(engine) == [("acme", news[0], "sent")]


async def test_a_stub_rewritten_with_a_changed_figure_says_so(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = shipped_rules(tmp_path / "rules", [("wire", server.url("/f.xml"))])
    settings = test_settings(db_url, rules)
    server.route("/f.xml", body=rss(entry("g1", "Automakers: the day's briefing", "Story developing.")))
    await poll_once(settings)
    assert raised(engine) == []
    article = (
        "Nissan trims its China electric line-up to eight new-energy models",
        "Nissan now plans eight new-energy vehicles for China instead of the earlier target, the "
        "company said, as price competition with BYD and other local makers intensifies.",
    )
    server.route("/f.xml", body=rss(entry("g1", *article)))
    await poll_once(settings)
    with engine.connect() as conn:
        nissan = [alert_json(a) for a in list_alerts(conn) if a.rule_id == "nissan"]
    assert [(a["status"], [(c["baseline"], c["new"]) for c in a["fact_changes"]]) for a in nissan] == [
        ("sent", [(10, 8)])
    ]
