"""Novelty calibrated against the seed baseline with items written by us (tests/fixtures/baselines/items)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from service.baselines.facts import find_fact_changes
from service.baselines.model import Baseline, Source, load_baselines_strict
from service.baselines.novelty import compile_baseline, judge_novelty

ROOT = Path(__file__).resolve().parents[2]
ITEMS = ROOT / "tests" / "fixtures" / "baselines" / "items"
SEED_ARTICLE = ROOT.parent / "shared" / "seed" / "nissan-china-ev-export-2023-12-19.txt"


@pytest.fixture(scope="module")
def seed() -> Baseline:
    (baseline,) = load_baselines_strict(ROOT / "rules" / "baselines")
    return baseline


def _item(name: str) -> tuple[str, str]:
    title, _, text = (ITEMS / f"{name}.txt").read_text(encoding="utf-8").partition("\n")
    return title, text


# item -> (lowest score, highest score, names that must be new, names that must not be new)
CALIBRATION: dict[str, tuple[float, float, set[str], set[str]]] = {
    "paraphrase": (0.0, 0.3, set(), {"Nissan", "Tsinghua University", "BYD", "Tesla"}),
    "byd-hungary": (0.6, 1.0, {"Hungary", "Szeged", "Europe"}, {"BYD"}),
    "tesla-price-cut": (0.6, 1.0, {"Model 3", "Model Y", "Shanghai"}, {"Tesla", "China"}),
    "nissan-middle-east": (0.3, 0.6, {"Middle East", "Dongfeng"}, {"Nissan", "Tsinghua University"}),
}


@pytest.mark.parametrize(("name", "expected"), sorted(CALIBRATION.items()))
def test_calibration(seed: Baseline, name: str, expected: tuple[float, float, set[str], set[str]]) -> None:
    low, high, new, known = expected
    title, text = _item(name)
    novelty = judge_novelty(title=title, text=text, baselines=[seed])
    assert low <= novelty.score <= high, novelty
    assert new <= set(novelty.new_terms), novelty.new_terms
    assert not known & set(novelty.new_terms), novelty.new_terms
    assert len(novelty.new_terms) <= 8
    assert novelty.baseline_id == seed.id
    assert seed.id in novelty.reason


def test_the_seed_article_is_not_new(seed: Baseline) -> None:
    if not SEED_ARTICLE.is_file():
        pytest.skip("shared seed not found beside the checkout (../shared/seed)")
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    novelty = judge_novelty(title="Nissan to export China-developed EVs", text=text, baselines=[seed])
    assert novelty.score <= 0.2, novelty
    assert novelty.new_terms == ()
    assert {"Nissan", "Tsinghua University", "China"} <= set(novelty.known_terms)


def test_order_of_novelty_follows_what_is_new(seed: Baseline) -> None:
    scores = {
        name: judge_novelty(title=_item(name)[0], text=_item(name)[1], baselines=[seed]).score
        for name in CALIBRATION
    }
    assert scores["paraphrase"] < scores["nissan-middle-east"] < scores["tesla-price-cut"]


def test_the_paraphrase_and_the_middle_east_item_change_no_known_figure(seed: Baseline) -> None:
    for name in ("paraphrase", "nissan-middle-east"):
        assert find_fact_changes(_item(name)[1], seed.facts) == [], name


def test_several_baselines_take_the_lowest_novelty(seed: Baseline) -> None:
    byd = Baseline(
        id="byd-europe-plant",
        title="BYD builds a car plant in Hungary",
        source=Source(publisher="Test desk", published=date(2023, 12, 22)),
        summary="BYD chose Szeged in Hungary for its first European factory, to avoid EU import duties.",
        terms={"BYD": 1.0, "Hungary": 0.9, "Szeged": 0.8, "Europe": 0.7, "European Union": 0.6},
    )
    title, text = _item("byd-hungary")
    alone = judge_novelty(title=title, text=text, baselines=[seed])
    both = judge_novelty(title=title, text=text, baselines=[seed, compile_baseline(byd)])
    assert both.baseline_id == "byd-europe-plant"
    assert both.score < alone.score
    assert both.score == judge_novelty(title=title, text=text, baselines=[byd]).score
    assert not {"Hungary", "Szeged", "Europe"} & set(both.new_terms)


@pytest.mark.parametrize(
    ("title", "text", "score"),
    [("Anything", "at all", 1.0), ("", "", 1.0)],
)
def test_no_baseline_means_entirely_new(title: str, text: str, score: float) -> None:
    novelty = judge_novelty(title=title, text=text, baselines=[])
    assert (novelty.score, novelty.new_terms, novelty.baseline_id) == (score, (), None)


def test_empty_item_is_new_against_a_baseline(seed: Baseline) -> None:
    assert judge_novelty(title="", text="", baselines=[seed]).score == 1.0


def test_deterministic_and_fast(seed: Baseline) -> None:
    title, text = _item("paraphrase")
    text = (text * 2)[:2000]
    profile = compile_baseline(seed)
    first = judge_novelty(title=title, text=text, baselines=[profile])
    start = time.perf_counter()
    for _ in range(20):
        assert judge_novelty(title=title, text=text, baselines=[profile]) == first
    per_call_s = (time.perf_counter() - start) / 20
    assert per_call_s < 0.05  # about 1 ms on a laptop; the bound only catches a pathological slowdown


def test_an_item_off_the_baselines_subject_is_never_a_restatement(seed: Baseline) -> None:
    # Shares side terms with the seed (Tesla, China, prices, competition) but not its subject.
    novelty = judge_novelty(
        title="Tesla lowers Model 3 prices in China again",
        text="Tesla cut prices for the third time this year as competition among electric carmakers grew.",
        baselines=[seed],
    )
    assert novelty.score >= 0.6
