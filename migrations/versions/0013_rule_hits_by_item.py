"""Rule hits are found by their item: an edit that moves an item to another story moves its hits
with it (volume rules count the distinct stories a rule matched), and deleting a feed's items
deletes their hits. The primary key leads on ``rule_id``, so both scanned the whole table.

Hits of items moved before this revision take their item's story now.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_rule_hits_item_id", "rule_hits", ["item_id"])
    op.execute(
        "UPDATE rule_hits"
        " SET story_id = (SELECT items.story_id FROM items WHERE items.id = rule_hits.item_id)"
        " WHERE EXISTS (SELECT 1 FROM items WHERE items.id = rule_hits.item_id"
        " AND items.story_id IS NOT NULL AND items.story_id <> rule_hits.story_id)"
    )


def downgrade() -> None:
    op.drop_index("ix_rule_hits_item_id", table_name="rule_hits")
