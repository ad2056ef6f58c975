"""One poll of one feed, written as the data flow reads.

fetch → parse → normalise (only the entries not stored before as they are now) → match rules
and judge against baselines (the items the feed has not stored yet) → dedup + store → alert rows
(store to alerts in one transaction, fenced on the feed's lease) → the feed's health and next poll.

A feed's failure is recorded on that feed and reported; it never raises out of here, so one
bad source cannot stop the others. Items are stored and the poll recorded in a single
transaction: a crash leaves either both or neither.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service import metrics
from service.alerts.age import effective_max_age_s
from service.alerts.assess import Assessment
from service.alerts.record import AlertTally, FeedRef, JudgedEdits, assess_items, judge_edits, record_alerts
from service.config import Settings
from service.errors import FetchError, HTTPStatusError, ParseError
from service.logs import log_event
from service.notify.enqueue import enqueue_alerts
from service.notify.route import Destinations
from service.rulebook import RuleBook
from service.sources.dedup import restated, unique_by_key
from service.sources.feed import yield_warning
from service.sources.fetch import Fetcher, FetchResult
from service.sources.normalize import Item, entry_source, item_from, normalize_entry
from service.sources.parse import ParsedFeed, parse_feed
from service.sources.schedule import (
    PollPolicy,
    cache_hint_s,
    next_poll_after_failure,
    next_poll_after_success,
)
from service.store import db
from service.store import feeds as feed_store
from service.store import items as item_store
from service.store.feeds import ClaimedFeed
from service.store.trouble import first_line
from service.store.watch import DatabaseWatch

log = logging.getLogger(__name__)
T = TypeVar("T")

Outcome = Literal["new", "unchanged", "not_modified", "failed", "lease_lost", "held_elsewhere"]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed: str
    outcome: Outcome
    new_items: int = 0
    updated_items: int = 0
    alerts: int = 0  # one per (rule, story)
    stories: int = 0  # the stories those alerts are about
    suppressed: int = 0
    stale: int = 0  # held back: already older than the age limit when first seen
    error: str | None = None
    warning: str | None = None  # the poll succeeded but found something wrong (``yield_warning``)
    duration_ms: float = 0.0


def parse_document(body: bytes, *, content_type: str | None, settings: Settings) -> ParsedFeed:
    """Stage: bytes → entries (never a path or URL handed to a parser)."""
    return parse_feed(body, content_type=content_type, max_entries=settings.max_entries_per_feed)


def normalise_entries(parsed: ParsedFeed, *, feed_url: str, settings: Settings) -> list[Item]:
    """Stage: entries → items with keys, canonical URLs, plain text and UTC dates."""
    batch = (
        normalize_entry(
            e,
            feed_url=feed_url,
            max_title_chars=settings.max_title_chars,
            max_text_chars=settings.max_text_chars,
        )
        for e in parsed.entries
    )
    return [item for item in batch if item is not None]


@dataclass(frozen=True, slots=True)
class Normalised:
    """A document's entries as items, except the entries that restate stored items unchanged."""

    items: list[Item]  # the entries read, in document order (repeats of a key included)
    unseen: list[Item]  # the first item of each key the feed had not stored, when looked up
    unread: int  # usable entries not in ``items``: they restate stored items (``dedup.restated``)
    edited: list[Item] = field(default_factory=list)  # the first item of each stored key whose text changed


