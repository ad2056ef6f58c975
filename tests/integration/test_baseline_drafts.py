"""Baseline drafts as an analyst meets them: `baselines add` writes a draft with TODOs (never a
traceback), `rules validate` lists the drafts and the TODOs left, the service ignores a draft
until `baselines approve` (real console script; the reload on SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from service.baselines.model import load_baselines
from service.reload import Reloader
from service.rulebook import ActiveRuleBook
from tests.support.processes import rivalwatch, service_env
from tests.support.service import write_feeds

SHIPPED_BASELINES = Path(__file__).resolve().parents[2] / "rules" / "baselines"
SHIPPED_ID = "nissan-china-ev-2023-12-19"
GROWTH_ARTICLE = """\
BYD exports surge in November
December 1, 2023
BYD said its exports of new-energy vehicles were up 224% from a year earlier in November.
BYD sold 301,000 cars in the month, and BYD plans 12 new models for Europe.
"""
DRAFT_ID = "byd-exports-2023-12"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """One feed and the shipped baseline, no rule."""
    shutil.copytree(SHIPPED_BASELINES, tmp_path / "rules" / "baselines")
    write_feeds(tmp_path / "rules", [("a", "https://a.example/rss")])
    return tmp_path / "rules"


def env_for(tmp_path: Path, rules: Path) -> dict[str, str]:
    return service_env(f"sqlite:///{tmp_path}/unused.db", rules)


def add_growth_article(tmp_path: Path, rules: Path) -> Path:
    article = tmp_path / "byd.txt"
    article.write_text(GROWTH_ARTICLE, encoding="utf-8")
    done = rivalwatch(
        "baselines", "add", "--file", str(article), "--id", DRAFT_ID, env=env_for(tmp_path, rules)
    )
    assert done.returncode == 0, done.stderr
    return rules / "baselines" / f"{DRAFT_ID}.yaml"


def test_adding_an_article_with_a_growth_figure_gives_a_draft_with_a_todo_not_a_traceback(
    tmp_path: Path, rules_dir: Path
) -> None:
    article = tmp_path / "byd.txt"
    article.write_text(GROWTH_ARTICLE, encoding="utf-8")
    done = rivalwatch(
        "baselines", "add", "--file", str(article), "--id", DRAFT_ID, env=env_for(tmp_path, rules_dir)
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    path = rules_dir / "baselines" / f"{DRAFT_ID}.yaml"
    assert done.stdout.splitlines() == [
        f"wrote draft {path}: 5 TODOs to resolve (rivalwatch rules validate lists them)",
        f"the service ignores it until you approve it: rivalwatch baselines approve {DRAFT_ID}",
    ]
    (draft,) = load_baselines(rules_dir / "baselines").drafts
    assert draft.title == "BYD exports surge in November"
    growth = {fact.value: fact for fact in draft.facts}[224]
    assert (growth.kind, growth.unit, growth.period) == (
        "quantity",
        "TODO: percent change",
        "as of 2023-12-01",
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "cannot read {file}: No such file or directory"),
        ("folder", b"", "cannot read {file}: Is a directory"),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200), "{file} is not a text or HTML file"),
        ("empty.txt", b"", "{file}: no main text could be extracted from the article"),
        (
            "page.html",
            b"<html><body><nav>Home</nav></body></html>",
            "{file}: no main text could be extracted",
        ),
    ],
)
def test_a_bad_article_file_is_one_line_and_exit_code_2(
    tmp_path: Path, rules_dir: Path, name: str, content: bytes | None, message: str
) -> None:
    file = tmp_path / name
    if name == "folder":
        file.mkdir()
    elif content is not None:
        file.write_bytes(content)
    done = rivalwatch("baselines", "add", "--file", str(file), env=env_for(tmp_path, rules_dir))
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: " + message.format(file=file))
    assert [path.stem for path in (rules_dir / "baselines").glob("*.yaml")] == [SHIPPED_ID]


def test_validate_lists_the_drafts_and_every_todo_left(tmp_path: Path, rules_dir: Path) -> None:
    path = add_growth_article(tmp_path, rules_dir)
    done = rivalwatch("rules", "validate", str(rules_dir), env=env_for(tmp_path, rules_dir))
    assert done.returncode == 0, done.stdout  # drafts and TODOs are warnings, not problems
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        f"{path}:11: warning: baseline '{DRAFT_ID}' is a draft: the service ignores it until it is approved"
    )
    assert lines[1].startswith(f"{path}:18: warning: summary: TODO left: TODO: summary in our own words")
    assert (
        lines[2]
        == f"{path}:25: warning: facts[0].metric: TODO left: TODO: name it: new energy vehicles earlier"
    )
    assert lines[3] == f"{path}:27: warning: facts[0].unit: TODO left: TODO: percent change"
    assert [line.split(": warning: ")[1].split(":")[0] for line in lines[4:6]] == [
        "facts[1].metric",
        "facts[2].metric",
    ]
    assert lines[6:] == ["ok, 6 warnings: 1 feeds, 0 rules, 0 aliases, 1 baselines"]

    done = rivalwatch("baselines", "approve", DRAFT_ID, env=env_for(tmp_path, rules_dir))
    assert done.returncode == 0, done.stderr
    done = rivalwatch("rules", "validate", str(rules_dir), env=env_for(tmp_path, rules_dir))
    assert [line for line in done.stdout.splitlines() if "is a draft" in line] == []
    # the TODOs stay listed after approval
    assert done.stdout.splitlines()[-1] == "ok, 5 warnings: 1 feeds, 0 rules, 0 aliases, 2 baselines"


def test_a_draft_is_ignored_by_the_service_until_approved(
    engine: Engine, tmp_path: Path, rules_dir: Path
) -> None:
    path = add_growth_article(tmp_path, rules_dir)
    active = ActiveRuleBook()
    reloader = Reloader(engine=engine, rules_dir=rules_dir, rules=active, clock=lambda: datetime.now(UTC))
    reloader.load()
    book = active.get()
    assert book is not None and set(book.baselines) == {SHIPPED_ID}

    done = rivalwatch("baselines", "approve", DRAFT_ID, env=env_for(tmp_path, rules_dir))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[0]
        == f"approved {DRAFT_ID} ({path}): the service loads it on its next reload"
    )
    assert "draft:" not in path.read_text(encoding="utf-8")
    reloader.reload_if_changed()
    book = active.get()
    assert book is not None and set(book.baselines) == {SHIPPED_ID, DRAFT_ID}
    assert book.baselines[DRAFT_ID].stored.version == 1

    again = rivalwatch("baselines", "approve", DRAFT_ID, env=env_for(tmp_path, rules_dir))
    assert (again.returncode, again.stdout) == (
        0,
        f"{DRAFT_ID} is not a draft ({path}): nothing to approve\n",
    )


def test_approve_keeps_a_draft_with_problems_a_draft(tmp_path: Path, rules_dir: Path) -> None:
    path = add_growth_article(tmp_path, rules_dir)
    broken = path.read_text(encoding="utf-8").replace("value: 12\n", "value: twelve\n")
    path.write_text(broken, encoding="utf-8")
    done = rivalwatch("baselines", "approve", DRAFT_ID, env=env_for(tmp_path, rules_dir))
    assert done.returncode == 1
    assert "value: input should be a valid number" in done.stdout
    assert f"{DRAFT_ID} stays a draft: fix the problems above first" in done.stderr
    assert path.read_text(encoding="utf-8") == broken


def test_approving_an_unknown_id_says_so(tmp_path: Path, rules_dir: Path) -> None:
    done = rivalwatch("baselines", "approve", "no-such-baseline", env=env_for(tmp_path, rules_dir))
    assert done.returncode == 1
    assert done.stderr.startswith("no baseline file with id 'no-such-baseline'")
