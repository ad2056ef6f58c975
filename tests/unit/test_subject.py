"""Subject, not mention: the prominence model, table by table, built from real cases."""

from __future__ import annotations

import pytest

from service.matching import subject
from service.matching.compile import TermHit, compile_rules
from service.matching.language import parse_expression
from service.matching.subject import LEAD_WORDS, judge_prominence, lead_end_offset, mentions

FILLER = " ".join(["The market moved little this week as buyers waited for new models."] * 8)


def prominence(expression: str, *, title: str, text: str = "") -> tuple[bool, str]:
    matcher = compile_rules([("s", parse_expression(expression))])
    matches = matcher.match(title=title, text=text)
    assert matches, "the subject expression must match for prominence to be judged"
    judged = judge_prominence(matches[0].hits, title=title, text=text)
    return judged.prominent, judged.why


@pytest.mark.parametrize(
    ("title", "text", "prominent", "why"),
    [
        # The title names it: the item is about it.
        ("Tesla cuts Model Y prices in China", "", True, "in the title"),
        # A short summary is all lead: one mention there is enough.
        ("Service stations are getting a glow-up", "Tesla drivers want a nicer wait.", True, "summary"),
        # Figures are one word each: this summary is 37 words, not the 43 runs of digits and letters.
        (
            "Daily briefing, episode 12",
            "Markets: TSLA $485.56 (-0.86%) at 03:06 ET, volume 1,204,331. Tesla reports 418,227"
            " deliveries for the fourth quarter, down 16% on the year, as buyers wait for the refreshed"
            " cars and new financing offers reach showrooms next week **...",
            True,
            "summary",
        ),
        # A summary of exactly the lead's words, cut off with a trailing mark, is all lead.
        ("Daily briefing", " ".join(["word"] * (LEAD_WORDS - 1)) + " Tesla **...", True, "summary"),
        # A long text: named in the lead and again later.
        ("Quarterly deliveries", f"Tesla sold more. {FILLER} Tesla said so.", True, "named 2 times"),
        # A long text that names it once, outside the lead: a passing mention.
        ("Five alternatives to the V-8 engine swap", f"{FILLER} One used a Tesla motor.", False, "once"),
        # Only as a yardstick, even in the title.
        ("China's super-smart Tesla-killers", "", False, "in passing"),
        ("Micron overtakes Meta, Tesla in market value", "", False, "in passing"),
        ("A cheap EV that is cheaper than a Tesla", "", False, "in passing"),
        ("The Tesla-style screen comes to a city car", "", False, "in passing"),
        ("Nissan cuts prices", "Price competition with Tesla and local makers bites.", False, "in passing"),
        ("Nissan cuts prices", "Local makers such as Tesla gain share.", False, "in passing"),
        # One name in a long list is not the subject; three partners are.
        ("Electric car sales: Tata, MG, Mahindra, Tesla and Kia", "", False, "in passing"),
        ("Tesla, Honda and Mitsubishi to share a platform", "", True, "in the title"),
        # Counting is not comparing.
        ("More than 500 Tesla cars delivered to Chile", "", True, "in the title"),
        # Two names side by side are both subjects.
        ("Nissan, Tesla to share charging network", "", True, "in the title"),
    ],
)
def test_prominence_of_a_subject(title: str, text: str, prominent: bool, why: str) -> None:
    judged, reason = prominence('Tesla OR "Model Y"', title=title, text=text)
    assert judged is prominent
    assert why in reason


def test_a_comparison_word_reaches_only_the_next_words() -> None:
    # "rival" belongs to Tesla here, not to the EV that follows three words later.
    judged, _ = prominence("EV", title="BYD, the Tesla-rival, takes the global EV crown")
    assert judged


def test_the_lead_ends_after_its_words() -> None:
    text = " ".join(f"w{n}" for n in range(LEAD_WORDS + 10))
    assert text[: lead_end_offset(text)].split()[-1] == f"w{LEAD_WORDS - 1}"
    assert lead_end_offset("short text") == len("short text")
    # Chinese has no spaces: each character is a word, as the matcher counts them.
    assert lead_end_offset("充电桩" * LEAD_WORDS) == LEAD_WORDS