def normalise_changed(
    engine: Engine, feed_id: int, parsed: ParsedFeed, *, feed_url: str, settings: Settings
) -> Normalised:
    """Stage: entries → items, reading only the entries that are new to the feed or changed.

    The keys and source digests of every entry (``normalize.entry_source``: no HTML read) are
    looked up in one read, which waits for no writer; an entry whose stored item vouches for its
    source is left unread. A pass over the real corpus whose entries are all stored took 134-141
    ms against 240-253 ms before, parsing and storing included (bench ``ingest``, 2nd pass).
    """
    caps = {"max_title_chars": settings.max_title_chars, "max_text_chars": settings.max_text_chars}
    sources = [entry_source(e, feed_url=feed_url, **caps) for e in parsed.entries]
    keys = {s.key for s in sources if s.key}
    with engine.connect() as conn:
        stored = item_store.stored_sources(conn, feed_id, list(keys))
    items: list[Item] = []
    unread = 0
    for entry, source, reading in zip(parsed.entries, sources, restated(sources, stored), strict=True):
        if reading == "unread":
            unread += 1  # a stored item was made from it: usable
            continue
        item = item_from(entry, source, **caps)
        if item is None:
            continue
        if reading == "read":
            items.append(item)
        else:  # counted: a repeat of an unread key, usable, never stored
            unread += 1
    first_of_keys = unique_by_key(items)
    unseen = [i for i in first_of_keys if i.key not in stored]
    if any(i.key not in keys for i in unseen):  # items keyed by their text were not looked up
        with engine.connect() as conn:
            unseen = item_store.unseen(conn, feed_id, unseen)
    edited = [i for i in first_of_keys if i.key in stored and stored[i.key].content_hash != i.content_hash]
    return Normalised(items, unseen, unread, edited)


def store_and_alert(
    conn: Connection,
    *,
    feed: FeedRef,
    batch: list[Item],
    book: RuleBook | None,
    now: datetime,
    story_window: timedelta,
    assessed: Mapping[str, Sequence[Assessment]] | None = None,
    edits: JudgedEdits | None = None,
) -> tuple[item_store.StoreResult, AlertTally]:
    """Stages: dedup + store, then the items actually inserted into alert rows (matched and
    judged here unless ``assessed`` holds them already), and what the items actually edited add
    (judged here unless ``edits`` judged them already: see :func:`judge_edits`)."""
    stored = item_store.store_items(conn, feed.id, batch, now=now, story_window=story_window)
    if book is None or not (stored.inserted or stored.edited):
        return stored, AlertTally()
    by_key = {item.key: item for item in unique_by_key(batch)}  # the copy that was stored
    new = [(s, by_key[s.key]) for s in stored.inserted]
    adding = dict(edits.adding) if edits is not None else {}
    judged = edits.keys if edits is not None else frozenset()
    unjudged = {
        e.item.key: e.before
        for e in stored.edited
        if e.item.key not in judged
        and (e.before.title, e.before.text) != (by_key[e.item.key].title, by_key[e.item.key].text)
    }
    if unjudged:  # stored by another writer after this poll looked: weighed against that version here
        adding |= judge_edits(book, feed, [by_key[k] for k in unjudged], lambda keys: unjudged).adding
    adds = [(e.item, by_key[e.item.key], adding[e.item.key]) for e in stored.edited if e.item.key in adding]
    if not (new or adds):
        return stored, AlertTally()
    return stored, record_alerts(conn, book=book, feed=feed, new=new, now=now, assessed=assessed, edits=adds)


@dataclass(frozen=True, slots=True)
class _Read:
    """A fetched document as the CPU-heavy stages left it, ready to be stored."""

    parsed: ParsedFeed
    normalised: Normalised
    book: RuleBook | None
    feed: FeedRef
    assessed: dict[str, list[Assessment]] | None
    edits: JudgedEdits | None


class IngestLane:
    """The threads where polls turn a fetched document into rows: parse, normalise, match,
    judge, and the write transaction. Fetching stays concurrent on the event loop.

    On SQLite the lane is one thread. Those stages hold the GIL, so more threads would not run
    them sooner, and SQLite lets one transaction write at a time anyway. With the default
    thread pool doing this work, every thread busy parsing or matching delayed the poll holding
    the write lock each time it came back from SQLite: in a 470-feed round its transactions took
    4.5 times as long as alone, and polls spent 37 % of their time waiting for the lock
    (bench/README.md, suite ``round``). On PostgreSQL, which locks rows rather than the
    database, a few threads overlap one poll's round trips with another's work.
    """

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rivalwatch-ingest")

    @classmethod
    def for_engine(cls, engine: Engine) -> IngestLane:
        return cls(1 if engine.dialect.name == "sqlite" else 4)

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    def close(self) -> None:
        """Wait for work already handed over, then stop the threads."""
        self._pool.shutdown(wait=True)


