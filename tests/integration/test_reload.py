"""A reload applies feeds, baselines and rules as one: all of them, or none (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service import reload
from service.baselines.model import Baseline, StoredBaseline
from service.reload import Reloader
from service.rulebook import ActiveRuleBook
from service.store import baselines as baseline_store
from service.store.tables import feeds
from tests.support.service import write_feeds

SHIPPED_BASELINE = (
    Path(__file__).resolve().parents[2] / "rules" / "baselines" / "nissan-china-ev-2023-12-19.yaml"
)
BASELINE_ID = "nissan-china-ev-2023-12-19"
RULE = f"rules:\n  - id: nissan\n    name: Nissan\n    match: Nissan\n    baselines: [{BASELINE_ID}]\n"


def utcnow() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    write_feeds(rules, [("a", "https://a.example/rss")])
    (rules / "baselines").mkdir()
    shutil.copy(SHIPPED_BASELINE, rules / "baselines" / SHIPPED_BASELINE.name)
    (rules / "nissan.yaml").write_text(RULE)
    return rules


def declared_feeds(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(feeds.c.name).where(feeds.c.declared.is_(True))).scalars())


def baseline_versions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [s.version for s in baseline_store.versions(conn, BASELINE_ID)]


def change_everything(rules: Path) -> None:
    """A new feed and a new baseline text: one reload must write both."""
    write_feeds(rules, [("a", "https://a.example/rss"), ("b", "https://b.example/rss")])
    baseline = rules / "baselines" / SHIPPED_BASELINE.name
    baseline.write_text(baseline.read_text().replace("Nissan weighs exporting", "Nissan plans to export"))


def test_a_failing_baseline_sync_rolls_back_the_feeds_of_the_same_reload(
    engine: Engine, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = ActiveRuleBook()
    reloader = Reloader(engine=engine, rules_dir=rules_dir, rules=active, clock=utcnow)
    reloader.load()
    book = active.get()
    assert book is not None and declared_feeds(engine) == {"a"} and baseline_versions(engine) == [1]

    seen_inside: list[set[str]] = []

    def failing_sync(
        conn: Connection, loaded: Sequence[Baseline], *, now: datetime
    ) -> dict[str, StoredBaseline]:
        seen_inside.append(set(conn.execute(sa.select(feeds.c.name)).scalars()))
        raise sa.exc.IntegrityError("INSERT INTO baselines", {}, Exception("version taken"))

    change_everything(rules_dir)
    monkeypatch.setattr(reload, "sync_baselines", failing_sync)
    with pytest.raises(sa.exc.IntegrityError):  # the tick's database watch decides what it is
        reloader.reload_if_changed()

    assert seen_inside == [{"a", "b"}]  # the feed was written in the transaction that failed...
    assert declared_feeds(engine) == {"a"}  # ...and rolled back with it
    assert baseline_versions(engine) == [1]
    assert active.get() is book and active.state.rejected_at is None  # a failure, not a refusal

    monkeypatch.undo()
    reloader.reload_if_changed()  # the change is still unseen, so the next tick applies it
    assert declared_feeds(engine) == {"a", "b"} and baseline_versions(engine) == [2, 1]
    reloaded = active.get()
    assert reloaded is not None and reloaded is not book
    assert reloaded.baselines[BASELINE_ID].stored.version == 2


def test_a_reload_that_fails_unexpectedly_is_refused_whole_and_polling_goes_on(
    engine: Engine, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while the new declarations are turned into rules (once: a figure float() could
    not read) must not leave feeds synced without their rules, nor fail every tick after."""
    active = ActiveRuleBook()
    reloader = Reloader(engine=engine, rules_dir=rules_dir, rules=active, clock=utcnow)
    reloader.load()
    book = active.get()

    def broken(*_args: object) -> None:
        raise ValueError("could not convert string to float: '\u2460'")

    change_everything(rules_dir)
    monkeypatch.setattr(reload, "build_rulebook", broken)
    reloader.reload_if_changed()  # no exception: the tick goes on to claim feeds

    assert declared_feeds(engine) == {"a"} and baseline_versions(engine) == [1]  # rolled back
    assert active.get() is book
    assert active.state.rejected_at is not None
    (problem,) = active.state.problems
    assert "internal error" in problem and "could not convert" in problem
    reloader.reload_if_changed()  # the same files: not read again every tick

    monkeypatch.undo()
    (rules_dir / "nissan.yaml").write_text(RULE + "\n")  # the next edit is applied
    reloader.reload_if_changed()
    assert declared_feeds(engine) == {"a", "b"} and baseline_versions(engine) == [2, 1]


def test_a_broken_rule_file_writes_neither_feeds_nor_baselines(engine: Engine, rules_dir: Path) -> None:
    active = ActiveRuleBook()
    reloader = Reloader(engine=engine, rules_dir=rules_dir, rules=active, clock=utcnow)
    reloader.load()
    book = active.get()

    change_everything(rules_dir)
    (rules_dir / "nissan.yaml").write_text(RULE.replace("match: Nissan", "match: (Nissan"))
    reloader.reload_if_changed()

    assert declared_feeds(engine) == {"a"} and baseline_versions(engine) == [1]
    assert active.get() is book
    assert active.state.rejected_at is not None and len(active.state.problems) == 1
