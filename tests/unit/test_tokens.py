"""Tokens (``text.tokenize``): words, stems and spans, and which texts are remembered."""

from __future__ import annotations

from service.baselines import text
from service.baselines.text import REMEMBERED_CHARS, forget_tokens, tokenize


def test_words_carry_their_stem_their_span_and_whether_they_mean_something() -> None:
    text = "Nissan's plans: ten NEVs"
    assert [(t.text, t.stem, text[t.start : t.end], t.is_content) for t in tokenize(text)] == [
        ("Nissan's", "nissan", "Nissan's", True),
        ("plans", "plan", "plans", True),
        ("ten", "10", "ten", False),  # a number word is its figure, which is no content word
        ("NEVs", "nev", "NEVs", True),
    ]


def test_short_texts_are_remembered_long_ones_read_again() -> None:
    forget_tokens()
    short = "Nissan plans 10 NEVs for China."
    assert tokenize(short) is tokenize(short)
    long = "word " * (REMEMBERED_CHARS // 5 + 1)  # one sentence longer than what is remembered
    first, again = tokenize(long), tokenize(long)
    assert first == again
    assert first is not again  # not held: memory stays bounded whatever the items hold


def test_a_final_full_stop_changes_no_word_so_both_readings_share_one_memory() -> None:
    forget_tokens()
    for title in ("Nissan cuts NEV plan", "Sales rose 3.5", "Exports to the U.S", "“Quoted”", "Co"):
        remembered = tokenize(f"{title}.")
        assert remembered is tokenize(title)
        assert remembered == text._tokens(f"{title}.")  # what reading it afresh gives
