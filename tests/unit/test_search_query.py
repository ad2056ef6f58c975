"""The alert search's one query language, parsed the same way for both databases."""

from __future__ import annotations

import sqlite3

import pytest

from service.store.search import ACCENTED, UNACCENTED, SearchQuery, parse_query


@pytest.mark.parametrize(
    ("text", "groups", "excluded"),
    [
        ("BYD Hungary", [["BYD"], ["Hungary"]], []),
        ("BYD -Nissan", [["BYD"]], ["Nissan"]),
        ("BYD OR Tesla or NIO", [["BYD", "Tesla", "NIO"]], []),
        ('"new energy" vehicles', [["new energy"], ["vehicles"]], []),
        ('-"talk batteries" BYD', [["BYD"]], ["talk batteries"]),
        ("plug-in Nissan's 2.8", [["plug-in"], ["Nissan's"], ["2.8"]], []),  # as typed: joined words together
        ("OR BYD OR", [["BYD"]], []),  # an OR with nothing before it is ignored
        ("BYD OR -Nissan Tesla", [["BYD"], ["Tesla"]], ["Nissan"]),
        ("Citroe\u0308n", [["Citroën"]], []),  # NFC first
        ('- " ((( * & !', [], []),  # no word to find
        ('"unclosed quote', [["unclosed quote"]], []),
    ],
)
def test_a_query_is_groups_of_either_term_and_terms_left_out(
    text: str, groups: list[list[str]], excluded: list[str]
) -> None:
    assert parse_query(text) == SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded))


def test_a_long_query_compiles_for_postgresql() -> None:
    # 250 words (500 characters): joined left-deep, compiling them overflowed Python's stack.
    from sqlalchemy.dialects import postgresql

    from service.store.search import _tsquery

    sql = str(_tsquery(parse_query("a " * 250)).compile(dialect=postgresql.dialect()))
    assert sql.count("phraseto_tsquery(") == 250


def test_accents_are_folded_as_sqlite_folds_them() -> None:
    """PostgreSQL's search folds with this table; SQLite's FTS5 folds on its own: they agree
    letter by letter, but for the rare letters whose base is itself no plain letter."""
    fts = sqlite3.connect(":memory:")
    fts.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')")
    fts.executemany(
        "INSERT INTO t (rowid, body) VALUES (?, ?)", [(n, f"q{a}q") for n, a in enumerate(ACCENTED)]
    )
    differ = [
        accented
        for n, (accented, plain) in enumerate(zip(ACCENTED, UNACCENTED, strict=True))
        if (n,) not in fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (f'"q{plain}q"',)).fetchall()
    ]
    assert len(ACCENTED) > 450 and "Š" in ACCENTED and "ë" in ACCENTED
    assert "".join(differ) == "ǠǡǢǣǮǯǼǽǾǿ"
