"""Baseline files: the shipped seed baseline, one fixture per validation error, hashing and JSON."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from service.baselines.model import Baseline, load_baselines, load_baselines_strict
from service.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rules" / "baselines"
FIXTURES = ROOT / "tests" / "fixtures" / "baselines"

# fixture under FIXTURES/invalid -> every problem it must produce (file relative to its folder)
INVALID: dict[str, list[str]] = {
    "bad_id.yaml": ["bad_id.yaml:1: id: 'Bad_Id' must be lower-case letters, digits and '-'"],
    "bad_kind.yaml": ["bad_kind.yaml:15: facts[0].kind: input should be 'count', 'quantity', 'share'"],
    "bad_weight.yaml": ["bad_weight.yaml:7: terms.China: input should be less than or equal to 1"],
    "duplicate_fact_id.yaml": ["duplicate_fact_id.yaml:7: facts: duplicate fact id 'models'"],
    "duplicate_term.yaml": ["duplicate_term.yaml:5: terms: duplicate term 'nissan'"],
    "empty_cue_alternative.yaml": [
        "empty_cue_alternative.yaml:14: facts[0].cues[0]: 'new-energy models |' has an empty alternative"
    ],
    "empty_requires_alternative.yaml": [
        "empty_requires_alternative.yaml:16: facts[0].requires[0]: 'plans |' has an empty alternative"
    ],
    "empty_cues.yaml": ["empty_cues.yaml:8: facts[0].cues: tuple should have at least 1 item"],
    "missing_subject.yaml": [
        "missing_subject.yaml:8: facts[0]: missing required key 'subject'",
        "missing_subject.yaml:15: facts[1].subject: tuple should have at least 1 item",
    ],
    "missing_summary.yaml": ["missing_summary.yaml:1: missing required key 'summary'"],
    "not_mapping.yaml": ["not_mapping.yaml:1: top level must be a mapping (key: value), not a list"],
    "share_out_of_range.yaml": ["share_out_of_range.yaml:8: facts[0]: a share is a fraction from 0 to 1"],
    "text_value.yaml": ["text_value.yaml:8: facts[0].value: input should be a valid number"],
    "unknown_key.yaml": ["unknown_key.yaml:7: unknown key 'tolerence'"],
    "year_on_year_fact.yaml": ["year_on_year_fact.yaml:8: facts[0]: a year fact's value is its own year"],
    "wordless_term.yaml": ["wordless_term.yaml:5: terms: term '&' holds no word"],
    "year_out_of_range.yaml": [
        "year_out_of_range.yaml:16: facts[0].year: input should be greater than or equal"
    ],
}


def _problems_of(folder: Path) -> list[str]:
    return [str(problem).replace(f"{folder}/", "") for problem in load_baselines(folder).problems]


@pytest.mark.parametrize(("fixture", "expected"), sorted(INVALID.items()))
def test_each_invalid_file_reports_its_problem_with_file_and_line(
    tmp_path: Path, fixture: str, expected: list[str]
) -> None:
    shutil.copy(FIXTURES / "invalid" / fixture, tmp_path / fixture)
    problems = _problems_of(tmp_path)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problems
    assert load_baselines(tmp_path).baselines == ()


def test_every_invalid_fixture_has_an_expectation() -> None:
    assert sorted(path.name for path in (FIXTURES / "invalid").glob("*.yaml")) == sorted(INVALID)


def test_all_problems_are_collected_and_strict_loading_lists_them(tmp_path: Path) -> None:
    for name in ("bad_id.yaml", "unknown_key.yaml", "bad_weight.yaml"):
        shutil.copy(FIXTURES / "invalid" / name, tmp_path / name)
    shutil.copy(SHIPPED / "nissan-china-ev-2023-12-19.yaml", tmp_path / "seed.yaml")
    loaded = load_baselines(tmp_path)
    assert [b.id for b in loaded.baselines] == ["nissan-china-ev-2023-12-19"]
    assert len(loaded.problems) == 3
    with pytest.raises(ConfigError) as raised:
        load_baselines_strict(tmp_path)
    assert len(raised.value.problems) == 3


def test_duplicate_ids_across_files_keep_the_first() -> None:
    folder = FIXTURES / "duplicate_id"
    loaded = load_baselines(folder)
    assert [b.id for b in loaded.baselines] == ["same-id"]
    assert _problems_of(folder) == ["b.yaml:1: id: duplicate baseline id 'same-id' (also in a.yaml:1)"]


def test_missing_directory_is_a_problem(tmp_path: Path) -> None:
    assert [p.message for p in load_baselines(tmp_path / "absent").problems] == [
        "baselines directory does not exist"
    ]


def test_shipped_seed_baseline_is_valid_and_covers_every_figure() -> None:
    (seed,) = load_baselines_strict(SHIPPED)
    values = {fact.id: (fact.kind, fact.value) for fact in seed.facts}
    assert values == {
        "china-sales-jan-oct-2023": ("quantity", 2_800_000),
        "china-share-of-global-sales-2023": ("share", 0.2),
        "china-share-of-global-sales-2022": ("share", 0.34),
        "nev-models-china": ("count", 10),
        "nev-models-nissan-brand": ("count", 4),
        "nev-models-joint-venture": ("count", 6),
        "first-nissan-brand-nev-launch": ("date", 2024.5),
        "tsinghua-research-centre-launch": ("year", 2024),
        "tsinghua-collaboration-start": ("year", 2016),
    }
    assert {"Nissan", "Tsinghua University", "BYD", "Masashi Matsuyama", "battery recycling"} <= set(
        seed.terms
    )
    assert all("Nissan" in fact.subject for fact in seed.facts)
    assert all(len(fact.cues) == 2 for fact in seed.facts)  # what is measured, and where or when
    planned = {fact.id for fact in seed.facts if fact.requires}
    assert planned == {"nev-models-china", "nev-models-nissan-brand", "nev-models-joint-venture"}
    years = {fact.id: fact.year for fact in seed.facts if fact.year is not None}
    assert years == {
        "china-sales-jan-oct-2023": 2023,
        "china-share-of-global-sales-2023": 2023,
        "china-share-of-global-sales-2022": 2022,
    }


def test_a_document_stored_before_facts_named_a_subject_still_reads() -> None:
    (seed,) = load_baselines_strict(SHIPPED)
    document = seed.to_json()
    for fact in document["facts"]:
        del fact["subject"]
    older = Baseline.from_json(document)
    assert {fact.subject for fact in older.facts} == {("Nissan",)}  # the terms of weight 1.0
    assert [fact.cues for fact in older.facts] == [fact.cues for fact in seed.facts]


def test_json_round_trip_and_content_hash() -> None:
    (seed,) = load_baselines_strict(SHIPPED)
    document = seed.to_json()
    assert document["source"]["published"] == "2023-12-19"
    assert Baseline.from_json(document) == seed
    again = Baseline.from_json(json.dumps(document))
    assert again.content_hash() == seed.content_hash()
    assert len(seed.content_hash()) == 64
    changed = seed.model_copy(update={"summary": seed.summary + " One more thing."})
    assert changed.content_hash() != seed.content_hash()


def test_a_document_without_requires_or_year_keeps_its_hash() -> None:
    (seed,) = load_baselines_strict(SHIPPED)
    document = seed.to_json()
    plain = [fact for fact in document["facts"] if not fact.get("requires") and "year" not in fact]
    assert plain and all("requires" not in fact and "year" not in fact for fact in plain)
    stored = document | {"facts": plain}  # as written before facts had requires and year
    canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    older = Baseline.from_json(stored)
    assert older.to_json() == stored  # unset optional keys are not written
    assert older.content_hash() == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_baseline_is_frozen() -> None:
    (seed,) = load_baselines_strict(SHIPPED)
    with pytest.raises(ValueError, match="frozen"):
        seed.title = "changed"  # type: ignore[misc]
