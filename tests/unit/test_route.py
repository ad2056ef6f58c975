"""Routing a rule's alerts, table-driven over what the configuration makes usable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from service.notify.route import Route, route


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
