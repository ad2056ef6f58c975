"""Routing a rule's alerts, table-driven over what the configuration makes usable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from service.config import load_settings
from service.notify.channels import Notifiers
from service.notify.route import Route, route, undeliverable


@dataclass(frozen=True)
class Configured:
    """Usable channels by name; ``email:`` targets are usable when SMTP is; digest is a summary."""

    channels: frozenset[str]

    @property
    def nothing_configured(self) -> bool:
        return not self.channels

    def usable(self, channel: str) -> bool:
        return channel in self.channels or (channel.startswith("email:") and "email" in self.channels)

    def immediate(self, channel: str) -> bool:
        return channel != "digest"

    def missing(self, channel: str) -> str | None:
        return None if self.usable(channel) else f"{channel} is not configured"


def configured(*channels: str) -> Configured:
    return Configured(frozenset(channels))


@pytest.mark.parametrize(
    ("notify", "destinations", "expected"),
    [
        (None, configured(), Route(("console",))),
        (["slack:pricing", "digest"], configured(), Route(("console",))),
        (None, configured("slack", "digest"), Route(("slack",))),
        (None, configured("digest"), Route(())),
        (None, configured("webhook:ops"), Route(())),
        (["webhook:ops", "slack"], configured("webhook:ops", "slack"), Route(("webhook:ops", "slack"))),
        (["slack:hyundai", "digest"], configured("slack", "digest"), Route((), ("slack:hyundai",))),
        (["digest"], configured("slack"), Route((), ("digest",))),
        (["email:cfo@example.com"], configured("email"), Route(("email:cfo@example.com",))),
        (["slack", "slack"], configured("slack"), Route(("slack",))),
        ([], configured("slack"), Route(())),
    ],
)
def test_route(notify: Sequence[str] | None, destinations: Configured, expected: Route) -> None:
    assert route(notify, destinations) == expected


@pytest.mark.parametrize(
    ("overrides", "channel", "missing"),
    [
        (
            {"slack_webhook_url": "https://hooks.example/x"},
            "slack:hyundai",
            "no webhook named 'hyundai' in RIVALWATCH_SLACK_WEBHOOKS",
        ),
        (
            {"slack_webhooks": {"hyundai": "https://hooks.example/h"}},
            "slack",
            "RIVALWATCH_SLACK_WEBHOOK_URL is not set",
        ),
        ({"slack_webhooks": {"hyundai": "https://hooks.example/h"}}, "slack:hyundai", None),
        (
            {"webhooks": {"ops": "https://ops.example/in"}},
            "webhook:sales",
            "no URL named 'sales' in RIVALWATCH_WEBHOOKS",
        ),
        ({"webhooks": {"ops": "https://ops.example/in"}}, "webhook:ops", None),
        ({}, "email:cfo@example.com", "RIVALWATCH_SMTP_HOST is not set"),
        ({"smtp_host": "127.0.0.1"}, "email", "RIVALWATCH_ALERT_EMAIL_TO is empty"),
        ({"smtp_host": "127.0.0.1"}, "email:cfo@example.com", None),
        ({"smtp_host": "127.0.0.1"}, "digest", "RIVALWATCH_DIGEST_TO is empty"),
        ({"smtp_host": "127.0.0.1", "digest_to": "team@example.com"}, "digest", None),
        ({}, "teams:intel", "unknown channel kind 'teams'"),
    ],
)
def test_what_the_settings_lack_for_a_channel(
    overrides: dict[str, object], channel: str, missing: str | None
) -> None:
    notifiers = Notifiers.from_settings(load_settings(**overrides))
    assert notifiers.missing(channel) == missing
    assert notifiers.usable(channel) is (missing is None)


def test_undeliverable_lists_each_unusable_channel_of_each_rule_once() -> None:
    gaps = undeliverable(
        {"hyundai": ("slack:hyundai", "digest", "slack:hyundai"), "tesla": ("slack",), "nev": None},
        configured("slack"),
    )
    assert [(g.rule_id, g.channel) for g in gaps] == [("hyundai", "slack:hyundai"), ("hyundai", "digest")]
