"""`rivalwatch rules eval`: the real pipeline over labelled feeds, and the dry run that agrees with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.alerts.assess import assess
from service.config import Settings
from service.evaluation.replay import (
    Document,
    every_entry,
    find_item,
    read_document,
    watching_every_feed,
)
from service.evaluation.report import Evaluation, evaluate
from service.evaluation.score import NOT_ABOUT_SUBJECT
from service.rulebook import load_rulebook
from service.sources.article import Article, documents_to_texts
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, test_settings, write_feeds

ROOT = Path(__file__).resolve().parents[2]
MIN_SHIPPED = 0.90

ITEMS = [
    ("Rivian starts R2 deliveries", "https://news.example.test/r2", "The electric SUV reaches buyers."),
    ("Toyota hybrid sales climb", "https://news.example.test/hybrid", "Self-charging hybrids sell well."),
    ("A new EV charger network opens", "https://news.example.test/chargers", "Fast charging for EVs."),
    ("Scooter rental expands", "https://news.example.test/scooter", "More e-scooters in town."),
]


def small_world(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A rules directory with one EV rule, a feed file and labels for its items."""
    rules = tmp_path / "rules"
    write_feeds(rules, [("wire", "https://news.example.test/feed.xml")])
    (rules / "ev.yaml").write_text(
        "rules:\n  - id: ev\n    name: EVs\n    match: EV OR electric OR charging\n"
        "    subject: EV OR electric\n",
        encoding="utf-8",
    )
    feeds = tmp_path / "feeds"
    (feeds / "wire").mkdir(parents=True)
    (feeds / "wire" / "feed.xml").write_bytes(rss_items(*ITEMS))
    judged = [("r2", "must"), ("hybrid", "never"), ("chargers", "must"), ("scooter", "must")]
    labels = [
        {
            "feed_file": "wire/feed.xml",
            "guid_or_link": f"https://news.example.test/{slug}",
            "title": title,
            "must": ["ev"] if verdict == "must" else [],
            "never": ["ev"] if verdict == "never" else [],
            "unsure": [],
            "reason": "test",
        }
        for (slug, verdict), (title, _, _) in zip(judged, ITEMS, strict=True)
    ]
    labels.append({**labels[0], "guid_or_link": "https://news.example.test/gone", "title": "Not in the feed"})
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(labels), encoding="utf-8")
    return rules, feeds, path


def test_eval_scores_live_alerts_and_lists_every_disagreement(tmp_path: Path) -> None:
    rules, feeds, labels = small_world(tmp_path)
    env = service_env(f"sqlite:///{tmp_path}/unused.db", rules)
    done = rivalwatch("rules", "eval", "--labels", str(labels), "--feeds", str(feeds), "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [ev] = report["themes"]
    assert (ev["theme"], ev["rule"], ev["must"], ev["never"]) == ("ev", "ev", 3, 1)
    # R2 (electric in the text) and the charger item alert; the scooter has no EV word at all.
    assert (ev["true_alerts"], ev["false_alarms"], ev["missed"]) == (2, 0, 1)
    assert ev["precision"] == 1.0 and ev["recall"] == pytest.approx(2 / 3)
    [miss] = report["misses"]
    assert miss["title"] == "Scooter rental expands" and miss["verdict"] == "no match"
    assert [n["title"] for n in report["not_found"]] == ["Not in the feed"]
    assert not (tmp_path / "unused.db").exists()  # a throw-away database, not the configured one

    failing = rivalwatch(
        "rules", "eval", "--labels", str(labels), "--feeds", str(feeds), "--min-recall", "0.9", env=env
    )
    assert failing.returncode == 1
    assert "below threshold: ev: recall 0.667 < 0.900" in failing.stderr
    assert (
        "ev             ev" in failing.stdout
        and "Missed (labelled must, no live alert) (1)" in failing.stdout
    )


def test_eval_refuses_bad_input_with_a_clear_line(tmp_path: Path) -> None:
    rules, feeds, labels = small_world(tmp_path)
    env = service_env(f"sqlite:///{tmp_path}/unused.db", rules)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"feed_file": "wire/feed.xml", "title": "x", "must": "ev"}]', encoding="utf-8")
    for args, message in [
        (["--labels", str(broken), "--feeds", str(feeds)], "entry 1: must must be a list of theme names"),
        (["--labels", str(tmp_path / "none.json"), "--feeds", str(feeds)], "cannot read"),
        (["--labels", str(labels), "--feeds", str(tmp_path / "nowhere")], "does not exist"),
        (["--labels", str(labels), "--feeds", str(feeds), "--rule", "ev"], "--rule expects THEME=RULE"),
        (["--labels", str(labels), "--feeds", str(feeds), "--rule", "ev=nope"], "no enabled rule 'nope'"),
    ]:
        done = rivalwatch("rules", "eval", *args, env=env)
        assert done.returncode == 1 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def shipped_settings(tmp_path: Path) -> Settings:
    return test_settings(f"sqlite:///{tmp_path}/unused.db", ROOT / "rules")


