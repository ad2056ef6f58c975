"""Every exception rivalwatch raises on purpose, in one tree.

RivalwatchError
├── ConfigError            configuration or declaration files are wrong (collected, reported together)
│   └── DeliveryConfigError    a channel's settings make sending unsafe (e.g. no TLS where required)
│       └── SmtpConfigError        ... found while sending; also a ChannelBrokenError
├── DatabaseError
│   ├── SchemaOutdatedError    the database is older than the code: run `rivalwatch db upgrade`
│   └── SchedulerLockedError   another scheduler already runs on this SQLite file
├── ListenError            the HTTP API cannot listen where the settings say (port taken, unknown address)
├── FetchError             one fetch failed; `retryable` says whether trying later may help
│   ├── BlockedAddressError    the SSRF guard refused a destination (never retried soon)
│   ├── SchemeError            a URL or redirect that is not http(s)
│   ├── TooManyRedirectsError
│   ├── BodyTooLargeError      decoded body passed the size cap
│   ├── DeadlineError          the whole fetch outlasted its wall-clock deadline
│   ├── TransportError         connect / read / TLS failures
│   └── HTTPStatusError        a non-2xx, non-304 answer (410 is `gone`)
├── ParseError             the body is not a feed we can read
├── ExpressionError        a rule's match expression is invalid (with the column)
├── BaselineError          a baseline cannot be built or loaded
└── DeliveryError          a notifier could not deliver; any of them may be `ambiguous`
    ├── RetryableDeliveryError     try again after a backoff (5xx, network, SMTP 4xx)
    │   └── ThrottledDeliveryError     pause the channel for its Retry-After (429)
    ├── PermanentDeliveryError     this message fails for good (Slack 400, SMTP 5xx)
    └── ChannelBrokenError         hold the channel's messages until it works (403/404/410)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


class RivalwatchError(Exception):
    """Base of all deliberate rivalwatch errors."""


@dataclass(frozen=True)
class Problem:
    """One problem in a declaration file, reported as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class ConfigError(RivalwatchError):
    """Configuration is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("<config>", 0, problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DatabaseError(RivalwatchError):
    """The database cannot be used as it is."""


class SchemaOutdatedError(DatabaseError):
    """The database schema is older (or newer) than this code expects."""


class SchedulerLockedError(DatabaseError):
    """A second scheduler tried to run on an SQLite database that already has one."""


class ListenError(RivalwatchError):
    pass


class FetchError(RivalwatchError):
    """A fetch failed. ``retryable`` is False when polling again soon cannot help."""

    retryable: bool = True

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BlockedAddressError(FetchError):
    """The destination address is not public and not in the allow-list."""

    retryable = False


class SchemeError(FetchError):
    retryable = False


class TooManyRedirectsError(FetchError):
    retryable = False


class BodyTooLargeError(FetchError):
    retryable = False


class DeadlineError(FetchError):
    pass


class TransportError(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, status: int, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"HTTP {status}", retry_after_s=retry_after_s)
        self.status = status
        self.retryable = status in (408, 425, 429) or status >= 500

    @property
    def gone(self) -> bool:
        return self.status == 410


class ParseError(RivalwatchError):
    """The document could not be read as RSS, Atom or RDF."""


class ExpressionError(RivalwatchError):
    """A match expression could not be parsed; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, *, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


class BaselineError(RivalwatchError):
    """A baseline article or file could not be turned into a baseline."""


class DeliveryError(RivalwatchError):
    """A notifier could not deliver a message; the subclass says what the outbox does next.

    ``ambiguous``: the request may have reached the receiver (the connection was lost after
    the message was sent), so trying again may duplicate it; that is recorded and logged.
    """

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous

    def with_message(self, message: str) -> Self:
        """The same verdict (class and attributes) told in other words."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.args = (message,)
        return clone


class RetryableDeliveryError(DeliveryError):
    """Trying again later may succeed (5xx, network, SMTP 4xx): back off, count an attempt."""


class ThrottledDeliveryError(RetryableDeliveryError):
    """The receiver asked us to slow down (429): pause the channel for ``retry_after_s``; this is
    not a failed attempt."""

    def __init__(self, message: str, *, retry_after_s: float, ambiguous: bool = False) -> None:
        super().__init__(message, ambiguous=ambiguous)
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    """This message can never be delivered as it is (Slack 400, SMTP 5xx): fail it with the
    reason; the channel's other messages continue."""


class ChannelBrokenError(DeliveryError):
    """The destination itself is gone, refuses us or is not configured (Slack 403/404/410, bad
    credentials): hold every message of the channel, show it in health, probe it now and then."""


class DeliveryConfigError(ConfigError):
    """A channel is configured so that it must refuse to send (e.g. STARTTLS required but absent)."""


class SmtpConfigError(ChannelBrokenError, DeliveryConfigError):
    """Sending was refused for a configuration reason (no STARTTLS offered where required, a
    certificate that does not verify): the channel is broken until it is fixed."""

    def __init__(self, message: str) -> None:
        ChannelBrokenError.__init__(self, message)
        self.problems = [Problem("smtp", 0, message)]
