"""Helpers to drive the delivery outbox in-process on a fake clock.

- :class:`FakeClock` is one clock for everything that tells time in a delivery round: the
  worker's ``clock`` (a UTC datetime), the Slack pacer's monotonic ``now`` and ``sleep`` (a
  pacer sleep advances the clock instead of waiting) and the receiver's arrival stamps.
- :func:`write_acme_rules` writes a rules directory with one keyword rule (``acme``) that
  routes to the given channels, and the feed declaration; :func:`ingest` polls every feed
  once through the real pipeline (fetch, parse, match, store, enqueue) without delivering.
- :func:`make_worker` builds an :class:`OutboxWorker` whose notifiers use the fake clock.
- :func:`run_rounds` runs bounded worker rounds, jumping the clock to the next due message
  when a round did nothing.
- :class:`ProgrammableSlack` is a :class:`SlackReceiver` whose answer is computed per request
  (rate limit, outage, payload limits) before the FIFO script is consulted.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.config import Settings
from service.notify.channels import Notifiers
from service.notify.mail import DigestNotifier, EmailNotifier
from service.notify.pacing import Pacer
from service.notify.slack import SlackNotifier
from service.notify.smtp import SmtpSender
from service.notify.webhook import JsonWebhookNotifier
from service.notify.webhook_client import WebhookClient
from service.notify.worker import OutboxWorker, RoundResult
from service.pipeline import PollOutcome
from service.runtime import open_runtime
from service.store import channel_state, db, outbox
from service.store.tables import deliveries
from tests.support.httpserver import RecordedRequest, Reply
from tests.support.service import write_feeds
from tests.support.slack import Answer, SlackReceiver, rate_limited


class FakeClock:
    """Wall-clock and monotonic time that move only when advanced (or slept on)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start if start is not None else datetime.now(UTC) + timedelta(seconds=1)
        self._offset_s = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._offset_s)

    def mono(self) -> float:
        return 1000.0 + self._offset_s

    def advance(self, seconds: float) -> None:
        self._offset_s += max(0.0, seconds)

    def advance_to(self, when: datetime) -> None:
        self.advance((when - self.now()).total_seconds())

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


ACME_RULE = "Acme watch"


def write_acme_rules(
    rules_dir: Path, feed_url: str, *, notify: Sequence[str] | None, name: str = ACME_RULE
) -> Path:
    """A rules directory: one rule matching ``Acme`` that notifies ``notify``, one feed."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    notify_line = "" if notify is None else f"    notify: [{', '.join(notify)}]\n"
    (rules_dir / "acme.yaml").write_text(
        f"rules:\n  - id: acme\n    name: {name}\n    match: Acme\n    severity: high\n{notify_line}",
        encoding="utf-8",
    )
    write_feeds(rules_dir, [("wire", feed_url)])
    return rules_dir


def acme_items(count: int, *, prefix: str = "acme") -> list[tuple[str, str, str]]:
    """Distinct stories that the acme rule matches: (title, link, description)."""
    subjects = ["battery", "factory", "pricing", "export", "software", "recall", "merger", "dealer"]
    return [
        (
            f"Acme {subjects[i % len(subjects)]} update number {i} in region {i * 7919 % 1000}",
            f"https://news.example.test/{prefix}-{i}.html",
            f"Acme Corporation announced change {i} concerning its {subjects[i % len(subjects)]} plans "
            f"for market {i * 31}.",
        )
        for i in range(count)
    ]


def rss_without_guid(items: Iterable[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(u)}</link><description>{escape(d)}</description></item>"
        for t, u, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test news</title>'
        f"<link>https://news.example.test/</link><description>x</description>{entries}</channel></rss>"
    ).encode()


async def ingest(settings: Settings) -> list[PollOutcome]:
    """Poll every declared feed once (alerts and outbox rows stored), deliver nothing."""
    async with open_runtime(settings) as rt:
        return await rt.scheduler.poll_all_once()


def make_worker(
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    *,
    owner: str = "worker-1",
    smtp: SmtpSender | None = None,
    seed: int = 7,
    own_clients: bool = False,
) -> tuple[OutboxWorker, Notifiers]:
    """A worker on ``clock``; the Slack pacer sleeps on it too. Close the notifiers after. With
    ``own_clients`` the webhook channels make their HTTP clients as the service does (deadlines
    from the settings); by default they get clients with 5 s limits, Slack's paced on ``clock``."""
    if smtp is None and settings.smtp_host:
        smtp = SmtpSender.from_settings(settings.model_copy(update={"smtp_timeout_s": 5.0}))
    pacer = Pacer(now=clock.mono, sleep=clock.sleep)
    slack = (
        None
        if own_clients
        else WebhookClient(receiver="slack", expected_body="ok", pacer=pacer, timeout_s=5.0, deadline_s=5.0)
    )
    webhook = None if own_clients else WebhookClient(receiver="webhook", timeout_s=5.0, deadline_s=5.0)
    notifiers = Notifiers.from_settings(
        settings,
        write=lambda _text: None,
        replace={
            "slack": SlackNotifier(settings, client=slack),
            "webhook": JsonWebhookNotifier(settings, client=webhook),
            "email": EmailNotifier(settings, smtp),
            "digest": DigestNotifier(settings, smtp),
        },
    )
    worker = OutboxWorker(
        engine=engine,
        notifiers=notifiers,
        settings=settings,
        owner=owner,
        clock=clock.now,
        rng=random.Random(seed),
    )
    return worker, notifiers


