"""Pure parts of alerting: snippets with highlights, volume checks, verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from service.alerts.snippet import ELLIPSIS, build_snippet
from service.alerts.verdict import verdict_for
from service.alerts.volume import check_volume, window_bucket
from service.baselines.model import Baseline
from service.baselines.novelty import BaselineProfile, compile_baseline
from service.rulebook import read_baselines
from tests.conftest import ROOT


@dataclass(frozen=True)
class Hit:
    field: Literal["title", "text"]
    start: int
    end: int


def hit(source: str, word: str, field: Literal["title", "text"] = "text") -> Hit:
    start = source.index(word)
    return Hit(field, start, start + len(word))


def test_snippet_is_centred_on_the_first_hit_and_marks_every_hit_inside() -> None:
    text = "filler words here " * 30 + "BYD opened a plant in Hungary, its first in Europe. " + "tail " * 60
    snippet = build_snippet(
        title="t", text=text, hits=[hit(text, "BYD"), hit(text, "Hungary")], max_chars=120
    )
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    assert len(snippet.text) <= 120 + 2
    assert [snippet.text[s:e] for s, e in snippet.highlights] == ["BYD", "Hungary"]


@pytest.mark.parametrize(
    ("title", "text", "field", "word", "expected_start"),
    [
        ("Tesla cuts prices", "", "title", "Tesla", "Tesla cuts prices"),  # no body: the title
        ("Tesla cuts prices", "Body without the term.", "title", "Tesla", "Body without the term."),
        ("x", "Short body with NEV news", "text", "NEV", "Short body with NEV news"),
    ],
)
def test_snippet_source(
    title: str, text: str, field: Literal["title", "text"], word: str, expected_start: str
) -> None:
    source = title if field == "title" else text
    snippet = build_snippet(title=title, text=text, hits=[hit(source, word, field)])
    assert snippet.text == expected_start


def test_overlapping_hits_are_merged() -> None:
    text = "new energy vehicle sales"
    snippet = build_snippet(title="", text=text, hits=[Hit("text", 0, 18), Hit("text", 4, 18)])
    assert snippet.highlights == ((0, 18),)


@pytest.mark.parametrize(
    ("current", "reference_total", "fired"),
    [
        (5, 0, True),  # nothing before, enough now
        (4, 0, False),  # below min_count
        (10, 14 * 3, True),  # 10 > 3 x 3 per day
        (9, 14 * 3, False),  # 9 is not more than 3 x 3
    ],
)
def test_volume_check(current: int, reference_total: int, fired: bool) -> None:
    check = check_volume(
        current=current,
        reference_total=reference_total,
        window=timedelta(days=1),
        reference=timedelta(days=14),
        factor=3.0,
        min_count=5,
    )
    assert check.fired is fired


def test_volume_buckets_are_aligned_to_the_window() -> None:
    day = timedelta(days=1)
    morning = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert window_bucket(morning, day) == window_bucket(morning + timedelta(hours=15), day)
    assert window_bucket(morning, day) != window_bucket(morning + timedelta(hours=16), day)


@pytest.fixture(scope="module")
def seed() -> list[tuple[Baseline, BaselineProfile]]:
    (baseline,) = read_baselines(ROOT / "rules")
    return [(baseline, compile_baseline(baseline))]


def test_no_baseline_means_new() -> None:
    verdict = verdict_for(title="BYD opens plant", text="", threshold=0.35, baselines=[])
    assert (verdict.status, verdict.novelty) == ("pending", None)


def test_a_changed_figure_alerts_even_when_the_rest_is_known(
    seed: list[tuple[Baseline, BaselineProfile]],
) -> None:
    text = "Nissan now plans eight new-energy vehicles for China, four under its own brand."
    title = "Nissan plans eight NEVs for China"
    verdict = verdict_for(title=title, text=text, threshold=0.99, baselines=seed)
    assert verdict.status == "pending"
    assert [(c.baseline, c.new) for c in verdict.fact_changes] == [(10, 8)]
    assert verdict.reason.startswith("changed figures: ")


def test_a_restatement_is_suppressed_with_its_reason(seed: list[tuple[Baseline, BaselineProfile]]) -> None:
    text = "Nissan will export EVs developed in China with Tsinghua University, competing with BYD."
    title = "Nissan to export China-developed EVs"
    verdict = verdict_for(title=title, text=text, threshold=0.35, baselines=seed)
    assert verdict.status == "suppressed" and verdict.fact_changes == ()
    assert "restates nissan-china-ev-2023-12-19" in verdict.reason
