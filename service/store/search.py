"""Full-text search over alerts: each alert's title and its item's text, indexed when the alert
is stored (alerts are few beside items, so polls that raise none pay nothing).

One query language on both databases (``parse_query``, a pure function; the same query gives
the same alerts on SQLite and PostgreSQL, up to what each tokenizer calls a word):

- words are all required (``BYD Hungary``), in any case; ``"quoted words"`` must come together,
  in that order, and so must words joined by a hyphen or other punctuation (``plug-in``);
- ``-word`` or ``-"some words"`` leaves out the alerts that hold it;
- ``OR`` (any case) between two terms takes either (``BYD OR Tesla``);
- anything else a person types (``*``, ``NEAR``, ``(``, stray quotes, ``' OR 1=1 --``) is plain
  text: its words are searched, its punctuation ignored. The query is put in NFC first, so a
  decomposed "Citroe\u0308n" finds "Citroën". A query without a word to find matches nothing.

- SQLite: an FTS5 table ``alert_search`` (rowid = the alert's id; ``unicode61`` words, accents
  folded), queried with a MATCH expression built from the parsed query, every word quoted.
- PostgreSQL: a table ``alert_search`` of ``tsvector`` documents (``simple`` configuration: no
  stemming, any language) under a GIN index, queried with a ``tsquery`` built from the parsed
  query (``phraseto_tsquery`` per term as typed, so PostgreSQL's parser reads ``2.8``, ``U.S.``
  or ``byd.com`` as it read the documents; joined with ``||``, ``&&`` and ``!!``). Accents of
  Latin letters are folded as FTS5 folds them (``Skoda`` finds "Škoda"), with ``translate`` and
  one table (``ACCENTED``/``UNACCENTED``) for the documents and the query alike, so no extension
  is needed. A character that parser drops (``²``) asks for nothing there, where SQLite
  requires it.

Both live outside ``tables.metadata``: their definitions differ by database (migration 0009).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import operators

from service.store.tables import alerts

SEARCH_TABLE = "alert_search"
MAX_INDEXED_CHARS = 100_000
"""Text indexed per alert on PostgreSQL: a tsvector must stay under 1 MB, whatever
``RIVALWATCH_MAX_TEXT_CHARS`` allows items to hold."""
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _latin_accents() -> dict[str, str]:
    """Each Latin letter with accents (Latin-1 to Latin Extended-B, Latin Extended Additional)
    whose canonical decomposition is a letter and marks of the combining-diacritics block, and
    that letter: how FTS5's ``unicode61 remove_diacritics 2`` folds them (checked letter by
    letter in the tests; it leaves ten rare ones such as "Ǣ" as they are)."""
    table: dict[str, str] = {}
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        decomposed = unicodedata.normalize("NFD", chr(code))
        base, marks = decomposed[0], decomposed[1:]
        if marks and all("\u0300" <= mark <= "\u036f" for mark in marks):
            table[chr(code)] = base
    return table


_ACCENTS = _latin_accents()
ACCENTED = "".join(_ACCENTS)
UNACCENTED = "".join(_ACCENTS.values())
"""PostgreSQL's documents and queries go through ``translate(…, ACCENTED, UNACCENTED)``."""
_WITHOUT_ACCENTS = str.maketrans(_ACCENTS)


PG_DOCUMENT = "translate(left(a.title || ' ' || coalesce(i.text, ''), :most), :accented, :unaccented)"
"""What PostgreSQL indexes of alert ``a`` and its item ``i``, with ``PG_DOCUMENT_VALUES``."""
PG_DOCUMENT_VALUES = {"most": MAX_INDEXED_CHARS, "accented": ACCENTED, "unaccented": UNACCENTED}


