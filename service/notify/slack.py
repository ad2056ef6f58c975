"""The Slack channel: ``slack`` (``RIVALWATCH_SLACK_WEBHOOK_URL``) and ``slack:<name>``
(a named webhook of ``RIVALWATCH_SLACK_WEBHOOKS``).

A burst for one channel is grouped into as few Block Kit messages as Slack's limits allow
(:func:`~service.notify.blocks.render_batch`), and messages to one webhook are spaced by
``RIVALWATCH_SLACK_MIN_INTERVAL_S`` (who paces what: :mod:`service.notify.pacing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from service.config import Settings
from service.errors import ChannelBrokenError
from service.notify.blocks import render_batch
from service.notify.notifier import Delivered
from service.notify.pacing import Pacer
from service.notify.story import StoryView, view_from_json

if TYPE_CHECKING:  # the store (SQLAlchemy) and httpx: for sending only (bench `cli`)
    from service.notify.webhook_client import WebhookClient
    from service.store.outbox import Claimed

UNPACED_RATE_PER_S = 1e6


class SlackNotifier:
    immediate = True

    def __init__(self, settings: Settings, *, client: WebhookClient | None = None) -> None:
        self._default = settings.slack_webhook_url
        self._lease_s = settings.delivery_lease_s
        self._named = dict(settings.slack_webhooks)
        self._gap = timedelta(seconds=settings.slack_min_interval_s)
        self._client = client
        self._console_url = settings.console_url
        self._pacer_rate = 1 / settings.slack_min_interval_s if settings.slack_min_interval_s > 0 else None

    @property
    def configured(self) -> bool:
        return self._default is not None or bool(self._named)

    @property
    def targets(self) -> tuple[str, ...]:
        return ("",) * (self._default is not None) + tuple(sorted(self._named))

    def missing(self, target: str) -> str | None:
        if target:
            return (
                None if target in self._named else f"no webhook named {target!r} in RIVALWATCH_SLACK_WEBHOOKS"
            )
        return None if self._default is not None else "RIVALWATCH_SLACK_WEBHOOK_URL is not set"

    def settings_of(self, target: str) -> tuple[object, ...]:
        return (self._named.get(target) if target else self._default,)

    def spacing(self, target: str) -> timedelta:
        return self._gap

    def chunk(self, rows: Sequence[Claimed]) -> list[list[Claimed]]:
        groups: list[list[Claimed]] = []
        for row in rows:
            if groups and len(render_batch(_views([*groups[-1], row]), console_url=self._console_url)) == 1:
                groups[-1].append(row)
            else:
                groups.append([row])
        return groups

    async def send(self, channel: str, target: str, rows: Sequence[Claimed]) -> Delivered:
        (payload,) = render_batch(_views(rows), console_url=self._console_url)
        await self._webhook_client().send(self._url(channel, target), payload, key=channel)
        return Delivered()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _webhook_client(self) -> WebhookClient:
        if self._client is None:
            from service.notify.webhook_client import (
                WebhookClient,
                deadline_within,
            )  # httpx: only once sending

            self._client = WebhookClient(
                receiver="slack",
                expected_body="ok",
                pacer=slack_pacer(self._pacer_rate),
                deadline_s=deadline_within(self._lease_s),
            )
        return self._client

    def _url(self, channel: str, target: str) -> str:
        secret = self._named.get(target) if target else self._default
        if secret is None:
            raise ChannelBrokenError(f"no webhook is configured for {channel}")
        return secret.get_secret_value()


def slack_pacer(rate_per_s: float | None) -> Pacer:
    """The in-process pacer follows the same interval as the shared one (None: no pacing)."""
    return Pacer(rate_per_s=rate_per_s if rate_per_s is not None else UNPACED_RATE_PER_S)


def _views(rows: Sequence[Claimed]) -> list[StoryView]:
    return [view_from_json(row.payload["view"]) for row in rows]
