"""The active rules version: rules, their compiled matcher and the baselines, swapped as one.

Building a book is pure. ``read_checked_rules`` reads the baseline and rule files, checks the
rules against the declared feeds and baselines, and compiles every enabled rule into one
matcher; any problem raises ConfigError, and each warning (a likely mistake that leaves a rule
valid, ``Rule.warnings``) is logged once per read, which the service does once per change of
the files. ``build_rulebook`` puts that together with the baselines as stored (their versions
are what alerts cite). Storing them is the reloader's job (``service.reload``);
``load_rulebook`` is the dry run that stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from service.baselines.model import Baseline, StoredBaseline, load_baselines, load_baselines_strict
from service.baselines.novelty import BaselineProfile, compile_baseline
from service.errors import Problem
from service.logs import log_event
from service.matching.compile import Matcher, compile_rules
from service.matching.language import Expr
from service.matching.rules import RuleSet, load_rules, load_rules_strict
from service.matching.ruleset import Rule
from service.notify.route import Destinations, undeliverable
from service.sources.declared import FeedSpec, load_feeds

BASELINES_DIR = "baselines"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KnownBaseline:
    stored: StoredBaseline
    profile: BaselineProfile  # prepared once per rules version: judging is per item

    @classmethod
    def of(cls, stored: StoredBaseline) -> KnownBaseline:
        return cls(stored, compile_baseline(stored.baseline))


@dataclass(frozen=True, slots=True)
class RuleBook:
    version: str
    rules: Mapping[str, Rule]
    matcher: Matcher
    baselines: Mapping[str, KnownBaseline]

    def applies(self, rule: Rule, *, feed: str | None, tags: Sequence[str]) -> bool:
        """A rule without feeds or tags watches every feed; otherwise a name or a tag must fit."""
        if rule.feeds is None and rule.tags is None:
            return True
        return (feed is not None and feed in (rule.feeds or ())) or bool(set(tags) & set(rule.tags or ()))

    def baselines_of(self, rule: Rule) -> list[tuple[Baseline, BaselineProfile]]:
        known = [self.baselines[b] for b in rule.baselines if b in self.baselines]
        return [(k.stored.baseline, k.profile) for k in known]

    def baseline_refs(self, rule: Rule) -> list[dict[str, object]]:
        known = [self.baselines[b] for b in rule.baselines if b in self.baselines]
        return [{"id": k.stored.baseline.id, "version": k.stored.version} for k in known]


def subject_key(rule_id: str) -> str:
    """The matcher's name for a rule's subject expression (a space: no rule id has one)."""
    return f"{rule_id} subject"


def matcher_entries(rules: Sequence[Rule]) -> list[tuple[str, Expr]]:
    """Every rule's ``match``, then every ``subject``, for one matcher: one scan per item."""
    entries = [(r.id, r.expression) for r in rules]
    entries += [(subject_key(r.id), r.subject_expression) for r in rules if r.subject_expression is not None]
    return entries


def read_baselines(rules_dir: Path) -> tuple[Baseline, ...]:
    directory = rules_dir / BASELINES_DIR
    return load_baselines_strict(directory) if directory.is_dir() else ()


@dataclass(frozen=True, slots=True)
class CheckedRules:
    """A rules directory read, checked and compiled, its baselines not yet stored."""

    version: str
    enabled: tuple[Rule, ...]
    matcher: Matcher
    baselines: tuple[Baseline, ...]


def read_checked_rules(rules_dir: Path, *, feeds: Sequence[FeedSpec]) -> CheckedRules:
    """Baselines and rules, checked against ``feeds`` and each other; ConfigError on any problem."""
    baselines = read_baselines(rules_dir)
    ruleset = load_rules_strict(
        rules_dir,
        known_feeds={f.name for f in feeds},
        known_tags={t for f in feeds for t in f.tags},
        known_baselines={b.id for b in baselines},
    )
    for warning in rule_warnings(ruleset):
        log_event(
            log, logging.WARNING, "rule_warning", file=warning.file, line=warning.line, detail=warning.message
        )
    enabled = tuple(r for r in ruleset.rules if r.enabled)
    return CheckedRules(ruleset.version, enabled, compile_rules(matcher_entries(enabled)), baselines)


