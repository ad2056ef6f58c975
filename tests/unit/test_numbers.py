"""Numbers in sentences: digits, words, scales, shares, years and periods, and what is not a number."""

from __future__ import annotations

import pytest

from service.baselines.numbers import (
    find_numbers,
    following_word,
    format_amount,
    format_percent,
    is_change,
    is_former,
    is_ranged,
    number_at,
)

# text -> [(raw, value, kind)] for every number found, in order
CASES: dict[str, list[tuple[str, float, str]]] = {
    "Nissan sold 2.8 million vehicles": [("2.8 million", 2_800_000, "plain")],
    "a fund of 999,999,999,999,999 yuan": [("999,999,999,999,999", 999_999_999_999_999, "plain")],
    "a fund of 123456789012345 yuan": [("123456789012345", 123_456_789_012_345, "plain")],
    "it sold 794,000 cars": [("794,000", 794_000, "plain")],
    # Arabic separators: U+066B is a decimal point, U+066C a thousands separator
    "it sold ٢٫٨ million cars": [("٢٫٨ million", 2_800_000, "plain")],
    "it sold ٧٩٤٬٠٠٠ cars": [("٧٩٤٬٠٠٠", 794_000, "plain")],
    "revenue of 1.2bn": [("1.2bn", 1_200_000_000, "plain")],
    "a 3 billion plan": [("3 billion", 3_000_000_000, "plain")],
    "2.8m vehicles": [("2.8m", 2_800_000, "plain")],
    "2.8 mln vehicles": [("2.8 mln", 2_800_000, "plain")],
    "a 2.8-million-vehicle year": [("2.8-million", 2_800_000, "plain")],
    "a 1-billion plan": [("1-billion", 1_000_000_000, "plain")],
    "in 2023 millions of drivers": [("2023", 2023, "year")],  # no plural scale words
    "eight models": [("eight", 8, "plain")],
    "ten models": [("ten", 10, "plain")],
    "twelve plants": [("twelve", 12, "plain")],
    "twenty-five dealers": [("twenty-five", 25, "plain")],
    "ninety nine stores": [("ninety nine", 99, "plain")],
    "a dozen brands": [("a dozen", 12, "plain")],
    "eight million cars": [("eight million", 8_000_000, "plain")],
    "a million cars": [("a million", 1_000_000, "plain")],
    "a fifth of sales": [("a fifth", 0.2, "fraction")],
    "one-fifth of sales": [("one-fifth", 0.2, "fraction")],
    "one third of sales": [("one third", 1 / 3, "fraction")],
    "two-thirds of sales": [("two-thirds", 2 / 3, "fraction")],
    "half of its sales": [("half", 0.5, "fraction")],
    "a quarter of its sales": [("a quarter", 0.25, "fraction")],
    "three quarters of output": [("three quarters", 0.75, "fraction")],
    "plants sit half-empty": [],
    "one in three cars": [("one in three", 1 / 3, "ratio")],
    "one out of every five buyers": [("one out of every five", 0.2, "ratio")],
    "a one-in-ten chance": [("one-in-ten", 0.1, "ratio")],
    "one in five hundred cars": [("one", 1, "plain"), ("five hundred", 500, "plain")],
    "one in China": [("one", 1, "plain")],
    "in the latter half of the year": [],
    "the other half": [],
    "20% of sales": [("20%", 20, "percent")],
    "20 per cent of sales": [("20 per cent", 20, "percent")],
    "20 percent of sales": [("20 percent", 20, "percent")],
    "twenty percent of sales": [("twenty percent", 20, "percent")],
    "up 5 percentage points": [("5 percentage points", 5, "points")],
    "in 2024": [("2024", 2024, "year")],
    "launch in H2 2024": [("H2 2024", 2024.5, "period")],
    "in the second half of 2024": [("second half of 2024", 2024.5, "period")],
    "in the first quarter of 2025": [("first quarter of 2025", 2025.0, "period")],
    "due in Q3 2025": [("Q3 2025", 2025.5, "period")],
    "Tesla cut Model 3 prices": [("3", 3, "label")],
    "the BYD Atto 3 and the Seal": [("3", 3, "label")],
    "In 10 months it sold 5,000": [("10", 10, "plain"), ("5,000", 5_000, "plain")],
    "the first 10 months of 2023": [("10", 10, "plain"), ("2023", 2023, "year")],
    "a $3bn plant": [("$3bn", 3_000_000_000, "plain")],
    "10 billion yuan": [("10 billion", 10_000_000_000, "plain")],
    "Rs 16 lakh": [("Rs 16 lakh", 1_600_000, "plain")],
    "₹2 crore": [("₹2 crore", 20_000_000, "plain")],
    # numbers that name or rank something: labels
    "Episode 16 of the show": [("16", 16, "label")],
    "in episode 16 we": [("16", 16, "label")],
    "Ep 394: Tesla": [("394", 394, "label")],
    "story #16 today": [("16", 16, "label")],
    "ranked No. 2 in China": [("2", 2, "label")],
    "it ranked 2 in China": [("2", 2, "label")],
    "among the top 10 brands": [("10", 10, "label")],
    "a gen 2 platform": [("2", 2, "label")],
    "drivers aged 16 and over": [("16", 16, "label")],
    "1️⃣ **Brand-new owner": [("1", 1, "label")],
    "daily/ 5. **Tesla Vehicles": [("5", 5, "label")],
    "(3) the plan": [("3", 3, "label")],
    "a 16-inch screen": [("16", 16, "plain")],  # a count of nothing: facts.py reads the measure
    # a possessive before digits names their owner, not a label
    "Nissan's 8 new-energy vehicles": [("8", 8, "plain")],
    "Nissan’s 8 models": [("8", 8, "plain")],
    "the Partners' 6 models": [("6", 6, "plain")],
}

