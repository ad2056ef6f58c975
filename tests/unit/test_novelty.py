"""Novelty calibrated against the seed baseline with items written by us (tests/fixtures/baselines/items)."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest

from service.baselines.facts import find_fact_changes
from service.baselines.model import Baseline, Source, load_baselines_strict
from service.baselines.novelty import compile_baseline, judge_novelty
from service.baselines.text import weighted_sentences
from service.matching.ruleset import DEFAULT_NOVELTY_THRESHOLD
from service.sources.normalize import normalize_entry
from service.sources.parse import parse_feed

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
    # A new market and partner, told with a paragraph of background the baseline already holds.
    "nissan-middle-east": (0.35, 0.7, {"Middle East", "Dongfeng"}, {"Nissan", "Tsinghua University"}),
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


# An event about the baseline's subject (a model on sale, its price, a new market, partner, plant
# or figure) is new, well above the threshold; the baseline told in other words is not.
EVENTS: list[tuple[str, str, bool]] = [
    ("Nissan N7 goes on sale in China at 119,900 yuan", "", True),
    ("Nissan to start selling China-built N7 in Mexico and the Middle East", "", True),
    ("Nissan signs battery deal with CATL for its China EVs", "", True),
    ("Nissan to build EVs at a new plant in Wuhan", "", True),
    ("Nissan China sales rise 5% in November", "", True),
    ("Nissan mulls shipping its China-made electric cars overseas; plans 10 NEVs for China", "", False),
    (
        "Nissan mulls shipping its China-made electric cars overseas",
        "Nissan plans 10 NEVs for China and a research centre with Tsinghua University in 2024.",
        False,
    ),
    ("Nissan sold 2.8 million vehicles in China in the first ten months of 2023", "", False),
]


@pytest.mark.parametrize(("title", "text", "new"), EVENTS)
def test_events_about_the_subject_are_new_and_rewordings_are_not(
    seed: Baseline, title: str, text: str, new: bool
) -> None:
    novelty = judge_novelty(title=title, text=text, baselines=[seed])
    if new:
        assert novelty.score >= DEFAULT_NOVELTY_THRESHOLD + 0.15, novelty
    else:
        assert novelty.score < DEFAULT_NOVELTY_THRESHOLD - 0.05, novelty


def test_a_figure_the_baseline_lacks_is_new_and_one_it_holds_is_not(seed: Baseline) -> None:
    def score(text: str) -> float:
        return judge_novelty(title="Nissan sales in China", text=text, baselines=[seed]).score

    known = score("Nissan sold 2.8 million vehicles in China in the first 10 months of 2023.")
    changed = score("Nissan sold 794,000 vehicles in China in the first 10 months of 2024.")
    assert changed > known + 0.05  # one figure among several names; facts.py reports the change itself


def test_a_new_model_code_is_a_new_term(seed: Baseline) -> None:
    novelty = judge_novelty(
        title="Nissan N7 goes on sale in China at 119,900 yuan", text="", baselines=[seed]
    )
    assert novelty.new_terms == ("N7",)


@pytest.mark.corpus
def test_labelled_nissan_news_is_never_suppressed(seed: Baseline, shared_dir: Path) -> None:
    """Every item the labels say is about Nissan is real news, none a restatement of the seed."""
    labels = json.loads((shared_dir / "labels" / "dev.json").read_text(encoding="utf-8"))
    nissan = [label for label in labels if "nissan" in label["must"]]
    assert nissan
    profile = compile_baseline(seed)
    for label in nissan:
        title, text = _labelled_item(shared_dir / "feeds" / label["feed_file"], label)
        novelty = judge_novelty(title=title, text=text, baselines=[profile])
        assert novelty.score >= DEFAULT_NOVELTY_THRESHOLD, (label["title"], novelty)


def _labelled_item(feed: Path, label: dict[str, str]) -> tuple[str, str]:
    """The entry the label names: by guid or link, else by title (see ../shared/labels/README.md)."""
    items = [
        (entry, item)
        for entry in parse_feed(feed.read_bytes()).entries
        if (item := normalize_entry(entry, feed_url=feed.as_uri())) is not None
    ]
    by_id = [item for entry, item in items if label["guid_or_link"] in (entry.guid, entry.link)]
    by_title = [item for _, item in items if item.title == label["title"]]
    item = (by_id or by_title)[0]
    return item.title, item.text


def test_digits_float_cannot_read_are_no_figures() -> None:
    """The digits "①" and "²" (to str.isdigit) are no figures: a baseline naming one once failed to
    compile, and with it every reload of the rules."""
    from service.baselines.novelty import _figure_key, _known_figures

    figures = _known_figures(["① Nissan plans 10 NEVs", "sales up ²"], [])
    assert (_figure_key(10.0), False) in figures


# Pairs of items that differ only in one figure: the first's figure equals a figure of the seed
# only once scaled or read as another kind of number (ten models x 100, a 20% share as a 20% fall,
# the 2 and 8 of "2.8 million"), the second's is nowhere in the seed. Both are news: each pair
# must score the same.
COINCIDENCES: list[tuple[str, str]] = [
    ("Nissan to cut 1,000 jobs in China", "Nissan to cut 1,300 jobs in China"),
    ("Nissan China sales fell 10% in November", "Nissan China sales fell 13% in November"),
    ("Nissan China sales fell 20% in November", "Nissan China sales fell 23% in November"),
    ("Nissan plans 600 charging stations in China", "Nissan plans 700 charging stations in China"),
    ("Nissan to build 8 EV models in China", "Nissan to build 7 EV models in China"),
    ("Nissan to invest $2,800 per car in China", "Nissan to invest $3,100 per car in China"),
]


@pytest.mark.parametrize(("coincidence", "elsewhere"), COINCIDENCES)
def test_a_figure_is_known_only_at_its_own_scale_and_kind(
    seed: Baseline, coincidence: str, elsewhere: str
) -> None:
    profile = compile_baseline(seed)
    first = judge_novelty(title=coincidence, text="", baselines=[profile])
    second = judge_novelty(title=elsewhere, text="", baselines=[profile])
    assert first.score == pytest.approx(second.score), (first, second)
    assert first.score >= DEFAULT_NOVELTY_THRESHOLD


# The seed's figures written at another scale or as a share are still the seed's figures.
RESTATED_FIGURES = [
    "Nissan sold 2.8 million vehicles in China in the first ten months of 2023",
    "Nissan sold 2,800,000 vehicles in China in the first ten months of 2023",
    "Nissan sold 2.8m vehicles in China in the first ten months of 2023",
    "Nissan sold 2.8 mln vehicles in China in the first ten months of 2023",
    "Nissan's 2.8-million-vehicle China year in the first ten months of 2023",
    "Nissan sold 2,800 thousand vehicles in China in the first ten months of 2023",
    "China made up 34% of Nissan global sales in 2022",
    "China made up 34 per cent of Nissan global sales in 2022",
]


@pytest.mark.parametrize("title", RESTATED_FIGURES)
def test_a_figure_of_the_seed_at_any_scale_is_known(seed: Baseline, title: str) -> None:
    from service.baselines.novelty import _figures

    profile = compile_baseline(seed)
    figures = _figures(title, "", weighted_sentences(title, ""))
    assert all(figure in profile.figures for _, figure, _ in figures), (figures, sorted(profile.figures))


# Figures written in words count as the digits do: a count the team has not seen is news however
# it is spelled, one it knows is known; a fraction word is near enough to the share it rounds
# ("more than a third" of sales is the seed's 34 %), digits are not ("33%" is no 34 %); "one" and
# "zero" alone are no figures, nor "half" in a word ("half-empty") or "the latter half".
# title -> (the figures read, whether the seed knows them all)
WORD_FIGURES: list[tuple[str, list[tuple[float, bool]], bool]] = [
    ("Nissan to launch five own-brand NEVs in China", [(5.0, False)], False),
    ("Nissan plans ten NEVs for China, four of them Nissan-badged", [(10.0, False), (4.0, False)], True),
    ("China is about a quarter of Nissan's global sales", [(0.25, False)], False),
    ("China was more than a third of Nissan's sales in 2022", [(2022.0, False), (0.3333, False)], True),
    ("China was 33% of Nissan's sales in 2022", [(0.33, False), (2022.0, False)], False),
    ("Roughly one in five cars Nissan sold came from China", [(0.2, False)], True),
    ("China is one in every five Nissan sales", [(0.2, False)], True),
    ("China is barely a tenth of Nissan sales", [(0.1, False)], False),
    ("Nissan is one of the makers weighing exports", [], True),
    ("One in one hundred Nissans is sold abroad", [(100.0, False)], False),
    ("Nissan to export China-made zero-emission cars", [], True),
    ("Nissan weighs exports as plants sit half-empty", [], True),
    ("Nissan's first own-brand NEV due in the latter half of 2024", [(2024.0, False)], True),
]


@pytest.mark.parametrize(("title", "read", "known"), WORD_FIGURES)
def test_figures_in_words_are_read_and_weighed(
    seed: Baseline, title: str, read: list[tuple[float, bool]], known: bool
) -> None:
    from service.baselines.novelty import _figures

    profile = compile_baseline(seed)
    figures = _figures(title, "", weighted_sentences(title, ""))
    assert [figure for _, figure, _ in figures] == read
    in_words = all(
        figure in profile.figures or (approximate and figure[0] in profile.near_shares)
        for _, figure, approximate in figures
    )
    assert in_words == known


# A turn of the known plan is news though it uses only the baseline's names and words; the plan
# told again, with the baseline's own words for where it stands, is not.
TURNS: list[tuple[str, bool]] = [
    ("Nissan scraps plan to export China-made EVs", True),
    ("Nissan delays plan to export China-developed EVs", True),
    ("Nissan shelves China EV export plan amid price war", True),
    ("Nissan may scrap plan to export China-made EVs", True),
    ("Nissan begins exports of China-made EVs", True),
    ("Nissan drops plan to export China-made EVs", True),
    ("Nissan marks the start of China EV exports", True),
    ("Nissan to begin exporting China-made EVs next year", True),
    ("Exports of China-made Nissan EVs begin", True),
    ("Nissan kicks off exports of China-made EVs", True),
    ("Nissan launches exports of China-made EVs", True),
    ("China-made Nissan EV exports get under way", True),
    ("Nissan puts China EV export plan on hold", True),
    ("Nissan calls off plan to export China-made EVs", True),
    ("Nissan ends plan to export China-made EVs", True),
    ("Nissan China EV export plan scrapped amid falling sales", True),
    ("Nissan EV exports from China suspended over losses", True),
    ("Nissan stops exports of China-made EVs", True),
    ("Nissan pulls the plug on China EV exports", True),
    ("Nissan makes U-turn on China EV export plan", True),
    ("Nissan ships first China-made EVs overseas", True),
    ("Nissan's China-made EV exports start in 2024", True),
    ("Exports of China-made Nissan EVs began this week", True),
    ("Nissan began exporting China-made EVs in 2024, data show", True),  # after the seed's 2023
    # a start that is a possibility or the plan itself is no turn
    ("Nissan may start exporting cars it makes in China, executive says", False),
    ("Nissan could begin shipping China-made EVs abroad", False),
    ("Nissan plans to start exporting China-made cars", False),
    ("Nissan is looking at exporting vehicles from China, starting with gasoline models", False),
    # nor are a fall of sales, a start-up or the start of a year
    ("Nissan weighs exporting China-made EVs after sales dropped", False),
    ("Nissan weighs exporting China-made EVs to rival Chinese start-ups", False),
    ("Nissan mulls China EV exports at the start of 2024", False),
    ("Nissan could launch exports of China-made EVs", False),
    # a stop or a start of the market's course is no turn of the plan, nor is a dated start
    ("Nissan weighs exporting China-made EVs to reverse falling sales", False),
    ("Nissan weighs exporting China-made EVs after a pause in sales growth", False),
    ("Nissan weighs exporting China-made EVs as sales began to fall", False),
    ("Nissan's joint work with Tsinghua started in 2016", False),
    ("Talks under way on Nissan exporting China-made EVs", False),
    ("Nissan may pull out all the stops to export China-made EVs", False),
    ("Nissan weighs China EV exports as rivals pull out of China", False),
    ("Nissan weighs exporting China-made EVs, starting from 2024", False),
    ("Nissan kicks off the year weighing exports of China-made EVs", False),
    ("Nissan is considering whether to start exporting China-made EVs", False),
    (
        "Nissan considers exporting China-made EVs; in 2023 millions of Chinese buyers chose local brands",
        False,
    ),
    ("Nissan mulls shipping its China-made electric cars overseas", False),
    ("Nissan weighs exporting EVs it develops in China", False),
    ("Nissan's research work with Tsinghua began in 2016", False),  # "began": the seed's own word
    ("Nissan will launch its first Nissan-badged NEV for China in the second half of 2024", False),
    # refusals and decisions are turns of the plan
    ("Nissan won't go ahead with China EV exports", True),
    ("Nissan no longer plans to export cars from China", True),
    ("Nissan will not open Tsinghua research centre, company says", True),
    ("Nissan decides to export China-developed EVs", True),
    ("Shares fall as Nissan scraps China export plan", True),
]


@pytest.mark.parametrize(("title", "new"), TURNS)
def test_a_turn_of_the_known_plan_is_news(seed: Baseline, title: str, new: bool) -> None:
    novelty = judge_novelty(title=title, text="", baselines=[compile_baseline(seed)])
    if new:
        assert novelty.score >= DEFAULT_NOVELTY_THRESHOLD, novelty
    else:
        assert novelty.score < DEFAULT_NOVELTY_THRESHOLD - 0.05, novelty


RESTATED_BODY = (
    "Nissan will ship cars it designs and builds in China to overseas markets, competing abroad "
    "with Chinese makers such as BYD."
)


@pytest.mark.parametrize(
    "title",
    ["Nissan kicks off exports of China-made EVs", "Nissan launches exports of China-made EVs"],
)
def test_a_turn_in_the_title_is_news_over_a_body_that_restates_the_plan(seed: Baseline, title: str) -> None:
    novelty = judge_novelty(title=title, text=RESTATED_BODY, baselines=[compile_baseline(seed)])
    assert novelty.score >= 0.5, novelty
    hedged = judge_novelty(
        title=title.replace("kicks off", "may kick off").replace("launches", "could launch"),
        text=RESTATED_BODY,
        baselines=[compile_baseline(seed)],
    )
    assert hedged.score < DEFAULT_NOVELTY_THRESHOLD, hedged


@pytest.mark.parametrize(
    "lead",
    [
        "Nissan said on Tuesday it has suspended exports of China-made EVs, citing weak demand overseas.",
        "Nissan Motor has scrapped its plan to export electric vehicles made in China.",
    ],
)
def test_a_turn_in_the_lead_naming_the_subject_is_news_under_a_plain_title(seed: Baseline, lead: str) -> None:
    profile = compile_baseline(seed)
    title = "Nissan update on China EV exports"
    novelty = judge_novelty(title=title, text=f"{lead} {RESTATED_BODY}", baselines=[profile])
    assert novelty.score >= 0.5, novelty
    # the same turn further down, after a lead that restates the plan, is one mention among many
    later = judge_novelty(title=title, text=f"{RESTATED_BODY} {lead}", baselines=[profile])
    assert later.score < 0.5, later


@pytest.mark.parametrize("publisher", [" - Bloomberg", " | Automotive News China", " - The New York Times"])
def test_the_publisher_an_aggregator_appends_is_no_news_of_the_item(seed: Baseline, publisher: str) -> None:
    title = "Nissan considers shipping China-built cars overseas"
    profile = compile_baseline(seed)
    plain = judge_novelty(title=title, text=RESTATED_BODY, baselines=[profile])
    assert judge_novelty(title=title + publisher, text=RESTATED_BODY, baselines=[profile]) == plain
