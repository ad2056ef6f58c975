"""Where a rule's alerts go: a pure decision over what the configuration makes usable.

A rule names channels in ``notify`` (kinds and targets: :mod:`service.notify.channels`).
A rule without ``notify`` goes to each default channel that is configured (the default
Slack webhook, the digest). With no channel configured at all, every alert goes to the
console, whatever its rule names, so a first run shows the product working. Otherwise a
channel a rule names that is not configured is skipped; the alert stays ``pending`` and still
reaches the digest when there is one. Summary channels (the digest) get no message now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_CHANNELS = ("slack", "digest")
FALLBACK_CHANNEL = "console"


class Destinations(Protocol):
    """What routing needs to know of the configured channels (the notifier registry)."""

    @property
    def nothing_configured(self) -> bool: ...

    def missing(self, channel: str) -> str | None: ...

    def immediate(self, channel: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Route:
    immediate: tuple[str, ...]  # channels that get a message now (via the outbox)
    skipped: tuple[str, ...] = ()  # named by the rule but not configured


@dataclass(frozen=True, slots=True)
class Undeliverable:
    rule_id: str
    channel: str
    missing: str  # what the settings lack, naming the setting


def undeliverable(
    notify_by_rule: Mapping[str, Sequence[str] | None], destinations: Destinations
) -> list[Undeliverable]:
    """Every channel a rule names that the settings cannot send to: its alerts would wait in
    vain (or, with no channel configured at all, go to the console instead)."""
    return [
        Undeliverable(rule_id, channel, reason)
        for rule_id, notify in notify_by_rule.items()
        for channel in dict.fromkeys(notify or ())
        if (reason := destinations.missing(channel)) is not None
    ]


def route(notify: Sequence[str] | None, destinations: Destinations) -> Route:
    if destinations.nothing_configured:
        return Route((FALLBACK_CHANNEL,))
    named = notify is not None
    immediate: list[str] = []
    skipped: list[str] = []
    for channel in notify if notify is not None else DEFAULT_CHANNELS:
        if destinations.missing(channel) is not None:
            if named:
                skipped.append(channel)
        elif destinations.immediate(channel):
            immediate.append(channel)
    return Route(tuple(dict.fromkeys(immediate)), tuple(skipped))
