"""Changed figures against the seed baseline: real changes, restatements, numbers that are something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.baselines.facts import find_fact_changes
from service.baselines.model import Baseline, Fact, load_baselines_strict

ROOT = Path(__file__).resolve().parents[2]
SEED_ARTICLE = ROOT.parent / "shared" / "seed" / "nissan-china-ev-export-2023-12-19.txt"


@pytest.fixture(scope="module")
def seed() -> Baseline:
    (baseline,) = load_baselines_strict(ROOT / "rules" / "baselines")
    return baseline


# item text (written by us) -> every change as (fact id, baseline, new, display)
CHANGES: dict[str, list[tuple[str, float, float, str]]] = {
    "Nissan now plans eight new-energy models for China.": [
        ("nev-models-china", 10, 8, "NEV models Nissan plans for China: 10 → 8"),
    ],
    "Nissan sold 794,000 vehicles in China in the first ten months.": [
        (
            "china-sales-jan-oct-2023",
            2_800_000,
            794_000,
            "Nissan vehicle sales in China, January-October 2023: 2.8 million → 794,000",
        ),
    ],
    "China accounted for 15% of Nissan's global sales.": [
        (
            "china-share-of-global-sales-2023",
            0.2,
            0.15,
            "China share of Nissan global sales, January-October 2023: 20% → 15%",
        ),
    ],
    "Nissan plans 12 new-energy vehicles for China within three years, five of them under the brand.": [
        ("nev-models-china", 10, 12, "NEV models Nissan plans for China: 10 → 12"),
        ("nev-models-nissan-brand", 4, 5, "Planned China NEV models under the Nissan brand: 4 → 5"),
    ],
    "Nissan and Tsinghua will open their joint research centre in 2025.": [
        (
            "tsinghua-research-centre-launch",
            2024,
            2025,
            "Year the Nissan-Tsinghua joint research centre launches: 2024 → 2025",
        ),
    ],
    "The first Nissan-brand model for China is now scheduled to launch in the first half of 2025.": [
        (
            "first-nissan-brand-nev-launch",
            2024.5,
            2025.0,
            "Launch of the first Nissan-brand NEV for China: H2 2024 → H1 2025",
        ),
    ],
    "China made up 18 per cent of Nissan global sales, down from 30% in the same period of 2022.": [
        (
            "china-share-of-global-sales-2023",
            0.2,
            0.18,
            "China share of Nissan global sales, January-October 2023: 20% → 18%",
        ),
        (
            "china-share-of-global-sales-2022",
            0.34,
            0.30,
            "China share of Nissan global sales, January-October 2022: 34% → 30%",
        ),
    ],
    "Nissan has worked with Tsinghua since 2018.": [
        (
            "tsinghua-collaboration-start",
            2016,
            2018,
            "Year Nissan's research collaboration with Tsinghua began: 2016 → 2018",
        ),
    ],
}

# items that only restate baseline figures, or whose numbers are something else: no change
NO_CHANGE = [
    "Nissan still intends to bring ten NEVs to China.",
    "It sold 2.8m vehicles in China from January to October.",
    "China still makes up about a fifth of its global sales.",
    "China's share of Nissan's worldwide sales was 21%.",
    "The first Nissan-brand model will launch in 2024.",
    "Four of the ten new-energy vehicles will carry the Nissan brand, six come from joint-venture partners.",
    "Nissan plans ten new-energy vehicles for China, four under its own brand and six with its "
    "joint-venture partners.",
    "Tesla lowers Model 3 prices in China again.",
    "Nissan plans to launch its new-energy models in China from 2025.",
    "Nissan will invest $3 billion in new-energy models for China.",
    "Over the last 18 months Nissan has planned new-energy models for China.",
    "BYD sold 3 million vehicles worldwide, up by 5 percentage points in share.",
    "",
]


@pytest.mark.parametrize(("text", "expected"), sorted(CHANGES.items()))
def test_changed_figures(seed: Baseline, text: str, expected: list[tuple[str, float, float, str]]) -> None:
    changes = find_fact_changes(text, seed.facts)
    assert [(c.fact_id, c.display) for c in changes] == [(fid, display) for fid, _, _, display in expected]
    for change, (_, baseline, new, _) in zip(changes, expected, strict=True):
        assert change.baseline == pytest.approx(baseline)
        assert change.new == pytest.approx(new)
        assert change.evidence == text


@pytest.mark.parametrize("text", NO_CHANGE)
def test_restatements_and_other_numbers_change_nothing(seed: Baseline, text: str) -> None:
    assert find_fact_changes(text, seed.facts) == []


def test_the_seed_article_changes_nothing(seed: Baseline) -> None:
    if not SEED_ARTICLE.is_file():
        pytest.skip("shared seed not found beside the checkout (../shared/seed)")
    assert find_fact_changes(SEED_ARTICLE.read_text(encoding="utf-8"), seed.facts) == []


def test_evidence_is_the_sentence_and_each_change_is_reported_once(seed: Baseline) -> None:
    text = "Nissan is well. Nissan now plans eight new-energy models for China. Again: eight NEVs for China."
    (change,) = find_fact_changes(text, seed.facts)
    assert change.evidence == "Nissan now plans eight new-energy models for China."
    assert change.to_json() == {
        "fact": "nev-models-china",
        "metric": "NEV models Nissan plans for China",
        "baseline": 10.0,
        "new": 8.0,
        "unit": "models",
        "evidence": change.evidence,
        "display": "NEV models Nissan plans for China: 10 → 8",
    }


@pytest.mark.parametrize(
    ("cues", "text", "changed"),
    [
        (["plants"], "It runs 7 plants.", True),  # one cue: that cue is enough
        (["plants", "Europe"], "It runs 7 plants.", False),  # two cues: both needed
        (["plants", "Europe"], "It runs 7 plants in Europe.", True),
        (["plants", "Europe"], "It runs 7 plants in Europe, a figure unchanged since 2019.", True),
    ],
)
def test_cue_rule(cues: list[str], text: str, changed: bool) -> None:
    fact = Fact(
        id="plants", metric="Plants", value=5, unit="plants", period="now", cues=tuple(cues), kind="count"
    )
    assert bool(find_fact_changes(text, [fact])) is changed


@pytest.mark.parametrize(
    ("kind", "value", "tolerance", "text", "changed"),
    [
        ("quantity", 2_800_000, None, "sales were 2.75 million units", False),  # within 2%
        ("quantity", 2_800_000, None, "sales were 2.6 million units", True),
        ("quantity", 2_800_000, 0.1, "sales were 2.6 million units", False),
        ("quantity", 1_000_000_000, None, "sales were 1bn units", False),
        ("count", 10, None, "sales were 11 units", True),
    ],
)
def test_tolerance(kind: str, value: float, tolerance: float | None, text: str, changed: bool) -> None:
    fact = Fact.model_validate(
        {
            "id": "f",
            "metric": "Sales",
            "value": value,
            "unit": "units",
            "period": "now",
            "cues": ["sales", "units"],
            "kind": kind,
            "tolerance": tolerance,
        }
    )
    assert bool(find_fact_changes(text, [fact])) is changed


def test_money_facts_read_only_money() -> None:
    fact = Fact(
        id="capex",
        metric="Investment",
        value=3e9,
        unit="USD",
        period="plan",
        cues=("invest", "plant"),
        kind="quantity",
    )
    assert [c.new for c in find_fact_changes("It will invest $5 billion in the plant.", [fact])] == [5e9]
    assert find_fact_changes("It will invest in the plant for 5 million cars.", [fact]) == []
