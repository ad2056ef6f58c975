"""What a notifier is: the protocol every kind of channel implements, and its small shared types.

The registry of kinds is :mod:`service.notify.channels`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

if TYPE_CHECKING:  # a record of the store; importing it would bring SQLAlchemy
    from service.store.outbox import Claimed


# Rounds of the settings fingerprint's hash: slow enough that a weak SMTP password cannot be
# guessed from a stored fingerprint, and it is computed only for channels that broke.
FINGERPRINT_ROUNDS = 100_000


@dataclass(frozen=True, slots=True)
class Delivered:
    """The receiver said yes; ``note`` records who refused, ``retry_to`` who asked to try later."""

    note: str | None = None
    retry_to: tuple[str, ...] = ()


class Notifier(Protocol):
    """One kind of channel. ``target`` is the part after the colon ("" when there is none)."""

    @property
    def immediate(self) -> bool:
        """True: a message per story as alerts arrive. False: a scheduled summary (the digest),
        whose messages never expire and which settles an alert only when nothing else names it."""
        ...

    @property
    def configured(self) -> bool:
        """Whether the settings give this kind any destination at all."""
        ...

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets the settings name for this kind ("" for the kind alone: ``slack``), so a
        channel shows in ``channels list`` before its first message."""
        ...

    def missing(self, target: str) -> str | None:
        """What the settings lack for the channel ``<kind>:<target>`` to send, in words that name
        the setting ("no webhook named 'hyundai' in RIVALWATCH_SLACK_WEBHOOKS"); None: it can."""
        ...

    def settings_of(self, target: str) -> tuple[object, ...]:
        """Every setting that decides where and how ``<kind>:<target>`` sends, secrets included.
        Only ever stored hashed (:func:`settings_fingerprint`): a broken channel is probed again
        when they change."""
        ...

    def spacing(self, target: str) -> timedelta:
        """Minimum time between two messages to one channel, kept by every replica together."""
        ...

    def chunk(self, rows: Sequence[Claimed]) -> list[list[Claimed]]:
        """Claimed rows grouped so that each group is exactly one message."""
        ...

    async def send(self, channel: str, target: str, rows: Sequence[Claimed]) -> Delivered:
        """Send one message (one chunk); raises a DeliveryError subclass when it did not go."""
        ...

    async def aclose(self) -> None: ...


def split_channel(channel: str) -> tuple[str, str]:
    """``("slack", "pricing")`` for ``slack:pricing``; the target is "" for a bare kind."""
    kind, _, target = channel.partition(":")
    return kind, target


def settings_fingerprint(channel: str, settings: Sequence[object]) -> str:
    """A hex digest that changes when these settings change and gives none of them away,
    salted with the channel's name."""
    plain = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in settings]
    material = json.dumps(plain, default=str).encode()
    salt = f"rivalwatch channel {channel}".encode()
    return hashlib.pbkdf2_hmac("sha256", material, salt, FINGERPRINT_ROUNDS).hex()


def channel_kind(channel: str) -> str:
    return split_channel(channel)[0]


def one_message_each(rows: Iterable[Claimed]) -> list[list[Claimed]]:
    """The chunking of kinds that send one message per story."""
    return [[row] for row in rows]


class OneMessagePerStory:
    """Defaults for a kind that sends each story alone, unpaced, and holds no connection."""

    immediate = True

    def spacing(self, target: str) -> timedelta:
        return timedelta(0)

    def chunk(self, rows: Sequence[Claimed]) -> list[list[Claimed]]:
        return one_message_each(rows)

    async def aclose(self) -> None:
        return None
