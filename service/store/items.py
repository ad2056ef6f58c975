"""SQL for items and stories: insert new items once, update edited ones, join stories.

One call stores one poll's items inside the caller's transaction, so later stages (matching,
alerts, outbox rows) can be written in the same transaction and a crash never leaves an item
without them. Only rows actually inserted are returned: later stages act on those alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from service.sources.dedup import pick_story, unique_by_key
from service.store.tables import items, stories

CHUNK = 500  # keys per IN (...) list: well inside SQLite's and PostgreSQL's parameter limits


class StorableItem(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def guid(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def title_fp(self) -> str: ...


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: int
    story_id: int
    key: str


@dataclass(frozen=True, slots=True)
class StoreResult:
    inserted: tuple[StoredItem, ...]
    updated: int
    unchanged: int


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def store_items(
    conn: Connection,
    feed_id: int,
    batch: Sequence[StorableItem],
    *,
    now: datetime,
    story_window: timedelta,
) -> StoreResult:
    fresh = unique_by_key(batch)
    known = _known_hashes(conn, feed_id, [i.key for i in fresh])
    new = [i for i in fresh if i.key not in known]
    edited = [i for i in fresh if i.key in known and known[i.key][1] != i.content_hash]
    for item in edited:
        _update_item(conn, known[item.key][0], item, now=now)
    inserted = _insert_new(conn, feed_id, new, now=now, story_window=story_window) if new else ()
    return StoreResult(inserted, len(edited), len(fresh) - len(new) - len(edited))


def _known_hashes(conn: Connection, feed_id: int, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(keys):
        query = sa.select(items.c.item_key, items.c.id, items.c.content_hash).where(
            items.c.feed_id == feed_id, items.c.item_key.in_(chunk)
        )
        found.update({r.item_key: (r.id, r.content_hash) for r in conn.execute(query)})
    return found


def _update_item(conn: Connection, item_id: int, item: StorableItem, *, now: datetime) -> None:
    conn.execute(
        sa.update(items)
        .where(items.c.id == item_id)
        .values(
            title=item.title,
            text=item.text,
            url=item.url,
            published_at=item.published_at,
            content_hash=item.content_hash,
            title_fp=item.title_fp,
            updated_at=now,
            revision=items.c.revision + 1,
        )
    )


def _insert_new(
    conn: Connection,
    feed_id: int,
    new: Sequence[StorableItem],
    *,
    now: datetime,
    story_window: timedelta,
) -> tuple[StoredItem, ...]:
    story_of = _existing_stories(conn, new, since=now - story_window)
    _create_missing_stories(conn, new, story_of, now=now)
    rows = [
        {
            "feed_id": feed_id,
            "item_key": i.key,
            "story_id": story_of[i.key],
            "guid": i.guid,
            "url": i.url,
            "title": i.title,
            "text": i.text,
            "published_at": i.published_at,
            "first_seen_at": now,
            "revision": 1,
            "content_hash": i.content_hash,
            "title_fp": i.title_fp,
        }
        for i in new
    ]
    insert = _insert_ignoring_duplicates(conn).returning(
        items.c.id, items.c.story_id, items.c.item_key, sort_by_parameter_order=True
    )
    result = conn.execute(insert, rows)
    return tuple(StoredItem(r.id, r.story_id, r.item_key) for r in result)


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    """A concurrent poller may have stored the same key a moment ago: keep theirs."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(items).on_conflict_do_nothing(index_elements=["feed_id", "item_key"])
    return sqlite.insert(items).on_conflict_do_nothing(index_elements=["feed_id", "item_key"])


def _existing_stories(conn: Connection, new: Sequence[StorableItem], *, since: datetime) -> dict[str, int]:
    """Stories the new items join: same canonical URL anywhere, or same title and agreeing text."""
    urls = sorted({i.url for i in new if i.url})
    by_url: dict[str, int] = {}
    for chunk in _chunks(urls):
        query = (
            sa.select(items.c.url, sa.func.min(items.c.story_id).label("story_id"))
            .where(items.c.url.in_(chunk))
            .group_by(items.c.url)
        )
        by_url.update({r.url: r.story_id for r in conn.execute(query)})
    fps = sorted({i.title_fp for i in new if i.title_fp and not (i.url and i.url in by_url)})
    by_title: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(fps):
        query = (
            sa.select(items.c.title_fp, items.c.story_id, items.c.text)
            .where(items.c.title_fp.in_(chunk), items.c.first_seen_at >= since)
            .order_by(items.c.id)
        )
        for r in conn.execute(query):
            by_title[r.title_fp].append((r.story_id, r.text))
    story_of: dict[str, int] = {}
    for item in new:
        story = by_url.get(item.url) if item.url else None
        if story is None and item.title_fp:
            story = pick_story(item.text, by_title.get(item.title_fp, []))
        if story is not None:
            story_of[item.key] = story
    return story_of


def _create_missing_stories(
    conn: Connection, new: Sequence[StorableItem], story_of: dict[str, int], *, now: datetime
) -> None:
    """New stories for the rest; copies inside this batch share one."""
    leaders: list[StorableItem] = []
    leader_by_url: dict[str, int] = {}
    leaders_by_fp: dict[str, list[tuple[int, str]]] = defaultdict(list)
    follows: dict[str, int] = {}
    for item in new:
        if item.key in story_of:
            continue
        index = leader_by_url.get(item.url) if item.url else None
        if index is None and item.title_fp:
            index = pick_story(item.text, leaders_by_fp.get(item.title_fp, []))
        if index is None:
            index = len(leaders)
            leaders.append(item)
            if item.url:
                leader_by_url[item.url] = index
            if item.title_fp:
                leaders_by_fp[item.title_fp].append((index, item.text))
        follows[item.key] = index
    if not leaders:
        return
    query = sa.insert(stories).returning(stories.c.id, sort_by_parameter_order=True)
    rows = [{"title": i.title, "url": i.url, "created_at": now} for i in leaders]
    story_ids = list(conn.execute(query, rows).scalars())
    for key, index in follows.items():
        story_of[key] = story_ids[index]
