"""Baseline files: what the team already knows about a story, one YAML file per baseline.

Rules:

- Every ``*.yaml`` / ``*.yml`` file under the baselines directory is read, recursively, in path
  order, skipping hidden files and folders. Each file holds exactly one baseline (a mapping).
- Keys (any other key is an error, so a misspelt ``tolerence`` cannot pass silently):

  ``id``        required; ``[a-z0-9][a-z0-9-]*``, at most 100 characters; unique across files.
  ``title``     required, non-empty text (our words).
  ``source``    required mapping: ``publisher`` (text), ``published`` (a date, ``2023-12-19``),
                ``url`` (optional, http or https).
  ``summary``   required, non-empty: what the team knows, in our own words (never pasted).
  ``terms``     required mapping ``term: weight`` with 0 < weight <= 1; terms are unique ignoring
                case, hyphens and spacing (``plug-in hybrid`` = ``Plug-in  Hybrid``), and each
                holds a word (a letter or a digit: ``&`` alone could never be found).
  ``facts``     optional list; each fact: ``id`` (like a baseline id, unique within the
                baseline), ``metric``, ``value`` (a number), ``unit``, ``period`` (texts),
                ``subject`` (non-empty list: the entity the figure is about, with its aliases,
                ``[Nissan, Nissan Motor]``), ``cues`` (non-empty list of cues, each a
                word or phrase, or alternatives separated by ``|`` that count as one cue:
                ``"for China | for the Chinese market"``; no alternative may be empty), ``kind``
                and optional ``tolerance``, ``requires`` and ``year``.

- ``kind`` says how a figure near the cues is read and compared (see ``facts.py``):
  ``count`` whole numbers of things (models, plants), exact unless a tolerance is given;
  ``quantity`` amounts that may carry a scale word (2.8 million vehicles), 2% by default;
  ``share`` a fraction of one (0 to 1), read from percentages and fractions, 5% by default;
  ``year`` a four-digit year, exact; ``date`` a point in time as a fractional year whose
  ``unit`` is ``year``, ``half-year``, ``quarter`` or ``month`` (2024.5 with ``half-year`` is
  the second half of 2024); two periods are the same when they overlap.
- ``subject`` and ``cues`` decide which sentences a fact reads (see ``facts.py``): a figure is
  compared only in a sentence about the subject and about the metric.
- ``requires`` (optional list of cues, same syntax): words the sentence must also contain, each
  cue at least one of its alternatives, wherever they stand; they are not cues (they neither
  count towards the two cues nor measure a number's distance). A planned figure requires a
  word of planning (``"plans | will launch | line-up | intends"``), so "launched three" or
  "showed eight" is not the plan.
- ``year`` (optional, 1900-2100, only for ``count``, ``quantity`` and ``share``): the year the
  figure belongs to; a figure whose nearest year in its sentence is another is not read (see
  ``facts.py``). Written explicitly rather than guessed from ``period``, whose text may name the
  year a plan was announced rather than the year it counts.
- Subject terms and cues are matched as whole words (see ``facts.py``), so they work in text
  that separates words with spaces. A Chinese, Japanese or Korean term (``日产``) only matches
  when it stands alone between spaces or punctuation, which such text rarely does, and numbers
  written against CJK characters (``8款``) are not read: figures are read from English text.
- ``tolerance`` is relative (0.05 = values within 5% of the baseline are the same value),
  from 0 up to (not including) 1.
- ``draft: true`` (optional, top level; ``true`` or ``false``) marks a draft: a baseline drafted
  from an article (``draft.py``) that nobody has reviewed yet. A draft is checked like any other
  file, but it is not one of the ``baselines`` a directory gives, so the service neither stores
  nor judges against it (and a rule naming it names an unknown baseline) until a person approves
  it: ``rivalwatch baselines approve ID`` removes the line, or the reviewer deletes it.
- ``TODO`` (the word, in capitals) in any text of a file marks a value still to write or check
  (the drafter writes ``unit: TODO: percent change``, ``summary: TODO: ...``). It is no
  problem: the file loads, and every TODO left, like every draft, is listed as a warning.
- Every problem in every file is collected as ``file:line: message``; ``load_baselines`` never
  raises for bad content, ``load_baselines_strict`` raises ConfigError listing them all.
- ``Baseline.content_hash()`` is the SHA-256 of the canonical JSON document (sorted keys,
  numbers as floats), so it changes exactly when the content does; ``to_json``/``from_json``
  give and read that document (for the ``baselines.document`` column). A document stored before
  facts named a subject reads with each such fact's subject set to the baseline's subject terms
  (the terms of weight 1.0), so older stored versions still load. A fact's ``requires`` and
  ``year`` are left out of the document when unset, so a baseline that uses neither keeps the
  hash it had before they existed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from service.errors import ConfigError, Problem
from service.yamlfile import (
    LoadedYaml,
    YamlPath,
    load_yaml,
    problems_from_validation,
    render_path,
    yaml_files,
)

FactKind = Literal["count", "quantity", "share", "year", "date"]
DEFAULT_TOLERANCE: Mapping[FactKind, float] = {
    "count": 0.0,
    "quantity": 0.02,
    "share": 0.05,
    "year": 0.0,
    "date": 0.0,
}
DATE_UNITS_YEARS = {"year": 1.0, "half-year": 0.5, "quarter": 0.25, "month": 1 / 12}

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_UNSET_OMITTED = ("requires", "year")
CUE_ALTERNATIVES = "|"
DRAFT_KEY = "draft"
TODO = "TODO"
_TODO_WORD = re.compile(rf"\b{TODO}\b")
_TODO_SHOWN_CHARS = 60


def _valid_slug(value: str) -> str:
    if len(value) > 100 or not _SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} must be lower-case letters, digits and '-', starting with a letter or digit "
            "(at most 100 characters)"
        )
    return value


Slug = Annotated[str, Strict(), AfterValidator(_valid_slug)]
Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
Amount = Annotated[float, Strict(), Field(allow_inf_nan=False)]
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)


def cue_alternatives(cue: str) -> list[str]:
    """The phrases a cue accepts: ``"for China | for the Chinese market"`` -> both phrases."""
    return [alternative.strip() for alternative in cue.split(CUE_ALTERNATIVES)]


def _valid_cue(cue: str) -> str:
    if not all(cue_alternatives(cue)):
        raise ValueError(f"{cue!r} has an empty alternative: write phrases separated by ' | '")
    return cue


Cue = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_valid_cue)
]


def term_key(term: str) -> str:
    """How terms are compared for uniqueness: case, hyphens and spacing ignored."""
    return " ".join(re.split(r"[\s_-]+", term.casefold())).strip()


class Source(BaseModel):
    """Where the baseline comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    publisher: Text
    published: date
    url: Annotated[str, Strict(), StringConstraints(pattern=_URL.pattern, max_length=2048)] | None = None


