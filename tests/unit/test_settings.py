"""Settings that cannot work are refused when they load, with the variable named and no secret shown."""

from __future__ import annotations

import pytest

from service.config import load_settings
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
