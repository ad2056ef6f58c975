"""What the outbox does with messages a notifier could not deliver: one pure decision.

The error's class decides (see the tree in :mod:`service.errors`):

=========================  ==============================================================
error                      next step for the messages that were tried
=========================  ==============================================================
ChannelBrokenError         ``Hold``: every message of the channel waits, the channel shows
                           as broken and is probed now and then until it works
ThrottledDeliveryError     ``Pause``: the channel sends nothing until the Retry-After has
                           passed; not a failed attempt
RetryableDeliveryError     ``Retry``: again after the backoff for one more attempt,
                           remembering whether the receiver may already have it
any other DeliveryError    ``Fail``: this message fails for good with its reason; the
                           channel's other messages go on
=========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.errors import ChannelBrokenError, DeliveryError, RetryableDeliveryError, ThrottledDeliveryError


@dataclass(frozen=True, slots=True)
class Hold:
    pass


@dataclass(frozen=True, slots=True)
class Pause:
    until: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    ambiguous: bool


@dataclass(frozen=True, slots=True)
class Fail:
    pass


Step = Hold | Pause | Retry | Fail


def next_step(
    error: DeliveryError, *, attempts: int, now: datetime, backoff_s: Callable[[int], float]
) -> Step:
    """The step for messages tried ``attempts`` times before this failure; ``backoff_s(n)`` is
    the wait before attempt ``n``."""
    match error:
        case ChannelBrokenError():
            return Hold()
        case ThrottledDeliveryError(retry_after_s=wait_s):
            return Pause(now + timedelta(seconds=wait_s))
        case RetryableDeliveryError(ambiguous=ambiguous):
            return Retry(now + timedelta(seconds=backoff_s(attempts + 1)), ambiguous)
        case _:
            return Fail()
