"""Reading declaration YAML (feeds, rules, baselines) so every problem can name its line.

Rules:

- Safe YAML only: the document is composed and constructed with PyYAML's ``SafeLoader``, so
  the data is what ``yaml.safe_load`` would return and tags such as ``!!python/object`` are
  errors, never executed. The text is parsed once: the composed node tree gives the line
  numbers, the same tree is then constructed into plain Python data.
- A file holds exactly one document, UTF-8 encoded. An empty file is ``None`` data.
- Duplicate keys in any mapping are errors (PyYAML would silently keep the last value, so
  the analyst could not know which one counts). Every duplicate in the file is reported.
- Anything that stops the file from being read (unreadable, not UTF-8, YAML syntax, unsafe
  tag, duplicate keys) raises ``ConfigError`` with one ``Problem`` per finding, at the line
  PyYAML reports (1-based).
- Aliases may not add more than ``MAX_ALIAS_EXPANSION`` values to a document once expanded
  (nested aliases grow it exponentially: "billion laughs"), nor contain themselves: what reads
  the data (validation, the rules version) walks it expanded.
- ``LoadedYaml.line_of(path)`` gives the 1-based line of a node addressed by keys and list
  indices, e.g. ``("feeds", 3, "url")``. For a mapping entry that is the line of its key;
  for a list item, the line where the item starts (for an alias item ``- *name``, the line of
  its anchor: PyYAML keeps no position for aliases). A path that does not exist (a missing
  key) falls back to its nearest existing parent, and finally to the document's first line.
- ``problems_from_validation`` turns a pydantic ``ValidationError`` raised on (part of) the
  data into problems ``file:line: feeds[2].url: message``; list indices are 0-based.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from service.errors import ConfigError, Problem

YamlPath: TypeAlias = tuple[str | int, ...]

_FRIENDLY_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
}


@dataclass(frozen=True)
class LoadedYaml:
    """One parsed YAML file: its plain data and the line of every node in it."""

    file: str
    data: Any
    lines: Mapping[YamlPath, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int:
        """1-based line of the node at ``path``, or of its nearest existing parent."""
        key = tuple(path)
        while key:
            line = self.lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return self.lines.get((), 1)

    def mapping(self) -> dict[Any, Any]:
        """The data as a top-level mapping (empty file: ``{}``); anything else is a ConfigError."""
        if self.data is None:
            return {}
        if not isinstance(self.data, dict):
            message = f"top level must be a mapping (key: value), not {_yaml_kind(self.data)}"
            raise ConfigError([Problem(self.file, self.line_of(()), message)])
        return self.data


def yaml_files(directory: Path, *, skip: Collection[str] = ()) -> Iterator[Path]:
    """The ``*.yaml`` / ``*.yml`` files below ``directory``, sorted; hidden files and folders,
    and top-level folders named in ``skip``, left out."""
    for path in sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")]):
        relative = path.relative_to(directory).parts
        if relative[0] in skip or any(part.startswith(".") for part in relative):
            continue
        if path.is_file():
            yield path


def load_yaml(path: Path) -> LoadedYaml:
    """Read and parse ``path`` safely; raise ConfigError listing every problem that stops it."""
    file = str(path)
    text = _read_text(path, file)
    try:
        return _parse(text, file, _FastSafeLoader)
    except yaml.YAMLError:
        pass
    # Parse again with the pure-Python loader: its messages name what is wrong (an alias...).
    try:
        return _parse(text, file, yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError([syntax_problem(exc, file, text)]) from None


def problems_from_validation(
    err: ValidationError,
    loaded: LoadedYaml,
    *,
    file: str | None = None,
    prefix: YamlPath = (),
) -> list[Problem]:
    """One problem per pydantic error; ``prefix`` is where the validated value sits in the file."""
    name = loaded.file if file is None else file
    problems = []
    for error in err.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        where, message = _describe(error, loc)
        text = f"{render_path(where)}: {message}" if where else message
        problems.append(Problem(name, loaded.line_of(loc), text))
    return problems


def render_path(path: Sequence[str | int]) -> str:
    """``("feeds", 2, "url")`` -> ``feeds[2].url``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _read_text(path: Path, file: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(file, 1, f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(file, line, "file is not valid UTF-8 text")]) from None


