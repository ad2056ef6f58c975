"""The notifier registry: every kind of channel, listed once, and the dispatch to it.

A channel is named ``<kind>`` or ``<kind>:<target>`` (``slack:pricing``, ``email:cfo@x.com``,
``webhook:ops``). Each kind is one :class:`~service.notify.notifier.Notifier`, built from the
settings by its line in :data:`NOTIFIER_KINDS`; adding a channel is a module with its
notifier and one line there (rule validation reads the kinds from it too). Nothing else in
the service branches on a channel's kind: routing asks ``usable``, the outbox asks ``chunk``,
``spacing`` and ``deliver``, expiry and the alert status ask ``immediate``, the recovery of a
broken channel asks ``fingerprint``.

Building a notifier reads settings only; a connection is opened on the first send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from service.config import Settings
from service.errors import ChannelBrokenError
from service.notify.console import ConsoleNotifier
from service.notify.mail import DigestNotifier, EmailNotifier, smtp_sender
from service.notify.notifier import Delivered, Notifier, settings_fingerprint, split_channel
from service.notify.slack import SlackNotifier
from service.notify.smtp import SmtpSender
from service.notify.webhook import JsonWebhookNotifier

if TYPE_CHECKING:  # a record of the store; importing it would bring SQLAlchemy
    from service.store.outbox import Claimed


@dataclass(frozen=True, slots=True)
class Shared:
    """What notifiers are built from: the settings and the resources kinds share."""

    settings: Settings
    smtp: SmtpSender | None
    write: Callable[[str], None]


# The registry: one line per kind of channel.
NOTIFIER_KINDS: dict[str, Callable[[Shared], Notifier]] = {
    "slack": lambda shared: SlackNotifier(shared.settings),
    "webhook": lambda shared: JsonWebhookNotifier(shared.settings),
    "email": lambda shared: EmailNotifier(shared.settings, shared.smtp),
    "digest": lambda shared: DigestNotifier(shared.settings, shared.smtp),
    "console": lambda shared: ConsoleNotifier(shared.write),
}


class Notifiers:
    """Every notifier by kind, and the questions the rest of the service asks of a channel."""

    def __init__(self, by_kind: Mapping[str, Notifier]) -> None:
        self._by_kind = dict(by_kind)
        self._fingerprints: dict[str, str] = {}  # settings do not change while a process runs

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        write: Callable[[str], None] = print,
        replace: Mapping[str, Notifier] | None = None,
    ) -> Notifiers:
        """The registry; ``replace`` swaps in notifiers built otherwise (tests, fake clocks)."""
        shared = Shared(settings, smtp_sender(settings), write)
        built = {kind: build(shared) for kind, build in NOTIFIER_KINDS.items()}
        return cls(built | dict(replace or {}))

    async def aclose(self) -> None:
        for notifier in self._by_kind.values():
            await notifier.aclose()

    def configured_channels(self) -> list[str]:
        """Every channel the settings name, as rules write them (``slack``, ``webhook:ops``)."""
        return [
            kind if not target else f"{kind}:{target}"
            for kind, notifier in self._by_kind.items()
            for target in notifier.targets
        ]

    @property
    def nothing_configured(self) -> bool:
        return not any(n.configured for n in self._by_kind.values())

    def usable(self, channel: str) -> bool:
        return self.missing(channel) is None

    def missing(self, channel: str) -> str | None:
        """What the settings lack for ``channel`` to send (None: it can)."""
        kind, target = split_channel(channel)
        notifier = self._by_kind.get(kind)
        if notifier is None:
            return f"unknown channel kind {kind!r}"
        return notifier.missing(target)

    def fingerprint(self, channel: str) -> str:
        """A hash of the settings ``channel`` sends with (see ``Notifier.settings_of``)."""
        if channel not in self._fingerprints:
            kind, target = split_channel(channel)
            notifier = self._by_kind.get(kind)
            settings = notifier.settings_of(target) if notifier is not None else ()
            self._fingerprints[channel] = settings_fingerprint(channel, settings)
        return self._fingerprints[channel]

    def immediate(self, channel: str) -> bool:
        notifier = self._by_kind.get(split_channel(channel)[0])
        return notifier is None or notifier.immediate

    def summary_kinds(self) -> list[str]:
        """Kinds whose messages are scheduled summaries (see ``Notifier.immediate``)."""
        return [kind for kind, n in self._by_kind.items() if not n.immediate]

    def spacing(self, channel: str) -> timedelta:
        """Minimum time between two messages to ``channel``, kept by every replica together."""
        kind, target = split_channel(channel)
        notifier = self._by_kind.get(kind)
        return notifier.spacing(target) if notifier is not None else timedelta(0)

    def chunk(self, channel: str, rows: Sequence[Claimed]) -> list[list[Claimed]]:
        notifier = self._by_kind.get(split_channel(channel)[0])
        return notifier.chunk(rows) if notifier is not None else [[row] for row in rows]

    async def deliver(self, channel: str, rows: Sequence[Claimed]) -> Delivered:
        """Send one message; raises DeliveryError. The result names recipients that refused it."""
        kind, target = split_channel(channel)
        notifier = self._by_kind.get(kind)
        if notifier is None:
            raise ChannelBrokenError(f"unknown channel kind {kind!r}")
        return await notifier.send(channel, target, rows)
