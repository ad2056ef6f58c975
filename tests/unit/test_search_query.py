"""The alert search's one query language, parsed the same way for both databases."""

from __future__ import annotations

import pytest

from service.store.search import SearchQuery, parse_query


@pytest.mark.parametrize(
    ("text", "groups", "excluded"),
    [
        ("BYD Hungary", [[("BYD",)], [("Hungary",)]], []),
        ("BYD -Nissan", [[("BYD",)]], [("Nissan",)]),
        ("BYD OR Tesla or NIO", [[("BYD",), ("Tesla",), ("NIO",)]], []),
        ('"new energy" vehicles', [[("new", "energy")], [("vehicles",)]], []),
        ('-"talk batteries" BYD', [[("BYD",)]], [("talk", "batteries")]),
        ("plug-in Nissan's", [[("plug", "in")], [("Nissan's",)]], []),  # joined words come together
        ("OR BYD OR", [[("BYD",)]], []),  # an OR with nothing before it is ignored
        ("BYD OR -Nissan Tesla", [[("BYD",)], [("Tesla",)]], [("Nissan",)]),
        ("Citroe\u0308n", [[("Citroën",)]], []),  # NFC first
        ('- " ((( * & !', [], []),  # no word to find
        ('"unclosed quote', [[("unclosed", "quote")]], []),
    ],
)
def test_a_query_is_groups_of_either_phrase_and_phrases_left_out(
    text: str, groups: list[list[tuple[str, ...]]], excluded: list[tuple[str, ...]]
) -> None:
    assert parse_query(text) == SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded))
