"""Where a rule's alerts go.

Channel names: ``slack`` (the default webhook, ``RIVALWATCH_SLACK_WEBHOOK_URL``),
``slack:<name>`` (a named webhook from ``RIVALWATCH_SLACK_WEBHOOKS``), ``email`` (immediate
email to ``RIVALWATCH_ALERT_EMAIL_TO``), ``email:<address>``, ``digest`` (the daily digest)
and ``console`` (the terminal).

A rule without ``notify`` goes to the default Slack channel when one is set and to the digest
when recipients are set. With neither Slack nor SMTP configured at all, every alert goes to
the console, whatever its rule names, so a first run shows the product working. Otherwise a
channel a rule names that is not configured is skipped; the alert stays ``pending`` and still
reaches the digest when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.config import Settings


@dataclass(frozen=True, slots=True)
class Available:
    """Which channels the configuration makes usable."""

    slack_default: bool
    slack_named: frozenset[str]
    smtp: bool
    alert_email: bool
    digest: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Available:
        smtp = bool(settings.smtp_host)
        return cls(
            slack_default=settings.slack_webhook_url is not None,
            slack_named=frozenset(settings.slack_webhooks),
            smtp=smtp,
            alert_email=smtp and bool(settings.alert_email_recipients),
            digest=smtp and bool(settings.digest_recipients),
        )

    @property
    def nothing_configured(self) -> bool:
        return not (self.slack_default or self.slack_named or self.smtp)


@dataclass(frozen=True, slots=True)
class Route:
    immediate: tuple[str, ...]  # channels that get a message now (via the outbox)
    digest: bool
    skipped: tuple[str, ...]  # named but not configured


def route(notify: Sequence[str] | None, available: Available) -> Route:
    if notify is None or available.nothing_configured:
        return _defaults(available)
    immediate, skipped, digest = [], [], False
    for channel in notify:
        if channel == "digest":
            digest = digest or available.digest
            if not available.digest:
                skipped.append(channel)
        elif usable(channel, available):
            immediate.append(channel)
        else:
            skipped.append(channel)
    return Route(tuple(dict.fromkeys(immediate)), digest, tuple(skipped))


def _defaults(available: Available) -> Route:
    if available.nothing_configured:
        return Route(("console",), False, ())
    immediate = ("slack",) if available.slack_default else ()
    return Route(immediate, available.digest, ())


def usable(channel: str, available: Available) -> bool:
    kind, _, name = channel.partition(":")
    if kind == "slack":
        return name in available.slack_named if name else available.slack_default
    if kind == "email":
        return available.smtp and (bool(name) or available.alert_email)
    return channel == "console"


def channel_kind(channel: str) -> str:
    return channel.partition(":")[0]
