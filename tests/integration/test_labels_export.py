"""`labels export` → `rules eval`: the team's feedback scores the rules, as real commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.runtime import poll_once
from service.store import db
from service.store.feedback import Verdict, record_feedback
from service.store.tables import alerts
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.processes import rivalwatch, service_env
from tests.support.service import RIVAL_NEWS, rss_items, shipped_rules, test_settings

ITEMS = RIVAL_NEWS


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as srv:
        yield srv


async def test_feedback_exported_as_labels_is_what_rules_eval_scores(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    server.route("/wire.xml", body=rss_items(*ITEMS, feed_title="Wire"))
    rules = shipped_rules(tmp_path / "rules", [("Wire", server.url("/wire.xml"))])
    await poll_once(test_settings(db_url, rules))
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            raised = {(r.rule_id, r.title[:3]): (r.id, r.item_id) for r in conn.execute(sa.select(alerts))}
        said: list[tuple[str, str, Verdict, str]] = [
            ("nissan", "Nis", "useful", "nissan"),  # right
            ("nev", "BYD", "noise", "nev"),  # the NEV rule fired, the team says it is not NEV news
            ("byd", "BYD", "missed", "tesla"),  # and says the Tesla theme missed it (for the test)
        ]
        for rule, title, verdict, theme in said:
            alert_id, item_id = raised[(rule, title)]
            db.run_transaction(
                engine,
                lambda conn, a=alert_id, i=item_id, v=verdict, t=theme: record_feedback(
                    conn, item_id=i, theme=t, verdict=v, alert_id=a, who="mei", now=datetime.now(UTC)
                ),
            )
    finally:
        engine.dispose()

    env = service_env(db_url, rules)
    out = tmp_path / "labels"
    exported = rivalwatch("labels", "export", "--out", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    assert "2 labelled items (nev, nissan, tesla)" in exported.stdout
    entries = json.loads((out / "labels.json").read_text(encoding="utf-8"))
    byd = next(e for e in entries if e["title"].startswith("BYD"))
    assert (byd["must"], byd["never"], byd["unsure"]) == (["tesla"], ["nev"], ["nissan"])
    assert byd["guid_or_link"] == "https://news.example.test/byd-canada" and byd["feed_file"] == "wire.xml"

    scored = rivalwatch(
        "rules",
        "eval",
        "--labels",
        str(out / "labels.json"),
        "--feeds",
        str(out / "feeds"),
        "--json",
        env=env,
    )
    assert scored.returncode == 0, scored.stderr
    themes = {t["theme"]: t for t in json.loads(scored.stdout)["themes"]}
    assert (themes["nissan"]["precision"], themes["nissan"]["recall"]) == (1.0, 1.0)
    assert (themes["nev"]["false_alarms"], themes["nev"]["precision"]) == (1, 0.0)
    assert (themes["tesla"]["missed"], themes["tesla"]["recall"]) == (1, 0.0)


def test_export_refuses_a_used_directory_and_says_when_there_is_nothing(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    engine = db.make_engine(db_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("x")
    refused = rivalwatch("labels", "export", "--out", str(used), env=env)
    assert refused.returncode == 2 and "not an empty directory" in refused.stderr
    nothing = rivalwatch("labels", "export", "--out", str(tmp_path / "new"), env=env)
    assert nothing.returncode == 1 and "no feedback yet" in nothing.stderr
