"""The console in a real browser (Debian's Chromium under Playwright), on SQLite:

- an analyst filters the alerts, opens one, marks it noise and sees its rule's precision change;
- every page, on the shared real-world corpus polled with the shipped rules, photographed for a
  person to look at (``tests/artifacts/console-*.png``, git-ignored);
- every hostile feed of the corpus polled and shown: no script runs, no handler attribute or
  ``javascript:`` link reaches the page (``tests/artifacts/console-hostile.png``).
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from service.rulebook import ActiveRuleBook, load_rulebook
from service.runtime import poll_once
from service.store import db
from tests.conftest import ROOT
from tests.support.console import chromium, serving
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import RIVAL_NEWS, rss_items, shipped_rules, test_settings

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / "tests" / "artifacts"
MIN_PNG_BYTES = 20_000


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as srv:
        yield srv


def polled(
    tmp_path: Path, feeds: list[tuple[str, str]], *, extra_rules: str = "", **settings: object
) -> tuple[Engine, ActiveRuleBook]:
    """A fresh SQLite database holding one poll of ``feeds`` with the shipped rules (and
    ``extra_rules``, a rules file's text)."""
    db_url = f"sqlite:///{tmp_path / 'console.db'}"
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    rules = shipped_rules(tmp_path / "rules", feeds)
    if extra_rules:
        (rules / "extra.yaml").write_text(extra_rules, encoding="utf-8")
    asyncio.run(poll_once(test_settings(db_url, rules, **settings)))
    active = ActiveRuleBook()
    active.set(load_rulebook(rules, now=datetime.now(UTC)), at=datetime.now(UTC))
    return engine, active


def test_an_analyst_filters_opens_an_alert_marks_it_noise_and_sees_the_precision_change(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    server.route("/wire.xml", body=rss_items(*RIVAL_NEWS, feed_title="Wire"))
    engine, active = polled(tmp_path, [("Wire", server.url("/wire.xml"))])
    with serving(engine, lambda: active.state) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/")
        assert page.locator("tbody tr, table tr").count() > 2
        page.select_option("select[name=rule]", "byd")
        page.click("button:has-text('Show')")
        page.wait_for_url(lambda url: "rule=byd" in url)
        titles = page.locator("td a[href^='/alert/']").all_inner_texts()
        assert "BYD opens its first showrooms in Canada" in titles
        assert not any(t.startswith("Nissan") for t in titles)

        page.click("text=BYD opens its first showrooms in Canada")
        page.wait_for_url("**/alert/*")
        assert page.locator("h1").inner_text() == "BYD opens its first showrooms in Canada"
        page.click("form:has(input[value=noise]) button")
        page.wait_for_url("**/alert/*")
        assert "noise" in page.locator("h2:has-text('Feedback') + p").inner_text()

        page.goto(base + "/rules")
        byd_row = page.locator("tr", has_text="BYD news")
        assert "0 % (0 useful, 1 noise)" in " ".join(byd_row.inner_text().split())
        page.goto(base + "/?rule=byd")
        page.click("form:has(input[value=useful]) button")
        page.goto(base + "/rules")
        assert "100 % (1 useful, 0 noise)" in " ".join(
            page.locator("tr", has_text="BYD news").inner_text().split()
        )
    engine.dispose()


@pytest.mark.corpus
def test_every_page_on_the_real_corpus_photographed(
    shared_dir: Path, tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    urls = server.serve_directory(shared_dir / "feeds" / "real")
    engine, active = polled(tmp_path, [(Path(u).name, u) for u in urls], max_item_age=0)
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(engine, lambda: active.state) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/?since=all")
        first_alert = page.locator("td a[href^='/alert/']").first.get_attribute("href")
        assert first_alert is not None
        for name, path in [
            ("alerts", "/?since=all"),
            ("alert", first_alert),
            ("feeds", "/sources"),
            ("rules", "/rules"),
            ("baselines", "/baselines"),
        ]:
            answer = page.goto(base + path)
            assert answer is not None and answer.status == 200, path
            png = ARTIFACTS / f"console-{name}.png"
            page.screenshot(path=str(png), full_page=True)
            assert png.stat().st_size > MIN_PNG_BYTES, png
    engine.dispose()


@pytest.mark.corpus
def test_every_hostile_feed_renders_inert(
    shared_dir: Path, tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    urls = server.serve_directory(shared_dir / "feeds" / "hostile")
    # Most hostile items are about nothing the shipped rules watch: a rule taking any item with
    # a Latin word of two letters or more puts (nearly) every one on the page.
    prefixes = " OR ".join(f"{a}{b}*" for a in string.ascii_lowercase for b in string.ascii_lowercase)
    everything = f"rules:\n  - id: everything\n    name: Everything\n    match: >-\n      {prefixes}\n"
    engine, active = polled(
        tmp_path, [(Path(u).name, u) for u in urls], extra_rules=everything, max_item_age=0
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(engine, lambda: active.state) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        links = []
        for path in ("/?since=all", "/sources"):
            page.goto(base + path)
            assert page.locator("script").count() == 0, path  # the console has no script of its own
            assert (
                page.locator("[onerror], [onload], [onclick], [onmouseover], iframe, object, embed").count()
                == 0
            )
            assert page.locator("a[href^='javascript:' i], a[href^='data:' i]").count() == 0
            links += page.locator("td a[href^='/alert/']").evaluate_all(
                "els => els.map(e => e.getAttribute('href'))"
            )
        page.goto(base + "/?since=all")
        page.screenshot(path=str(ARTIFACTS / "console-hostile.png"), full_page=True)
        for href in dict.fromkeys(links):  # each item's page: its snippet and evidence too
            page.goto(base + href, wait_until="domcontentloaded")
            assert page.locator("script, [onerror], [onload], iframe").count() == 0, href
        assert len(set(links)) >= 100, "too few hostile items reached the page to judge it"
        assert dialogs == []
    engine.dispose()
