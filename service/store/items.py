"""SQL for items and stories: insert new items once, update edited ones, join stories.

One call stores one poll's items inside the caller's transaction, so later stages (matching,
alerts, outbox rows) can be written in the same transaction and a crash never leaves an item
without them. Only rows actually inserted or edited are returned: later stages act on those alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.sources.dedup import pick_story, texts_clearly_agree, unique_by_key
from service.store.db import BulkInsertSkippingExisting, chunked, lock_story_keys
from service.store.tables import feeds, items, rule_hits


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
    @property
    def source_tag(self) -> str | None: ...


S = TypeVar("S", bound=StorableItem)


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: int
    story_id: int
    key: str


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What a stored item said before an edit replaced it."""

    title: str
    text: str
    published_at: datetime | None
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEdit:
    """An item the feed edited, updated in place, with the story its new version tells."""

    item: StoredItem
    before: StoredVersion  # what it said before the edit


@dataclass(frozen=True, slots=True)
class StoreResult:
    inserted: tuple[StoredItem, ...]
    edited: tuple[StoredEdit, ...]
    unchanged: int

    @property
    def updated(self) -> int:
        return len(self.edited)


def store_items(
    conn: Connection,
    feed_id: int,
    batch: Sequence[StorableItem],
    *,
    now: datetime,
    story_window: timedelta,
) -> StoreResult:
    fresh = unique_by_key(batch)
    known = _known(conn, feed_id, [i.key for i in fresh])
    new = [i for i in fresh if i.key not in known]
    edited: list[StorableItem] = []
    unchanged: list[tuple[sa.Row[Any], StorableItem]] = []
    for item in fresh:
        if (row := known.get(item.key)) is not None:
            if _edited(row, item):
                edited.append(item)
            else:
                unchanged.append((row, item))
    # before any write: an edited item's new link or title may join a story too
    lock_story_keys(conn, _story_keys([*new, *edited]))
    since = now - story_window
    edits = _edits(conn, feed_id, edited, known, since=since) if edited else ()
    for edit, item in zip(edits, edited, strict=True):
        _update_item(conn, edit.item.id, item, story_id=edit.item.story_id, now=now)
    moved = [
        {"moved_item": e.item.id, "to_story": e.item.story_id}
        for e, item in zip(edits, edited, strict=True)
        if e.item.story_id != known[item.key].story_id
    ]
    if moved:  # the rules the item matched now count for the story it tells (volume rules)
        conn.execute(_HITS_FOLLOW_THEIR_ITEM, moved)
    _record_sources(conn, unchanged)
    # after the edits: a new copy of an edited item's article joins the story the edit tells
    inserted = _insert_new(conn, feed_id, new, now=now, story_window=story_window) if new else ()
    return StoreResult(inserted, edits, len(fresh) - len(new) - len(edited))


def _edits(
    conn: Connection,
    feed_id: int,
    edited: Sequence[StorableItem],
    known: dict[str, sa.Row[Any]],
    *,
    since: datetime,
) -> tuple[StoredEdit, ...]:
    """The edits, in batch order, each with what it said before and the story it tells now.

    An edit is placed as a new copy would be, its own row left out, and together with the
    poll's other edits of the same article: they join the earliest story another item of their
    links or titles tells (a stub become an article told elsewhere, a link corrected). Edits
    that join none stay in a story of theirs: the earliest of those whose old text the new one
    clearly goes on telling (a headline sharpened, a paragraph added), else the earliest of all,
    whatever the feed's order. Read before any edit is written, under the story locks of their
    new links and titles."""
    before = stored_versions(conn, feed_id, [i.key for i in edited])
    joins = _existing_stories(conn, edited, since=since, own_rows={i.key: known[i.key].id for i in edited})
    leader_of = _batch_leaders(edited)
    groups: dict[str, list[StorableItem]] = defaultdict(list)
    for item in edited:
        groups[leader_of[item.key]].append(item)
    story: dict[str, int] = {}
    for members in groups.values():
        joined = [joins[m.key] for m in members if m.key in joins]
        going_on = [known[m.key].story_id for m in members if texts_clearly_agree(before[m.key].text, m.text)]
        chosen = min(joined or going_on or [known[m.key].story_id for m in members])
        story |= dict.fromkeys((m.key for m in members), chosen)
    return tuple(StoredEdit(StoredItem(known[i.key].id, story[i.key], i.key), before[i.key]) for i in edited)