class Fact(BaseModel):
    """One figure the team knows, and the words that identify it in text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    metric: Text
    value: Amount
    unit: Text
    period: Text
    subject: tuple[Text, ...] = Field(min_length=1)
    cues: tuple[Cue, ...] = Field(min_length=1)
    kind: FactKind
    tolerance: Annotated[float, Strict(), Field(ge=0, lt=1)] | None = None
    requires: tuple[Cue, ...] = ()
    year: Annotated[int, Strict(), Field(ge=1900, le=2100)] | None = None

    @property
    def effective_tolerance(self) -> float:
        """The tolerance written in the file, else the default for the kind."""
        return DEFAULT_TOLERANCE[self.kind] if self.tolerance is None else self.tolerance

    @property
    def period_years(self) -> float:
        """For ``date`` facts, the length of the period the value names (from ``unit``)."""
        return DATE_UNITS_YEARS.get(self.unit.lower(), 1.0)

    @model_validator(mode="after")
    def _value_fits_kind(self) -> Fact:
        problem = _kind_problem(self)
        if problem:
            raise ValueError(problem)
        return self


class Baseline(BaseModel):
    """One baseline: what the team already knows about a story (see the module rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    title: Text
    source: Source
    summary: Text
    terms: dict[Text, Annotated[float, Strict(), Field(gt=0, le=1)]] = Field(min_length=1)
    facts: tuple[Fact, ...] = ()

    @field_validator("terms")
    @classmethod
    def _unique_terms(cls, terms: dict[str, float]) -> dict[str, float]:
        for term in terms:
            if not any(character.isalnum() for character in term):
                raise ValueError(f"term {term!r} holds no word: no item could ever be found to name it")
        _reject_repeats("term", [term_key(term) for term in terms])
        return terms

    @field_validator("facts")
    @classmethod
    def _unique_fact_ids(cls, facts: tuple[Fact, ...]) -> tuple[Fact, ...]:
        _reject_repeats("fact id", [fact.id for fact in facts])
        return facts

    def to_json(self) -> dict[str, Any]:
        """The baseline as a JSON-ready document (dates as ISO text, numbers as floats); a fact's
        ``requires`` and ``year`` appear only when set, so documents written before they existed
        keep their content hash."""
        document = self.model_dump(mode="json")
        document["facts"] = [
            {
                key: value
                for key, value in fact.items()
                if key not in _UNSET_OMITTED or value not in (None, [])
            }
            for fact in document["facts"]
        ]
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any] | str) -> Baseline:
        """Read a document written by ``to_json`` (a mapping or its JSON text)."""
        data = json.loads(document) if isinstance(document, str) else dict(document)
        return cls.model_validate(_with_fact_subjects(data))

    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON document: equal content, equal hash."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredBaseline:
    """A version of a baseline as the store keeps it (``store.baselines``); a dry run counts a
    file's baseline as version 0."""

    baseline: Baseline
    version: int
    created_at: datetime


