"""The notifiers, listed explicitly in one place, and how each channel's messages are sent.

``slack`` / ``slack:<name>``: Block Kit through an incoming webhook, a burst grouped into as
few messages as Slack's limits allow, paced per webhook. ``email`` / ``email:<address>``: one
multipart message per story. ``digest``: the rendered daily digest stored in the outbox row.
``console``: printed to the terminal. Adding a notifier is a module plus a branch here.
"""

from __future__ import annotations

import email
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from service.config import Settings
from service.errors import DeliveryError
from service.notify.blocks import render_batch
from service.notify.console import ConsoleNotifier
from service.notify.pacing import Pacer
from service.notify.render_email import story_message
from service.notify.route import channel_kind
from service.notify.slack import SlackWebhook
from service.notify.smtp import SendReport, SmtpSender
from service.notify.view import StoryView, view_from_json
from service.store.outbox import Claimed


class Notifiers:
    def __init__(
        self,
        settings: Settings,
        *,
        slack: SlackWebhook,
        smtp: SmtpSender | None,
        console: ConsoleNotifier,
    ) -> None:
        self._settings = settings
        self._slack = slack
        self._smtp = smtp
        self._console = console
        self._tz = ZoneInfo(settings.timezone)

    @classmethod
    def from_settings(cls, settings: Settings, *, write: Callable[[str], None] = print) -> Notifiers:
        smtp = SmtpSender.from_settings(settings) if settings.smtp_host else None
        slack = SlackWebhook(pacer=slack_pacer(settings))
        return cls(settings, slack=slack, smtp=smtp, console=ConsoleNotifier(write))

    async def aclose(self) -> None:
        await self._slack.aclose()

    def spacing(self) -> dict[str, timedelta]:
        """Minimum time between two messages to one channel, shared by every replica."""
        gap = timedelta(seconds=self._settings.slack_min_interval_s)
        return {name: gap for name in ("slack", *(f"slack:{n}" for n in self._settings.slack_webhooks))}

    def chunk(self, channel: str, rows: Sequence[Claimed]) -> list[list[Claimed]]:
        """Rows grouped so that each group is exactly one message."""
        kind = channel_kind(channel)
        if kind == "console":
            return [list(rows)] if rows else []
        if kind != "slack":
            return [[row] for row in rows]
        groups: list[list[Claimed]] = []
        for row in rows:
            if groups and len(render_batch(_views([*groups[-1], row]))) == 1:
                groups[-1].append(row)
            else:
                groups.append([row])
        return groups

    async def deliver(self, channel: str, rows: Sequence[Claimed]) -> Delivered:
        """Send one message; raises DeliveryError. The result names recipients that refused it."""
        kind = channel_kind(channel)
        if kind == "slack":
            (payload,) = render_batch(_views(rows))
            await self._slack.send(self._webhook(channel), payload, key=channel)
            return Delivered()
        if kind == "console":
            self._console.send(_views(rows))
            return Delivered()
        if kind == "email":
            (row,) = rows
            # A follow-up for recipients that deferred carries them, and the first message's key.
            recipients = list(row.payload.get("recipients") or self._recipients(channel))
            message = story_message(
                view_from_json(row.payload["view"]),
                sender=self._settings.email_from,
                recipients=recipients,
                key=row.payload.get("message_key", row.key),
                tz=self._tz,
            )
            return _delivered(await self._sender().send(message, recipients))
        if kind == "digest":
            (row,) = rows
            message = email.message_from_string(row.payload["eml"], _class=EmailMessage, policy=policy.SMTP)
            return _delivered(await self._sender().send(message, list(row.payload["recipients"])))
        raise DeliveryError(f"unknown channel kind {kind!r}", retryable=False, channel_broken=True)

    def _webhook(self, channel: str) -> str:
        _, _, name = channel.partition(":")
        secret = self._settings.slack_webhooks.get(name) if name else self._settings.slack_webhook_url
        if secret is None:
            raise DeliveryError(
                f"no webhook is configured for {channel}", retryable=False, channel_broken=True
            )
        return secret.get_secret_value()

    def _recipients(self, channel: str) -> list[str]:
        _, _, address = channel.partition(":")
        recipients = [address] if address else self._settings.alert_email_recipients
        if not recipients:
            raise DeliveryError(
                f"no recipients are configured for {channel}", retryable=False, channel_broken=True
            )
        return recipients

    def _sender(self) -> SmtpSender:
        if self._smtp is None:
            raise DeliveryError(
                "SMTP is not configured (RIVALWATCH_SMTP_HOST)", retryable=False, channel_broken=True
            )
        return self._smtp


UNPACED_RATE_PER_S = 1e6


def slack_pacer(settings: Settings) -> Pacer:
    """The in-process pacer follows the same interval as the shared one (0: no pacing)."""
    interval = settings.slack_min_interval_s
    return Pacer(rate_per_s=1 / interval if interval > 0 else UNPACED_RATE_PER_S)


def _views(rows: Sequence[Claimed]) -> list[StoryView]:
    return [view_from_json(row.payload["view"]) for row in rows]


@dataclass(frozen=True, slots=True)
class Delivered:
    """The receiver said yes; ``note`` records who refused, ``retry_to`` who asked to try later."""

    note: str | None = None
    retry_to: tuple[str, ...] = ()


def _delivered(report: SendReport) -> Delivered:
    if not report.refused:
        return Delivered()
    refused = "; ".join(f"{addr} ({code} {reason})" for addr, (code, reason) in report.refused.items())
    return Delivered(f"refused: {refused}", report.deferred)
