"""Properties of matching: case does not matter, boolean laws hold, the compiled matcher is the reference."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.errors import ExpressionError
from service.matching import compile_rules, evaluate_slow, parse_expression
from service.matching.text import FOLDS_TO_ITSELF, fold, normalise

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    "tesla", "byd", "nio", "recall", "recalls", "battery", "batteries", "vehicle", "vehicles", "export",
    "exporters", "model", "3", "china", "made", "o'neill", "nissan's", "新能源", "汽车", "中国", "big", "x",
]  # fmt: skip
TERMS = [
    "tesla", "byd", "recall", "battery", "vehicle", "3", "china-made", "o'neill", "nissan", "新能源", "汽车",
    '"model 3"', '"new-energy vehicle"', '"big recall"', '"中国新能源"', '"byd 汽车"', "exp*", "veh*", "bat*",
    "rec*",
]  # fmt: skip
SEPARATORS = [" ", "  ", "-", "\u2011", "\u2014", ", ", ". ", "\n", "_", "'s ", "", " (", ") "]
CASINGS: list[Callable[[str], str]] = [str.lower, str.upper, str.title, str.swapcase]

words = st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS), st.sampled_from(CASINGS))
texts = st.lists(words, min_size=4, max_size=24).map(
    lambda parts: "".join(case(w) + sep for w, sep, case in parts)
)
terms = st.sampled_from(TERMS)
fields = st.sampled_from(["title", "text"])
near_sides = st.one_of(
    terms,
    st.tuples(terms, terms).map(lambda p: f"({p[0]} OR {p[1]})"),
    st.tuples(fields, terms).map(lambda p: f"{p[0]}:{p[1]}"),
)
nears = st.tuples(near_sides, st.integers(1, 4), near_sides).map(lambda p: f"({p[0]} NEAR/{p[1]} {p[2]})")


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.tuples(children, children)
    return st.one_of(
        pairs.map(lambda p: f"({p[0]} AND {p[1]})"),
        pairs.map(lambda p: f"({p[0]} {p[1]})"),
        pairs.map(lambda p: f"({p[0]} OR {p[1]})"),
        pairs.map(lambda p: f"({p[0]} NOT {p[1]})"),
        st.tuples(fields, children).map(lambda p: f"{p[0]}:{p[1]}"),
    )


expressions = st.recursive(st.one_of(terms, nears), _extend, max_leaves=8)


def parsed(expression: str) -> object:
    try:
        return parse_expression(expression)
    except ExpressionError:
        assume(False)  # e.g. title:(text:x); the errors have their own tests
        raise


def answer(expression: str, title: str, text: str) -> tuple[bool, frozenset[object]]:
    """Whether one compiled rule matches, and the hits it reports."""
    matched = compile_rules([("r", parsed(expression))]).match(title=title, text=text)  # type: ignore[list-item]
    return bool(matched), frozenset(matched[0].hits) if matched else frozenset()


@PROPERTY
@given(rules=st.lists(expressions, min_size=1, max_size=6), title=texts, text=texts)
def test_compiled_matcher_agrees_with_the_reference(rules: list[str], title: str, text: str) -> None:
    compiled = [(f"r{i}", parsed(expression)) for i, expression in enumerate(rules)]
    found = [m.rule_id for m in compile_rules(compiled).match(title=title, text=text)]  # type: ignore[arg-type]
    expected = [rule_id for rule_id, expr in compiled if evaluate_slow(expr, title=title, text=text)]  # type: ignore[arg-type]
    assert found == expected


@PROPERTY
@given(
    parts=st.lists(st.tuples(terms, st.sampled_from(CASINGS)), min_size=1, max_size=3),
    text_parts=st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=10),
    casings=st.lists(st.sampled_from(CASINGS), min_size=10, max_size=10),
)
def test_matching_ignores_case(
    parts: list[tuple[str, Callable[[str], str]]],
    text_parts: list[tuple[str, str]],
    casings: list[Callable[[str], str]],
) -> None:
    lower_rule = " OR ".join(term for term, _ in parts)
    cased_rule = " OR ".join(case(term) for term, case in parts)
    lower_text = "".join(word + sep for word, sep in text_parts)
    cased_text = "".join(casings[i](word) + sep for i, (word, sep) in enumerate(text_parts))
    assert answer(cased_rule, "", cased_text)[0] == answer(lower_rule, "", lower_text)[0]


@PROPERTY
@given(a=expressions, b=expressions, title=texts, text=texts)
def test_and_commutes_and_or_is_idempotent(a: str, b: str, title: str, text: str) -> None:
    assert answer(f"({a}) AND ({b})", title, text) == answer(f"({b}) AND ({a})", title, text)
    assert answer(f"({a}) OR ({a})", title, text) == answer(a, title, text)


@PROPERTY
@given(p=expressions, a=expressions, b=expressions, title=texts, text=texts)
def test_double_negation_and_de_morgan(p: str, a: str, b: str, title: str, text: str) -> None:
    assert answer(f"NOT NOT ({a})", title, text) == answer(a, title, text)
    either = answer(f"({p}) NOT (({a}) OR ({b}))", title, text)
    assert either == answer(f"({p}) NOT ({a}) NOT ({b})", title, text)
    both = answer(f"({p}) NOT (({a}) AND ({b}))", title, text)
    assert both == answer(f"({p}) (NOT ({a}) OR NOT ({b}))", title, text)


@PROPERTY
@given(value=st.text(max_size=40))
def test_fast_normalisation_is_the_definition(value: str) -> None:
    normalised = normalise(value)
    assert normalised.text == fold(value)
    positions = [normalised.offsets.to_original(p) for p in range(len(normalised.text) + 1)]
    assert positions == sorted(positions)
    assert positions[-1] == len(value)


@pytest.mark.parametrize(
    "value",
    [
        "Lone \ud800 surrogate",  # a str may hold one, though no parsed feed gives it
        "BYD\u2019s \u201cSeal\u201d \u2014 READ MORE",  # ASCII beside curly quotes and a dash
        "比亚迪 BYD 出口 Exports \u2026 and\u00a0more",  # CJK runs, an ellipsis that folds to three
        "日産\uff0c\u30c8\u30e8\u30bf\u3002\uff21 카\u3099\u304b\u3099",  # full-width; combining kana
        "\u30a0\u30ff\u309b 한국 電動車\u3000EV",  # kana that do fold, Hangul, an ideographic space
    ],
)
def test_fast_normalisation_of_mixed_text_is_the_definition(value: str) -> None:
    normalised = normalise(value)
    assert normalised.text == fold(value)
    positions = [normalised.offsets.to_original(p) for p in range(len(normalised.text) + 1)]
    assert positions == sorted(positions) and positions[-1] == len(value)


def test_the_characters_left_to_the_byte_pass_fold_to_themselves_and_join_no_cluster() -> None:
    ranges = [tuple(ord(c) for c in span.split("-")) for span in re.findall(".-.", FOLDS_TO_ITSELF)]
    assert ranges and all(lo <= hi for lo, hi in ranges)
    for lo, hi in ranges:
        for code in range(lo, hi + 1):
            ch = chr(code)
            assert fold(ch) == ch and not unicodedata.combining(ch), hex(code)


def test_no_character_folds_to_a_character_that_folds_again() -> None:
    # normalise replaces each distinct character by its folded form one after another: that is
    # folding each character once only while no folded form holds a character folding further.
    for code in range(0x80, sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in ("Cn", "Co", "Cs"):  # unassigned, private, surrogates
            continue
        folded = fold(chr(code))
        assert all(fold(c) == c for c in folded), hex(code)
