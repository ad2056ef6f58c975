"""Drafting a baseline from a fetched article: main text, guessed facts, nothing pasted, a draft
that loads, TODOs where the drafter cannot know, and approval."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.baselines.draft import approved_text, draft_baseline
from service.baselines.model import load_baselines, load_baselines_strict
from service.baselines.text import split_sentences
from service.errors import BaselineError

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "tests" / "fixtures" / "baselines" / "pages" / "byd-article.html"
URL = "https://motorledger.example/byd-hungary"
FETCHED = date(2023, 12, 23)
SEED = Path("seed") / "nissan-china-ev-export-2023-12-19.txt"


@pytest.fixture(scope="module")
def html() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_main_text_without_boilerplate_and_metadata(html: str) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    assert "Szeged" in draft.text
    for boilerplate in ("Subscribe", "Cookie settings", "All rights reserved"):
        assert boilerplate not in draft.text
    source = draft.baseline.source
    assert (source.publisher, source.published, source.url) == ("Motor Ledger", date(2023, 12, 22), URL)
    assert draft.baseline.id == "byd-hungary-chinese-2023-12-22"
    assert draft.baseline.title == "BYD picks Hungary for first European car plant"  # the page title


# raw figure -> (kind, value, unit) the draft guesses for it
EXPECTED_FACTS = {
    "3 million": ("quantity", 3_000_000, "vehicles"),
    "8%": ("share", 0.08, "share"),
    "12": ("count", 12, "models"),
    "second half of 2025": ("date", 2025.5, "half-year"),
}


def test_a_draft_fact_for_every_figure_but_durations_labels_and_bare_years(html: str) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    guessed = {d.raw: (d.fact.kind, d.fact.value, d.fact.unit) for d in draft.facts}
    assert guessed == EXPECTED_FACTS  # not "three years" (a duration), "Atto 3" (a model), "2023" (a year)
    for d in draft.facts:
        assert d.fact.metric.startswith("TODO: name it:")
        assert 1 <= len(d.fact.cues) <= 4
        assert d.fact.period == "as of 2023-12-22"  # the article's date, not the day it was fetched
    assert {d.fact.subject for d in draft.facts} == {("BYD",)}  # the draft's subject term
    cues = {d.raw: d.fact.cues for d in draft.facts}
    assert "models" in cues["12"]
    assert "sales" in cues["8%"]


def test_terms_are_weighted_names_and_only_the_subject_weighs_one(html: str) -> None:
    terms = draft_baseline(html, url=URL, fetched_on=FETCHED).baseline.terms
    assert terms["BYD"] == 1.0
    assert {"Hungary", "Szeged", "European Union", "Atto 3"} <= set(terms)
    assert all(0.1 <= weight <= 0.9 for term, weight in terms.items() if term != "BYD")


def test_the_draft_file_loads_as_a_draft_and_pastes_no_sentence(html: str, tmp_path: Path) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    text = draft.to_yaml()
    assert text.startswith("# DRAFT baseline")
    assert "\ndraft: true\n" in text
    assert '# sentence 4: "3 million"' in text
    for sentence in split_sentences(draft.text)[1:]:  # the first is the headline, the title
        assert sentence not in text
        assert sentence[:40] not in text
    (tmp_path / f"{draft.baseline.id}.yaml").write_text(text, encoding="utf-8")
    loaded = load_baselines(tmp_path)
    assert (loaded.baselines, loaded.problems, loaded.drafts) == ((), [], (draft.baseline,))


def test_approving_removes_the_mark_and_the_review_header(html: str, tmp_path: Path) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    approved = approved_text(draft.to_yaml())
    assert approved is not None
    assert approved.startswith("id: ")
    assert "draft:" not in approved
    assert '# sentence 4: "3 million"' in approved  # the locating comments stay
    (tmp_path / "byd.yaml").write_text(approved, encoding="utf-8")
    assert load_baselines_strict(tmp_path) == (draft.baseline,)
    assert approved_text(approved) is None  # nothing left to approve


def test_yaml_under_another_id(html: str, tmp_path: Path) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    text = draft.to_yaml(baseline_id="byd-hungary-plant")
    assert "rivalwatch baselines approve byd-hungary-plant" in text
    (tmp_path / "byd.yaml").write_text(text, encoding="utf-8")
    assert load_baselines(tmp_path).drafts == (draft.baseline.model_copy(update={"id": "byd-hungary-plant"}),)
    with pytest.raises(ValueError, match="lower-case letters"):
        draft.to_yaml(baseline_id="Not An Id")


def test_plain_text_with_a_headline_gives_the_title(tmp_path: Path) -> None:
    text = (
        "Nissan adds a plant\n"
        "Nissan will build 2 new plants in Mexico by 2026, adding capacity for 300,000 cars a year. "
        "The plants will make electric cars for export."
    )
    draft = draft_baseline(text, url=None, fetched_on=FETCHED)
    assert draft.baseline.title == "Nissan adds a plant"
    assert draft.baseline.source.published == FETCHED
    assert draft.baseline.source.url is None
    assert "Nissan adds a plant" not in draft.text
    assert {d.raw: d.fact.kind for d in draft.facts} == {"2": "count", "300,000": "quantity"}
    (tmp_path / "draft.yaml").write_text(draft.to_yaml(), encoding="utf-8")
    assert load_baselines(tmp_path).drafts[0].id == draft.baseline.id


BODY = (
    "Nissan said it would export electric cars developed in China to other markets, and Nissan "
    "plans 10 new-energy vehicles for China."
)


@pytest.mark.parametrize(
    ("top", "headline", "published"),
    [
        ("Nissan to export EVs\nDecember 19, 2023\n\n", "Nissan to export EVs", date(2023, 12, 19)),
        ("December 19, 2023\nNissan to export EVs\n", "Nissan to export EVs", date(2023, 12, 19)),
        ("Nissan to export EVs\n2023-12-19 | Reuters\n", "Nissan to export EVs", date(2023, 12, 19)),
        (
            "Nissan to export EVs\nPublished: Tue, Dec. 19, 2023 10:32 AM EST\n",
            "Nissan to export EVs",
            date(2023, 12, 19),
        ),
        ("Nissan to export EVs\n19 December 2023\n", "Nissan to export EVs", date(2023, 12, 19)),
        (" date 2023-12-19 ", None, date(2023, 12, 19)),  # written in front of the first sentence
        ("Nissan to export EVs\n", "Nissan to export EVs", None),
    ],
)
def test_the_date_line_is_the_as_of_date_and_the_headline_the_title(
    top: str, headline: str | None, published: date | None
) -> None:
    draft = draft_baseline(top + BODY, url=None, fetched_on=FETCHED)
    assert draft.text == BODY
    if headline is None:
        assert draft.baseline.title.startswith("TODO: a title in our own words, about Nissan")
    else:
        assert draft.baseline.title == headline
    assert draft.baseline.source.published == (published or FETCHED)
    periods = {d.fact.period for d in draft.facts}
    if published is None:
        assert periods == {"TODO: as of when? (fetched 2023-12-23; the article's date was not found)"}
    else:
        assert periods == {f"as of {published.isoformat()}"}


@pytest.mark.parametrize(
    ("sentence", "raw", "value", "unit"),
    [
        ("BYD said sales were up 24% in November.", "24%", 24, "TODO: percent change"),
        ("BYD said its exports rose 224% year on year in November.", "224%", 224, "TODO: percent change"),
        (
            "BYD said its deliveries were down 3.5 percent in November.",
            "3.5 percent",
            3.5,
            "TODO: percent change",
        ),
        ("BYD said its exports were up 224% from a year earlier.", "224%", 224, "TODO: percent change"),
        ("BYD said it holds a 224% share of the plug-in market.", "224%", 224, "TODO: not a share"),
        ("BYD said it will launch two more models in Hungary.", "two", 2, "TODO: change"),
    ],
)
def test_adding_an_article_with_a_growth_figure_gives_a_todo_fact_not_an_error(
    sentence: str, raw: str, value: float, unit: str
) -> None:
    text = f"BYD grows in Europe\n{sentence} BYD builds its first European car plant in Szeged, Hungary."
    (fact,) = [d.fact for d in draft_baseline(text, url=None, fetched_on=FETCHED).facts if d.raw == raw]
    assert (fact.kind, fact.value, fact.unit) == ("quantity", value, unit)  # never a share


def test_the_subject_is_the_organisation_mentioned_most_not_a_country() -> None:
    text = (
        "China sets the pace\n"
        "China sold more electric cars than anyone. In China, BYD leads, and China's buyers like it. "
        "BYD Auto plans 12 new models, said BYD. China and Chinese rivals follow."
    )
    draft = draft_baseline(text, url=None, fetched_on=FETCHED)
    assert {d.fact.subject for d in draft.facts} == {("BYD", "BYD Auto")}
    assert [term for term, weight in draft.baseline.terms.items() if weight == 1.0] == ["BYD"]


def test_the_seed_articles_draft_is_about_nissan_as_of_its_date_line(shared_dir: Path) -> None:
    text = (shared_dir / SEED).read_text(encoding="utf-8")
    draft = draft_baseline(text, url=None, fetched_on=FETCHED)
    baseline = draft.baseline
    # the seed has no headline line (its first line is the first paragraph): the title is a TODO
    # naming the subject, never the article's first sentence
    assert baseline.title.startswith("TODO: a title in our own words, about Nissan")
    assert baseline.source.published == date(2023, 12, 19)
    assert {d.fact.period for d in draft.facts} == {"as of 2023-12-19"}
    assert {d.fact.subject for d in draft.facts} == {("Nissan", "Nissan Motor")}
    assert [term for term, weight in baseline.terms.items() if weight == 1.0] == ["Nissan"]
    assert not any(d.fact.kind == "year" or d.raw in ("2016", "2022", "2023") for d in draft.facts)
    guessed = {d.raw: (d.fact.kind, d.fact.value) for d in draft.facts}
    assert guessed["2.8 million"] == ("quantity", 2_800_000)
    assert guessed["a fifth"] == ("share", 0.2)
    assert guessed["second half of 2024"] == ("date", 2024.5)
    shares = [d.raw for d in draft.facts if d.fact.kind == "share"]
    assert shares == ["a fifth", "a third"]  # fractions of Nissan's sales, no percent change


@pytest.mark.parametrize(
    "page",
    [
        "",
        "<html><body><nav>Home</nav><footer>Copyright</footer></body></html>",
        "<html><body><p>Too short.</p></body></html>",
    ],
)
def test_no_main_text_is_a_baseline_error(page: str) -> None:
    with pytest.raises(BaselineError, match="no main text"):
        draft_baseline(page, url=URL, fetched_on=FETCHED)


def test_text_without_a_name_or_a_repeated_term_is_a_baseline_error() -> None:
    text = "a quiet week\n" + "nothing at all happened here on any of the days we looked, it seems. " * 2
    with pytest.raises(BaselineError, match="no baseline to draft"):
        draft_baseline(text, url=None, fetched_on=FETCHED)


def test_a_draft_mark_other_than_true_or_false_is_a_problem_at_its_line(html: str, tmp_path: Path) -> None:
    text = draft_baseline(html, url=URL, fetched_on=FETCHED).to_yaml().replace("draft: true", "draft: maybe")
    (tmp_path / "byd.yaml").write_text(text, encoding="utf-8")
    loaded = load_baselines(tmp_path)
    assert [str(p).replace(f"{tmp_path}/", "") for p in loaded.problems] == [
        "byd.yaml:11: draft: must be true or false (delete the line once the draft is approved)"
    ]
    assert (loaded.baselines, loaded.drafts) == ((), ())