@dataclass(frozen=True)
class BaselineSet:
    """The valid approved baselines of a directory, sorted by id, and every problem found reading
    it; the valid drafts, which are not baselines yet; a warning for each draft and each TODO."""

    baselines: tuple[Baseline, ...]
    problems: list[Problem]
    drafts: tuple[Baseline, ...] = ()
    warnings: list[Problem] = field(default_factory=list)

    def get(self, baseline_id: str) -> Baseline | None:
        return next((b for b in self.baselines if b.id == baseline_id), None)


@dataclass(frozen=True)
class _Where:
    file: str
    line: int


@dataclass(frozen=True)
class _BaselineFile:
    """What one file gave: its baseline and where (None when invalid), problems and warnings."""

    found: tuple[Baseline, _Where] | None
    problems: list[Problem]
    warnings: list[Problem]
    draft: bool = False


def load_baselines(directory: Path) -> BaselineSet:
    """Read every baseline file under ``directory``; never raises for bad content."""
    if not directory.is_dir():
        return BaselineSet((), [Problem(str(directory), 0, "baselines directory does not exist")])
    files = [_read_baseline_file(path) for path in yaml_files(directory)]
    unique, repeats = _unique_ids([read.found for read in files if read.found is not None])
    draft_files = {read.found[1].file for read in files if read.found is not None and read.draft}
    problems = sorted([p for read in files for p in read.problems] + repeats, key=lambda p: (p.file, p.line))
    ordered = sorted(unique, key=lambda found: found[0].id)
    return BaselineSet(
        tuple(baseline for baseline, where in ordered if where.file not in draft_files),
        problems,
        tuple(baseline for baseline, where in ordered if where.file in draft_files),
        [warning for read in files for warning in read.warnings],
    )


def load_baselines_strict(directory: Path) -> tuple[Baseline, ...]:
    """The approved baselines of ``directory`` (drafts left out), or ConfigError listing every problem."""
    loaded = load_baselines(directory)
    if loaded.problems:
        raise ConfigError(loaded.problems)
    return loaded.baselines


def baseline_file(directory: Path, baseline_id: str) -> Path | None:
    """The file under ``directory`` whose ``id`` is ``baseline_id`` (draft or not), or None."""
    for path in yaml_files(directory):
        try:
            data = load_yaml(path).mapping()
        except ConfigError:
            continue
        if data.get("id") == baseline_id:
            return path
    return None


def todo_warnings(loaded: LoadedYaml) -> list[Problem]:
    """A warning for every text of a baseline file that still holds a ``TODO``, at its line."""
    return [
        Problem(loaded.file, loaded.line_of(path), f"{render_path(path)}: {TODO} left: {_shown(text)}")
        for path, text in _texts(loaded.data, ())
        if _TODO_WORD.search(text)
    ]


