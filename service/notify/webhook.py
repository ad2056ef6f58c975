"""The generic JSON webhook channel: ``webhook:<name>``, the URL being the entry ``<name>`` of
``RIVALWATCH_WEBHOOKS`` (a JSON object of name → URL, secret like the Slack ones).

One HTTP POST of ``application/json`` per story (:func:`story_payload`), with an
``Idempotency-Key`` header that is the outbox row's key, so it stays the same on every retry
of that message and a receiver can drop a duplicate. The answer is read like Slack's
(:mod:`service.notify.classify`): 2xx delivered, 429 pauses the channel for its Retry-After,
408, 5xx and network failures are retried, 403/404/410 and redirects hold the channel,
other 4xx fail the message. Messages are not paced: a receiver that wants fewer answers 429.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from service.config import Settings
from service.errors import ChannelBrokenError
from service.notify.notifier import Delivered, OneMessagePerStory
from service.notify.story import StoryView, view_from_json

if TYPE_CHECKING:  # the store (SQLAlchemy) and httpx: for sending only (bench `cli`)
    from service.notify.webhook_client import WebhookClient
    from service.store.outbox import Claimed

IDEMPOTENCY_HEADER = "Idempotency-Key"


class JsonWebhookNotifier(OneMessagePerStory):
    def __init__(self, settings: Settings, *, client: WebhookClient | None = None) -> None:
        self._urls = dict(settings.webhooks)
        self._lease_s = settings.delivery_lease_s
        self._client = client

    @property
    def configured(self) -> bool:
        return bool(self._urls)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(sorted(self._urls))

    def missing(self, target: str) -> str | None:
        if not target:
            return "a webhook channel needs a name: webhook:NAME"
        return None if target in self._urls else f"no URL named {target!r} in RIVALWATCH_WEBHOOKS"

    def settings_of(self, target: str) -> tuple[object, ...]:
        return (self._urls.get(target),)

    async def send(self, channel: str, target: str, rows: Sequence[Claimed]) -> Delivered:
        (row,) = rows
        secret = self._urls.get(target)
        if secret is None:
            raise ChannelBrokenError(f"no webhook is configured for {channel}")
        payload = story_payload(view_from_json(row.payload["view"]), channel=channel)
        headers = {IDEMPOTENCY_HEADER: row.key}
        await self._webhook_client().send(secret.get_secret_value(), payload, key=channel, headers=headers)
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

            self._client = WebhookClient(receiver="webhook", deadline_s=deadline_within(self._lease_s))
        return self._client


def story_payload(story: StoryView, *, channel: str) -> dict[str, Any]:
    """The JSON body for one story. Feed text is sent as it was stored: the receiver escapes it."""
    return {
        "channel": channel,
        "kind": story.kind,
        "title": story.title,
        "url": story.url,
        "feed": story.feed,
        "created_at": story.created_at.isoformat(),
        "rules": [r.rule_id for r in story.rules],
        "rule_names": {r.rule_id: r.rule_name for r in story.rules},
        "matched": {r.rule_id: list(r.matched) for r in story.rules},
        "severity": story.severity,
        "novelty": story.novelty,
        "fact_changes": [{"change": c.display, "evidence": c.evidence} for c in story.fact_changes],
        "new_terms": list(story.new_terms),
        "reason": story.reason,
        "snippet": story.snippet,
        "alert_ids": list(story.alert_ids),
    }