# libyaml's C scanner when PyYAML was built with it: the same safe loader, several times faster.
_FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, file: str, loader_class: type[yaml.SafeLoader]) -> LoadedYaml:
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        lines: dict[YamlPath, int] = {}
        duplicates: list[Problem] = []
        if root is not None:
            _index_node(root, (), lines, duplicates, file, set())
        if duplicates:
            raise ConfigError(duplicates)
        if root is not None:
            _check_expansion(root, file)
        data = None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()
    return LoadedYaml(file=file, data=data, lines=lines)


MAX_ALIAS_EXPANSION = 100_000
"""Values aliases may add to a document when expanded (the shipped files add none); the
document's own size is not limited here (a file of 10 000 feeds has some 110 000 values)."""


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse a document whose aliases add more than ``MAX_ALIAS_EXPANSION`` values once
    expanded, or contain themselves."""
    sizes: dict[int, int] = {}
    inside: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in inside:
            line = node.start_mark.line + 1
            raise ConfigError([Problem(file, line, "an anchor that contains itself (through an alias)")])
        inside.add(key)
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        else:
            total = 1
        inside.discard(key)
        sizes[key] = total
        return total

    try:
        expanded = size(root)
    except RecursionError:
        raise ConfigError([Problem(file, 1, "nested too deeply to read")]) from None
    if expanded - len(sizes) > MAX_ALIAS_EXPANSION:
        message = f"aliases expand the document by more than {MAX_ALIAS_EXPANSION:,} values; write it out"
        raise ConfigError([Problem(file, 1, message)])


def _index_node(
    node: yaml.Node,
    path: YamlPath,
    lines: dict[YamlPath, int],
    duplicates: list[Problem],
    file: str,
    seen: set[int],
) -> None:
    # An alias reuses its anchor's node: index it once (and never loop on recursive aliases).
    if id(node) in seen:
        return
    seen.add(id(node))
    if not path:
        lines[()] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        _index_mapping(node, path, lines, duplicates, file, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _index_node(item, (*path, index), lines, duplicates, file, seen)


def _index_mapping(
    node: yaml.MappingNode,
    path: YamlPath,
    lines: dict[YamlPath, int],
    duplicates: list[Problem],
    file: str,
    seen: set[int],
) -> None:
    first_line: dict[tuple[str, str], int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            # A complex key has no path; still look inside its value for duplicate keys.
            _index_node(value_node, path, {}, duplicates, file, seen)
            continue
        # Tags are already resolved by the composer, so `1` and `"1"` are different keys.
        identity = (key_node.tag, key_node.value)
        if identity in first_line:
            message = f"duplicate key {key_node.value!r} (first on line {first_line[identity]})"
            duplicates.append(Problem(file, line, message))
        else:
            first_line[identity] = line
            lines[(*path, key_node.value)] = line
        _index_node(value_node, (*path, key_node.value), lines, duplicates, file, seen)


def syntax_problem(exc: yaml.YAMLError, file: str, text: str) -> Problem:
    """Where the YAML error is (1-based line) and what it is, in PyYAML's words, which may name
    an alias or a tag as written in the file."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        detail = ", ".join(part for part in (exc.context, exc.problem) if part)
        return Problem(file, line, f"invalid YAML: {detail}")
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return Problem(file, line, f"invalid YAML: character U+{exc.character:04X} is not allowed")
    return Problem(file, 1, f"invalid YAML: {exc}")


def _describe(error: ErrorDetails, loc: YamlPath) -> tuple[YamlPath, str]:
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        return loc[:-1], f"unknown key {loc[-1]!r}"
    if kind == "missing" and loc:
        return loc[:-1], f"missing required key {loc[-1]!r}"
    if kind in _FRIENDLY_TYPE_MESSAGES:
        return loc, f"{_FRIENDLY_TYPE_MESSAGES[kind]}, not {_yaml_kind(error['input'])}"
    message = error["msg"].removeprefix("Value error, ")
    return loc, message[:1].lower() + message[1:]


def _yaml_kind(value: object) -> str:
    """How an analyst would name the YAML value they wrote."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
