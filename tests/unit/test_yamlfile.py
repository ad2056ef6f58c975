"""YAML loading keeps line numbers, refuses ambiguity and unsafe tags, and maps pydantic errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.errors import ConfigError, Problem
from service.yamlfile import LoadedYaml, load_yaml, problems_from_validation, render_path

NESTED = """\
# comment lines do not count as nodes
title: watch list
feeds:
  - name: first
    url: https://example.com/a.xml
  - name: second

    url: https://example.com/b.xml
    tags:
      - nev
      - byd
    flow: [x, y]
nested:
  deeper:
    leaf: 1
"""


def write(tmp_path: Path, text: str, name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    return caught.value.problems


@pytest.mark.parametrize(
    ("node_path", "line"),
    [
        ((), 2),
        (("title",), 2),
        (("feeds",), 3),
        (("feeds", 0), 4),
        (("feeds", 0, "url"), 5),
        (("feeds", 1), 6),
        (("feeds", 1, "url"), 8),
        (("feeds", 1, "tags"), 9),
        (("feeds", 1, "tags", 1), 11),
        (("feeds", 1, "flow", 1), 12),
        (("nested", "deeper", "leaf"), 15),
        # Missing nodes fall back to the nearest existing parent.
        (("feeds", 1, "interval"), 6),
        (("feeds", 7, "url"), 3),
        (("nested", "deeper", "leaf", "below"), 15),
        (("absent",), 2),
    ],
)
def test_line_of_nested_nodes(tmp_path: Path, node_path: tuple[str | int, ...], line: int) -> None:
    loaded = load_yaml(write(tmp_path, NESTED))
    assert loaded.line_of(node_path) == line


def test_data_is_what_safe_load_returns(tmp_path: Path) -> None:
    loaded = load_yaml(write(tmp_path, NESTED))
    assert loaded.data == yaml.safe_load(NESTED)
    assert loaded.file == str(tmp_path / "doc.yaml")


def test_aliases_are_constructed_and_indexed_once(tmp_path: Path) -> None:
    text = """\
    base: &base
      interval: 15m
    feeds:
      - <<: *base
        name: a
      - *base
    """
    loaded = load_yaml(write(tmp_path, text))
    assert loaded.data["feeds"] == [{"interval": "15m", "name": "a"}, {"interval": "15m"}]
    assert loaded.line_of(("feeds", 0, "name")) == 5
    # PyYAML keeps no position for an alias: a list item that is one points at its anchor.
    assert loaded.line_of(("feeds", 1)) == 1
    assert loaded.line_of(("feeds", 1, "interval")) == 1


def test_every_duplicate_key_is_reported_with_its_line(tmp_path: Path) -> None:
    text = """\
    feeds:
      - name: a
        url: https://example.com/1
        url: https://example.com/2
    other: 1
    feeds: []
    """
    assert [str(p).removeprefix(str(tmp_path) + "/") for p in problems_of(write(tmp_path, text))] == [
        "doc.yaml:4: duplicate key 'url' (first on line 3)",
        "doc.yaml:6: duplicate key 'feeds' (first on line 1)",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "1: int key\n'1': string key\n",
        "a: 1\nb:\n  a: 2\n",
        "yes: 1\n'yes': 2\n",
    ],
)
def test_keys_that_differ_by_type_or_level_are_not_duplicates(tmp_path: Path, text: str) -> None:
    assert load_yaml(write(tmp_path, text)).data == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("feeds:\n  - name: a\n     url: b\n", 3, "invalid YAML: mapping values are not allowed here"),
        ("a: [1, 2\nb: 3\n", 2, "invalid YAML: while parsing a flow sequence, expected ',' or ']'"),
        ("a: 1\n\nb: *missing\n", 3, "invalid YAML: found undefined alias 'missing'"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document in the stream, but found another document"),
        ("ok: 1\nbell: \x07\n", 2, "invalid YAML: character U+0007 is not allowed"),
        ("a: !!python/object/apply:os.system ['true']\n", 1, "could not determine a constructor for the tag"),
    ],
)
def test_syntax_errors_become_one_problem_at_pyyaml_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.file == str(tmp_path / "doc.yaml")
    assert problem.line == line
    assert message in problem.message


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    (problem,) = problems_of(path)
    assert (problem.line, problem.message) == (2, "file is not valid UTF-8 text")


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "absent.yaml")
    assert problem.line == 1
    assert problem.message.startswith("cannot read file:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("# only a comment\n", {}),
        ("a: 1\n", {"a": 1}),
    ],
)
def test_mapping_of_empty_or_mapping_documents(tmp_path: Path, text: str, expected: object) -> None:
    assert load_yaml(write(tmp_path, text)).mapping() == expected


@pytest.mark.parametrize(
    ("text", "line", "found"),
    [
        ("# a list\n- a\n- b\n", 2, "a list"),
        ("just text\n", 1, "text"),
        ("\n\n42\n", 3, "a number"),
    ],
)
def test_non_mapping_top_level_is_refused(tmp_path: Path, text: str, line: int, found: str) -> None:
    loaded = load_yaml(write(tmp_path, text))
    with pytest.raises(ConfigError) as caught:
        loaded.mapping()
    (problem,) = caught.value.problems
    assert (problem.line, problem.message) == (line, f"top level must be a mapping (key: value), not {found}")


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    size: int = Field(default=0, ge=0)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _no_ftp(cls, value: str) -> str:
        if value.startswith("ftp"):
            raise ValueError("scheme 'ftp' is not allowed")
        return value


ENTRIES = """\
entries:
  - name: fine
  - name: ftp-thing
    size: -1
  - sise: 3
    enabled: "yes"