def build_rulebook(checked: CheckedRules, stored: Mapping[str, StoredBaseline]) -> RuleBook:
    """The book on the baselines as stored, each prepared for judging once."""
    known = {key: KnownBaseline.of(value) for key, value in stored.items()}
    return RuleBook(checked.version, {r.id: r for r in checked.enabled}, checked.matcher, known)


def load_rulebook(rules_dir: Path, *, now: datetime) -> RuleBook:
    """The book a dry run uses: nothing is stored, baselines count as read, with version 0."""
    checked = read_checked_rules(rules_dir, feeds=load_feeds(rules_dir).feeds)
    return build_rulebook(checked, {b.id: StoredBaseline(b, 0, now) for b in checked.baselines})


def rule_warnings(ruleset: RuleSet) -> list[Problem]:
    """Every warning of every rule (``Rule.warnings``), at the line where its rule starts."""
    return [
        Problem(origin.file, origin.line, message)
        for rule in ruleset.rules
        for origin in [ruleset.origin(rule.id)]
        for message in rule.warnings
    ]


def routing_problems(ruleset: RuleSet, destinations: Destinations) -> list[Problem]:
    """``file:line: notify: slack:hyundai: no webhook named 'hyundai' in ...`` for each channel a
    rule names that the settings cannot send to."""
    notify = {rule.id: rule.notify for rule in ruleset.rules}
    return [
        Problem(origin.file, origin.line, f"notify: {gap.channel}: {gap.missing}")
        for gap in undeliverable(notify, destinations)
        for origin in [ruleset.origin(gap.rule_id)]
    ]


@dataclass(frozen=True, slots=True)
class CheckReport:
    problems: list[Problem]
    warnings: list[Problem]
    """Likely mistakes that do not stop the rules from being applied."""
    feeds: int
    rules: int
    aliases: int
    baselines: int


def check_rules_dir(rules_dir: Path, *, destinations: Destinations | None = None) -> CheckReport:
    """Every problem in feeds, baselines and rules at once, each reported once, and every warning.

    With ``destinations`` (the configured channels), a channel a rule names that cannot be sent
    to is a problem — or a warning when no channel is configured at all (a laptop trying rules,
    where everything goes to the console)."""
    declared = load_feeds(rules_dir)
    directory = rules_dir / BASELINES_DIR
    baseline_set = load_baselines(directory) if directory.is_dir() else None
    known = baseline_set.baselines if baseline_set is not None else ()
    ruleset = load_rules(
        rules_dir,
        known_feeds={f.name for f in declared.feeds},
        known_tags={t for f in declared.feeds for t in f.tags},
        known_baselines={b.id for b in known},
    )
    routing = routing_problems(ruleset, destinations) if destinations is not None else []
    routing_warns = destinations is not None and destinations.nothing_configured
    found = [*declared.problems, *(baseline_set.problems if baseline_set else []), *ruleset.problems]
    found += [] if routing_warns else routing
    unique = sorted(set(found), key=lambda p: (p.file, p.line, p.message))
    return CheckReport(
        unique,
        [
            *(baseline_set.warnings if baseline_set else []),  # drafts, TODOs
            *rule_warnings(ruleset),
            *(routing if routing_warns else []),
        ],
        len(declared.feeds),
        len(ruleset.rules),
        len(ruleset.aliases),
        len(known),
    )


@dataclass(frozen=True, slots=True)
class RulesState:
    """What the service runs on, and whether the files on disk were refused since."""

    book: RuleBook | None = None
    active_since: datetime | None = None
    rejected_at: datetime | None = None
    """When the files on disk last failed validation; None once a good set is active again."""
    problems: tuple[str, ...] = ()
    """``file:line: message`` of that failure."""


class ActiveRuleBook:
    """The book polls use right now; replaced whole on a good reload, never edited in place.

    The state is one immutable object swapped in a single assignment, so a reader on another
    thread (the HTTP API) never sees a new book with an old rejection or the reverse.
    """

    def __init__(self, book: RuleBook | None = None) -> None:
        self._state = RulesState(book)

    def get(self) -> RuleBook | None:
        return self._state.book

    def set(self, book: RuleBook, *, at: datetime | None = None) -> None:
        self._state = RulesState(book, active_since=at)

    def reject(self, problems: Sequence[object], *, at: datetime) -> None:
        """The files on disk failed validation: keep the book, remember why."""
        self._state = replace(self._state, rejected_at=at, problems=tuple(str(p) for p in problems))

    @property
    def state(self) -> RulesState:
        return self._state
