"""What one rule file may hold: the pydantic models behind rule files and their JSON Schema.

The loading rules (which files, cross-file checks, versions) are in ``service.matching.rules``;
this module states what one rule, one alias and one file may say. Field by field:

- ``id``: required; ``[a-z0-9][a-z0-9-]*``, at most 64 characters; unique across all files.
- ``name``: required, 1-200 characters (surrounding spaces dropped). ``description``: optional.
- ``match``: required; an expression of the match language (``service.matching.language``),
  parsed with every alias of every file. An error names its 1-based column in the expression.
  A lower-case ``or``, ``and``, ``not`` or ``near/n`` where the operator would fit is a word
  in the language and a warning here (``Rule.warnings``): the rule is valid and is applied.
- ``subject``: optional; what the item must be *about*, not only mention in passing (the
  model is in ``service.matching.subject``): ``true`` for the occurrences ``match`` found, or
  an expression like ``match`` (for a rule whose match also needs other words, e.g. a Chinese
  maker AND a foreign market, where only the maker must be the subject). A rule with a subject
  fires when ``match`` holds and the subject's occurrences are prominent. ``false``: none.
- ``kind``: ``keyword`` (default: every matching item is judged) or ``volume`` (alert when the
  matches within ``volume.window`` exceed ``factor`` times the average per window over the
  ``reference`` period, and are at least ``min_count``). ``volume`` is required for, and
  allowed only with, ``kind: volume``. ``window`` 1h-30d, ``reference`` at least twice the
  window and at most 365d, ``factor`` > 1 (default 3), ``min_count`` >= 1 (default 5).
- ``feeds`` (feed names, as declared, ignoring case) and ``tags`` (feed tags, lower-cased):
  optional, non-empty when given. Neither: every feed. Both: a feed named *or* tagged.
- ``baselines``: ids of baselines under ``rules/baselines/``; ``novelty_threshold`` in [0, 1],
  default 0.35: an item less novel than this against the baselines is stored, not posted.
- ``severity``: ``info``, ``notice`` (default), ``high`` or ``critical``.
- ``notify``: optional list of channels: ``slack``, ``slack:<channel>``, ``email``,
  ``email:<address>``, ``webhook:<name>``, ``digest`` (the kinds of
  :data:`service.notify.channels.NOTIFIER_KINDS`). Absent (``None``): the defaults (default Slack channel and
  the daily digest). An empty list: stored and listed, never sent.
- ``cooldown``: optional duration (``30m``, ``1h``, ``1d``; 1m-7d): after an alert, the rule
  stays quiet that long. ``enabled``: ``true`` (default) or ``false``.
- Durations are seconds (``3600``) or ``[<days>d][<hours>h][<minutes>m][<seconds>s]``.
- Alias names: 1-100 characters, not an operator (AND, OR, NOT), without ``" ( ) : *``
  (a name must be writable as a word or a phrase). Each maps to a non-empty list of plain-text
  alternatives (no ``*`` or ``"``, something left once dashes and spaces are ignored); repeats,
  compared as the matcher folds them, are dropped.
- Any other key, in a rule, a volume block or at the top of a rule file, is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from service.durations import human_duration, parse_duration_s
from service.errors import ExpressionError
from service.matching.language import Expr, operator_lookalikes, parse_expression
from service.matching.text import fold
from service.notify.channels import NOTIFIER_KINDS
from service.sources.declared import Tag

MAX_ID_CHARS = 64
DEFAULT_NOVELTY_THRESHOLD = 0.35
SCHEMA_COMMAND = "rivalwatch rules schema > rules/rules.schema.json"

_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_CHANNEL = re.compile(rf"(?:{'|'.join(NOTIFIER_KINDS)})(?::[A-Za-z0-9#][A-Za-z0-9._@+#-]*)?")
_ALIAS_FORBIDDEN = frozenset('"():*')
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_DAY_S = 86400


def parse_span_s(text: str) -> int:
    """A rule's duration: ``"30m"``, ``"1h"``, ``"14d"``, ``"1d12h"`` -> seconds."""
    try:
        return parse_duration_s(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration; write e.g. '30m', '1h', '1d', '14d'") from None


def _seconds_between(low_s: int, high_s: int) -> Callable[[Any], int]:
    def to_seconds(value: Any) -> int:
        if isinstance(value, str):
            seconds = parse_span_s(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        else:
            raise ValueError("must be a duration such as '30m', '1h' or '14d'")
        if not low_s <= seconds <= high_s:
            span = f"{human_duration(low_s)} and {human_duration(high_s)}"
            raise ValueError(f"must be between {span} (got {human_duration(seconds)})")
        return seconds

    return to_seconds


# Editors accept what parse_span_s accepts; the validator then checks the range.
_SPAN_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {
                "type": "string",
                "pattern": r"^\s*(\d+\s*[dD])?\s*(\d+\s*[hH])?\s*(\d+\s*[mM])?\s*(\d+\s*[sS])?\s*$",
            },
        ]
    }
)
WindowSeconds = Annotated[int, BeforeValidator(_seconds_between(3600, 30 * _DAY_S)), _SPAN_SCHEMA]
ReferenceSeconds = Annotated[int, BeforeValidator(_seconds_between(2 * 3600, 365 * _DAY_S)), _SPAN_SCHEMA]
CooldownSeconds = Annotated[int, BeforeValidator(_seconds_between(60, 7 * _DAY_S)), _SPAN_SCHEMA]


