"""The HTTP API over a real database: rules status in /healthz, feed URLs in /feeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from service.alerts.model import NewAlert
from service.api.app import create_app
from service.baselines.change import FactChange
from service.errors import Problem
from service.rulebook import ActiveRuleBook, load_rulebook
from service.store import alerts as alert_store
from service.store import db
from service.store.feeds import sync_declared
from tests.support.service import FeedDeclaration as Spec

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def client_of(app: FastAPI) -> httpx.AsyncClient:
    """The real application, called in-process through its ASGI interface."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rivalwatch.test")


def active_rules(tmp_path: Path) -> ActiveRuleBook:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watch.yaml").write_text("rules:\n  - id: watch\n    name: Watch\n    match: BYD\n")
    active = ActiveRuleBook()
    active.set(load_rulebook(rules, now=NOW), at=NOW)
    return active


async def test_health_shows_the_rules_in_force_and_turns_degraded_while_the_files_are_refused(
    engine: Engine, tmp_path: Path
) -> None:
    active = active_rules(tmp_path)
    async with client_of(create_app(engine, clock=lambda: NOW, rules=lambda: active.state)) as client:
        healthy = (await client.get("/healthz")).json()
        active.reject([Problem("rules/watch.yaml", 4, "match: unbalanced parenthesis")], at=NOW)
        refused = (await client.get("/healthz")).json()

    assert healthy["status"] == "ok"
    assert healthy["rules"]["rules"] == 1 and healthy["rules"]["rejected_at"] is None
    assert healthy["rules"]["active_since"] == "2026-03-01T12:00:00Z"

    assert refused["status"] == "degraded"
    assert refused["rules"]["version"] == healthy["rules"]["version"]  # still the last good one
    assert refused["rules"]["problems"] == ["rules/watch.yaml:4: match: unbalanced parenthesis"]


async def test_feeds_endpoint_hides_credentials_in_feed_urls(engine: Engine) -> None:
    declared = [
        Spec("search", "https://news.example/rss/search?q=BYD+export&hl=en"),
        Spec("paid", "https://pro.example/feed.xml?api_key=s3cr3t&topic=nev"),
    ]
    db.run_transaction(engine, lambda conn: sync_declared(conn, declared, now=NOW))
    async with client_of(create_app(engine, clock=lambda: NOW)) as client:
        answer = await client.get("/feeds")
    body = answer.text
    urls = {feed["name"]: feed["url"] for feed in answer.json()}
    assert "s3cr3t" not in body
    assert urls == {
        "search": "https://news.example/rss/search?q=BYD+export&hl=en",
        "paid": "https://pro.example/feed.xml?api_key=redacted&topic=nev",
    }


def alert_row(n: int, *, status: str, title: str, rule: str = "byd") -> NewAlert:
    change = FactChange(
        fact_id="nev-models",
        metric="nev_models_china",
        baseline=10,
        new=8,
        unit="models",
        evidence=title,
        display="NEV models planned for China: 10 → 8",
    )
    return NewAlert(
        dedup_key=f"{rule}:story:{n}", rule_id=rule, rule_name=rule.upper(), rules_version="v1",
        kind="match", status=status, severity="high", story_id=n, title=title,
        url=f"https://news.example/{n}", matched=("BYD",), snippet=title,
        novelty=0.8 if status != "suppressed" else 0.05, fact_changes=(change,) if n == 2 else (),
        baselines=({"id": "seed", "version": "v1"},), notify=None, created_at=NOW.replace(minute=n),
        reason="restates the baseline" if status == "suppressed" else "",
    )  # fmt: skip


async def test_alerts_endpoint_filters_newest_first_and_refuses_an_unknown_status(engine: Engine) -> None:
    rows = [
        alert_row(1, status="sent", title="BYD opens a plant in Hungary"),
        alert_row(2, status="pending", title="Nissan now plans eight NEV models for China"),
        alert_row(3, status="suppressed", title="Nissan to export China-made EVs"),
    ]
    db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, rows))

    async with client_of(create_app(engine, clock=lambda: NOW)) as client:
        everything = (await client.get("/alerts")).json()
        suppressed = (await client.get("/alerts", params={"status": "suppressed"})).json()
        newest = (await client.get("/alerts", params={"limit": 1})).json()
        unknown = await client.get("/alerts", params={"status": "archived"})
        too_many = await client.get("/alerts", params={"limit": 100_000})

    assert [a["title"] for a in everything] == [r.title for r in reversed(rows)]
    assert [a["status"] for a in suppressed] == ["suppressed"]
    assert [a["story_id"] for a in newest] == [3]
    assert everything[1]["fact_changes"][0]["display"] == "NEV models planned for China: 10 → 8"
    assert unknown.status_code == 400 and "status must be one of" in unknown.json()["error"]
    assert too_many.status_code == 422


