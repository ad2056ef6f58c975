"""The general-news word table: rarity, lower-case share, and building it from items."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

from service.baselines.wordstats import (
    MIN_DOCUMENTS,
    lower_case_percent,
    mostly_lower_case,
    parse_table,
    rarity,
    unknown_case,
)
from service.baselines.wordstats_build import count_words, feed_items, table_module
from service.sources.article import item_as_polled


def test_common_words_are_less_rare_than_names_and_unknown_words_are_rarest() -> None:
    assert rarity("new") < rarity("china") < rarity("nissan") < rarity("n7") == 1.0
    assert all(0.0 < rarity(stem) <= 1.0 for stem in ("the", "new", "china", "qashqai"))


@pytest.mark.parametrize(
    ("stem", "lower"), [("fell", True), ("sale", True), ("china", False), ("byd", False)]
)
def test_the_lower_case_share_tells_common_words_from_names(stem: str, lower: bool) -> None:
    percent = lower_case_percent(stem)
    assert percent is not None and (percent >= 50) is lower
    assert lower_case_percent("n7") is None


def test_a_word_news_only_writes_first_in_a_sentence_has_no_lower_case_share() -> None:
    assert lower_case_percent("additionally") is None
    assert rarity("additionally") < 1.0  # it is in the table
    assert "additionally" in unknown_case()
    assert "additionally" not in mostly_lower_case(0)


def test_a_built_table_reads_back() -> None:
    items = [
        (f"Story {n}", f"Prices rose at Acme. Acme said prices would rise. Item {n}.")
        for n in range(MIN_DOCUMENTS)
    ]
    items.append(("Nissan", "Nothing else."))
    items.append(("Later", "Story 0 ends. Later it went on."))
    documents, words = count_words(items)
    assert documents == MIN_DOCUMENTS + 2
    assert words["price"] == (MIN_DOCUMENTS, 100)  # once capitalised as a first word: not counted
    assert words["acme"] == (MIN_DOCUMENTS, 0)
    assert words["item"] == (MIN_DOCUMENTS, None)  # only ever a sentence's first word: unknown
    assert words["story"] == (MIN_DOCUMENTS + 1, None)  # titles and first words say nothing either
    assert "nissan" not in words  # in fewer than MIN_DOCUMENTS items
    module = table_module(documents, words, "a test")
    namespace: dict[str, object] = {}
    exec(compile(module, "wordstats_table.py", "exec"), namespace)  # noqa: S102 - our own output
    stats = parse_table(int(str(namespace["DOCUMENTS"])), str(namespace["TABLE"]))
    assert stats.words == words
    assert 0.0 < stats.rarities["price"] < 1.0


def test_the_builder_reads_every_entry_as_a_poll_stores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIVALWATCH_MAX_TEXT_CHARS", "64")  # the table must not depend on who builds it
    body = "<p>Acme &amp; Co said prices rose.</p>" + " More words follow here." * 10
    entries = "".join(
        f"<item><title>Story {n}</title><link>https://news.example.test/{n}</link>"
        f"<description>{escape(body)}</description></item>"
        for n in range(2001)  # more than a poll's 2000-entry cap
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'
    )
    items = list(feed_items([feed, feed]))  # a title already seen counts once
    assert len(items) == 2001
    assert items[0] == ("Story 0", item_as_polled(title="Story 0", body=body).text)
    assert items[0][1].startswith("Acme & Co said prices rose.") and len(items[0][1]) > 64
