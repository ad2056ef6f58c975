"""Drafting a baseline from a fetched article: main text, guessed facts, nothing pasted, loadable YAML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.baselines.draft import draft_baseline
from service.baselines.model import load_baselines_strict
from service.baselines.text import split_sentences
from service.errors import BaselineError

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "tests" / "fixtures" / "baselines" / "pages" / "byd-article.html"
URL = "https://motorledger.example/byd-hungary"
FETCHED = date(2023, 12, 23)


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


# raw figure -> (kind, value, unit) the draft guesses for it
EXPECTED_FACTS = {
    "3 million": ("quantity", 3_000_000, "vehicles"),
    "2023": ("year", 2023, "year"),
    "8%": ("share", 0.08, "share"),
    "12": ("count", 12, "models"),
    "second half of 2025": ("date", 2025.5, "half-year"),
}


def test_a_draft_fact_for_every_figure_but_durations_and_labels(html: str) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    guessed = {d.raw: (d.fact.kind, d.fact.value, d.fact.unit) for d in draft.facts}
    assert guessed == EXPECTED_FACTS  # not "three years" (a duration), not "Atto 3" (a model)
    for d in draft.facts:
        assert d.fact.metric.startswith("review me:")
        assert 1 <= len(d.fact.cues) <= 4
    assert {d.fact.subject for d in draft.facts} == {("BYD",)}  # the draft's subject term
    cues = {d.raw: d.fact.cues for d in draft.facts}
    assert "models" in cues["12"]
    assert "sales" in cues["8%"]


def test_terms_are_weighted_names(html: str) -> None:
    terms = draft_baseline(html, url=URL, fetched_on=FETCHED).baseline.terms
    assert terms["BYD"] == 1.0
    assert {"Hungary", "Szeged", "European Union", "Atto 3"} <= set(terms)
    assert all(0.1 <= weight <= 1.0 for weight in terms.values())


def test_yaml_loads_as_a_baseline_and_pastes_no_sentence(html: str, tmp_path: Path) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    text = draft.to_yaml()
    assert text.startswith("# DRAFT baseline")
    assert '# sentence 4: "3 million"' in text
    for sentence in split_sentences(draft.text):
        assert sentence not in text
        assert sentence[:40] not in text
    (tmp_path / f"{draft.baseline.id}.yaml").write_text(text, encoding="utf-8")
    (loaded,) = load_baselines_strict(tmp_path)
    assert loaded == draft.baseline


def test_yaml_under_another_id(html: str, tmp_path: Path) -> None:
    draft = draft_baseline(html, url=URL, fetched_on=FETCHED)
    (tmp_path / "byd.yaml").write_text(draft.to_yaml(baseline_id="byd-hungary-plant"), encoding="utf-8")
    (loaded,) = load_baselines_strict(tmp_path)
    assert loaded == draft.baseline.model_copy(update={"id": "byd-hungary-plant"})
    with pytest.raises(ValueError, match="lower-case letters"):
        draft.to_yaml(baseline_id="Not An Id")


def test_plain_text_with_a_headline(tmp_path: Path) -> None:
    text = (
        "Nissan adds a plant\n"
        "Nissan will build 2 new plants in Mexico by 2026, adding capacity for 300,000 cars a year. "
        "The plants will make electric cars for export."
    )
    draft = draft_baseline(text, url=None, fetched_on=FETCHED)
    assert draft.baseline.source.published == FETCHED
    assert draft.baseline.source.url is None
    assert "Nissan adds a plant" not in draft.text
    assert {d.raw: d.fact.kind for d in draft.facts} == {"2": "count", "2026": "year", "300,000": "quantity"}
    (tmp_path / "draft.yaml").write_text(draft.to_yaml(), encoding="utf-8")
    assert load_baselines_strict(tmp_path)[0].id == draft.baseline.id


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
