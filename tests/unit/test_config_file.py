"""The optional YAML config file (``RIVALWATCH_CONFIG_FILE``): its errors name the line, never
its text, which may hold a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import load_settings
from service.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('poll_concurrency: 4\nsmtp_password: "hunter2-SECRET\n', 3),  # an unclosed quote
        ("poll_concurrency: 4\nsmtp_password: *hunter2-SECRET\n", 2),  # read as an alias
        ("poll_concurrency: 4\nsmtp_password: !hunter2-SECRET x\n", 2),  # read as a tag
    ],
)
def test_a_syntax_error_names_the_line_and_never_quotes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int
) -> None:
    path = tmp_path / "rivalwatch.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("RIVALWATCH_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), line)
    assert "invalid YAML" in problem.message
    assert "hunter2" not in str(caught.value) and caught.value.__cause__ is None


def test_settings_from_the_file_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rivalwatch.yaml"
    path.write_text("poll_concurrency: 3\n", encoding="utf-8")
    monkeypatch.setenv("RIVALWATCH_CONFIG_FILE", str(path))
    assert load_settings().poll_concurrency == 3


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("rivalwatch.example.com", True),
        ("rivalwatch.example.com, *.corp.example", True),
        ("10.0.0.5,[::1]", True),
        ("https://rivalwatch.example.com", False),  # a name, not an address
        ("rivalwatch.example.com/console", False),
        ("*rivalwatch.example.com", False),
    ],
)
def test_allowed_host_names(value: str, ok: bool) -> None:
    if ok:
        assert load_settings(api_allowed_hosts=value).allowed_hosts == tuple(
            part.strip() for part in value.split(",")
        )
    else:
        with pytest.raises(ConfigError, match="RIVALWATCH_API_ALLOWED_HOSTS"):
            load_settings(api_allowed_hosts=value)
