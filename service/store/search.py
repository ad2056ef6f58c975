"""Full-text search over alerts: each alert's title and its item's text, indexed when the alert
is stored (alerts are few beside items, so polls that raise none pay nothing).

- SQLite: an FTS5 table ``alert_search`` (rowid = the alert's id; ``unicode61`` words, accents
  folded). The query's words are each quoted, so any text a person types is a plain AND of
  words, never FTS5 syntax (``NEAR``, ``*``, a stray ``"``).
- PostgreSQL: a table ``alert_search`` of ``tsvector`` documents (``simple`` configuration: no
  stemming, any language) under a GIN index, queried with ``websearch_to_tsquery`` (words are
  ANDed; quotes make a phrase, ``-`` excludes).

Both live outside ``tables.metadata``: their definitions differ by database (migration 0009).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.tables import alerts

SEARCH_TABLE = "alert_search"
MAX_QUERY_WORDS = 20
MAX_INDEXED_CHARS = 100_000
"""Text indexed per alert on PostgreSQL: a tsvector must stay under 1 MB, whatever
``RIVALWATCH_MAX_TEXT_CHARS`` allows items to hold."""
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


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
            "to_tsvector('simple', left(a.title || ' ' || coalesce(i.text, ''), :most)) "
            "FROM alerts a LEFT JOIN items i ON i.id = a.item_id WHERE a.id IN :ids ON CONFLICT DO NOTHING"
        )
    values = {"ids": ids} | ({} if conn.dialect.name == "sqlite" else {"most": MAX_INDEXED_CHARS})
    conn.execute(statement.bindparams(sa.bindparam("ids", expanding=True)), values)


def matching(conn: Connection, query: str) -> sa.ColumnElement[bool]:
    """A condition on ``alerts`` for the alerts whose title or text holds ``query``'s words (a
    query without any word matches nothing)."""
    words = _WORD.findall(query)[:MAX_QUERY_WORDS]
    if not words:
        return sa.false()
    if conn.dialect.name == "sqlite":
        phrase = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        found = sa.text("SELECT rowid FROM alert_search WHERE alert_search MATCH :q").bindparams(q=phrase)
    else:
        found = sa.text(
            "SELECT alert_id FROM alert_search WHERE document @@ websearch_to_tsquery('simple', :q)"
        ).bindparams(q=query[:500])
    return alerts.c.id.in_(found.columns(sa.column("id", sa.BigInteger)))
