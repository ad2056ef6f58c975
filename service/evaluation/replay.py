"""The real pipeline over labelled feed files, in a throw-away database: what would have fired.

Each feed document a labels file names is read from disk and goes through the stages a poll
runs — parse, normalise, dedup and store, match, judge, alert rows — in an SQLite database that
lives only for the run, one feed after another in name order (so the same copy of a
syndicated story leads every time). Deliveries are not made.

Three things differ from the service on purpose: a rule's ``feeds``/``tags`` selection is
ignored (the labelled documents are not declared feeds, and the rules are judged on their
expressions); every entry of a document is read, however long (the service keeps the first
``RIVALWATCH_MAX_ENTRIES_PER_FEED``); and there is no age limit (labelled items carry their
real, often old, dates) unless one is asked for, and then an item's age counts from when its
document was captured (its newest entry's date), as if the feed had been added that day.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from service.alerts.assess import assess
from service.alerts.model import Alert
from service.alerts.record import FeedRef
from service.baselines.change import FactChange
from service.config import Settings
from service.errors import ParseError
from service.evaluation.labels import Label
from service.evaluation.score import NOT_ABOUT_SUBJECT, Figure, ItemResult, RuleOutcome
from service.logs import quieted
from service.pipeline import normalise_entries, parse_document, store_and_alert
from service.reload import store_rulebook
from service.rulebook import RuleBook
from service.sources.article import EVERY_ENTRY
from service.sources.normalize import Item, canonical_url, clean_text
from service.store import alerts as alert_store
from service.store import db
from service.store import feeds as feed_store
from service.store import items as item_store


@dataclass(frozen=True, slots=True)
class _LabelledFeed:
    """A feed document named by a labels file, declared for the run only."""

    name: str
    url: str
    interval_s: int | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    max_age_s: int | None = None  # unused: the replay's own limit goes with each document


@dataclass(frozen=True, slots=True)
class ReportedFigure:
    """A changed figure some alert of the run reported, labelled item or not."""

    rule: str
    title: str
    feed_file: str
    figure: Figure


@dataclass(frozen=True, slots=True)
class Replay:
    results: tuple[ItemResult, ...]
    figures: tuple[ReportedFigure, ...]
    unreadable: tuple[str, ...]  # "feed_file: why", for documents that could not be read
    items: int
    rule_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """A labelled feed document: the items a poll would store from it, in document order."""

    feed_file: str
    items: tuple[Item, ...]

    @property
    def captured_at(self) -> datetime | None:
        """When the document was taken, as far as it tells: its newest entry's date."""
        return max((i.published_at for i in self.items if i.published_at is not None), default=None)


def replay(
    labels: Sequence[Label], *, feeds_dir: Path, settings: Settings, max_age_s: int | None = None
) -> Replay:
    now = datetime.now(UTC)
    settings = every_entry(settings)
    with tempfile.TemporaryDirectory(prefix="rivalwatch-eval-") as scratch:
        engine = db.make_engine(f"sqlite:///{Path(scratch) / 'eval.db'}")
        try:
            with quieted("alembic"):  # a scratch schema: its migration steps are nobody's news
                db.upgrade(engine)
            book = watching_every_feed(store_rulebook(engine, settings.rules_dir, now=now))
            return _run(
                engine, book, labels, feeds_dir=feeds_dir, settings=settings, now=now, max_age_s=max_age_s
            )
        finally:
            engine.dispose()


def every_entry(settings: Settings) -> Settings:
    """Labelled items may sit anywhere in a long archive: read every entry, not the service's cap."""
    return settings.model_copy(update={"max_entries_per_feed": EVERY_ENTRY})


def watching_every_feed(book: RuleBook) -> RuleBook:
    """The same rules watching every feed: labelled documents are not declared feeds."""
    rules = {key: rule.model_copy(update={"feeds": None, "tags": None}) for key, rule in book.rules.items()}
    return replace(book, rules=rules)


def _run(
    engine: Engine,
    book: RuleBook,
    labels: Sequence[Label],
    *,
    feeds_dir: Path,
    settings: Settings,
    now: datetime,
    max_age_s: int | None,
) -> Replay:
    files = sorted({label.feed_file for label in labels})
    documents, unreadable = {}, []
    for feed_file in files:
        try:
            documents[feed_file] = read_document(feeds_dir, feed_file, settings=settings)
        except (OSError, ParseError) as exc:
            unreadable.append(f"{feed_file}: {getattr(exc, 'strerror', None) or exc}")
    with db.writing(engine) as conn:
        feed_store.sync_declared(conn, [_LabelledFeed(f, f"file:{f}") for f in documents], now=now)
        feed_ids = feed_store.ids_by_name(conn)
    window = timedelta(days=settings.story_window_days)
    stored = 0
    for feed_file, document in documents.items():
        ref = FeedRef(feed_ids[feed_file], feed_file, (), max_age_s, ages_from=document.captured_at)
        batch = list(document.items)

        def work(conn: Connection, ref: FeedRef = ref, batch: list[Item] = batch) -> int:
            done, _ = store_and_alert(conn, feed=ref, batch=batch, book=book, now=now, story_window=window)
            return len(done.inserted)

        stored += db.run_transaction(engine, work)
    with engine.connect() as conn:
        results = _results(conn, book, labels, documents, feed_ids)
        figures = _figures(conn)
    return Replay(tuple(results), figures, tuple(unreadable), stored, tuple(book.rules))