# Statements are built once: with expanding IN parameters they compile once and are cached,
# instead of coercing hundreds of literal parameters on every poll.
_KNOWN = sa.select(
    items.c.item_key,
    items.c.id,
    items.c.content_hash,
    items.c.url,
    items.c.story_id,
    items.c.first_seen_at,
    items.c.source_tag,
).where(
    items.c.feed_id == sa.bindparam("feed_id"), items.c.item_key.in_(sa.bindparam("keys", expanding=True))
)
_STORED_NOW = sa.select(items.c.item_key, items.c.id, items.c.story_id).where(
    items.c.feed_id == sa.bindparam("feed_id"),
    items.c.item_key.in_(sa.bindparam("keys", expanding=True)),
    items.c.first_seen_at == sa.bindparam("now", type_=items.c.first_seen_at.type),
)
"""The rows of ``keys`` this transaction inserted (another poller's have another first_seen_at)."""
_STORY_BY_URL = (
    sa.select(items.c.url, sa.func.min(items.c.story_id).label("story_id"))
    .where(items.c.url.in_(sa.bindparam("urls", expanding=True)))
    .group_by(items.c.url)
)
_STORIES_BY_URL = sa.select(items.c.url, items.c.story_id, items.c.id).where(
    items.c.url.in_(sa.bindparam("urls", expanding=True)), items.c.story_id.is_not(None)
)
"""Every row of the links: for edits, whose own rows are left out (the new-item path takes the
earliest story in SQL, ``_STORY_BY_URL``; a landing page many items link to has many rows)."""
_STORY_BY_TITLE = (
    sa.select(items.c.title_fp, items.c.story_id, items.c.text, items.c.id)
    .where(
        items.c.title_fp.in_(sa.bindparam("fps", expanding=True)),
        items.c.first_seen_at >= sa.bindparam("since"),
    )
    .order_by(items.c.id)
)
_INSERT_ITEMS = BulkInsertSkippingExisting(
    items,
    (
        "feed_id", "item_key", "story_id", "guid", "url", "title", "text", "published_at", "first_seen_at",
        "revision", "content_hash", "title_fp", "source_tag",
    ),
    unique=("feed_id", "item_key"),
)  # fmt: skip
_LEADERS_NAME_THEIR_STORY = (
    sa.update(items)
    .where(items.c.feed_id == sa.bindparam("of_feed"), items.c.story_id.is_(None))
    .values(story_id=items.c.id)
)
_HITS_FOLLOW_THEIR_ITEM = (
    sa.update(rule_hits)
    .where(rule_hits.c.item_id == sa.bindparam("moved_item"))
    .values(story_id=sa.bindparam("to_story"))
)
_RECORD_SOURCE = (
    sa.update(items)
    .where(items.c.id == sa.bindparam("item_id"), items.c.source_tag.is_(None))
    .values(source_tag=sa.bindparam("tag"))
)


def _known(conn: Connection, feed_id: int, keys: Sequence[str]) -> dict[str, sa.Row[Any]]:
    found: dict[str, sa.Row[Any]] = {}
    for chunk in chunked(keys):
        found.update({r.item_key: r for r in conn.execute(_KNOWN, {"feed_id": feed_id, "keys": chunk})})
    return found


@dataclass(frozen=True, slots=True)
class StoredSource:
    tag: str | None  # None: stored before tags were kept
    content_hash: str
    url: str | None


def stored_sources(conn: Connection, feed_id: int, keys: Sequence[str]) -> dict[str, StoredSource]:
    """What a feed's stored items hold that their source tags vouch for (``normalize.source_tag``):
    the tag, the content hash and the link, by key; keys not stored are left out."""
    known = _known(conn, feed_id, keys)
    return {key: StoredSource(row.source_tag, row.content_hash, row.url) for key, row in known.items()}


def _record_sources(conn: Connection, unchanged: Sequence[tuple[sa.Row[Any], StorableItem]]) -> None:
    """Tag items stored before tags were kept with the entry that restates them unchanged, once,
    so the next poll can leave it unread. A tag is never replaced here: replicas on different
    normalising code (a rolling upgrade) would rewrite each other's on every poll, and a feed whose
    entries rotate what normalising drops (a tracking pixel) would cost a write per item per poll.
    An item tagged under other code is read until it is edited or leaves the feed."""
    rows = [
        {"item_id": row.id, "tag": item.source_tag}
        for row, item in unchanged
        if row.source_tag is None and item.source_tag is not None
    ]
    if rows:
        conn.execute(_RECORD_SOURCE, rows)