def index_alerts(conn: Connection, alert_ids: Sequence[int]) -> None:
    """Add these alerts (title and their item's text) to the search index."""
    if not alert_ids:
        return
    ids = sorted(set(alert_ids))
    if conn.dialect.name == "sqlite":
        statement = sa.text(
            "INSERT INTO alert_search (rowid, title, body) SELECT a.id, a.title, coalesce(i.text, '') "
            "FROM alerts a LEFT JOIN items i ON i.id = a.item_id WHERE a.id IN :ids"
        )
    else:
        statement = sa.text(
            "INSERT INTO alert_search (alert_id, document) SELECT a.id, "
            f"to_tsvector('simple', {PG_DOCUMENT}) "
            "FROM alerts a LEFT JOIN items i ON i.id = a.item_id WHERE a.id IN :ids ON CONFLICT DO NOTHING"
        )
    values = {"ids": ids} | ({} if conn.dialect.name == "sqlite" else PG_DOCUMENT_VALUES)
    conn.execute(statement.bindparams(sa.bindparam("ids", expanding=True)), values)


Phrase = str
"""A term as typed (without quotes or a leading ``-``): its words must come together, in order.
Each database splits it into words with its own tokenizer, as it split the indexed text."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a query asks: every group (any one phrase of it) and none of ``excluded``."""

    groups: tuple[tuple[Phrase, ...], ...]
    excluded: tuple[Phrase, ...]


_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_query(text: str) -> SearchQuery:
    """The query's terms, grouped (see the module rules)."""
    groups: list[tuple[Phrase, ...]] = []
    excluded: list[Phrase] = []
    either = False  # an OR came after the last positive term
    for term in _TERM.finditer(unicodedata.normalize("NFC", text)):
        quoted, bare = term.group(2), term.group(3)
        if bare is not None and bare.upper() == "OR":
            either = bool(groups)
            continue
        negated = term.group(1) == "-" if bare is None else (bare.startswith("-") and len(bare) > 1)
        phrase = quoted if bare is None else bare.removeprefix("-") if negated else bare
        if not _WORD.search(phrase):
            continue
        if negated:
            excluded.append(phrase)
        elif either:
            groups[-1] += (phrase,)
        else:
            groups.append((phrase,))
        either = False
    return SearchQuery(tuple(groups), tuple(excluded))


def matching(conn: Connection, query: str) -> sa.ColumnElement[bool]:
    """A condition on ``alerts`` for the alerts the query finds (none when it has no word to find)."""
    parsed = parse_query(query)
    if not parsed.groups:
        return sa.false()
    found: sa.TextualSelect | sa.Select[Any]
    if conn.dialect.name == "sqlite":
        match = sa.text("SELECT rowid FROM alert_search WHERE alert_search MATCH :q")
        found = match.bindparams(q=_fts5_expression(parsed)).columns(sa.column("id", sa.BigInteger))
    else:
        document: sa.ColumnClause[Any] = sa.column("document")
        found = (
            sa.select(sa.column("alert_id", sa.BigInteger))
            .select_from(sa.table(SEARCH_TABLE))
            .where(document.op("@@")(_tsquery(parsed)))
        )
    return alerts.c.id.in_(found)


def _fts5_expression(query: SearchQuery) -> str:
    def phrase(text: Phrase) -> str:
        return '"' + " ".join(_WORD.findall(text)).replace('"', '""') + '"'

    def either(phrases: Sequence[Phrase]) -> str:
        return "(" + " OR ".join(phrase(p) for p in phrases) + ")"

    wanted = " AND ".join(either(group) for group in query.groups)
    return f"({wanted}) NOT {either(query.excluded)}" if query.excluded else wanted


def _tsquery(query: SearchQuery) -> sa.ColumnElement[Any]:
    config: sa.ColumnElement[Any] = sa.literal_column("'simple'::regconfig")

    def either(phrases: Sequence[Phrase]) -> sa.ColumnElement[Any]:
        unaccented = [p.translate(_WITHOUT_ACCENTS) for p in phrases]
        return _balanced("||", [sa.func.phraseto_tsquery(config, p) for p in unaccented])

    wanted = _balanced("&&", [either(group) for group in query.groups])
    if not query.excluded:
        return wanted
    return wanted.op("&&")(
        sa.sql.elements.UnaryExpression(either(query.excluded), operator=operators.custom_op("!!"))
    )


def _balanced(operator: str, terms: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """``terms`` joined by ``operator`` as a balanced tree: SQLAlchemy compiles nesting
    recursively, and a left-deep chain of 250 words (a 500-character query) overflowed Python's
    stack."""
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return _balanced(operator, terms[:middle]).op(operator)(_balanced(operator, terms[middle:]))