async def test_alerts_page_by_before_without_skipping_or_repeating_alerts_of_one_instant(
    engine: Engine,
) -> None:
    rows = [alert_row(n, status="sent", title=f"BYD story {n}") for n in range(1, 8)]
    rows = [
        replace(r, created_at=NOW.replace(minute=4)) if n in (3, 4, 5) else r for n, r in enumerate(rows, 1)
    ]
    db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, rows))

    async with client_of(create_app(engine, clock=lambda: NOW)) as client:
        pages, before = [], None
        while True:
            params = {"limit": 2} | ({"before": before} if before else {})
            page = (await client.get("/alerts", params=params)).json()
            if not page:
                break
            pages.append([a["id"] for a in page])
            before = page[-1]["id"]
        recent = (await client.get("/alerts", params={"since": NOW.replace(minute=6).isoformat()})).json()
        naive = await client.get("/alerts", params={"since": "2026-03-01T12:06:00"})
        missing = await client.get("/alerts", params={"before": 999})
        beyond = await client.get("/alerts", params={"before": 2**63})

    everything = [a for page in pages for a in page]
    assert everything == [7, 6, 5, 4, 3, 2, 1] and all(len(p) <= 2 for p in pages)
    assert [a["id"] for a in recent] == [7, 6]
    assert naive.status_code == 400 and "time zone" in naive.json()["error"]
    assert missing.status_code == 400 and "no alert 999" in missing.json()["error"]
    assert beyond.status_code == 422  # past any id either database stores


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("until=2026-03-01T12:00:00Z", "unknown parameter until"),  # a filter it does not have
        ("offset=2&limit=2", "unknown parameter offset"),
        ("q=%00", "q: a NUL byte"),
        ("rule=byd%00", "rule: a NUL byte"),
        ("q=%FF", "not UTF-8"),
        ("status=pending&status=sent", "status given more than once"),  # only one would apply
        ("since=0001-01-01T00:00:00%2B01:00", "outside the calendar"),
        ("since=9999-12-31T23:00:00-05:00", "outside the calendar"),
    ],
)
async def test_alerts_refuses_what_it_would_answer_wrongly(engine: Engine, query: str, problem: str) -> None:
    db.run_transaction(
        engine, lambda conn: alert_store.insert_alerts(conn, [alert_row(1, status="sent", title="BYD")])
    )
    async with client_of(create_app(engine, clock=lambda: NOW)) as client:
        answer = await client.get(f"/alerts?{query}")
    assert answer.status_code == 400 and problem in answer.json()["error"]


SEARCHED = [
    "BYD opens a plant in Hungary",
    "Nissan plans eight NEV models for China",
    "BYD and Nissan talk batteries",
    "Tesla cuts prices",
    "Škoda and Citroën face BYD",
    "Sales of 2.8 million, says example.com",
]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("byd hungary", [1]),  # every word, any case
        ("BYD -Nissan", [5, 1]),  # -word leaves out
        ("BYD or Tesla", [5, 4, 3, 1]),  # OR takes either
        ('"plant in Hungary"', [1]),  # quoted: together, in order
        ('"Hungary plant"', []),
        ('BYD -"talk batteries"', [5, 1]),
        (" ".join(["BYD"] * 20 + ["zzzz"]), []),  # every word counts, however many
        ("Citroe\u0308n", [5]),  # decomposed as some keyboards type it
        ("skoda CITROEN", [5]),  # accents of Latin letters folded on both
        ("-Nissan", []),  # nothing to find
        ("(BYD*", [5, 3, 1]),  # FTS5 or tsquery syntax is plain text
        ("2.8 million", [6]),  # each database reads the typed term with its own tokenizer
        ("example.com", [6]),
        (" ".join(["a"] * 250), [1]),  # 250 words in 499 characters, about the most q takes
        ("BYD & !Nissan", [3]),  # tsquery's ! is no operator here: the word Nissan is wanted
    ],
)
async def test_search_means_the_same_on_both_databases(engine: Engine, q: str, found: list[int]) -> None:
    rows = [alert_row(n, status="sent", title=title) for n, title in enumerate(SEARCHED, start=1)]
    db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, rows))
    async with client_of(create_app(engine, clock=lambda: NOW)) as client:
        answer = await client.get("/alerts", params={"q": q})
    assert answer.status_code == 200 and [a["id"] for a in answer.json()] == found


def test_alerts_indexed_before_accents_were_folded_are_found_without_them_after_the_upgrade(
    empty_db_url: str,
) -> None:
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine, "0010")
    rows = [alert_row(1, status="sent", title="Škoda faces BYD")]
    db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, rows))
    if engine.dialect.name != "sqlite":  # the document as revision 0010 indexed it
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE alert_search SET document = to_tsvector('simple', 'Škoda faces BYD')")
            )

    def found() -> list[int]:
        with engine.connect() as conn:
            return [a.id for a in alert_store.list_alerts(conn, text="skoda")]

    before = found()
    db.upgrade(engine)
    assert (before, found()) == ([1] if engine.dialect.name == "sqlite" else [], [1])
    engine.dispose()


async def test_console_shows_alerts_feeds_and_refused_rules_with_feed_text_escaped(
    engine: Engine, tmp_path: Path
) -> None:
    declared = [Spec("Google News: BYD", "https://news.example/rss?q=BYD&token=s3cr3t")]
    db.run_transaction(engine, lambda conn: sync_declared(conn, declared, now=NOW))
    rows = [
        alert_row(1, status="sent", title="BYD <script>alert(1)</script> opens a plant"),
        alert_row(2, status="pending", title="Nissan now plans eight NEV models for China"),
    ]
    db.run_transaction(engine, lambda conn: alert_store.insert_alerts(conn, rows))
    active = active_rules(tmp_path)
    active.reject([Problem("rules/byd.yaml", 7, "match: unknown alias @BYDD")], at=NOW)

    async with client_of(create_app(engine, clock=lambda: NOW, rules=lambda: active.state)) as client:
        alerts_page = await client.get("/", params={"since": "all"})
        sources = await client.get("/sources")

    assert alerts_page.status_code == 200 and alerts_page.headers["content-type"].startswith("text/html")
    html = alerts_page.text
    assert "<script>alert(1)</script>" not in html
    assert "BYD &lt;script&gt;alert(1)&lt;/script&gt; opens a plant" in html
    assert "NEV models planned for China: 10 → 8" in html
    assert 'href="https://news.example/2"' in html
    page = sources.text
    assert "Google News: BYD" in page and "s3cr3t" not in page
    assert "rules/byd.yaml:7: match: unknown alias @BYDD" in page
    assert '<h1>Feeds <span class="badge degraded">degraded</span></h1>' in page
