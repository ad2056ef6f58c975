"""Salient names (``text.salient_names``): names only, no figures, headline runs or clauses."""

from __future__ import annotations

import pytest

from service.baselines.text import salient_names, without_publisher
from service.baselines.turns import tells_of_a_turn

# (title, text, names that must be found, what must not be a name)
CASES: list[tuple[str, str, set[str], set[str]]] = [
    (
        "EV news roundup",
        "Headlines: Tesla Car Sales Fell 9% in 2025, Falling Behind China’s BYD. More to come.",
        {"Tesla", "China", "BYD"},
        {"Tesla Car Sales Fell 9", "Car Sales Fell", "Fell 9", "Falling Behind China"},
    ),
    ("Tesla Car Sales Fell 9% in Europe", "", {"Europe"}, {"Tesla Car Sales Fell 9", "Car Sales Fell"}),
    (
        "Weekly digest",
        "Read our Top 10 News Items 1 through 10 below.",
        set(),
        {"Top 10", "News Items 1", "News Items"},
    ),
    (
        "Tesla update",
        "Owners say Tesla released Autopilot 2.0 to cars this week.",
        {"Autopilot"},
        {"Autopilot 2 0"},
    ),
    (
        "无人驾驶卡车",
        "Uber旗下的Otto公司与啤酒厂商安海斯-布希合作，完成了首次无人驾驶卡车送货。",
        set(),
        {"Uber旗下的Otto公司与啤酒厂商安海斯"},
    ),
    ("日産の新型EV", "日産自動車は中国で開発したEVを輸出すると発表した。", set(), set()),
    (
        "Rivals in China",
        "The Nissan N7 and the Volvo EX30 compete with the Tesla Model 3 and BYD's bZ3 in China.",
        {"Nissan N7", "Volvo EX30", "Tesla Model 3", "bZ3", "BYD", "China"},
        set(),
    ),
    (
        "Tesla cuts prices",
        "Tesla cut the price of its Model 3 sedan by 5%.",
        {"Tesla", "Model 3"},
        {"Model 3 sedan"},
    ),
    (
        "Exports",
        "Nissan will ship cars to the U.S. and to Mexico, and China's Chery bought its plant.",
        {"U.S.", "Mexico", "China", "Chery"},
        {"U S", "China Chery", "China's Chery"},
    ),
    (
        "EXCLUSIVE: Nissan shelves electric Qashqai",
        "I'll explain why. Nissan posted Q3 results in FY2024 and H2 guidance.",
        {"Nissan", "Qashqai"},
        {"EXCLUSIVE", "I'll", "Q3", "FY2024", "H2"},
    ),
    (
        "Nissan to ship EVs to the Gulf",
        "The first shipments will go to Saudi Arabia and the United Arab Emirates, and Rolls-Royce agreed.",
        {"Saudi Arabia", "United Arab Emirates", "Rolls-Royce"},
        {"Arab Emirates"},
    ),
    (  # news writes "additionally" only first in a sentence: its case is unknown, not a name's
        "Nissan plans more EVs",
        "Additionally, Nissan will build a plant. Additionally, it will hire staff.",
        {"Nissan"},
        {"Additionally"},
    ),
    ("Ferrari's Tesla Rival", "The review ran in Permalink on Monday.", {"Permalink"}, set()),
    ("Driven: The Nissan Leaf Reviewed By Permalink", "", {"Nissan Leaf"}, {"Permalink"}),
    (
        "Nissan sold 794,000 cars",
        "Nissan sold 794,000 cars, up 2.5 percent.",
        {"Nissan"},
        {"Nissan 794", "794"},
    ),
]


@pytest.mark.parametrize(("title", "text", "found", "not_names"), CASES)
def test_names_only(title: str, text: str, found: set[str], not_names: set[str]) -> None:
    names = {name.text for name in salient_names(title, text)}
    assert found <= names, names
    assert not names & not_names, names


@pytest.mark.parametrize(("title", "text", "_found", "_not_names"), CASES)
def test_no_name_holds_a_figure_or_chinese_or_japanese_text(
    title: str, text: str, _found: set[str], _not_names: set[str]
) -> None:
    for name in salient_names(title, text):
        assert not any(len(word) > 3 and word.isdigit() for word in name.text.split()), name
        assert all(ord(ch) < 0x3000 for ch in name.text), name


def test_a_title_case_title_keeps_only_what_the_body_capitalises() -> None:
    names = {name.text for name in salient_names("Nissan Follows Tesla Into China", "Nissan said it would.")}
    assert names == {"Nissan"}


def test_mentions_add_up_and_the_title_counts_twice() -> None:
    (nissan, *_) = salient_names("Nissan goes to Mexico", "Nissan confirmed it. Later Nissan said more.")
    assert (nissan.text, nissan.weight) == ("Nissan", 4.0)


@pytest.mark.parametrize(
    ("title", "kept"),
    [
        ("Nissan weighs exports - Reuters", "Nissan weighs exports"),
        ("Why is everyone talking about the Mini? | Autocar", "Why is everyone talking about the Mini?"),
        ("Nissan weighs China exports \u2014 The New York Times", "Nissan weighs China exports"),
        ("Pixel news roundup today - 9to5Google", "Pixel news roundup today"),
        # not a publisher: a lower-case word, a year, a short headline, no spaced dash
        ("Nissan halts exports - report", "Nissan halts exports - report"),
        ("Nissan Q3 results - 2023", "Nissan Q3 results - 2023"),
        ("BYD - Reuters", "BYD - Reuters"),
        ("Nissan e-Power hybrids go global", "Nissan e-Power hybrids go global"),
        ("新能源 汽车 出口 - 雷锋早报", "新能源 汽车 出口 - 雷锋早报"),
        # a subtitle in Title Case is the title's own: a turn's word, a list
        ("Nissan China EV Export Plan \u2013 Put On Hold", "Nissan China EV Export Plan \u2013 Put On Hold"),
        ("Nissan China EV Export Plan - Shelved", "Nissan China EV Export Plan - Shelved"),
        ("Nissan China Exports - Given The Go-Ahead", "Nissan China Exports - Given The Go-Ahead"),
        (
            "Nissan to export China EVs \u2013 N7, Frontier Pro To Lead",
            "Nissan to export China EVs \u2013 N7, Frontier Pro To Lead",
        ),
        ("Nissan weighs exports | Automotive News China", "Nissan weighs exports"),
        ("Nissan weighs China exports - Kelley Blue Book", "Nissan weighs China exports"),
        ("Nissan weighs China exports - Go Auto", "Nissan weighs China exports"),
        (
            "Nissan's China-Built EVs - No Longer Headed Overseas",
            "Nissan's China-Built EVs - No Longer Headed Overseas",
        ),
    ],
)
def test_the_publisher_an_aggregator_appends_is_cut_from_a_title(title: str, kept: str) -> None:
    assert without_publisher(title, unless=tells_of_a_turn) == kept
