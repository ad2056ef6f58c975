"""The HTTP API over a real database: rules status in /healthz, feed URLs in /feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from service.api.app import create_app
from service.errors import Problem
from service.rulebook import ActiveRuleBook, load_rulebook
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
    active.set(load_rulebook(rules, engine=None, now=NOW), at=NOW)
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
