"""Full-text search over alerts (title and the item's text): an FTS5 table on SQLite, a table of
tsvector documents under a GIN index on PostgreSQL (see ``service.store.search``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE alert_search USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO alert_search (rowid, title, body) SELECT a.id, a.title, coalesce(i.text, '') "
            "FROM alerts a LEFT JOIN items i ON i.id = a.item_id"
        )
    else:
        op.execute(
            "CREATE TABLE alert_search ("
            "alert_id BIGINT PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE, "
            "document TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_alert_search_document ON alert_search USING gin (document)")
        op.execute(
            "INSERT INTO alert_search (alert_id, document) SELECT a.id, "
            "to_tsvector('simple', left(a.title || ' ' || coalesce(i.text, ''), 100000)) "
            "FROM alerts a LEFT JOIN items i ON i.id = a.item_id"
        )


def downgrade() -> None:
    op.execute("DROP TABLE alert_search")
