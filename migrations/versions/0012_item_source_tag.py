"""Items keep a tag of the feed entry they were made from (``normalize.source_tag``), so a poll
that finds an entry stored before and unchanged leaves it unread (no HTML read, no text cleaned).

Rows stored before have none; the first poll that finds their entry unchanged tags them. Plain
``ALTER TABLE`` on both databases (SQLite 3.35 and later drop a column in place): rebuilding the
table, as a batch operation does on SQLite, fired the foreign keys' cascades on the rows that
point at items.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("items", sa.Column("source_tag", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("items", "source_tag")
