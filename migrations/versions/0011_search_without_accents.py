"""PostgreSQL's alert search folds the accents of Latin letters, as SQLite's already does:
"Skoda" finds "Škoda". Every indexed alert is indexed again; SQLite needs nothing.

The document is the one ``service.store.search`` writes for new alerts (imported, not copied:
if its folding changes, a later revision indexes again, and running this one then gives the
index the queries of that code expect).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.search import MAX_INDEXED_CHARS, PG_DOCUMENT, PG_DOCUMENT_VALUES

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REINDEX = (
    "UPDATE alert_search AS s SET document = to_tsvector('simple', {document}) "
    "FROM alerts a LEFT JOIN items i ON i.id = a.item_id WHERE s.alert_id = a.id"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.get_bind().execute(sa.text(_REINDEX.format(document=PG_DOCUMENT)), PG_DOCUMENT_VALUES)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        document = "left(a.title || ' ' || coalesce(i.text, ''), :most)"
        op.get_bind().execute(sa.text(_REINDEX.format(document=document)), {"most": MAX_INDEXED_CHARS})
