"""Rule files: which files hold rules, how they are checked together, and the rule set's version.

What one rule may say is written down in ``service.matching.ruleset`` (the models, the JSON
Schema); the match language in ``service.matching.language``. Loading rules:

- Every ``*.yaml`` / ``*.yml`` file under the rules directory is read, recursively, in path
  order, except the ``baselines/`` folder and hidden files or folders (the feed loader's walk).
- A file is a rule file when its top level is a mapping with a ``rules:`` list and/or an
  ``aliases:`` mapping; other files are skipped. ``feeds:`` in a rule file belongs to the feed
  loader and is ignored here; any other top-level key of a rule file is an error. A file that
  cannot be read as YAML at all is reported, since it might have held rules.
- Aliases are read first, from every file: names are unique across all files, compared as the
  matcher folds them (case, dashes and spaces ignored: ``China-made`` = ``china made``); each
  repeat is reported and the first in path order counts. Every rule of every file is then
  validated with all aliases, so an alias may be used in any file. Aliases do not nest: an
  alternative that is itself an alias name is matched as written.
- Rule ids are unique across all files: each repeat is reported and only the first in path
  order is kept. When the loader is given the known feed names (compared ignoring case), feed
  tags or baseline ids, each reference to an unknown one is a problem, at the line of the
  reference. Without them those references are not checked.
- Every problem in every file is collected, each as ``file:line: message``; an expression error
  is reported at the line of its ``match:`` key, with the column within the expression.
  ``RuleSet.rules`` keeps the rules that are valid on their own, in path order (the order in
  which they are evaluated); whenever there are problems the set as a whole must not be
  applied (``load_rules_strict``; a hot reload keeps the last good set).
- ``RuleSet.version`` hashes what the rule files say (each file's relative path, ``aliases``
  and ``rules`` as parsed), so it is the same on every machine and changes when a rule or an
  alias changes, not when a comment, a feed or a file without rules does.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from service.errors import ConfigError, Problem
from service.matching.language import Expr
from service.matching.ruleset import (
    TOP_LEVEL_KEYS,
    AliasName,
    Alternatives,
    ParseContext,
    Rule,
    RuleFile,
    render_rules_schema,
    rules_json_schema,
)
from service.matching.text import fold
from service.sources.declared import Origin, declaration_files
from service.yamlfile import LoadedYaml, load_yaml, problems_from_validation, render_path

__all__ = [
    "Rule",
    "RuleFile",
    "RuleSet",
    "load_rules",
    "load_rules_strict",
    "render_rules_schema",
    "rules_json_schema",
]

_ALIAS_NAME: TypeAdapter[str] = TypeAdapter(AliasName)
_ALTERNATIVES: TypeAdapter[tuple[str, ...]] = TypeAdapter(Alternatives)


@dataclass(frozen=True)
class RuleSet:
    """Every rule and alias under a rules directory, and every problem found reading them."""

    rules: tuple[Rule, ...]
    aliases: Mapping[str, tuple[str, ...]]
    problems: list[Problem]
    version: str
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def expressions(self) -> list[tuple[str, Expr]]:
        """``(id, expression)`` of every enabled rule, in evaluation order: what ``compile_rules`` takes."""
        return [(rule.id, rule.expression) for rule in self.rules if rule.enabled]

    def origin(self, rule_id: str) -> Origin:
        """``file:line`` of the rule ``rule_id`` (KeyError when there is none)."""
        return self.origins[rule_id]


@dataclass(frozen=True)
class _Placed:
    """A validated rule and where it is written."""

    rule: Rule
    loaded: LoadedYaml
    index: int

    def at(self, *keys: str | int) -> Origin:
        return Origin(self.loaded.file, self.loaded.line_of(("rules", self.index, *keys)))


def load_rules(
    rules_dir: Path,
    *,
    known_feeds: Collection[str] | None = None,
    known_tags: Collection[str] | None = None,
    known_baselines: Collection[str] | None = None,
) -> RuleSet:
    """Read every rule file under ``rules_dir``; never raises for bad content."""
    if not rules_dir.is_dir():
        return RuleSet((), {}, [Problem(str(rules_dir), 1, "rules directory does not exist")], "")
    files, problems, version = _read_rule_files(rules_dir)
    aliases, alias_problems = _collect_aliases(files)
    placed, rule_problems = _validate_rules(files, ParseContext(aliases))
    unique, id_problems = _first_of_each_id(placed)
    problems += alias_problems + rule_problems + id_problems
    problems += _reference_problems(files, "feeds", known_feeds, "unknown feed {!r}")
    problems += _reference_problems(files, "tags", known_tags, "no feed has tag {!r}")
    problems += _reference_problems(files, "baselines", known_baselines, "unknown baseline {!r}")
    return RuleSet(
        rules=tuple(entry.rule for entry in unique),
        aliases=aliases,
        problems=sorted(problems, key=lambda p: (p.file, p.line)),
        version=version,
        origins={entry.rule.id: entry.at() for entry in unique},
    )


def load_rules_strict(
    rules_dir: Path,
    *,
    known_feeds: Collection[str] | None = None,
    known_tags: Collection[str] | None = None,
    known_baselines: Collection[str] | None = None,
) -> RuleSet:
    """The rule set, or ConfigError listing every problem."""
    ruleset = load_rules(
        rules_dir, known_feeds=known_feeds, known_tags=known_tags, known_baselines=known_baselines
    )
    if ruleset.problems:
        raise ConfigError(ruleset.problems)
    return ruleset


def _read_rule_files(rules_dir: Path) -> tuple[list[LoadedYaml], list[Problem], str]:
    """The rule files, the problems that stop a file from being read, and the version hash."""
    files: list[LoadedYaml] = []
    problems: list[Problem] = []
    digest = hashlib.sha256()
    for path in declaration_files(rules_dir):
        relative = path.relative_to(rules_dir).as_posix()
        try:
            loaded = load_yaml(path)
        except ConfigError as exc:
            problems += exc.problems
            digest.update(f"{relative}\0unreadable\0{exc}\0".encode())
            continue
        data = loaded.data
        if not isinstance(data, dict) or not ({"rules", "aliases"} & data.keys()):
            continue
        files.append(loaded)
        for key in data.keys() - set(TOP_LEVEL_KEYS):
            message = f"unknown top-level key {key!r} (a rule file holds aliases, rules, feeds)"
            problems.append(Problem(loaded.file, loaded.line_of((key,)), message))
        digest.update(f"{relative}\0{_what_it_says(data, path)}\0".encode())
    return files, problems, digest.hexdigest()[:16]


def _what_it_says(data: dict[Any, Any], path: Path) -> str:
    """A rule file's aliases and rules, as the version is computed from (feeds left out: they
    do not change the rules version). A file JSON cannot spell that way (keys that are not
    strings) fails validation anyway: its bytes stand for it."""
    said = {"aliases": data.get("aliases"), "rules": data.get("rules")}
    try:
        return json.dumps(said, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return hashlib.sha256(path.read_bytes()).hexdigest()


def _collect_aliases(files: list[LoadedYaml]) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
    aliases: dict[str, tuple[str, ...]] = {}
    first: dict[str, Origin] = {}
    problems: list[Problem] = []
    for loaded in files:
        declared = loaded.data.get("aliases")
        if declared is None:
            continue
        if not isinstance(declared, dict):
            message = "aliases: must be a mapping of name -> list of alternatives"
            problems.append(Problem(loaded.file, loaded.line_of(("aliases",)), message))
            continue
        for raw_name, raw_alternatives in declared.items():
            path = ("aliases", str(raw_name))
            try:
                name = _ALIAS_NAME.validate_python(raw_name)
                alternatives = _ALTERNATIVES.validate_python(raw_alternatives)
            except ValidationError as exc:
                problems += problems_from_validation(exc, loaded, prefix=path)
                continue
            here, key = Origin(loaded.file, loaded.line_of(path)), fold(name).strip()
            if key in first:
                message = f"duplicate alias {name!r} (also defined at {first[key]})"
                problems.append(Problem(here.file, here.line, message))
                continue
            first[key] = here
            aliases[name] = alternatives
    return aliases, problems


def _validate_rules(files: list[LoadedYaml], context: ParseContext) -> tuple[list[_Placed], list[Problem]]:
    placed: list[_Placed] = []
    problems: list[Problem] = []
    for loaded in files:
        entries = loaded.data.get("rules")
        if entries is None:
            continue
        if not isinstance(entries, list):
            message = "rules: must be a list of rules (- id: ..., name: ..., match: ...)"
            problems.append(Problem(loaded.file, loaded.line_of(("rules",)), message))
            continue
        for index, entry in enumerate(entries):
            try:
                rule = Rule.model_validate(entry, context=context)
            except ValidationError as exc:
                problems += problems_from_validation(exc, loaded, prefix=("rules", index))
                continue
            placed.append(_Placed(rule, loaded, index))
    return placed, problems


def _first_of_each_id(placed: list[_Placed]) -> tuple[list[_Placed], list[Problem]]:
    """Keep the first rule per id; report each rule of a repeated id at its ``id:``, naming the others."""
    groups: dict[str, list[_Placed]] = {}
    for entry in placed:
        groups.setdefault(entry.rule.id, []).append(entry)
    problems = []
    for rule_id, group in groups.items():
        for entry in group if len(group) > 1 else ():
            others = ", ".join(str(other.at("id")) for other in group if other is not entry)
            where = entry.at("id")
            message = f"duplicate rule id {rule_id!r} (also declared at {others})"
            problems.append(Problem(where.file, where.line, message))
    return [group[0] for group in groups.values()], problems


def _reference_problems(
    files: list[LoadedYaml], key: str, known: Collection[str] | None, describe: str
) -> list[Problem]:
    """One problem per name under ``rules[i].<key>`` not in ``known`` (ignoring case and surrounding
    spaces). Read from the YAML data, so a rule that is invalid for another reason is checked too."""
    if known is None:
        return []
    by_folded = {name.strip().casefold(): name for name in known}
    problems = []
    for loaded, index, entry in _rule_entries(files):
        references = entry.get(key)
        for position, name in enumerate(references if isinstance(references, list) else ()):
            if not isinstance(name, str) or name.strip().casefold() in by_folded:
                continue
            close = difflib.get_close_matches(name.strip().casefold(), by_folded, n=1)
            hint = f" (did you mean {by_folded[close[0]]!r}?)" if close else ""
            path = ("rules", index, key, position)
            message = f"{render_path(path)}: {describe.format(name.strip())}{hint}"
            problems.append(Problem(loaded.file, loaded.line_of(path), message))
    return problems


def _rule_entries(files: list[LoadedYaml]) -> Iterator[tuple[LoadedYaml, int, dict[str, Any]]]:
    for loaded in files:
        entries = loaded.data.get("rules")
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, dict):
                yield loaded, index, entry
