"""The email channels: ``email`` / ``email:<address>`` (one message per story, at once) and
``digest`` (the daily digest, rendered when its period closes and stored whole in its outbox
row). Both go through one :class:`~service.notify.smtp.SmtpSender`.
"""

from __future__ import annotations

import email
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from service.config import Settings
from service.errors import ChannelBrokenError
from service.notify.notifier import Delivered, OneMessagePerStory
from service.notify.smtp import SendReport, SmtpSender
from service.notify.story import view_from_json

if TYPE_CHECKING:  # a record of the store; importing it would bring SQLAlchemy
    from service.store.outbox import Claimed


def smtp_sender(settings: Settings) -> SmtpSender | None:
    """The one sender both email channels share (None without ``RIVALWATCH_SMTP_HOST``)."""
    return SmtpSender.from_settings(settings) if settings.smtp_host else None


def smtp_settings(settings: Settings) -> tuple[object, ...]:
    """What decides whether the SMTP server takes a message (for ``settings_of``)."""
    s = settings
    return (s.smtp_host, s.smtp_port, s.smtp_username, s.smtp_password, s.smtp_starttls, s.email_from)


class EmailNotifier(OneMessagePerStory):
    def __init__(self, settings: Settings, sender: SmtpSender | None) -> None:
        self._sender = sender
        self._smtp_settings = smtp_settings(settings)
        self._from = settings.email_from
        self._recipients = settings.alert_email_recipients
        self._tz = ZoneInfo(settings.timezone)

    @property
    def configured(self) -> bool:
        return self._sender is not None

    @property
    def targets(self) -> tuple[str, ...]:
        return ("",) if self._sender is not None and self._recipients else ()  # email:ADDRESS: any

    def missing(self, target: str) -> str | None:
        if self._sender is None:
            return "RIVALWATCH_SMTP_HOST is not set"
        return None if target or self._recipients else "RIVALWATCH_ALERT_EMAIL_TO is empty"

    def settings_of(self, target: str) -> tuple[object, ...]:
        return (*self._smtp_settings, target or self._recipients)

    async def send(self, channel: str, target: str, rows: Sequence[Claimed]) -> Delivered:
        from service.notify.render_email import story_message  # Jinja2: only once sending

        (row,) = rows
        # A follow-up for recipients that deferred carries them, and the first message's key.
        recipients = list(row.payload.get("recipients") or self._recipients_of(channel, target))
        message = story_message(
            view_from_json(row.payload["view"]),
            sender=self._from,
            recipients=recipients,
            key=row.payload.get("message_key", row.key),
            tz=self._tz,
        )
        return delivered(await working_sender(self._sender).send(message, recipients))

    def _recipients_of(self, channel: str, target: str) -> list[str]:
        recipients = [target] if target else self._recipients
        if not recipients:
            raise ChannelBrokenError(f"no recipients are configured for {channel}")
        return recipients


class DigestNotifier(OneMessagePerStory):
    immediate = False  # a scheduled summary: see Notifier.immediate

    def __init__(self, settings: Settings, sender: SmtpSender | None) -> None:
        self._sender = sender
        self._smtp_settings = smtp_settings(settings)
        self._recipients = settings.digest_recipients

    @property
    def configured(self) -> bool:
        return self._sender is not None and bool(self._recipients)

    @property
    def targets(self) -> tuple[str, ...]:
        return ("",) if self.configured else ()

    def missing(self, target: str) -> str | None:
        if target:
            return "the digest takes no name: write digest"
        if self._sender is None:
            return "RIVALWATCH_SMTP_HOST is not set"
        return None if self._recipients else "RIVALWATCH_DIGEST_TO is empty"

    def settings_of(self, target: str) -> tuple[object, ...]:
        return (*self._smtp_settings, self._recipients)

    async def send(self, channel: str, target: str, rows: Sequence[Claimed]) -> Delivered:
        (row,) = rows
        message = email.message_from_string(row.payload["eml"], _class=EmailMessage, policy=policy.SMTP)
        return delivered(await working_sender(self._sender).send(message, list(row.payload["recipients"])))


def working_sender(sender: SmtpSender | None) -> SmtpSender:
    if sender is None:
        raise ChannelBrokenError("SMTP is not configured (RIVALWATCH_SMTP_HOST)")
    return sender


def delivered(report: SendReport) -> Delivered:
    if not report.refused:
        return Delivered()
    refused = "; ".join(f"{addr} ({code} {reason})" for addr, (code, reason) in report.refused.items())
    return Delivered(f"refused: {refused}", report.deferred)