"""


def validation_problems(tmp_path: Path, index: int) -> list[str]:
    loaded = load_yaml(write(tmp_path, ENTRIES))
    with pytest.raises(ValidationError) as caught:
        Entry.model_validate(loaded.data["entries"][index])
    problems = problems_from_validation(caught.value, loaded, file="entries.yaml", prefix=("entries", index))
    return [str(p) for p in problems]


def test_validation_errors_name_path_line_and_readable_message(tmp_path: Path) -> None:
    assert validation_problems(tmp_path, 1) == [
        "entries.yaml:3: entries[1].name: scheme 'ftp' is not allowed",
        "entries.yaml:4: entries[1].size: input should be greater than or equal to 0",
    ]
    assert validation_problems(tmp_path, 2) == [
        "entries.yaml:5: entries[2]: missing required key 'name'",
        "entries.yaml:6: entries[2].enabled: must be true or false, not text",
        "entries.yaml:5: entries[2]: unknown key 'sise'",
    ]


def test_validation_problems_default_to_the_loaded_file_and_top_level(tmp_path: Path) -> None:
    loaded = LoadedYaml(file="inline.yaml", data=["x"], lines={(): 1, (0,): 2})
    with pytest.raises(ValidationError) as caught:
        Entry.model_validate(loaded.data[0])
    assert [str(p) for p in problems_from_validation(caught.value, loaded, prefix=(0,))] == [
        "inline.yaml:2: [0]: must be a mapping (key: value), not text"
    ]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("feeds",), "feeds"),
        (("feeds", 2, "url"), "feeds[2].url"),
        ((0, "name"), "[0].name"),
        (("a", "b", 1, 2), "a.b[1][2]"),
    ],
)
def test_render_path(path: tuple[str | int, ...], text: str) -> None:
    assert render_path(path) == text


def test_aliases_that_expand_past_the_limit_or_contain_themselves_are_refused(tmp_path: Path) -> None:
    """Nested aliases grow a document exponentially ("billion laughs"); one that contains itself
    never ends. Both are refused with a line, before anything walks the data."""
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    (problem,) = problems_of(write(tmp_path, laughs))
    assert "aliases expand the document by more than 100,000 values" in problem.message
    (problem,) = problems_of(write(tmp_path, "aliases: &a {x: *a}\n"))
    assert (problem.line, problem.message) == (1, "an anchor that contains itself (through an alias)")
    shared = "notify: &to [slack, digest]\nrules:\n  - {id: a, to: *to}\n  - {id: b, to: *to}\n"
    assert load_yaml(write(tmp_path, shared)).data == yaml.safe_load(shared)  # aliases as such are fine
    feeds = "feeds:\n" + "".join(
        f"  - {{name: f{n}, url: 'https://x.test/{n}', tags: [a]}}\n" for n in range(12_000)
    )
    assert len(load_yaml(write(tmp_path, feeds)).data["feeds"]) == 12_000  # a large file is no alias bomb
