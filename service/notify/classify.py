"""What a webhook's HTTP answer (Slack's incoming webhooks, a generic JSON receiver) means for
the message and the channel.

Rules (status → outcome; the message never names the webhook URL, which is a secret):

- 2xx → delivered (None). Slack answers ``200 ok``; any other 2xx body is still taken as
  delivered, because the receiver accepted the request and sending again could post the
  message twice. The client logs such a body as a warning.
- 429 → throttled, with ``retry_after_s`` from ``Retry-After`` (seconds or HTTP-date), 1 s
  when it is missing or unreadable, capped (``service.retry``) so a bad header cannot silence
  a channel for days. A 429 is a request to slow down, not a failed attempt.
- 5xx → retryable (Slack's ``rollup_error``; a proxy's 502/503), and 408 (the receiver gave
  up waiting for our request). A 504 is also ``ambiguous``: a gateway that gave up waiting
  may have let the message through.
- 403 (``action_prohibited``, ``invalid_token``), 404 (``channel_not_found``,
  ``no_service``), 410 (``channel_is_archived``) → the channel is broken: hold its messages
  and show it in health.
- 3xx → the channel is broken too: webhooks never redirect, so the configured URL is wrong,
  and redirects are not followed (they could lead anywhere).
- 400 (``invalid_payload``, ``invalid_blocks``, ``no_text`` ...) and any other status →
  permanent for this message, with Slack's reason from the body.

The classes are those of :mod:`service.errors`; the outbox decides on the class alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from service.errors import (
    ChannelBrokenError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    ThrottledDeliveryError,
)
from service.retry import DELIVERY_RETRY_AFTER_CEILING_S, parse_retry_after_s

DEFAULT_RETRY_AFTER_S = 1.0
REASON_MAX = 120
BROKEN_CHANNEL_STATUSES = frozenset({403, 404, 410})


def classify_answer(
    status: int, body: str, headers: Mapping[str, str], *, receiver: str, now: datetime
) -> DeliveryError | None:
    """None when the receiver (``slack``, ``webhook``) accepted the message, else the error to
    raise (see the module rules)."""
    if 200 <= status < 300:
        return None
    reason = response_reason(body)
    if status == 429:
        wait_s = _retry_after(headers, now=now)
        return ThrottledDeliveryError(
            f"{receiver} rate limited the channel (429); retry after {wait_s:g} s", retry_after_s=wait_s
        )
    if status >= 500:
        return RetryableDeliveryError(f"{receiver} server error {status}: {reason}", ambiguous=status == 504)
    if status == 408:
        return RetryableDeliveryError(f"{receiver} timed out waiting for the message (408): {reason}")
    if 300 <= status < 400:
        return ChannelBrokenError(f"webhook answered with a redirect ({status}); check the channel's URL")
    if status in BROKEN_CHANNEL_STATUSES:
        return ChannelBrokenError(f"{receiver} refused the channel ({status}): {reason}")
    return PermanentDeliveryError(f"{receiver} rejected the message ({status}): {reason}")


def response_reason(body: str) -> str:
    """The receiver's one-word reason (``invalid_blocks``), or a short printable excerpt of the body."""
    line = next((part.strip() for part in body.splitlines() if part.strip()), "")
    printable = "".join(c for c in line if c.isprintable())
    if not printable:
        return "(empty body)"
    return printable if len(printable) <= REASON_MAX else printable[: REASON_MAX - 1] + "…"


def _retry_after(headers: Mapping[str, str], *, now: datetime) -> float:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    parsed = parse_retry_after_s(value, now=now)
    if parsed is None:
        return DEFAULT_RETRY_AFTER_S
    return min(parsed, DELIVERY_RETRY_AFTER_CEILING_S)
