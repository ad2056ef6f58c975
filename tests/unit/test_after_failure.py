"""The outbox's decision after a failed send, table-driven on the error's class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.errors import (
    ChannelBrokenError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    SmtpConfigError,
    ThrottledDeliveryError,
)
from service.notify.after_failure import Fail, Hold, Pause, Retry, Step, next_step

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def backoff_s(attempt: int) -> float:
    return 10.0 * attempt


@pytest.mark.parametrize(
    ("error", "attempts", "step"),
    [
        (ChannelBrokenError("gone"), 0, Hold()),
        (ChannelBrokenError("gone", ambiguous=True), 3, Hold()),
        (SmtpConfigError("no STARTTLS"), 0, Hold()),
        (ThrottledDeliveryError("429", retry_after_s=30.0), 4, Pause(NOW + timedelta(seconds=30))),
        (RetryableDeliveryError("503"), 0, Retry(NOW + timedelta(seconds=10), ambiguous=False)),
        (RetryableDeliveryError("503"), 2, Retry(NOW + timedelta(seconds=30), ambiguous=False)),
        (
            RetryableDeliveryError("reset after sending", ambiguous=True),
            0,
            Retry(NOW + timedelta(seconds=10), True),
        ),
        (PermanentDeliveryError("invalid_blocks"), 0, Fail()),
        (DeliveryError("unclassified"), 0, Fail()),
    ],
)
def test_the_error_class_decides_the_next_step(error: DeliveryError, attempts: int, step: Step) -> None:
    assert next_step(error, attempts=attempts, now=NOW, backoff_s=backoff_s) == step


def test_a_renamed_error_keeps_its_class_and_attributes() -> None:
    error = ThrottledDeliveryError("slack rate limited", retry_after_s=5.0, ambiguous=True)
    renamed = error.with_message("channel 'slack': slack rate limited")
    assert type(renamed) is ThrottledDeliveryError
    assert (renamed.retry_after_s, renamed.ambiguous, str(renamed)) == (
        5.0,
        True,
        "channel 'slack': slack rate limited",
    )
    assert str(error) == "slack rate limited"
