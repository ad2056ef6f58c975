"""Feed declarations: the shipped file, one fixture per validation error, and the field rules."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.errors import ConfigError
from service.sources.declared import FeedSpec, load_feeds, load_feeds_strict

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_RULES = ROOT / "rules"
FIXTURES = ROOT / "tests" / "fixtures" / "feeds"

# fixture (file or folder under FIXTURES) -> every problem it must produce, as `file:line: message`
# with the file relative to the folder that is loaded.
CASES: dict[str, list[str]] = {
    "scheme_file.yaml": [
        "scheme_file.yaml:4: feeds[0].url: scheme 'file' is not allowed (http or https only)"
    ],
    "scheme_ftp.yaml": ["scheme_ftp.yaml:6: feeds[1].url: scheme 'ftp' is not allowed (http or https only)"],
    "scheme_javascript.yaml": [
        "scheme_javascript.yaml:3: feeds[0].url: scheme 'javascript' is not allowed (http or https only)"
    ],
    "url_no_host.yaml": ["url_no_host.yaml:3: feeds[0].url: has no host"],
    "url_credentials.yaml": [
        "url_credentials.yaml:4: feeds[0].url: must not contain a user name or password"
    ],
    "missing_url.yaml": ["missing_url.yaml:6: feeds[1]: missing required key 'url'"],
    "missing_name.yaml": ["missing_name.yaml:2: feeds[0]: missing required key 'name'"],
    "bad_name.yaml": ["bad_name.yaml:2: feeds[0].name: may contain only letters, digits, spaces and"],
    "unknown_key.yaml": ["unknown_key.yaml:5: feeds[0]: unknown key 'intervall'"],
    "bad_interval.yaml": ["bad_interval.yaml:4: feeds[0].interval: 'soon' is not a duration"],
    "interval_too_short.yaml": [
        "interval_too_short.yaml:6: feeds[0].interval: must be between 1m and 24h (got 30s)"
    ],
    "bad_tag.yaml": ["bad_tag.yaml:6: feeds[0].tags[1]: tag 'ev news' must be lower-case letters"],
    "duplicate_key.yaml": ["duplicate_key.yaml:4: duplicate key 'url' (first on line 3)"],
    "duplicate_url.yaml": [
        "duplicate_url.yaml:4: feed 'Same url one' has the same url as 'Same url two' at ",
        "duplicate_url.yaml:6: feed 'Same url two' has the same url as 'Same url one' at ",
    ],
    "yaml_syntax.yaml": ["yaml_syntax.yaml:3: invalid YAML: mapping values are not allowed here"],
    "feeds_not_list.yaml": ["feeds_not_list.yaml:2: feeds: must be a list of feeds"],
    "entry_not_mapping.yaml": [
        "entry_not_mapping.yaml:2: feeds[0]: must be a mapping (key: value), not text"
    ],
    "duplicate_name": [
        "duplicate_name/a.yaml:2: duplicate feed name 'Electrek' (also declared at ",
        "duplicate_name/b.yaml:3: duplicate feed name 'electrek' (also declared at ",
    ],
}


def relative_problems(rules_dir: Path) -> list[str]:
    return [str(p).replace(f"{rules_dir}/", "") for p in load_feeds(rules_dir).problems]


def assert_reported(expected: list[str], reported: list[str]) -> None:
    for wanted in expected:
        assert any(wanted in line for line in reported), f"{wanted!r} not in {reported}"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_feeds_load_without_problems() -> None:
    declarations = load_feeds(SHIPPED_RULES)
    assert declarations.problems == []
    names = [feed.name for feed in declarations.feeds]
    assert names == sorted(names, key=str.casefold)
    tags = {tag for feed in declarations.feeds for tag in feed.tags}
    assert {"nissan", "byd", "tesla", "china-export", "nev", "trade-press", "search"} <= tags
    assert all(feed.url.startswith("https://") and feed.enabled for feed in declarations.feeds)
    first = declarations.feeds[0]
    assert declarations.origin(first.name).file == str(SHIPPED_RULES / "feeds.yaml")


def test_shipped_feeds_pass_the_strict_loader() -> None:
    assert load_feeds_strict(SHIPPED_RULES) == load_feeds(SHIPPED_RULES).feeds


@pytest.mark.parametrize(("fixture", "expected"), CASES.items(), ids=list(CASES))
def test_each_fixture_reports_exactly_its_problems(tmp_path: Path, fixture: str, expected: list[str]) -> None:
    source = FIXTURES / fixture
    if source.is_dir():
        shutil.copytree(source, tmp_path / fixture)
    else:
        shutil.copy(source, tmp_path / fixture)
    reported = relative_problems(tmp_path)
    assert len(reported) == len(expected), reported
    assert_reported(expected, reported)


def test_all_bad_files_at_once_report_every_problem_together() -> None:
    reported = relative_problems(FIXTURES)
    expected = [problem for problems in CASES.values() for problem in problems]
    assert len(reported) == len(expected), reported
    assert_reported(expected, reported)
    assert not any(line.startswith(("baselines/", "rules_only.yaml")) for line in reported)


def test_valid_entries_beside_bad_ones_still_load_with_their_origin() -> None:
    declarations = load_feeds(FIXTURES)
    by_name = {feed.name: feed for feed in declarations.feeds}
    assert set(by_name) == {
        "Electrek",
        "Missing url neighbour",
        "Mixed file feed",
        "Same url one",
        "Scheme ftp neighbour",
    }
    assert by_name["Mixed file feed"] == FeedSpec(
        name="Mixed file feed",
        url="https://example.com/mixed.xml",
        interval=5400,
        tags=("nev", "byd"),
        enabled=False,
    )
    assert str(declarations.origin("Mixed file feed")) == f"{FIXTURES}/with_other_keys.yaml:5"
    assert str(declarations.origin("Electrek")) == f"{FIXTURES}/duplicate_name/a.yaml:2"


def test_strict_loader_raises_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "feeds:\n  - name: a\n    url: ftp://x/\n")
    write(tmp_path, "b.yaml", "feeds: [\n")
    with pytest.raises(ConfigError) as caught:
        load_feeds_strict(tmp_path)
    assert [(Path(p.file).name, p.line) for p in caught.value.problems] == [("a.yaml", 3), ("b.yaml", 2)]


def test_baselines_hidden_and_non_feed_files_are_ignored(tmp_path: Path) -> None:
    bad = "feeds:\n  - name: bad\n    url: ftp://example.com/\n"
    write(tmp_path, "baselines/nissan.yaml", bad)
    write(tmp_path, "baselines/deeper/more.yml", bad)
    write(tmp_path, ".git/hooks.yaml", bad)
    write(tmp_path, "notes.txt", bad)
    write(tmp_path, "nissan.yaml", "rules:\n  - name: exports\n    feeds: whatever\n")
    write(tmp_path, "list.yaml", "- not a mapping\n")
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "none.yaml", "feeds:\n")
    write(tmp_path, "team/more.yml", "feeds:\n  - {name: Nested, url: 'https://example.com/n.xml'}\n")
    declarations = load_feeds(tmp_path)
    assert declarations.problems == []
    assert [feed.name for feed in declarations.feeds] == ["Nested"]
    assert str(declarations.origin("Nested")) == f"{tmp_path}/team/more.yml:2"


def test_missing_rules_directory_is_a_problem(tmp_path: Path) -> None:
    declarations = load_feeds(tmp_path / "absent")
    assert [p.message for p in declarations.problems] == ["rules directory does not exist"]


def test_duplicate_names_across_three_files_name_every_other_location(tmp_path: Path) -> None:
    for index, name in enumerate(["BYD", "byd", "Byd "]):
        write(
            tmp_path, f"f{index}.yaml", f"feeds:\n  - name: '{name}'\n    url: https://example.com/{index}\n"
        )
    reported = relative_problems(tmp_path)
    assert reported == [
        "f0.yaml:2: duplicate feed name 'BYD' (also declared at f1.yaml:2, f2.yaml:2)",
        "f1.yaml:2: duplicate feed name 'byd' (also declared at f0.yaml:2, f2.yaml:2)",
        "f2.yaml:2: duplicate feed name 'Byd' (also declared at f0.yaml:2, f1.yaml:2)",
    ]
    assert [feed.name for feed in load_feeds(tmp_path).feeds] == ["BYD"]


def spec(**fields: Any) -> FeedSpec:
    return FeedSpec.model_validate({"name": "Feed", "url": "https://example.com/feed", **fields})


def error_of(**fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        spec(**fields)
    (error,) = caught.value.errors()
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [(None, None), (60, 60), (900, 900), ("15m", 900), ("24h", 86400), (86400, 86400)],
)
def test_interval_accepted(interval: object, seconds: int | None) -> None:
    assert spec(interval=interval).interval_s == seconds
    assert spec().interval_s is None


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        (59, "must be between 1m and 24h (got 59s)"),
        ("30s", "must be between 1m and 24h (got 30s)"),
        (86401, "must be between 1m and 24h (got 86401s)"),
        ("25h", "must be between 1m and 24h (got 90000s)"),
        (True, "must be a number of seconds or a duration"),
        (1.5, "must be a number of seconds or a duration"),
        ("soon", "'soon' is not a duration"),
    ],
)
def test_interval_rejected(interval: object, message: str) -> None:
    assert message in error_of(interval=interval)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/feed",
        "http://example.com:8080/rss?q=a+b&x=1",
        "HTTPS://Example.com/feed",
        "https://127.0.0.1/feed",
        "https://[2001:db8::1]/feed",
        "https://bücher.example/feed",
    ],
)
def test_url_accepted(url: str) -> None:
    assert spec(url=url).url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed (http or https only)"),
        ("ftp://ftp.example.com/feed.xml", "scheme 'ftp' is not allowed (http or https only)"),
        ("javascript:alert(1)", "scheme 'javascript' is not allowed (http or https only)"),
        ("data:text/xml,<rss/>", "scheme 'data' is not allowed (http or https only)"),
        ("example.com/feed", "must be an absolute URL starting with http:// or https://"),
        ("//example.com/feed", "must be an absolute URL starting with http:// or https://"),
        ("https:///feed", "has no host"),
        ("https://:8080/feed", "has no host"),
        ("https://exa mple.com/feed", "must not contain spaces or control characters"),
        ("https://example.com/feed\n", "must not contain spaces or control characters"),
        ("https://example.com/\x00", "must not contain spaces or control characters"),
        ("https://user:s3cret@example.com/feed", "must not contain a user name or password"),
        ("https://example.com:99999/feed", "is not a valid URL"),
        ("http://[::1/feed", "is not a valid URL"),
        ("", "must not be empty"),
        ("https://example.com/" + "a" * 2030, "must be at most 2048 characters (has 2050)"),
        (42, "Input should be a valid string"),
    ],
)
def test_url_rejected(url: object, message: str) -> None:
    reported = error_of(url=url)
    assert reported.startswith("url: ")
    assert message in reported
    assert "s3cret" not in reported


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Nissan", "Nissan"),
        ("  Google News: BYD  ", "Google News: BYD"),
        ("Tesla (US) & Co. - exports/imports_2024 O'Neil", "Tesla (US) & Co. - exports/imports_2024 O'Neil"),
        ("比亚迪 新闻", "比亚迪 新闻"),
        ("x" * 100, "x" * 100),
    ],
)
def test_name_accepted(name: str, stored: str) -> None:
    assert spec(name=name).name == stored


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 101, "must be at most 100 characters (has 101)"),
        ("Nissan #1", "found '#'"),
        ("a<b>;", "found ';' '<' '>'"),
        (7, "Input should be a valid string"),
    ],
)
def test_name_rejected(name: object, message: str) -> None:
    reported = error_of(name=name)
    assert reported.startswith("name: ")
    assert message in reported


@pytest.mark.parametrize(
    ("tags", "stored"),
    [
        ([], ()),
        (["NEV", " nev ", "byd"], ("nev", "byd")),
        (["china-export", "trade_press", "2024"], ("china-export", "trade_press", "2024")),
    ],
)
def test_tags_normalised(tags: list[str], stored: tuple[str, ...]) -> None:
    assert spec(tags=tags).tags == stored


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["ev news"], "tags.0: Value error, tag 'ev news' must be lower-case letters"),
        (["-nev"], "tags.0: Value error, tag '-nev' must be"),
        (["ok", ""], "tags.1: Value error, tag '' must be"),
        (["x" * 65], "at most 64 characters"),
        ([2024], "tags.0: Input should be a valid string"),
        ("nev", "tags: Input should be a valid tuple"),
    ],
)
def test_tags_rejected(tags: object, message: str) -> None:
    assert message in error_of(tags=tags)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"enabled": "false"}, "enabled: Input should be a valid boolean"),
        ({"interval_s": 900}, "interval_s: Extra inputs are not permitted"),
        ({"file": "x.yaml"}, "file: Extra inputs are not permitted"),
    ],
)
def test_other_fields_are_strict(fields: dict[str, Any], message: str) -> None:
    assert message in error_of(**fields)


def test_spec_is_frozen_and_compares_by_content() -> None:
    feed = spec(tags=["NEV"], interval="1h")
    assert feed == spec(tags=["nev"], interval=3600)
    with pytest.raises(ValidationError):
        feed.name = "other"  # type: ignore[misc]