def claim_as(engine: Engine, settings: Settings, clock: FakeClock, *, owner: str) -> list[outbox.Claimed]:
    """Claim what is due the way a worker ``owner`` would, and do nothing more (it "dies")."""

    def claim(conn: sa.Connection) -> list[outbox.Claimed]:
        return outbox.claim(
            conn,
            owner=owner,
            now=clock.now(),
            lease=timedelta(seconds=settings.delivery_lease_s),
            group_max=settings.delivery_group_max,
            spacing=lambda _channel: timedelta(0),
        )

    return db.run_transaction(engine, claim)


async def run_rounds(
    worker: OutboxWorker,
    clock: FakeClock,
    engine: Engine,
    *,
    max_rounds: int,
    idle_step_s: float = 1.0,
    until: Callable[[], bool] | None = None,
) -> tuple[RoundResult, int]:
    """Bounded rounds: run one; if it attempted nothing, jump to the next due message (or stop).

    Returns the summed result and how many rounds ran.
    """
    total = RoundResult()
    for done in range(1, max_rounds + 1):
        result = await worker.run_once()
        total.add(result)
        if until is not None and until():
            return total, done
        if result.attempted == 0:
            with engine.connect() as conn:
                due = outbox.next_due(conn)
            if due is None:
                return total, done
            clock.advance(max(idle_step_s, (due - clock.now()).total_seconds()))
    return total, max_rounds


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(deliveries).order_by(deliveries.c.id))]


def health(engine: Engine, clock: FakeClock) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {h["name"]: h for h in channel_state.channel_health(conn, now=clock.now())}


@dataclass
class GcraLimit:
    """Slack's limit as the receiver enforces it: ``rate_per_s`` with a burst of ``burst``."""

    rate_per_s: float = 1.0
    burst: int = 3
    _tat: float | None = None

    def admit(self, now: float) -> bool:
        interval = 1.0 / self.rate_per_s
        tat = now if self._tat is None else max(self._tat, now)
        if tat - now > (self.burst - 1) * interval + 1e-9:
            return False
        self._tat = tat + interval
        return True


class ProgrammableSlack(SlackReceiver):
    """A scripted receiver whose answer may also come from ``decide(payload, now)`` per request.

    ``decide`` returning None falls back to the FIFO script (then ``200 ok``). ``limit`` makes
    the receiver enforce a rate limit: a request over it gets ``429 Retry-After: 1``.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        decide: Callable[[Any, float], Answer | None] | None = None,
        limit: GcraLimit | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(clock=clock, **({"path": path} if path else {}))
        self.decide = decide
        self.limit = limit
        self.throttled = 0

    def _answer(self, request: RecordedRequest) -> Reply:
        from tests.support.slack import _parse, _request_body

        body: bytes = getattr(_request_body, "value", b"")
        now = self._clock()
        forced: Answer | None = None
        if self.limit is not None and not self.limit.admit(now):
            forced = rate_limited("1")
            self.throttled += 1
        elif self.decide is not None:
            forced = self.decide(_parse(body), now)
        if forced is not None:
            with self._lock:
                self._script.appendleft(forced)
        return super()._answer(request)


def slack_limit_violation(payload: Any) -> str | None:
    """Why Slack would answer 400 to this payload (its published limits), or None."""
    if not isinstance(payload, dict) or not str(payload.get("text") or "").strip():
        return "no_text"
    blocks = payload.get("blocks") or []
    if len(blocks) > 50:
        return "invalid_blocks: more than 50 blocks"
    for block in blocks:
        if block.get("type") == "header" and _utf16(block["text"]["text"]) > 150:
            return "invalid_blocks: header over 150"
        texts = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        for text in texts:
            if isinstance(text, dict) and _utf16(str(text.get("text", ""))) > 3000:
                return "invalid_blocks: text over 3000"
    return None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def limits_enforced(payload: Any, _now: float) -> Answer | None:
    reason = slack_limit_violation(payload)
    return None if reason is None else Answer(400, reason.split(":")[0])
