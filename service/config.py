"""The one settings object.

Values come from ``RIVALWATCH_*`` environment variables (the name's case does not matter); an
optional YAML file named by ``RIVALWATCH_CONFIG_FILE`` may add to them (environment wins).
Unknown keys in that file are errors. Secrets are ``SecretStr`` and never printed. Units are in
the names.

The sources are read here rather than by pydantic-settings, which brought asyncio, argparse,
python-dotenv and readers for cloud secret stores into every command's start-up for a few lines
of work: 4 % of the instructions of ``rivalwatch alerts list`` (1 557 -> 1 495 M, valgrind), and
loading the settings alone in a fresh process 208 -> 160 ms. It also let a mapping that is not
JSON escape as a traceback naming no variable.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self, get_origin
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from service.durations import seconds_from
from service.errors import ConfigError, Problem

DEFAULT_DATABASE_URL = "sqlite:///data/rivalwatch.db"
ENV_PREFIX = "RIVALWATCH_"
ENVELOPE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
"""An address as SMTP's envelope takes it: ASCII, no display name (RFC 5321's atoms and a domain)."""


class Settings(BaseModel):
    """Every option rivalwatch reads, with its default and unit (see the README table).

    Built from values as given; ``load_settings`` gathers them from the environment and the file.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    database_url: str = DEFAULT_DATABASE_URL
    sqlite_busy_timeout_s: float = Field(default=30.0, gt=0)  # how long a writer waits for the file lock
    rules_dir: Path = Path("rules")
    config_file: Path | None = None

    # Delivery.
    slack_webhook_url: SecretStr | None = None
    slack_webhooks: dict[str, SecretStr] = Field(default_factory=dict)  # JSON: {"pricing": "https://..."}
    webhooks: dict[str, SecretStr] = Field(default_factory=dict)  # JSON: {"ops": "https://..."}
    alert_email_to: str = ""
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    email_from: str = "rivalwatch@localhost"
    digest_to: str = ""
    digest_at: str = "08:00"
    timezone: str = "UTC"
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    deliver_tick_s: float = Field(default=0.25, gt=0)  # well under the Slack spacing: no slot missed
    delivery_lease_s: int = Field(default=180, ge=5)
    delivery_max_age_s: int = Field(default=24 * 3600, ge=60)
    delivery_retry_base_s: float = Field(default=5.0, gt=0)
    delivery_retry_max_s: float = Field(default=900.0, gt=0)
    delivery_group_max: int = Field(default=10, ge=1, le=20)
    delivery_probe_broken_s: int = Field(default=900, ge=10)
    slack_min_interval_s: float = Field(default=1.0, ge=0)  # Slack allows about 1 message/s per webhook
    poll_once_deliver_timeout_s: float = Field(default=60.0, ge=0)

    # Fetching.
    fetch_allow_cidrs: str = ""
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    fetch_deadline_s: float = Field(default=30.0, gt=0)
    fetch_max_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    fetch_per_host_concurrency: int = Field(default=2, ge=1)
    fetch_user_agent: str = "rivalwatch/0.1 (competitive-intelligence feed reader)"

    # Polling.
    poll_interval_s: int = Field(default=900, ge=1)
    poll_min_interval_s: int = Field(default=60, ge=1)
    poll_max_interval_s: int = Field(default=6 * 3600, ge=1)
    poll_max_backoff_s: int = Field(default=4 * 3600, ge=1)
    poll_concurrency: int = Field(default=16, ge=1)
    poll_lease_s: int = Field(default=120, ge=5)
    poll_startup_spread_s: int = Field(default=120, ge=0)
    tick_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=20.0, ge=0)

    # Parsing.
    max_entries_per_feed: int = Field(default=2000, ge=1)
    max_title_chars: int = Field(default=1000, ge=16)
    max_text_chars: int = Field(default=20000, ge=64)
    story_window_days: int = Field(default=14, ge=1)
    max_item_age: int = 3 * 86400  # seconds; "3d", "12h"; 0 = no limit (see service.alerts.age)

    # Service.
    api_enabled: bool = True
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8787, ge=0, le=65535)
    # Writes from the console (feedback) when it listens beyond this machine: the token a person
    # signs in with, or the header a reverse proxy sets to the user it authenticated.
    api_token: SecretStr | None = None
    api_user_header: str | None = None
    api_trusted_proxies: str = ""  # addresses whose user header is believed (default: this machine)
    # Host names the API answers to when it listens beyond this machine ("" answers any): a page
    # whose name a DNS trick points at the console cannot then read it through a browser.
    api_allowed_hosts: str = ""
    # The console's address as the team opens it (https://rivalwatch.example.com): messages link
    # each story to its alert page there. Unset: no such link.
    console_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    metrics_per_feed: bool = True  # false: per-feed series folded into feed="all" (thousands of feeds)

    @field_validator("max_item_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return seconds_from(value, expected="a duration such as '3d' or '12h', or 0 for no limit")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("digest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError("must be a local time such as 08:00")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @field_validator("fetch_allow_cidrs", "api_trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"{part!r} is not an address range") from exc
        return value

    @field_validator("api_allowed_hosts")
    @classmethod
    def _host_names(cls, value: str) -> str:
        for part in _split(value):
            if not _HOST_NAME.fullmatch(part):
                raise ValueError(f"{part!r} is not a host name (e.g. rivalwatch.example.com, *.example.com)")
        return value

    @field_validator("digest_to", "alert_email_to")
    @classmethod
    def _envelope_addresses(cls, value: str) -> str:
        for part in _split(value):
            if not ENVELOPE_ADDRESS.fullmatch(part):
                raise ValueError(
                    f"{part!r} is not an address: separate addresses with commas and write each as "
                    "name@domain (no display name; an international domain in its xn-- form)"
                )
        return value

    @field_validator("smtp_username", "smtp_password")
    @classmethod
    def _ascii_credentials(cls, value: str | SecretStr | None) -> str | SecretStr | None:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is not None and not text.isascii():
            # The value itself is never repeated: it may be a password.
            raise ValueError("must be ASCII: the SMTP login sends it as ASCII, so no server could accept it")
        return value

    @field_validator("console_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) address such as https://rivalwatch.example.com")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _lease_outlasts_a_fetch(self) -> Self:
        # A lease shorter than one fetch would let a second poller take a feed mid-poll.
        if self.poll_lease_s < self.fetch_deadline_s + 5:
            raise ValueError("poll_lease_s must exceed fetch_deadline_s by at least 5 seconds")
        # A send may take the SMTP deadline (4 timeouts); a shorter lease would let a second
        # worker send the same message while the first one still waits.
        if self.smtp_host and self.delivery_lease_s < 4 * self.smtp_timeout_s + 10:
            raise ValueError("delivery_lease_s must exceed 4 x smtp_timeout_s by at least 10 seconds")
        if self.poll_min_interval_s > self.poll_max_interval_s:
            raise ValueError("poll_min_interval_s must not exceed poll_max_interval_s")
        return self

    @cached_property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.api_trusted_proxies)

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return tuple(_split(self.api_allowed_hosts))

    @cached_property
    def allow_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.fetch_allow_cidrs)

    @property
    def digest_recipients(self) -> list[str]:
        return _mailboxes(self.digest_to)

    @property
    def alert_email_recipients(self) -> list[str]:
        return _mailboxes(self.alert_email_to)

    def secrets(self) -> list[str]:
        """Secret values to scrub from logs and error messages (the database password too)."""
        candidates = [
            self.slack_webhook_url,
            self.smtp_password,
            self.api_token,
            *self.slack_webhooks.values(),
            *self.webhooks.values(),
        ]
        found = [s.get_secret_value() for s in candidates if s is not None and s.get_secret_value()]
        return found + _url_passwords(self.database_url)


