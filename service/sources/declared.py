"""Feed declarations: which feeds to poll, read from YAML files under the rules directory.

Rules:

- Every ``*.yaml`` / ``*.yml`` file under the rules directory is read, recursively, in path
  order, except the ``baselines/`` folder and hidden files or folders (``.name``).
- A file declares feeds when its top level is a mapping with a ``feeds:`` key. Any other
  file is not a feed file (it holds rules) and is skipped. Other top-level keys of a feed
  file (``rules:``, ``aliases:``) belong to other stages and are ignored here. A file that
  cannot be read as YAML at all is still reported, since it might have held feeds.
- ``feeds:`` is a list (empty or null: no feeds). Each entry is a mapping:

  ``name``      required; 1-100 characters: letters, digits, space and ``- _ . : / ( ) & '``;
                leading and trailing spaces are dropped. Unique across all files, ignoring case.
  ``url``       required; absolute http or https URL with a host, at most 2048 characters,
                no whitespace, no control characters, no ``user:password@``. Unique across
                all files (two feeds on one URL would poll it twice).
  ``interval``  optional; seconds (``900`` or ``"900"``) or a duration (``90s``, ``15m``, ``1h``,
                ``1h30m``); between 1 minute and 24 hours. Absent: the service default.
  ``tags``      optional list; each tag is stripped and lower-cased, then must match
                ``[a-z0-9][a-z0-9_-]*`` (at most 64 characters); repeats are dropped.
  ``enabled``   optional, ``true`` (default) or ``false``.
  ``max_age``   optional; a duration (``12h``, ``7d``) or ``0`` (no limit): an item already older
                than this when first seen is stored but raises no alert. Absent: the service's
                ``RIVALWATCH_MAX_ITEM_AGE``.

  Any other key in an entry is an error (a misspelt ``intervall`` must not pass silently).
- Every problem in every file is collected, each as ``file:line: message``; reading never
  stops at the first. ``FeedDeclarations.feeds`` holds the entries that are valid on their
  own (for a repeated name or URL, the first in path order), sorted by name; whenever there
  are problems the declarations as a whole must not be applied (``load_feeds_strict``).
- A feed's declaring ``file:line`` is kept beside it (``FeedDeclarations.origins``), not in
  ``FeedSpec``, so that two specs compare equal when their content is equal, wherever they sit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

from service.durations import seconds_from
from service.errors import ConfigError, Problem, SchemeError
from service.sources.addresses import validate_feed_url
from service.yamlfile import LoadedYaml, load_yaml, problems_from_validation, yaml_files

MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 24 * 3600
MAX_NAME_CHARS = 100
MAX_URL_CHARS = 2048
MAX_TAG_CHARS = 64
SKIPPED_DIRS = frozenset({"baselines"})

_NAME_CHARS = re.compile(r"[\w .:/()&'-]+")
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _normalized_tag(value: str) -> str:
    tag = value.strip().lower()
    if len(tag) > MAX_TAG_CHARS or not _TAG.fullmatch(tag):
        raise ValueError(
            f"tag {tag!r} must be lower-case letters, digits, '-' or '_' "
            f"(starting with a letter or digit, at most {MAX_TAG_CHARS} characters)"
        )
    return tag


Tag = Annotated[str, Strict(), AfterValidator(_normalized_tag)]


class FeedSpec(BaseModel):
    """One declared feed, validated (see the module docstring for the rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Strict()]
    url: Annotated[str, Strict()]
    interval_s: int | None = Field(default=None, alias="interval")
    tags: tuple[Tag, ...] = ()
    enabled: Annotated[bool, Strict()] = True
    max_age_s: int | None = Field(default=None, alias="max_age")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        name = value.strip()
        if not name:
            raise ValueError("must not be empty")
        if len(name) > MAX_NAME_CHARS:
            raise ValueError(f"must be at most {MAX_NAME_CHARS} characters (has {len(name)})")
        if not _NAME_CHARS.fullmatch(name):
            odd = sorted({ch for ch in name if not _NAME_CHARS.fullmatch(ch)})
            allowed = "letters, digits, spaces and - _ . : / ( ) & '"
            raise ValueError(f"may contain only {allowed} (found {' '.join(map(repr, odd))})")
        return name

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        problem = _url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("interval_s", mode="before")
    @classmethod
    def _valid_interval(cls, value: Any) -> int | None:
        if value is None:
            return None
        seconds = seconds_from(value, expected="a number of seconds or a duration such as '15m'")
        if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
            raise ValueError(f"must be between 1m and 24h (got {seconds}s)")
        return seconds

    @field_validator("max_age_s", mode="before")
    @classmethod
    def _valid_max_age(cls, value: Any) -> int | None:
        if value is None:
            return None
        return seconds_from(value, expected="a duration such as '12h' or '7d', or 0 for no limit")

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class Origin:
    """Where a feed is declared, printed as ``file:line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class FeedDeclarations:
    """All feeds declared under a rules directory, and every problem found reading them."""

    feeds: tuple[FeedSpec, ...]
    problems: list[Problem]
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def origin(self, name: str) -> Origin:
        """``file:line`` of the feed called ``name`` (KeyError when there is none)."""
        return self.origins[name]


@dataclass(frozen=True)
class _Declared:
    spec: FeedSpec
    loaded: LoadedYaml
    index: int

    @property
    def origin(self) -> Origin:
        return self.at()

    def at(self, key: str | None = None) -> Origin:
        """Where the entry (or one of its keys) is written."""
        path: tuple[str | int, ...] = ("feeds", self.index) if key is None else ("feeds", self.index, key)
        return Origin(self.loaded.file, self.loaded.line_of(path))


def load_feeds(rules_dir: Path) -> FeedDeclarations:
    """Read every feed declaration under ``rules_dir``; never raises for bad content."""
    if not rules_dir.is_dir():
        return FeedDeclarations((), [Problem(str(rules_dir), 1, "rules directory does not exist")])
    declared: list[_Declared] = []
    problems: list[Problem] = []
    for path in declaration_files(rules_dir):
        found, file_problems = _read_feed_file(path)
        declared += found
        problems += file_problems
    unique_names, name_problems = _first_of_each(declared, "name", _name_key, _repeated_name)
    unique, url_problems = _first_of_each(unique_names, "url", _url_key, _repeated_url)
    problems += name_problems + url_problems
    unique.sort(key=lambda entry: (entry.spec.name.casefold(), entry.spec.name))
    return FeedDeclarations(
        feeds=tuple(entry.spec for entry in unique),
        problems=sorted(problems, key=lambda p: (p.file, p.line)),
        origins={entry.spec.name: entry.origin for entry in unique},
    )


def load_feeds_strict(rules_dir: Path) -> tuple[FeedSpec, ...]:
    """The declared feeds, or ConfigError listing every problem."""
    declarations = load_feeds(rules_dir)
    if declarations.problems:
        raise ConfigError(declarations.problems)
    return declarations.feeds


def declaration_files(rules_dir: Path) -> Iterator[Path]:
    """The YAML files feeds and rules are declared in: hidden entries and baselines/ skipped."""
    return yaml_files(rules_dir, skip=SKIPPED_DIRS)


def _read_feed_file(path: Path) -> tuple[list[_Declared], list[Problem]]:
    try:
        loaded = load_yaml(path)
    except ConfigError as exc:
        return [], exc.problems
    if not isinstance(loaded.data, dict) or "feeds" not in loaded.data:
        return [], []
    entries = loaded.data["feeds"]
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        message = "feeds: must be a list of feeds (- name: ..., url: ...)"
        return [], [Problem(loaded.file, loaded.line_of(("feeds",)), message)]
    declared: list[_Declared] = []
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        try:
            spec = FeedSpec.model_validate(entry)
        except ValidationError as exc:
            problems += problems_from_validation(exc, loaded, prefix=("feeds", index))
            continue
        declared.append(_Declared(spec, loaded, index))
    return declared, problems


def _first_of_each(
    declared: list[_Declared],
    field_name: str,
    key: Callable[[FeedSpec], str],
    describe: Callable[[_Declared, list[_Declared]], str],
) -> tuple[list[_Declared], list[Problem]]:
    """Keep the first entry per key; report each entry of a repeated key (at the line of
    ``field_name``), naming the others."""
    groups: dict[str, list[_Declared]] = {}
    for entry in declared:
        groups.setdefault(key(entry.spec), []).append(entry)
    problems = []
    for group in groups.values():
        if len(group) == 1:
            continue
        for entry in group:
            others = [other for other in group if other is not entry]
            where = entry.at(field_name)
            problems.append(Problem(where.file, where.line, describe(entry, others)))
    return [group[0] for group in groups.values()], problems


def _name_key(spec: FeedSpec) -> str:
    return spec.name.casefold()


def _url_key(spec: FeedSpec) -> str:
    # Scheme and host are case-insensitive; path and query are compared as written.
    parts = urlsplit(spec.url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _repeated_name(entry: _Declared, others: list[_Declared]) -> str:
    where = ", ".join(str(other.at("name")) for other in others)
    return f"duplicate feed name {entry.spec.name!r} (also declared at {where})"


def _repeated_url(entry: _Declared, others: list[_Declared]) -> str:
    # The URL itself is not repeated in the message: its query may carry a token.
    where = ", ".join(f"{other.spec.name!r} at {other.at('url')}" for other in others)
    return f"feed {entry.spec.name!r} has the same url as {where}; it would be polled twice"


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed URL, or None. Addresses are judged at connect time, not here."""
    if not url:
        return "must not be empty"
    if len(url) > MAX_URL_CHARS:
        return f"must be at most {MAX_URL_CHARS} characters (has {len(url)})"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "is not a valid URL (check the host and port)"
    if not parts.scheme:
        return "must be an absolute URL starting with http:// or https://"
    try:
        validate_feed_url(url)
    except SchemeError as exc:
        return str(exc)
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password (user:password@)"
    return None
