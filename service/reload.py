"""Reloading the declarations: feeds, rules and baselines, applied together or not at all.

A reload first reads and checks every file (feeds, baselines, rules) without touching the
database. A problem anywhere raises ConfigError; on a reload the last good set stays in force
and the refusal is recorded on the ActiveRuleBook. A good set is then written in ONE
transaction (the feeds table, then a new version of each changed baseline), in which the rule
book is also built on the stored baselines; it is made active once that committed. A database
failure rolls the whole set back and leaves the change unseen, so the next reload tries
again; any other failure (a bug) rolls it back too and is refused like an invalid file, so
polling goes on with the last good set.

What counts as a change: a YAML file under the rules directory (baselines included) was
added, removed, resized or touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service.baselines.model import StoredBaseline
from service.errors import ConfigError, Problem
from service.logs import log_event
from service.notify.route import Destinations, undeliverable
from service.rulebook import ActiveRuleBook, CheckedRules, RuleBook, build_rulebook, read_checked_rules
from service.sources.declared import FeedSpec, load_feeds, load_feeds_strict
from service.store import db
from service.store.baselines import sync_baselines
from service.store.feeds import SyncReport, sync_declared
from service.yamlfile import yaml_files

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


def rules_signature(rules_dir: Path) -> Signature:
    """Cheap change detector for the rules directory: names, sizes and mtimes of YAML files."""
    if not rules_dir.is_dir():
        return ()
    out = []
    for path in yaml_files(rules_dir):  # every file a reload reads, baselines included
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Declarations:
    """Everything a reload applies, read and checked, nothing stored yet."""

    feeds: Sequence[FeedSpec]
    rules: CheckedRules


def _store_declarations(
    conn: Connection, declarations: Declarations, *, now: datetime, default_interval_s: int | None
) -> tuple[SyncReport, dict[str, StoredBaseline]]:
    """Feeds, then baselines, in the caller's transaction: both commit or neither does."""
    report = sync_declared(conn, declarations.feeds, now=now, default_interval_s=default_interval_s)
    return report, sync_baselines(conn, declarations.rules.baselines, now=now)


def store_rulebook(engine: Engine, rules_dir: Path, *, now: datetime) -> RuleBook:
    """Read and check the rules, store changed baselines, and build the book on the stored ones.

    For a one-off run on its own database (the evaluation replay): the feeds table is left alone.
    """
    checked = read_checked_rules(rules_dir, feeds=load_feeds(rules_dir).feeds)
    stored = db.run_transaction(engine, lambda conn: sync_baselines(conn, checked.baselines, now=now))
    return build_rulebook(checked, stored)


class Reloader:
    """Keeps the feeds table and the active rule book in step with the rules directory."""

    def __init__(
        self,
        *,
        engine: Engine,
        rules_dir: Path,
        rules: ActiveRuleBook,
        clock: Callable[[], datetime],
        load_declared: Callable[[Path], Sequence[FeedSpec]] = load_feeds_strict,
        destinations: Destinations | None = None,
        default_interval_s: int | None = None,
    ) -> None:
        self._engine = engine
        self._default_interval_s = default_interval_s
        self._destinations = destinations
        self._rules_dir = rules_dir
        self._rules = rules
        self._clock = clock
        self._load_declared = load_declared
        self._signature: Signature | None = None

    @property
    def rules(self) -> ActiveRuleBook:
        return self._rules

    def _read(self) -> Declarations:
        """Every declaration file, read and checked (ConfigError listing the problems)."""
        feeds = self._load_declared(self._rules_dir)
        return Declarations(feeds, read_checked_rules(self._rules_dir, feeds=feeds))

    def load(self) -> SyncReport:
        """Apply the declarations on disk now, or raise ConfigError and change nothing."""
        signature = rules_signature(self._rules_dir)
        return self._activate(signature, *self._store())

    def _store(self) -> tuple[SyncReport, RuleBook, datetime]:
        """Read the files and write them in one transaction; the rule book they make."""
        declarations = self._read()
        now = self._clock()

        def apply(conn: Connection) -> tuple[SyncReport, RuleBook]:
            report, stored = _store_declarations(
                conn, declarations, now=now, default_interval_s=self._default_interval_s
            )
            # Built inside the transaction: should building fail, the feeds and baselines just
            # written are rolled back with it, and the declarations stay as they were.
            return report, build_rulebook(declarations.rules, stored)

        report, book = db.run_transaction(self._engine, apply)
        return report, book, now

    def _activate(
        self, signature: Signature, report: SyncReport, book: RuleBook, now: datetime
    ) -> SyncReport:
        self._rules.set(book, at=now)
        self._signature = signature
        _log_applied(book, report)
        if self._destinations is not None:
            _log_undeliverable(book, self._destinations)
        return report

    def reload_if_changed(self) -> None:
        """Apply the declarations if a file changed; bad files are reported and the last good ones
        kept. A database error propagates (the caller's watch tells it once) and, the signature
        being unchanged, the files are applied at the next tick."""
        signature = rules_signature(self._rules_dir)
        if signature == self._signature:
            return
        try:
            stored = self._store()
        except ConfigError as exc:
            self._reject(signature, exc.problems)
            return
        except SQLAlchemyError:
            raise
        except Exception as exc:
            # A bug in reading the files (none known): the files are refused like invalid ones,
            # so polling goes on with the last good rules instead of every tick failing here.
            log.exception("declarations_reload_failed")
            self._reject(signature, [Problem(str(self._rules_dir), 0, f"internal error: {exc!r}")])
            return
        self._activate(signature, *stored)

    def _reject(self, signature: Signature, problems: list[Problem]) -> None:
        # The signature taken before the files were read: a fix saved meanwhile is a change.
        self._signature = signature
        self._rules.reject(problems, at=self._clock())
        log_event(
            log,
            logging.ERROR,
            "declarations_reload_rejected",
            problems=len(problems),
            detail=str(ConfigError(problems)),
            kept="last good feeds and rules",
        )


def _log_applied(book: RuleBook, report: SyncReport) -> None:
    log_event(
        log,
        logging.INFO,
        "rules_active",
        version=book.version[:12],
        rules=len(book.rules),
        baselines=len(book.baselines),
    )
    if report.added or report.changed or report.removed:
        log_event(
            log,
            logging.INFO,
            "feeds_synced",
            added=len(report.added),
            changed=len(report.changed),
            removed=len(report.removed),
        )


def _log_undeliverable(book: RuleBook, destinations: Destinations) -> None:
    """A rule that names a channel the settings cannot send to: one error line each, at load.
    Not when no channel is configured at all: everything goes to the console then."""
    if destinations.nothing_configured:
        return
    notify = {rule.id: rule.notify for rule in book.rules.values()}
    for gap in undeliverable(notify, destinations):
        log_event(
            log,
            logging.ERROR,
            "channel_not_configured",
            rule=gap.rule_id,
            channel=gap.channel,
            missing=gap.missing,
        )