NOT_NUMBERS = [
    "one of the biggest carmakers",
    "the ID.4 and the X5 and the e-208",
    "a 16in screen, the 2nd and the 16th, the second-largest",
    "the first half of the year",
    "in the second half",
    "a half-year report",
    "no figures here at all",
    # longer than a float holds exactly (an order code, a hash): no figure, whole or in part
    "order code " + "9" * 309,
    "serial 1234567890123456",
    "1,000,000,000,000,000,000 grains",
]


@pytest.mark.parametrize(("text", "expected"), sorted(CASES.items()))
def test_find_numbers(text: str, expected: list[tuple[str, float, str]]) -> None:
    found = [(n.raw, n.value, n.kind) for n in find_numbers(text)]
    assert [(raw, kind) for raw, _, kind in found] == [(raw, kind) for raw, _, kind in expected]
    assert [value for _, value, _ in found] == pytest.approx([value for _, value, _ in expected])


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_words_that_are_not_numbers(text: str) -> None:
    assert find_numbers(text) == []


@pytest.mark.parametrize(
    ("text", "fraction", "scaled", "currency", "period_years"),
    [
        ("20%", 0.2, False, None, 0.0),
        ("a fifth", 0.2, False, None, 0.0),
        ("2.8 million", None, True, None, 0.0),
        ("US$3 billion", None, True, "US$", 0.0),
        ("10 billion yuan", None, True, "yuan", 0.0),
        ("2024", None, False, None, 1.0),
        ("H2 2024", None, False, None, 0.5),
    ],
)
def test_number_details(
    text: str, fraction: float | None, scaled: bool, currency: str | None, period_years: float
) -> None:
    (number,) = find_numbers(text)
    assert number.fraction == (None if fraction is None else pytest.approx(fraction))
    assert (number.scaled, number.currency, number.period_years) == (scaled, currency, period_years)


def test_spans_point_at_the_raw_text() -> None:
    sentence = "It plans eight models and sold 2.8m cars, a fifth of sales."
    for number in find_numbers(sentence):
        assert sentence[number.start : number.end] == number.raw


@pytest.mark.parametrize(
    ("sentence", "change"),
    [
        ("sales fell 16 percent", True),
        ("sales fell by 16 percent", True),
        ("sales fell about 16 percent", True),
        ("shares up 24% on the day", True),
        ("sales rose by a fifth", True),
        ("a 16% increase in sales", True),
        ("sales were 16 percent lower", True),
        ("up 8% year-on-year", True),
        ("it plans two more models", True),
        ("it cut its plan by two", True),
        ("trimming its plan, dropping two joint-venture models", True),
        ("the maker is cutting 2,000 jobs", True),
        ("its share fell to 16%", False),
        ("down from 30% a year earlier", False),
        ("China made up 18 per cent of sales", False),
        ("a fifth of its global sales", False),
        ("it plans eight models", False),
        ("launch moved up to 2025", False),
    ],
)
def test_is_change(sentence: str, change: bool) -> None:
    numbers = find_numbers(sentence)
    assert [is_change(sentence, number) for number in numbers] == [change]


@pytest.mark.parametrize(
    ("sentence", "word"),
    [("10 months", "months"), ("a 10-year plan", "year"), ("10.", ""), ("12 new-energy", "new")],
)
def test_following_word(sentence: str, word: str) -> None:
    assert following_word(sentence, find_numbers(sentence)[0]) == word


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2_800_000, "2.8 million"),
        (794_000, "794,000"),
        (1_200_000_000, "1.2 billion"),
        (10, "10"),
        (0.5, "0.5"),
    ],
)
def test_format_amount(value: float, text: str) -> None:
    assert format_amount(value) == text