@pytest.fixture(scope="module")
def dev_evaluation(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    """One run of the shipped rules over the labelled news, shared by the tests that read it."""
    labels = shared_dir / "labels" / "dev.json"
    if not labels.is_file():
        pytest.fail("shared/labels/dev.json is missing beside the checkout")
    settings = shipped_settings(tmp_path_factory.mktemp("eval"))
    return evaluate(labels, feeds_dir=shared_dir / "feeds", settings=settings, overrides={})


@pytest.mark.corpus
def test_the_shipped_rules_meet_the_team_themes_on_the_labelled_news(dev_evaluation: Evaluation) -> None:
    report = dev_evaluation.report
    assert not report.not_found and not dev_evaluation.replay.unreadable
    assert {t.theme for t in report.themes} == {"nissan", "byd", "tesla", "china-export", "nev"}
    assert report.below(min_precision=MIN_SHIPPED, min_recall=MIN_SHIPPED) == []


@pytest.mark.corpus
def test_the_dry_run_reaches_the_live_verdict_for_every_labelled_item(
    dev_evaluation: Evaluation, shared_dir: Path, tmp_path: Path
) -> None:
    """`rules test --file FEED` and the service see the same item and judge it alike."""
    settings = every_entry(shipped_settings(tmp_path))
    feeds_dir = shared_dir / "feeds"
    live = dev_evaluation.replay
    book = watching_every_feed(load_rulebook(settings.rules_dir, now=datetime.now(UTC)))
    documents: dict[str, tuple[Document, list[Article]]] = {}
    compared = 0
    for result in live.results:
        if not (result.found and result.leads_story):
            continue  # a syndicated copy: its story was judged on the first copy
        feed_file = result.label.feed_file
        if feed_file not in documents:
            body = (feeds_dir / feed_file).read_bytes()
            documents[feed_file] = (
                read_document(feeds_dir, feed_file, settings=settings),
                documents_to_texts(body),
            )
        document, articles = documents[feed_file]
        items = list(document.items)
        item = find_item(result.label, items)
        assert item is not None
        article = articles[items.index(item)]
        assert (article.title, article.text) == (item.title, item.text)
        found = assess(book, title=article.title, text=article.text)
        dry = {a.rule.id: a.verdict for a in found if a.about_subject}
        raised = {rule: o for rule, o in result.outcomes.items() if o.status != NOT_ABOUT_SUBJECT}
        assert set(dry) == set(raised), result.label.title
        passing = {a.rule.id for a in found if not a.about_subject}
        assert passing == set(result.outcomes) - set(raised), result.label.title
        for rule_id, outcome in raised.items():
            verdict = dry[rule_id]
            assert verdict is not None
            assert verdict.status == outcome.status, result.label.title
            assert verdict.novelty == pytest.approx(outcome.novelty, abs=1e-4)
            assert list(verdict.new_terms) == list(outcome.new_terms)
            assert [c.display for c in verdict.fact_changes] == [f.display for f in outcome.figures]
        compared += 1
    assert compared > 900
