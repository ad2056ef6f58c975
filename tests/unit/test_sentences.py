"""Sentence splitting (``text.split_sentences``): where sentences end, in time linear in the text."""

from __future__ import annotations

import time

import pytest

from service.baselines.text import split_sentences, weighted_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Nissan cut prices. BYD did not.", ["Nissan cut prices.", "BYD did not."]),
        ("Sales fell 2.8 percent. Mr. Uchida said so.", ["Sales fell 2.8 percent.", "Mr. Uchida said so."]),
        ("It works! “BYD agreed,” he said? 10 more.", ["It works!", "“BYD agreed,” he said?", "10 more."]),
        ("Nissan Motor Co. plans more", ["Nissan Motor Co. plans more"]),
        ("first line  \n\n  second line", ["first line", "second line"]),
        ("ends here.\r\nnext  one", ["ends here.", "next one"]),
        ("no break. lower case after", ["no break. lower case after"]),
        ("  \n \t ", []),
    ],
)
def test_sentences_end_at_punctuation_before_a_capital_and_at_line_breaks(
    text: str, sentences: list[str]
) -> None:
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    "text",
    [
        "a" + " " * 1_000_000 + "b",  # a run of spaces: was scanned again from each of its positions
        "a." + " " * 1_000_000 + "b",
        "Mr. " * 250_000,  # one sentence of abbreviations: was copied again for each of them
    ],
)
def test_long_runs_take_linear_time(text: str) -> None:
    started = time.perf_counter()
    split_sentences(text)
    assert time.perf_counter() - started < 2.0  # about 0.05 s; quadratic would be minutes


def test_body_offsets_are_in_the_collapsed_body_not_the_original_text() -> None:
    text = "Nissan   cut prices.\n\n  BYD did not. Tesla waited."
    title, *body = weighted_sentences("Price war", text)
    collapsed = " ".join(split_sentences(text))
    assert (title.offset, title.weight) == (-1, 2.0)
    assert [sentence.offset for sentence in body] == [0, 19, 32]
    assert all(collapsed[s.offset : s.offset + len(s.text)] == s.text for s in body)
    assert text.index("BYD") == 24 != body[1].offset  # the original text has it elsewhere
