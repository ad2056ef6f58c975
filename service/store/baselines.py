"""SQL for baselines: every version of every baseline is kept.

Loading the baseline files writes a new version whenever a file's content changed, so an
alert can always say which version of what the team knew it was judged against.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.baselines.model import Baseline, StoredBaseline
from service.store.db import lock_declarations
from service.store.tables import baselines


def _latest_versions() -> sa.Select[tuple[str, int]]:
    newest = sa.func.max(baselines.c.version).label("newest")
    return sa.select(baselines.c.baseline_id, newest).group_by(baselines.c.baseline_id)


def sync_baselines(
    conn: Connection, loaded: Sequence[Baseline], *, now: datetime
) -> dict[str, StoredBaseline]:
    """Store a new version of each baseline whose content changed; return the current ones."""
    lock_declarations(conn)
    current = {s.baseline.id: s for s in latest(conn)}
    out: dict[str, StoredBaseline] = {}
    for baseline in loaded:
        known = current.get(baseline.id)
        if known is not None and known.baseline.content_hash() == baseline.content_hash():
            out[baseline.id] = known
            continue
        version = 1 if known is None else known.version + 1
        conn.execute(
            sa.insert(baselines).values(
                baseline_id=baseline.id,
                version=version,
                content_hash=baseline.content_hash(),
                title=baseline.title,
                document=baseline.to_json(),
                created_at=now,
            )
        )
        out[baseline.id] = StoredBaseline(baseline, version, now)
    return out


def latest(conn: Connection) -> list[StoredBaseline]:
    newest = _latest_versions().subquery()
    query = (
        sa.select(baselines)
        .join(
            newest,
            sa.and_(
                newest.c.baseline_id == baselines.c.baseline_id,
                newest.c.newest == baselines.c.version,
            ),
        )
        .order_by(baselines.c.baseline_id)
    )
    return [_stored(r) for r in conn.execute(query)]


def versions(conn: Connection, baseline_id: str) -> list[StoredBaseline]:
    query = (
        sa.select(baselines)
        .where(baselines.c.baseline_id == baseline_id)
        .order_by(baselines.c.version.desc())
    )
    return [_stored(r) for r in conn.execute(query)]


def _stored(row: sa.Row[tuple[object, ...]]) -> StoredBaseline:
    mapping = row._mapping
    return StoredBaseline(
        Baseline.from_json(mapping["document"]), int(mapping["version"]), mapping["created_at"]
    )