@pytest.mark.parametrize(("fraction", "text"), [(0.2, "20%"), (0.15, "15%"), (1 / 3, "33.3%")])
def test_format_percent(fraction: float, text: str) -> None:
    assert format_percent(fraction) == text


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("Model ", "label"),  # the word right before the number decides
        ("Model x ", "plain"),
        ("a" * 5000 + " Model ", "label"),  # however long the sentence before it
    ],
)
def test_only_the_text_just_before_a_number_is_read(prefix: str, kind: str) -> None:
    (number,) = find_numbers(prefix + "3")
    assert number.kind == kind


def test_looking_behind_a_number_reads_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each number's look-behind reads at most LOOK_BEHIND_CHARS characters, whatever precedes it,
    so a sentence of n numbers costs O(n) (speed itself is measured in bench/, not here)."""
    from service.baselines import numbers

    read: list[int] = []
    compiled = numbers._WORD_BEFORE._compiled  # compiled on first use: the recorder wraps it

    class Recording:
        def search(self, text: str, pos: int, endpos: int) -> object:
            read.append(endpos - pos)
            return compiled.search(text, pos, endpos)

    monkeypatch.setitem(numbers._WORD_BEFORE.__dict__, "_compiled", Recording())
    sentence = "Abc 12 " * 2000
    assert [n.kind for n in find_numbers(sentence)] == ["label"] * 2000
    assert len(read) == 2000 and max(read) <= numbers.LOOK_BEHIND_CHARS


@pytest.mark.parametrize(
    ("sentence", "former"),
    [
        ("Nissan cut its plan from ten to eight models.", ["ten"]),
        ("Its share fell from about 20% to 15%.", ["20%"]),
        ("The opening moved from 2024 to 2026.", ["2024"]),
        ("Spending rose from $3bn to $4bn.", ["$3bn"]),
        # left behind, and dated: a fact of that year may read it (facts.py)
        ("China made up 18% of sales, down from 30% in 2022.", ["30%"]),
        ("Nissan cut its China plan from 10 models to seven.", ["10"]),  # what X counts may follow it
        ("It imports parts from 10 countries to cut costs.", []),
        ("Sales went to 15% from 20%.", []),
        # a level given up
        ("Nissan now plans seven models instead of ten.", ["ten"]),
        ("Nissan now plans 12 models, up from ten, adding two.", ["ten"]),
        ("Its share fell to 15%, down from 20% a year earlier.", ["20%"]),
        ("It aims for 12% rather than about 20%.", ["20%"]),
        ("Eight models come in place of the 10 once planned.", ["10"]),
    ],
)
def test_the_x_of_from_x_to_y_is_a_level_left_behind(sentence: str, former: list[str]) -> None:
    assert [n.raw for n in find_numbers(sentence) if is_former(sentence, n)] == former


@pytest.mark.parametrize(
    ("sentence", "ranged"),
    [
        ("Nissan plans 8-10 models.", ["8"]),  # "10" after the hyphen is not read at all
        ("Nissan plans 8 to 10 models.", ["8", "10"]),
        ("Nissan plans eight or ten models.", ["eight", "ten"]),
        ("Nissan plans between 8 and 12 models.", ["8", "12"]),
        ("Its share is 15%–20%.", ["15%", "20%"]),
        ("Nissan cut from ten to eight models.", []),  # movements: where it was or how much, then
        ("Nissan cut its plan by two to eight models.", []),  # where it is
        ("Sales fell 20% to 2.2 million.", []),
        ("Sales fell 20 percent to 2.2 million.", []),
        ("Nissan plans new models by 2026 — five of them.", []),  # a spaced dash is a clause break
        ("Sales rose to 15% from 20%.", []),
        ("Nissan plans one or more models.", []),
        ("It will increase to 10 models.", []),
    ],
)
def test_an_end_of_a_range_or_a_choice_is_no_single_level(sentence: str, ranged: list[str]) -> None:
    assert [n.raw for n in find_numbers(sentence) if is_ranged(sentence, n)] == ranged


def test_a_number_read_at_its_digits_takes_the_currency_sign_before_them() -> None:
    """novelty finds a figure by its digits: the sign before them still makes it money, not a
    year, and "by $2000" still a change."""
    text = "It raised the price by $2000"
    number = number_at(text, text.index("2"), len(text))
    assert number is not None
    assert (number.raw, number.kind, number.currency) == ("$2000", "plain", "$")
    assert is_change(text, number)