def _url_passwords(url: str) -> list[str]:
    """The password in a database URL, as written and decoded (``%40`` is ``@``). Read with the
    standard library: SQLAlchemy's parser would cost every command its import."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return sorted({password, unquote(password)}) if password else []


def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated list of CIDR ranges (host bits allowed)."""
    return tuple(ipaddress.ip_network(part, strict=False) for part in _split(value))


_HOST_NAME = re.compile(r"(\*\.)?[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]")
"""A name or address as a Host header carries it, or ``*.`` and a domain (any of its names)."""


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _mailboxes(value: str) -> list[str]:
    """The addresses of a comma-separated list, each once (ignoring case), in the order written."""
    unique: dict[str, str] = {}
    for address in _split(value):
        unique.setdefault(address.casefold(), address)
    return list(unique.values())


def _describe(err: Any) -> str:
    field = "_".join(str(p) for p in err["loc"]).upper()
    where = f"{ENV_PREFIX}{field}: " if field else ""
    return f"{where}{err['msg'].removeprefix('Value error, ')}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from ``overrides``, the environment and the config file (each winning over
    the next), the file named by the overrides' ``config_file`` when given (None: no file), else
    by the environment; every invalid value is reported at once as a ConfigError."""
    from_env = environment_values(os.environ)
    config_file = overrides.get("config_file", from_env.get("config_file"))  # None: no file
    from_file = _file_values(Path(config_file)) if config_file else {}
    values, problems = settings_input(from_env, from_file, overrides)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems += [Problem("settings", 0, _describe(err)) for err in exc.errors()]
        raise ConfigError(problems) from None  # the error's own text would show the values
    if problems:
        raise ConfigError(problems)
    return settings


_JSON_FIELDS = frozenset(
    name for name, field in Settings.model_fields.items() if get_origin(field.annotation) is dict
)
"""Settings that hold a mapping: the environment spells them as a JSON object."""


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings the environment sets, by field name: ``RIVALWATCH_<NAME>`` in any case.
    Other ``RIVALWATCH_*`` variables (the test suite's own, say) are not settings and are left."""
    values: dict[str, str] = {}
    for key, value in environ.items():
        name = key.lower().removeprefix(ENV_PREFIX.lower())
        if len(name) < len(key) and name in Settings.model_fields:
            values[name] = value
    return values


