"""Settings that cannot work are refused when they load, with the variable named and no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import environment_values, load_settings, settings_input
from service.errors import ConfigError


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        # one malformed entry would hold the digest for every recipient at send time
        ("digest_to", "a@example.com, b@example.com; c@example.com", "'b@example.com; c@example.com' is not"),
        ("digest_to", "a@example.com, Jürgen <j@example.com>", "no display name"),
        ("alert_email_to", "user@bücher.de", "xn-- form"),
        ("alert_email_to", "no-at-sign", "'no-at-sign' is not an address"),
    ],
)
def test_a_recipient_list_with_an_unusable_entry_is_refused(setting: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(database_url="sqlite://", **{setting: value})
    assert f"RIVALWATCH_{setting.upper()}" in str(refused.value) and problem in str(refused.value)


def test_each_recipient_gets_one_message() -> None:
    settings = load_settings(
        database_url="sqlite://", digest_to="a@example.com, b@example.com,a@example.com, A@Example.com"
    )
    assert settings.digest_recipients == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("setting", ["smtp_username", "smtp_password"])
def test_smtp_credentials_must_be_ascii_and_are_never_repeated(setting: str) -> None:
    # smtplib sends the login as ASCII: such a password failed every email, one by one, for good.
    with pytest.raises(ConfigError) as refused:
        load_settings(database_url="sqlite://", smtp_host="127.0.0.1", **{setting: "Grüße-2025"})
    assert f"RIVALWATCH_{setting.upper()}: must be ASCII" in str(refused.value)
    assert "Grüße" not in str(refused.value)
    assert load_settings(database_url="sqlite://", **{setting: "Gruesse-2025"})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RIVALWATCH_POLL_CONCURRENCY": "4"}, {"poll_concurrency": "4"}),
        ({"rivalwatch_poll_concurrency": "4"}, {"poll_concurrency": "4"}),  # any case, as before
        ({"RIVALWATCH_TEST_STRICT": "1", "POLL_CONCURRENCY": "4"}, {}),  # not settings: left alone
        ({"RIVALWATCH_": "x", "RIVALWATCH_MODEL_CONFIG": "x"}, {}),
    ],
)
def test_the_environment_sets_settings_by_name(environ: dict[str, str], expected: dict[str, str]) -> None:
    assert environment_values(environ) == expected


@pytest.mark.parametrize(
    ("from_env", "from_file", "overrides", "expected"),
    [
        (
            {"tick_s": "2"},
            {"tick_s": 3, "timezone": "Asia/Tokyo"},
            {},
            {"tick_s": "2", "timezone": "Asia/Tokyo"},
        ),
        ({"tick_s": "2"}, {"tick_s": 3}, {"tick_s": 1.5}, {"tick_s": 1.5}),  # overrides, then env, then file
        (
            {"webhooks": '{"ops": "https://hooks.example/1"}'},
            {},
            {},
            {"webhooks": {"ops": "https://hooks.example/1"}},
        ),
        ({"webhooks": "[1]"}, {}, {}, {"webhooks": [1]}),  # JSON, but no mapping: the model refuses it
        ({"webhooks": "null"}, {}, {}, {}),  # unset, as JSON says
        # a mapping that wins is the whole setting: the demo's {} leaves no channel of the file's
        (
            {"webhooks": '{"ops": "https://b"}'},
            {"webhooks": {"dev": "https://a"}},
            {},
            {"webhooks": {"ops": "https://b"}},
        ),
        ({}, {"webhooks": {"dev": "https://a"}}, {"webhooks": {}}, {"webhooks": {}}),
    ],
)
def test_settings_input_layers_file_environment_and_overrides(
    from_env: dict[str, str],
    from_file: dict[str, object],
    overrides: dict[str, object],
    expected: dict[str, object],
) -> None:
    assert settings_input(from_env, from_file, overrides) == (expected, [])


def test_a_mapping_that_is_not_json_is_refused_with_the_others_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It once escaped as a traceback from the settings library, with no variable named.
    monkeypatch.setenv("RIVALWATCH_SLACK_WEBHOOKS", '{"pricing": "https://hooks.example/T0/SECRET-path')
    monkeypatch.setenv("RIVALWATCH_POLL_CONCURRENCY", "0")
    with pytest.raises(ConfigError) as refused:
        load_settings(database_url="sqlite://")
    messages = [problem.message for problem in refused.value.problems]
    assert messages[0].startswith("RIVALWATCH_SLACK_WEBHOOKS: not JSON (at line 1 column 13)")
    assert messages[1].startswith("RIVALWATCH_POLL_CONCURRENCY: Input should be greater than or equal to 1")
    assert "SECRET" not in str(refused.value) and refused.value.__cause__ is None


def test_json_nested_past_the_interpreter_s_limit_is_a_problem_not_a_crash() -> None:
    values, problems = settings_input({"webhooks": "[" * 100_000, "tick_s": "2"}, {}, {})
    assert values == {"tick_s": "2"}
    assert [p.message for p in problems] == [
        'RIVALWATCH_WEBHOOKS: not JSON (nested too deeply); write an object such as {"name": "https://..."}'
    ]


def test_an_unknown_key_in_the_config_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rivalwatch.yaml"
    path.write_text("Poll_Concurrency: 3\npoll_intervall_s: 60\n", encoding="utf-8")
    monkeypatch.setenv("RIVALWATCH_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match="RIVALWATCH_POLL_INTERVALL_S: Extra inputs are not permitted"):
        load_settings(database_url="sqlite://")
    path.write_text("Poll_Concurrency: 3\n", encoding="utf-8")
    monkeypatch.setenv("RIVALWATCH_POLL_CONCURRENCY", "5")
    assert load_settings(database_url="sqlite://").poll_concurrency == 5  # the environment wins


def test_a_config_file_set_aside_by_the_caller_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the demo passes config_file=None: the team's file (its channels, its SMTP relay) stays out
    path = tmp_path / "rivalwatch.yaml"
    path.write_text("poll_concurrency: 3\n", encoding="utf-8")
    monkeypatch.setenv("rivalwatch_config_file", str(path))  # any case, as every setting
    assert load_settings(database_url="sqlite://").poll_concurrency == 3
    assert load_settings(database_url="sqlite://", config_file=None).poll_concurrency == 16