def _valid_id(value: str) -> str:
    if len(value) > MAX_ID_CHARS or not _ID.fullmatch(value):
        raise ValueError(
            f"must be lower-case letters, digits and '-', starting with a letter or digit, "
            f"at most {MAX_ID_CHARS} characters (got {value!r})"
        )
    return value


def _stripped(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _valid_channel(value: str) -> str:
    if not _CHANNEL.fullmatch(value):
        kinds = ", ".join(f"{kind}[:<name>]" for kind in NOTIFIER_KINDS)
        raise ValueError(f"unknown channel {value!r}: write one of {kinds}")
    return value


def _valid_alternative(value: str) -> str:
    alternative = value.strip()
    if not fold(alternative).strip():
        raise ValueError("must have something to match once dashes and spaces are ignored")
    if "*" in alternative or '"' in alternative:
        raise ValueError(f"{alternative!r} must be plain text (no '*' or '\"')")
    return alternative


def _alternatives(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("must list at least one alternative")
    unique: dict[str, str] = {}
    for value in values:
        unique.setdefault(fold(value).strip(), value)
    return tuple(unique.values())


def _valid_alias_name(value: str) -> str:
    name = _stripped(value)
    if len(name) > 100 or name.upper() in _OPERATORS or _ALIAS_FORBIDDEN & set(name):
        raise ValueError(f'alias name {name!r} must be 1-100 characters, no operator, without " ( ) : *')
    return name


RuleId = Annotated[
    str,
    Strict(),
    AfterValidator(_valid_id),
    WithJsonSchema({"type": "string", "pattern": f"^{_ID.pattern}$", "maxLength": MAX_ID_CHARS}),
]
Text = Annotated[str, Strict(), AfterValidator(_stripped)]
Channel = Annotated[
    str,
    Strict(),
    AfterValidator(_valid_channel),
    WithJsonSchema({"type": "string", "pattern": f"^(?:{_CHANNEL.pattern})$"}),
]
AliasName = Annotated[str, Strict(), AfterValidator(_valid_alias_name)]
AliasText = Annotated[str, Strict(), AfterValidator(_valid_alternative)]
Alternatives = Annotated[
    tuple[AliasText, ...], AfterValidator(_alternatives), Field(json_schema_extra={"minItems": 1})
]


@dataclass
class ParseContext:
    """Validation context for rules: the aliases of every file, and expressions parsed so far."""

    aliases: Mapping[str, Sequence[str]]
    _parsed: dict[str, Expr] = field(default_factory=dict)

    def parse(self, text: str) -> Expr:
        """The parsed expression (ExpressionError when invalid); each text is parsed once."""
        if text not in self._parsed:
            self._parsed[text] = parse_expression(text, aliases=self.aliases)
        return self._parsed[text]


def _context(info: ValidationInfo) -> ParseContext:
    return info.context if isinstance(info.context, ParseContext) else ParseContext({})


class Volume(BaseModel):
    """When a volume rule alerts: more matches in a window than usual, and enough of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: WindowSeconds = Field(
        alias="window", description="Period whose matches are counted, e.g. '1d'."
    )
    reference_s: ReferenceSeconds = Field(
        alias="reference", description="Period the usual count per window is averaged over, e.g. '14d'."
    )
    factor: float = Field(3.0, gt=1, description="Alert when the window count exceeds factor x the average.")
    min_count: Annotated[int, Strict()] = Field(5, ge=1, description="...and is at least this many matches.")

    @model_validator(mode="after")
    def _reference_covers_windows(self) -> Self:
        if self.reference_s < 2 * self.window_s:
            twice = human_duration(2 * self.window_s)
            raise ValueError(f"reference must be at least twice the window ({twice})")
        return self


class Rule(BaseModel):
    """One analyst rule: what to match, in which feeds, judged against which baselines, sent where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId = Field(description="Stable id, unique across all rule files: [a-z0-9][a-z0-9-]*.")
    name: Text = Field(description="Human-readable name shown in alerts.")
    description: Text | None = Field(None, description="What the rule is for, for the next analyst.")
    match: Annotated[str, Strict()] = Field(
        description='Match expression: words, "phrases", word*, AND (or juxtaposition), OR, NOT, '
        "NEAR/n, ( ), title:/text: ; case-insensitive whole words; aliases expand. "
        "See rules/examples.yaml.example."
    )
    kind: Literal["keyword", "volume"] = Field("keyword", description="keyword: every match; volume: spikes.")
    volume: Volume | None = Field(
        None, validate_default=True, description="Required for kind: volume, and only allowed there."
    )
    feeds: tuple[Text, ...] | None = Field(None, description="Feed names to watch; absent: every feed.")
    tags: tuple[Tag, ...] | None = Field(None, description="Feed tags to watch; absent: every feed.")
    baselines: tuple[Text, ...] = Field((), description="Ids of baselines (rules/baselines/) to judge by.")
    novelty_threshold: float = Field(
        DEFAULT_NOVELTY_THRESHOLD, ge=0, le=1, description="Below this novelty an item is stored, not posted."
    )
    severity: Literal["info", "notice", "high", "critical"] = Field("notice", description="Alert severity.")
    notify: tuple[Channel, ...] | None = Field(
        None,
        description="Channels: slack[:name], email[:address], webhook:name, digest; absent: defaults.",
    )
    cooldown_s: CooldownSeconds | None = Field(
        None, alias="cooldown", description="Quiet period after an alert, e.g. '30m'; absent: none."
    )
    enabled: Annotated[bool, Strict()] = Field(True, description="false keeps the rule but never matches.")
    subject: Annotated[str, Strict()] | Annotated[bool, Strict()] | None = Field(
        None,
        description="What the item must be about, not mention in passing (in the title, a summary, "
        "or a lead that names it twice; not only in a comparison or a list): true for the terms "
        "`match` found, or an expression of its own. See service/matching/subject.py.",
    )

    _expression: Expr = PrivateAttr()
    _subject_expression: Expr | None = PrivateAttr(None)

    @property
    def expression(self) -> Expr:
        """The parsed ``match`` expression, aliases expanded."""
        return self._expression

    @property
    def subject_expression(self) -> Expr | None:
        """The parsed ``subject`` expression, aliases expanded; None unless it is an expression."""
        return self._subject_expression

    @property
    def warnings(self) -> tuple[str, ...]:
        """Likely mistakes that leave the rule valid, e.g. ``match: column 7: "or" between terms
        is the word or; did you mean OR?``: reported, never refused."""
        written = {"match": self.match, "subject": self.subject}
        return tuple(
            f"{key}: column {lookalike.column}: {lookalike}"
            for key, text in written.items()
            if isinstance(text, str)
            for lookalike in operator_lookalikes(text)
        )

    @property
    def subject_is_match(self) -> bool:
        """``subject: true``: the occurrences ``match`` found must themselves be prominent."""
        return self.subject is True

    @field_validator("match", "subject")
    @classmethod
    def _parses(cls, value: str | bool | None, info: ValidationInfo) -> str | bool | None:
        if value is None or isinstance(value, bool):
            return value
        if not value.strip():
            raise ValueError("must not be empty")
        try:
            _context(info).parse(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("volume")
    @classmethod
    def _volume_with_kind(cls, value: Volume | None, info: ValidationInfo) -> Volume | None:
        kind = info.data.get("kind")
        if kind == "volume" and value is None:
            raise ValueError("required for kind: volume (window, reference, factor, min_count)")
        if kind == "keyword" and value is not None:
            raise ValueError("only allowed with kind: volume")
        return value

    @field_validator("feeds", "tags")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("must name at least one (leave the key out for every feed)")
        return value

    @model_validator(mode="after")
    def _keep_expression(self, info: ValidationInfo) -> Self:
        self._expression = _context(info).parse(self.match)
        if isinstance(self.subject, str):
            self._subject_expression = _context(info).parse(self.subject)
        return self


class RuleFile(BaseModel):
    """A rivalwatch rule file: aliases and rules (and possibly feeds, read by the feed loader)."""

    model_config = ConfigDict(extra="forbid", title="rivalwatch rule file")

    aliases: dict[AliasName, Alternatives] | None = Field(
        None, description="Alias name -> alternatives; a word or phrase equal to a name matches any of them."
    )
    rules: list[Rule] | None = Field(None, description="The rules of this file.")
    feeds: list[Any] | None = Field(
        None, description="Feed declarations, read by the feed loader (see feeds.yaml)."
    )


TOP_LEVEL_KEYS = tuple(RuleFile.model_fields)


def rules_json_schema() -> dict[str, Any]:
    """JSON Schema of a rule file, for editors (``# yaml-language-server: $schema=...``)."""
    schema = RuleFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_rules_schema() -> str:
    """The schema as committed in ``rules/rules.schema.json``."""
    return json.dumps(rules_json_schema(), indent=2, sort_keys=True) + "\n"
