"""The team's feedback from the console: for an item and a theme (a rule id), useful, noise or
missed, with who said it and when. The latest word on an (item, theme) replaces the earlier.

``useful`` and ``missed`` say the item belongs to the theme (``must`` in a labels file),
``noise`` that it does not (``never``); a rule's precision from feedback is useful / (useful +
noise) over its alerts the team answered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.db import chunked, insert_or_replace
from service.store.tables import feedback, feeds, items

Verdict = Literal["useful", "noise", "missed"]
VERDICTS: tuple[Verdict, ...] = ("useful", "noise", "missed")


def parse_verdict(text: str) -> Verdict | None:
    """The verdict ``text`` names, or None."""
    return next((v for v in VERDICTS if v == text), None)


@dataclass(frozen=True, slots=True)
class Feedback:
    item_id: int
    theme: str
    verdict: Verdict
    alert_id: int | None
    who: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JudgedItem:
    """A stored item the team judged, with what a labels file needs to find it again."""

    item_id: int
    feed: str
    guid: str | None
    url: str | None
    title: str
    text: str
    published_at: datetime | None
    judgements: tuple[Feedback, ...]


@dataclass(frozen=True, slots=True)
class Precision:
    useful: int
    noise: int

    @property
    def value(self) -> float | None:
        answered = self.useful + self.noise
        return self.useful / answered if answered else None


def record_feedback(
    conn: Connection,
    *,
    item_id: int,
    theme: str,
    verdict: Verdict,
    alert_id: int | None,
    who: str,
    now: datetime,
) -> None:
    """Store the team's word on ``item_id`` for ``theme``, replacing an earlier one."""
    row = {"item_id": item_id, "theme": theme, "verdict": verdict, "alert_id": alert_id, "who": who}
    conn.execute(insert_or_replace(conn, feedback, row | {"created_at": now}, unique=("item_id", "theme")))


def feedback_on(conn: Connection, item_ids: Sequence[int]) -> dict[int, list[Feedback]]:
    """Every item's feedback, by item id (items without any are left out)."""
    found: dict[int, list[Feedback]] = defaultdict(list)
    for ids in chunked(sorted(set(item_ids))):
        query = sa.select(feedback).where(feedback.c.item_id.in_(ids)).order_by(feedback.c.theme)
        for row in conn.execute(query):
            found[row.item_id].append(_feedback(row))
    return dict(found)


def precision_by_theme(conn: Connection) -> dict[str, Precision]:
    """Per theme (rule id): how many of its answered alerts the team found useful, and noise."""
    counts = (
        sa.select(feedback.c.theme, feedback.c.verdict, sa.func.count().label("n"))
        .where(feedback.c.verdict.in_(("useful", "noise")))
        .group_by(feedback.c.theme, feedback.c.verdict)
    )
    tally: dict[str, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(counts):
        tally[row.theme][row.verdict] = int(row.n)
    return {theme: Precision(t.get("useful", 0), t.get("noise", 0)) for theme, t in sorted(tally.items())}


def judged_items(conn: Connection) -> list[JudgedItem]:
    """Every item with feedback, in the order they were stored, with its feed and its judgements:
    one query, a row per judgement, grouped by item."""
    query = (
        sa.select(
            feedback,
            feeds.c.name.label("feed_name"),
            items.c.guid,
            items.c.url,
            items.c.title,
            items.c.text,
            items.c.published_at,
        )
        .join(items, items.c.id == feedback.c.item_id)
        .join(feeds, feeds.c.id == items.c.feed_id)
        .order_by(feedback.c.item_id, feedback.c.theme)
    )
    judged = []
    for _, group in groupby(conn.execute(query), key=lambda row: row.item_id):
        rows = list(group)
        first = rows[0]
        judged.append(
            JudgedItem(
                first.item_id,
                first.feed_name,
                first.guid,
                first.url,
                first.title,
                first.text,
                first.published_at,
                tuple(_feedback(row) for row in rows),
            )
        )
    return judged


def _feedback(row: sa.Row[Any]) -> Feedback:
    return Feedback(row.item_id, row.theme, row.verdict, row.alert_id, row.who, row.created_at)