@pytest.mark.parametrize(
    "text",
    [
        " ".join(["word"] * (LEAD_WORDS + 5)),
        " ".join(["word"] * (LEAD_WORDS - 1)),  # fewer words than the lead: all of it
        "...  " + " — ".join(["it’s", "über", "N7", "snake_case"] * LEAD_WORDS),
        "充电桩 " + " ".join(["word"] * LEAD_WORDS),  # CJK inside the lead: each character a word
        " ".join(["word"] * LEAD_WORDS) + " 充电桩",  # CJK after it: the plain count stands
        "word 充 " * (LEAD_WORDS // 2) + "end",
        "Up 418,227 at $485.56 (-0.86%) by 03:06, " * LEAD_WORDS,  # a figure is one word
        "充 1,204,331 " * LEAD_WORDS,
        "",
    ],
)
def test_the_lead_is_counted_as_words_are_counted(text: str) -> None:
    words = [match.end() for match in subject._LEAD_WORD.finditer(text)]
    assert lead_end_offset(text) == (words[LEAD_WORDS - 1] if len(words) >= LEAD_WORDS else len(text))


# text before an occurrence -> whether a list joiner ends it (the search's answer)
JOINER_ENDS: list[tuple[str, bool]] = [
    ("Tata, ", True),
    ("Tata ,  ", True),
    ("Tata and ", True),
    ("Tata or\t", True),
    ("Tata &\u00a0", True),
    ("Tata,\n", True),
    ("Tata, and ", True),
    ("Tata", False),
    ("Tata ", False),
    ("sold by ", False),
    ("Tata,", False),
    ("Tata and", False),
    ("", False),
    (" ", False),
    ("Tata AND ", False),
]


@pytest.mark.parametrize(("head", "joined"), JOINER_ENDS)
def test_a_list_joiner_is_ruled_out_only_where_none_ends_the_text(head: str, joined: bool) -> None:
    assert bool(subject._JOINER_AT_END.search(head)) is joined
    # The cheap test may let a non-joiner through (the search then decides), never turn one away.
    assert subject._may_end_with_joiner(head) or not joined


@pytest.mark.parametrize("head", ["Tata", "Tata ", "sold by ", "Tata,", "", " "])
def test_the_cheap_joiner_test_turns_plain_endings_away(head: str) -> None:
    assert not subject._may_end_with_joiner(head)


def test_a_comparison_word_is_read_as_a_word_beside_chinese_text() -> None:
    # CJK characters are words of their own: "than" is three words before Tesla here, too far
    judged, _ = prominence("Tesla", title="A car cheaper than 电动 Tesla")
    assert judged
    judged, _ = prominence("Tesla", title="电动车 cheaper than a Tesla")
    assert not judged


@pytest.mark.parametrize(
    ("expression", "text", "prominent"),
    [
        # An alias inside its own name, or the two sides of one NEAR, are one mention, not two.
        ('Nissan OR "Nissan Motor"', f"Nissan Motor said so. {FILLER}", False),
        ("Musk NEAR/8 car", f"Musk said the car would be cheaper. {FILLER}", False),
        # Two mentions far apart are two.
        ('Nissan OR "Nissan Motor"', f"Nissan Motor said so. {FILLER} Nissan added more.", True),
    ],
)
def test_a_mention_is_counted_once_however_many_terms_it_holds(
    expression: str, text: str, prominent: bool
) -> None:
    judged, _ = prominence(expression, title="Quarterly results", text=text)
    assert judged is prominent


def test_mentions_merge_nearby_hits_in_one_field_only() -> None:
    hits = [
        TermHit("Nissan", "title", 0, 6),
        TermHit("Nissan", "text", 0, 6),
        TermHit("Nissan Motor", "text", 0, 12),
        TermHit("Nissan", "text", 500, 506),
    ]
    assert mentions(hits) == 3
    assert mentions([]) == 0