def read_document(feeds_dir: Path, feed_file: str, *, settings: Settings) -> Document:
    """Parse and normalise one feed file as a poll does (OSError or ParseError when it cannot).

    Relative links resolve against the document's own site link, as there is no feed URL.
    """
    path = feeds_dir / feed_file
    parsed = parse_document(path.read_bytes(), content_type=None, settings=settings)
    site = parsed.link or ""
    feed_url = site if site.startswith(("http://", "https://")) else path.as_uri()
    return Document(feed_file, tuple(normalise_entries(parsed, feed_url=feed_url, settings=settings)))


def find_item(label: Label, items: Iterable[Item]) -> Item | None:
    """The item a label names: by id or link (as written or canonical), else by title.

    Where several items share the id or link, the one with the label's title wins.
    """
    wanted = {x for x in (label.guid_or_link, label.link) if x}
    wanted |= {c for c in (canonical_url(x) for x in list(wanted)) if c}
    title = clean_text(label.title).casefold()
    by_link, by_title = [], []
    for item in items:
        if wanted & {item.guid, item.url}:
            by_link.append(item)
        elif title and item.title.casefold() == title:
            by_title.append(item)
    titled = [item for item in by_link if item.title.casefold() == title]
    return next(iter(titled or by_link or by_title), None)


def _results(
    conn: Connection,
    book: RuleBook,
    labels: Sequence[Label],
    documents: Mapping[str, Document],
    feed_ids: Mapping[str, int],
) -> list[ItemResult]:
    items = [
        (label, find_item(label, documents[label.feed_file].items) if label.feed_file in documents else None)
        for label in labels
    ]
    keys: dict[str, list[str]] = {}
    for label, item in items:
        if item is not None:
            keys.setdefault(label.feed_file, []).append(item.key)
    stored = {
        (feed_file, key): row
        for feed_file, wanted in keys.items()
        for key, row in item_store.stored_items(conn, feed_ids[feed_file], wanted).items()
    }
    located = [
        (label, item, stored.get((label.feed_file, item.key)) if item is not None else None)
        for label, item in items
    ]
    outcomes: dict[int | None, dict[str, RuleOutcome]] = {}
    raised_on: dict[int | None, set[int | None]] = {}
    for alert in alert_store.alerts_of_stories(conn, [s.story_id for _, _, s in located if s is not None]):
        outcomes.setdefault(alert.story_id, {})[alert.rule_id] = _outcome(alert)
        raised_on.setdefault(alert.story_id, set()).add(alert.item_id)
    results = []
    for label, item, kept in located:
        if item is None or kept is None:
            results.append(ItemResult(label, False, {}))
            continue
        raised = outcomes.get(kept.story_id, {})
        unraised = [rule for rule in book.rules if rule not in raised]
        results.append(
            ItemResult(
                label,
                True,
                _mentions(book, item, unraised) | raised,
                leads_story=raised_on.get(kept.story_id, {kept.id}) == {kept.id},
            )
        )
    return results


def _mentions(book: RuleBook, item: Item, rules: Sequence[str]) -> dict[str, RuleOutcome]:
    """Of ``rules``, those that matched the item but raised nothing: not about their subject.

    Only rules without an alert on the story are asked, so the item is not judged twice."""
    if not rules:
        return {}
    return {
        a.rule.id: RuleOutcome(
            a.rule.id,
            NOT_ABOUT_SUBJECT,
            f"not about its subject: {a.subject.why}" if a.subject else None,
            None,
            tuple(a.matched_terms),
        )
        for a in assess(book, title=item.title, text=item.text, only=rules)
        if not a.about_subject
    }


def _outcome(alert: Alert) -> RuleOutcome:
    return RuleOutcome(
        rule=alert.rule_id,
        status=alert.status,
        reason=alert.reason,
        novelty=alert.novelty,
        matched=alert.matched,
        new_terms=alert.new_terms,
        figures=tuple(_figure(change) for change in alert.fact_changes),
    )


def _figures(conn: Connection) -> tuple[ReportedFigure, ...]:
    return tuple(
        ReportedFigure(alert.rule_id, alert.title, alert.feed_name or "", _figure(change))
        for alert in alert_store.list_alerts(conn)
        for change in alert.fact_changes
    )


def _figure(change: FactChange) -> Figure:
    return Figure(change.display, change.evidence)