def settings_input(
    from_env: Mapping[str, str], from_file: Mapping[str, Any], overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """What ``Settings`` is built from: the file's values, then the environment's, then the
    overrides, each winning over the one before (a mapping too: the one that wins is the whole
    setting, never merged with the others); and the problems found on the way. A mapping from
    the environment is read as JSON, ``null`` leaving it unset; one that is not JSON is a problem
    that leaves the setting out and never shows its text, which may hold webhook addresses."""
    decoded: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, raw in from_env.items():
        if name not in _JSON_FIELDS:
            decoded[name] = raw
            continue
        try:
            if (value := json.loads(raw)) is not None:
                decoded[name] = value
        except json.JSONDecodeError as exc:
            # the place only: json's own words may quote a character of the text
            problems.append(_not_json(name, f"at line {exc.lineno} column {exc.colno}"))
        except RecursionError:
            problems.append(_not_json(name, "nested too deeply"))
    return {**from_file, **decoded, **overrides}, problems


def _not_json(name: str, why: str) -> Problem:
    example = '{"name": "https://..."}'
    return Problem(
        "settings", 0, f"{ENV_PREFIX}{name.upper()}: not JSON ({why}); write an object such as {example}"
    )


def _file_values(path: Path) -> dict[str, Any]:
    """The optional YAML config file's settings, keys in lower case."""
    import yaml  # only with a config file: ~8 ms of every command's start-up (bench `cli`)

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), 0, f"cannot read config file: {exc}")]) from None
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        from service.yamlfile import syntax_problem

        # PyYAML's words may quote the file (an alias or tag name), which here may be a
        # password: the line only.
        line = syntax_problem(exc, str(path), text).line
        message = "invalid YAML (the text is not shown: it may hold a secret)"
        raise ConfigError([Problem(str(path), line, message)]) from None
    if not isinstance(loaded, dict):
        raise ConfigError([Problem(str(path), 1, "config file must be a mapping of settings")])
    return {str(k).lower(): v for k, v in loaded.items()}