def _read_baseline_file(path: Path) -> _BaselineFile:
    try:
        loaded = load_yaml(path)
        data = loaded.mapping()
    except ConfigError as exc:
        return _BaselineFile(None, exc.problems, [])
    if not data:
        message = "empty file: expected one baseline (id, title, source, ...)"
        return _BaselineFile(None, [Problem(loaded.file, 1, message)], [])
    warnings = todo_warnings(loaded)
    draft = data.get(DRAFT_KEY, False)
    if not isinstance(draft, bool):
        message = f"{DRAFT_KEY}: must be true or false (delete the line once the draft is approved)"
        return _BaselineFile(None, [Problem(loaded.file, loaded.line_of((DRAFT_KEY,)), message)], warnings)
    try:
        baseline = Baseline.model_validate({k: v for k, v in data.items() if k != DRAFT_KEY})
    except ValidationError as exc:
        return _BaselineFile(None, problems_from_validation(exc, loaded), warnings)
    if draft:
        message = (
            f"baseline {baseline.id!r} is a draft: the service ignores it until it is approved "
            f"(rivalwatch baselines approve {baseline.id})"
        )
        warnings.insert(0, Problem(loaded.file, loaded.line_of((DRAFT_KEY,)), message))
    return _BaselineFile((baseline, _Where(loaded.file, loaded.line_of(("id",)))), [], warnings, draft)


def _texts(node: Any, path: YamlPath) -> Iterator[tuple[YamlPath, str]]:
    """Every text in a YAML document, keys included, with where it stands."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from _texts(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _texts(item, (*path, index))


def _shown(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _TODO_SHOWN_CHARS else line[: _TODO_SHOWN_CHARS - 1] + "…"


def _unique_ids(
    found: list[tuple[Baseline, _Where]],
) -> tuple[list[tuple[Baseline, _Where]], list[Problem]]:
    first: dict[str, _Where] = {}
    unique: list[tuple[Baseline, _Where]] = []
    problems: list[Problem] = []
    for baseline, where in found:
        if baseline.id in first:
            other = first[baseline.id]
            message = f"id: duplicate baseline id {baseline.id!r} (also in {other.file}:{other.line})"
            problems.append(Problem(where.file, where.line, message))
            continue
        first[baseline.id] = where
        unique.append((baseline, where))
    return unique, problems


def subject_terms(terms: Mapping[str, float]) -> list[str]:
    """The terms that mark what a baseline is about: those of weight 1.0."""
    return [term for term, weight in terms.items() if weight >= 1.0]


def _with_fact_subjects(data: dict[str, Any]) -> dict[str, Any]:
    """A stored document as the current schema reads it: facts stored before facts named their
    subject take the baseline's subject terms."""
    facts, terms = data.get("facts"), data.get("terms")
    if not isinstance(facts, list) or not isinstance(terms, dict):
        return data
    subject = subject_terms(terms)
    upgraded = [
        fact | {"subject": subject} if isinstance(fact, dict) and "subject" not in fact and subject else fact
        for fact in facts
    ]
    return data | {"facts": upgraded}


def _reject_repeats(label: str, keys: list[str]) -> None:
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"duplicate {label} {', '.join(map(repr, repeated))}")


def _kind_problem(fact: Fact) -> str | None:
    value = fact.value
    if fact.kind == "count" and (value < 0 or value != int(value)):
        return f"a count must be a whole number of at least 0, not {value:g}"
    if fact.kind == "quantity" and value < 0:
        return f"a quantity must not be negative, not {value:g}"
    if fact.kind == "share" and not 0 <= value <= 1:
        return f"a share is a fraction from 0 to 1 (20% is 0.2), not {value:g}"
    if fact.year is not None and fact.kind in ("year", "date"):
        return f"a {fact.kind} fact's value is its own year: 'year' is only for counts, quantities and shares"
    if fact.kind == "year" and (value != int(value) or not 1900 <= value <= 2100):
        return f"a year must be a whole year from 1900 to 2100, not {value:g}"
    if fact.kind == "date":
        if not 1900 <= value < 2101:
            return f"a date is a fractional year from 1900 to 2100 (2024.5 = H2 2024), not {value:g}"
        if fact.unit.lower() not in DATE_UNITS_YEARS:
            return f"a date's unit must be one of {', '.join(DATE_UNITS_YEARS)}, not {fact.unit!r}"
    return None