@dataclass(frozen=True, slots=True)
class Poller:
    """Everything one poll needs; the clock and randomness are injected for tests."""

    engine: Engine
    fetcher: Fetcher
    settings: Settings
    owner: str
    clock: Callable[[], datetime]
    rng: random.Random
    destinations: Destinations
    watch: DatabaseWatch
    rulebook: Callable[[], RuleBook | None] = lambda: None
    lane: IngestLane = field(default_factory=lambda: IngestLane(1))

    @property
    def policy(self) -> PollPolicy:
        s = self.settings
        return PollPolicy(
            floor_s=s.poll_min_interval_s, ceiling_s=s.poll_max_interval_s, max_backoff_s=s.poll_max_backoff_s
        )

    async def poll(self, feed: ClaimedFeed) -> PollOutcome:
        started = time.perf_counter()
        metrics.POLLS_IN_FLIGHT.inc()
        try:
            outcome = await self._poll(feed)
        finally:
            metrics.POLLS_IN_FLIGHT.dec()
        elapsed_ms = (time.perf_counter() - started) * 1000
        metrics.record_poll(feed.name, outcome.outcome, elapsed_ms / 1000)
        return replace(outcome, duration_ms=round(elapsed_ms, 1))

    async def _poll(self, feed: ClaimedFeed) -> PollOutcome:
        try:
            outcome = await self._fetch_and_store(feed)
        except SQLAlchemyError as exc:
            # Disk full, read-only file, database gone: nothing of this poll was written (one
            # transaction). The lease is given back if the database takes it, else it expires;
            # either way the feed is retried once the database recovers.
            # Trouble with the database is told once, by the watch. Any other error is the
            # database refusing this feed's rows (a bug, or a value it cannot store): a failure of
            # the feed, shown and backed off like any other, not a poll repeated at every tick.
            trouble = self.watch.failed(exc, work="poll")
            why = trouble.message if trouble else first_line(getattr(exc, "orig", None) or exc)
            if trouble is None:
                log.exception("feed_store_failed", extra={"rw_fields": {"feed": feed.name}})
                with suppress(SQLAlchemyError):
                    return await self.lane.run(
                        self._record_failure, feed, FetchError(f"database error: {why}")
                    )
            await asyncio.to_thread(self._give_back, feed)
            return PollOutcome(feed.name, "failed", error=f"database error: {why}")
        self.watch.worked(wrote=True)
        return outcome

    async def _fetch_and_store(self, feed: ClaimedFeed) -> PollOutcome:
        try:
            fetched = await self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
            metrics.FEED_BYTES.labels(metrics.feed_label(feed.name)).inc(fetched.bytes_read)
            if fetched.not_modified:
                return await self.lane.run(self._record_not_modified, feed, fetched)
            return await self.lane.run(self._ingest, feed, fetched)
        except (FetchError, ParseError) as exc:
            return await self.lane.run(self._record_failure, feed, exc)
        except SQLAlchemyError:
            raise
        except Exception as exc:
            # A bug, or input nothing above foresaw: record it on this feed (with backoff) so it
            # shows as failing, instead of silencing the feed behind an expiring lease.
            log.exception("poll_crashed", extra={"rw_fields": {"feed": feed.name}})
            internal = FetchError(f"internal error: {type(exc).__name__}")
            return await self.lane.run(self._record_failure, feed, internal)

    # --- stages ---------------------------------------------------------------------------------

    def _ingest(self, feed: ClaimedFeed, fetched: FetchResult) -> PollOutcome:
        return self._store(feed, fetched, self._read(feed, fetched))

    def _read(self, feed: ClaimedFeed, fetched: FetchResult) -> _Read:
        """Parse, normalise, match and judge, before the write transaction: only the entries new
        or changed are normalised, only the items the feed has not stored yet are matched and
        judged (finding them is a read, which waits for no writer), and the write lock is held
        for SQL alone."""
        parsed = parse_document(
            fetched.body, content_type=fetched.headers.get("content-type"), settings=self.settings
        )
        normalised = normalise_changed(
            self.engine, feed.id, parsed, feed_url=fetched.url, settings=self.settings
        )
        if parsed.dropped_entries:
            log_event(
                log,
                logging.WARNING,
                "feed_entries_capped",
                feed=feed.name,
                kept=len(parsed.entries),
                dropped=parsed.dropped_entries,
            )
        book = self.rulebook()
        max_age_s = effective_max_age_s(feed.max_age_s, self.settings.max_item_age)
        ref = FeedRef(feed.id, feed.name, feed.tags, max_age_s)
        if book is None:
            return _Read(parsed, normalised, book, ref, None, None)
        edits = judge_edits(book, ref, normalised.edited, functools.partial(self._stored_versions, feed))
        return _Read(parsed, normalised, book, ref, assess_items(book, ref, normalised.unseen), edits)

    def _stored_versions(self, feed: ClaimedFeed, keys: Sequence[str]) -> dict[str, item_store.StoredVersion]:
        """What the feed's items of these keys say now (a read: it waits for no writer)."""
        with self.engine.connect() as conn:
            return item_store.stored_versions(conn, feed.id, keys)

    def _store(self, feed: ClaimedFeed, fetched: FetchResult, read: _Read) -> PollOutcome:
        parsed, batch, book, ref = read.parsed, read.normalised.items, read.book, read.feed
        now = self.clock()
        next_at = next_poll_after_success(
            now=now,
            interval_s=feed.interval_s or self.settings.poll_interval_s,
            policy=self.policy,
            ttl_s=parsed.ttl_s,
            cache_s=cache_hint_s(fetched.headers, now=now),
            rng=self.rng,
        )

        usable = len(batch) + read.normalised.unread
        warning = yield_warning(parsed, usable)

        def work(conn: Connection) -> tuple[item_store.StoreResult, AlertTally] | None:
            if not self._record_success(conn, feed, fetched, now=now, next_at=next_at, warning=warning):
                return None
            window = timedelta(days=self.settings.story_window_days)
            stored, tally = store_and_alert(
                conn,
                feed=ref,
                batch=batch,
                book=book,
                now=now,
                story_window=window,
                assessed=read.assessed,
                edits=read.edits,
            )
            if book is not None and tally.inserted:
                enqueue_alerts(
                    conn, book=book, new_alerts=tally.inserted, destinations=self.destinations, now=now
                )
            return stored, tally

        done = db.run_transaction(self.engine, work)
        if done is None:
            return self._lease_lost(feed)
        stored, tally = done
        metrics.ITEMS_STORED.labels(metrics.feed_label(feed.name)).inc(len(stored.inserted))
        metrics.ITEMS_UPDATED.labels(metrics.feed_label(feed.name)).inc(stored.updated)
        self._log_recovery(feed)
        if warning is not None and warning != feed.last_error:  # told when it starts or changes
            log_event(log, logging.WARNING, "feed_warning", feed=feed.name, warning=warning)
        log_event(
            log,
            logging.INFO,
            "feed_polled",
            feed=feed.name,
            parser=parsed.parser,
            entries=usable,
            unread=read.normalised.unread,
            new_items=len(stored.inserted),
            updated_items=stored.updated,
            alerts=tally.pending,
            suppressed=tally.suppressed,
            stale=tally.stale,
            bytes=fetched.bytes_read,
            warning=warning,
        )
        return PollOutcome(
            feed.name,
            "new" if stored.inserted else "unchanged",
            new_items=len(stored.inserted),
            updated_items=stored.updated,
            alerts=tally.pending,
            stories=tally.stories,
            suppressed=tally.suppressed,
            stale=tally.stale,
            warning=warning,
        )

    def _record_success(
        self,
        conn: Connection,
        feed: ClaimedFeed,
        fetched: FetchResult,
        *,
        now: datetime,
        next_at: datetime,
        warning: str | None,
    ) -> bool:
        return feed_store.record_success(
            conn,
            feed.id,
            owner=self.owner,
            now=now,
            status=fetched.status,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            next_poll_at=next_at,
            warning=warning,
        )

    def _record_not_modified(self, feed: ClaimedFeed, fetched: FetchResult) -> PollOutcome:
        now = self.clock()
        next_at = next_poll_after_success(
            now=now,
            interval_s=feed.interval_s or self.settings.poll_interval_s,
            policy=self.policy,
            cache_s=cache_hint_s(fetched.headers, now=now),
            rng=self.rng,
        )
        # A 304 may omit validators; keep the ones we sent rather than forgetting them.
        kept = FetchResult(
            url=fetched.url,
            status=304,
            body=b"",
            headers=fetched.headers,
            etag=fetched.etag or feed.etag,
            last_modified=fetched.last_modified or feed.last_modified,
            bytes_read=0,
            duration_ms=fetched.duration_ms,
        )
        # The document has not changed since the poll that read it, nor has what was wrong with it.
        warning = feed.last_error if not feed.consecutive_failures else None
        recorded = db.run_transaction(
            self.engine,
            lambda conn: self._record_success(conn, feed, kept, now=now, next_at=next_at, warning=warning),
        )
        if not recorded:
            return self._lease_lost(feed)
        self._log_recovery(feed)
        return PollOutcome(feed.name, "not_modified", warning=warning)

    def _record_failure(self, feed: ClaimedFeed, exc: FetchError | ParseError) -> PollOutcome:
        now = self.clock()
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        gone = isinstance(exc, HTTPStatusError) and exc.gone
        retry_after = exc.retry_after_s if isinstance(exc, FetchError) else None
        error = _describe(exc)
        next_at = next_poll_after_failure(
            now=now,
            failures=feed.consecutive_failures + 1,
            policy=self.policy,
            retry_after_s=retry_after,
            rng=self.rng,
        )
        recorded = db.run_transaction(
            self.engine,
            lambda conn: feed_store.record_failure(
                conn,
                feed.id,
                owner=self.owner,
                now=now,
                error=error,
                status=status,
                next_poll_at=next_at,
                gone=gone,
            ),
        )
        metrics.FEED_FAILURES.labels(metrics.feed_label(feed.name), type(exc).__name__).inc()
        # A failure that repeats is logged when it changes, not at every poll.
        level = logging.WARNING if error != feed.last_error or gone else logging.DEBUG
        log_event(
            log,
            level,
            "feed_disabled_gone" if gone else "feed_failed",
            feed=feed.name,
            error=error,
            consecutive_failures=feed.consecutive_failures + 1,
            next_poll_at=next_at.isoformat(),
        )
        if not recorded:
            return self._lease_lost(feed)
        return PollOutcome(feed.name, "failed", error=error)

    def _log_recovery(self, feed: ClaimedFeed) -> None:
        if feed.consecutive_failures:
            log_event(
                log, logging.INFO, "feed_recovered", feed=feed.name, after_failures=feed.consecutive_failures
            )

    def _give_back(self, feed: ClaimedFeed) -> None:
        """Release the lease of a poll the database refused, if it will take even that; else the
        lease expires by itself."""
        with suppress(SQLAlchemyError):
            db.run_transaction(
                self.engine, lambda conn: feed_store.release(conn, [feed.id], owner=self.owner), attempts=1
            )

    def _lease_lost(self, feed: ClaimedFeed) -> PollOutcome:
        log_event(log, logging.WARNING, "feed_lease_lost", feed=feed.name, owner=self.owner)
        return PollOutcome(feed.name, "lease_lost", error="lease expired and was taken over")


def _describe(exc: FetchError | ParseError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ParseError):
        return f"parse error: {text}"
    return text