def _edited(stored: sa.Row[Any], item: StorableItem) -> bool:
    """Whether the feed changed the item: its title or text, or its canonical link (a corrected
    link, left stored, made a later copy under the right one start a story of its own and alert
    again; the query counts: on many sites ``?id=42`` is the article). A new date alone is no
    edit: some feeds stamp every item with the time of the request."""
    return bool(stored.content_hash != item.content_hash or stored.url != item.url)


def _update_item(conn: Connection, item_id: int, item: StorableItem, *, story_id: int, now: datetime) -> None:
    # an edit that gives no date keeps the one known: undated, the item would look never too old
    # to a backtest (``rules test``) and lose its date in the evaluation's replay and exports.
    # Set through the column, so that the date is checked and stored as an insert stores it.
    dated = {} if item.published_at is None else {"published_at": item.published_at}
    conn.execute(
        sa.update(items)
        .where(items.c.id == item_id)
        .values(
            title=item.title,
            text=item.text,
            url=item.url,
            **dated,
            content_hash=item.content_hash,
            title_fp=item.title_fp,
            source_tag=item.source_tag,
            story_id=story_id,
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
    """Insert in two rounds: items joining a known story or starting one, then their copies
    (the caller holds the story locks of ``new``)."""
    story_of = _existing_stories(conn, new, since=now - story_window)
    leader_of = _batch_leaders([i for i in new if i.key not in story_of])
    first = [i for i in new if leader_of.get(i.key, i.key) == i.key]
    stored = _insert(conn, feed_id, first, story_of, now=now)
    # A story's first item is its own story: give the new leaders their ids as story ids.
    conn.execute(_LEADERS_NAME_THEIR_STORY, {"of_feed": feed_id})
    stored = {k: StoredItem(s.id, s.story_id or s.id, k) for k, s in stored.items()}
    followers = [i for i in new if leader_of.get(i.key, i.key) != i.key]
    if followers:
        leaders = {leader_of[i.key] for i in followers}
        stories = {k: stored[k].story_id for k in leaders if k in stored}
        stories |= _story_ids_of(conn, feed_id, [k for k in leaders if k not in stored])
        follower_story = {i.key: stories[leader_of[i.key]] for i in followers}
        stored |= _insert(conn, feed_id, followers, follower_story, now=now)
    return tuple(stored[i.key] for i in new if i.key in stored)


def _insert(
    conn: Connection,
    feed_id: int,
    batch: Sequence[StorableItem],
    story_of: dict[str, int],
    *,
    now: datetime,
) -> dict[str, StoredItem]:
    if not batch:
        return {}
    rows = [
        (
            feed_id, i.key, story_of.get(i.key), i.guid, i.url, i.title, i.text, i.published_at, now, 1,
            i.content_hash, i.title_fp, i.source_tag,
        )
        for i in batch
    ]  # fmt: skip
    # The driver's executemany (no RETURNING) is the fast path; the ids are read back after.
    # Rows another poller stored under the same key keep their own first_seen_at: not ours.
    _INSERT_ITEMS.execute(conn, rows)
    stored: dict[str, StoredItem] = {}
    for chunk in chunked([i.key for i in batch]):
        params = {"feed_id": feed_id, "keys": chunk, "now": now}
        stored.update(
            {r.item_key: StoredItem(r.id, r.story_id, r.item_key) for r in conn.execute(_STORED_NOW, params)}
        )
    return stored


_VERSIONS = sa.select(
    items.c.item_key,
    items.c.title,
    items.c.text,
    items.c.published_at,
    items.c.first_seen_at,
).where(
    items.c.feed_id == sa.bindparam("feed_id"), items.c.item_key.in_(sa.bindparam("keys", expanding=True))
)


def stored_versions(conn: Connection, feed_id: int, keys: Sequence[str]) -> dict[str, StoredVersion]:
    """What a feed's stored items say now, by key (keys not stored are left out): the versions
    an edit is weighed against."""
    found: dict[str, StoredVersion] = {}
    for chunk in chunked(keys):
        for r in conn.execute(_VERSIONS, {"feed_id": feed_id, "keys": chunk}):
            found[r.item_key] = StoredVersion(r.title, r.text, r.published_at, r.first_seen_at)
    return found


def unseen(conn: Connection, feed_id: int, batch: Sequence[S]) -> list[S]:
    """The items of ``batch`` the feed has not stored yet (what a poll will insert, unless
    another poller stores them first)."""
    known = _known(conn, feed_id, [i.key for i in batch])
    return [i for i in batch if i.key not in known]


def stored_items(conn: Connection, feed_id: int, keys: Sequence[str]) -> dict[str, StoredItem]:
    """A feed's stored items by key (keys not stored are left out)."""
    return {key: StoredItem(row.id, row.story_id, key) for key, row in _known(conn, feed_id, keys).items()}


def _story_ids_of(conn: Connection, feed_id: int, keys: Sequence[str]) -> dict[str, int]:
    """Stories of items stored earlier (a leader another poller inserted a moment ago)."""
    return {key: row.story_id for key, row in _known(conn, feed_id, keys).items()}


def _story_keys(batch: Sequence[StorableItem]) -> set[str]:
    """What may make these items join a story: their canonical URLs and title fingerprints."""
    return {f"u:{i.url}" for i in batch if i.url} | {f"t:{i.title_fp}" for i in batch if i.title_fp}


def _existing_stories(
    conn: Connection,
    batch: Sequence[StorableItem],
    *,
    since: datetime,
    own_rows: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Stories the items join: same canonical URL anywhere (the earliest story), or same title
    and agreeing text. ``own_rows``: for edited items, their rows by key, left out."""
    urls = sorted({i.url for i in batch if i.url})
    by_url: dict[str, list[tuple[int, int]]] = defaultdict(list)  # url → (row id, story id)
    for chunk in chunked(urls):
        if own_rows is None:
            by_url.update({r.url: [(0, r.story_id)] for r in conn.execute(_STORY_BY_URL, {"urls": chunk})})
        else:
            for r in conn.execute(_STORIES_BY_URL, {"urls": chunk}):
                by_url[r.url].append((r.id, r.story_id))
    own = own_rows or {}
    fps = sorted({i.title_fp for i in batch if i.title_fp and (own_rows is not None or i.url not in by_url)})
    by_title: dict[str, list[tuple[int, int, str]]] = defaultdict(list)  # fp → (row id, story id, text)
    for chunk in chunked(fps):
        for row in conn.execute(_STORY_BY_TITLE, {"fps": chunk, "since": since}):
            by_title[row.title_fp].append((row.id, row.story_id, row.text))
    story_of: dict[str, int] = {}
    for item in batch:
        mine = own.get(item.key)
        linked = [s for row_id, s in by_url.get(item.url or "", []) if row_id != mine and s is not None]
        story = min(linked) if linked else None
        if story is None and item.title_fp:
            titled = [(s, text) for row_id, s, text in by_title.get(item.title_fp, []) if row_id != mine]
            story = pick_story(item.text, titled)
        if story is not None:
            story_of[item.key] = story
    return story_of


def _batch_leaders(new: Sequence[StorableItem]) -> dict[str, str]:
    """For items starting new stories: which item of this batch leads each one (key → key)."""
    leader_of: dict[str, str] = {}
    leader_by_url: dict[str, str] = {}
    leaders_by_fp: dict[str, list[tuple[int, str]]] = defaultdict(list)
    keys: list[str] = []
    for item in new:
        leader = leader_by_url.get(item.url) if item.url else None
        if leader is None and item.title_fp:
            index = pick_story(item.text, leaders_by_fp.get(item.title_fp, []))
            leader = keys[index] if index is not None else None
        if leader is None:
            leader = item.key
            if item.url:
                leader_by_url[item.url] = item.key
            if item.title_fp:
                leaders_by_fp[item.title_fp].append((len(keys), item.text))
            keys.append(item.key)
        leader_of[item.key] = leader
    return leader_of


def recent_items(
    conn: Connection, *, since: datetime | None = None, item_id: int | None = None
) -> list[sa.Row[Any]]:
    """Stored items with their feed's name and tags, oldest first (backtests and dry runs)."""
    query = (
        sa.select(
            items.c.id,
            items.c.story_id,
            items.c.title,
            items.c.text,
            items.c.url,
            items.c.published_at,
            items.c.first_seen_at,
            feeds.c.name.label("feed_name"),
            feeds.c.tags.label("feed_tags"),
        )
        .join(feeds, feeds.c.id == items.c.feed_id)
        .order_by(items.c.first_seen_at, items.c.id)
    )
    if since is not None:
        query = query.where(items.c.first_seen_at >= since)
    if item_id is not None:
        query = query.where(items.c.id == item_id)
    return list(conn.execute(query))
