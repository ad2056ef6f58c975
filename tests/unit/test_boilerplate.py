"""Footers that publishing tools append to every entry are cut from the end of the text."""

from __future__ import annotations

import pytest

from service.sources.boilerplate import TAIL_CHARS, without_footers, without_marks

BODY = "Tesla cut Model Y prices in China by 5% on Friday."


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"{BODY} The post Tesla cuts Model Y prices in China appeared first on TESLARATI.", BODY),
        (f"{BODY} The post Tesla cuts prices appeared first on CleanTechnica.", BODY),
        (f"{BODY} Continue reading →", BODY),
        (f"{BODY} Read more...", BODY),
        (f"{BODY} Read more of this story at Slashdot.", BODY),
        (f"{BODY} […]", BODY),
        (f"{BODY} CONTINUE READING →", BODY),  # the cue word is looked for in any case
        (f"{BODY} THE POST Tesla cuts prices APPEARED FIRST ON TESLARATI.", BODY),
        (f"{BODY} […] The post Tesla cuts prices appeared first on RushLane.", BODY),
        (BODY, BODY),
        (
            "The post office opened an EV charging hub, the town said.",
            "The post office opened an EV charging hub, the town said.",
        ),
        (f"Read more about it: {BODY}", f"Read more about it: {BODY}"),
        ("", ""),
    ],
)
def test_footers_are_cut_and_the_article_is_kept(text: str, kept: str) -> None:
    assert without_footers(text) == kept


def test_only_the_end_of_a_long_text_is_examined() -> None:
    long = "x " * (5 * TAIL_CHARS)
    text = f"{long}{BODY} Read more..."
    assert without_footers(text) == f"{long}{BODY}"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("1️⃣ **Tesla Q4 deliveries drop 16%**: CNBC", "1️⃣ Tesla Q4 deliveries drop 16%: CNBC"),
        ("**Daily** ━━━━━━ ### Top 10 News Items 1. BYD", "Daily Top 10 News Items 1. BYD"),
        ("# Heading then **text**", "Heading then text"),
        ("**特斯拉**销量", "特斯拉销量"),
        # no bold, or stars a letter touches: code, arithmetic, a count sign stay as written
        ("result = 0 # iterating", "result = 0 # iterating"),
        ("The # of EVs sold rose", "The # of EVs sold rose"),
        ("x**2 + y**2 and f**k and g(**kwargs)", "x**2 + y**2 and f**k and g(**kwargs)"),
        ("━━━━━━ ### Top 10 News Items", "━━━━━━ ### Top 10 News Items"),
        ("**Hey**, it's **April 23**.", "Hey, it's April 23."),
        # no marks: hashtags, ranks, code names, arithmetic and a lone asterisk pair stay
        ("#1 seller in China, #EV news", "#1 seller in China, #EV news"),
        ("C# and F# are languages", "C# and F# are languages"),
        ("5 * 3 ** 2 is 45", "5 * 3 ** 2 is 45"),
        ("a ** b", "a ** b"),
        ("── a box-drawn pair stays", "── a box-drawn pair stays"),
        ("━━━━ a rule in a text with no other mark stays", "━━━━ a rule in a text with no other mark stays"),
        (BODY, BODY),
    ],
)
def test_markdown_marks_and_drawn_rules_are_removed(text: str, kept: str) -> None:
    assert without_marks(text) == kept
