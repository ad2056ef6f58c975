"""When a channel breaks and the user fixes it: what they do, and what they then see.

A wrong setting (STARTTLS required by a server that offers none) or a receiver that refuses
(Slack's 404) breaks a channel and holds its messages. Fixing the setting and starting the
service again, running ``channels retry`` or ``digest --send`` sends them at once — not when
the next scheduled probe comes round — and a retried digest goes out once, with its stories,
and no empty one after it. Muting something that does not exist is refused. The real
``rivalwatch`` command runs against a loopback SMTP server or Slack receiver, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.config import Settings
from service.store import channel_state
from service.store.tables import deliveries
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import FakeClock, acme_items, health, ingest, make_worker, rows, write_acme_rules
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, shipped_rules, test_settings
from tests.support.slack import SlackReceiver, channel_not_found
from tests.support.smtp import ScriptedSmtpServer, scripted_smtp

pytestmark = pytest.mark.timeout(180)

FROM = "rivalwatch@example.test"
TEAM = "team@example.test"
STORY = (
    "Nissan trims its China electric line-up to eight new-energy models",
    "https://news.example.test/nissan-eight-nevs",
    "Nissan now plans eight new-energy vehicles for China instead of the earlier target, the "
    "company said, as price competition with BYD and other local makers intensifies.",
)


def smtp_env(db_url: str, rules: Path, server: ScriptedSmtpServer, **extra: str) -> dict[str, str]:
    """The environment of a user whose SMTP server offers no STARTTLS; STARTTLS is left at its
    default (required) unless ``extra`` says otherwise."""
    return service_env(
        db_url,
        rules,
        RIVALWATCH_SMTP_HOST=server.host,
        RIVALWATCH_SMTP_PORT=str(server.port),
        RIVALWATCH_EMAIL_FROM=FROM,
        RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S="60",
        **extra,
    )


async def email_broken_by_starttls(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, server: ScriptedSmtpServer
) -> tuple[Settings, FakeClock]:
    """One alert for the ``email`` channel, sent once with STARTTLS wrongly required: held.
    The clock returned stands still at that moment, so later real processes come after it."""
    feed.route("/f.xml", body=rss_items(*acme_items(1)))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["email"])
    wrong = test_settings(
        db_url,
        rules,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_starttls=True,
        alert_email_to=TEAM,
        email_from=FROM,
    )
    await ingest(wrong)
    clock = FakeClock(datetime.now(UTC))
    worker, notifiers = make_worker(engine, wrong, clock)
    try:
        assert (await worker.run_once()).held == 1
    finally:
        await notifiers.aclose()
    assert "STARTTLS" in health(engine, clock)["email"]["broken"]
    return wrong, clock


async def test_a_channel_broken_by_a_wrong_setting_recovers_at_start_up_once_the_setting_is_fixed(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer
) -> None:
    with scripted_smtp() as server:
        wrong, clock = await email_broken_by_starttls(db_url, engine, tmp_path, feed, server)
        env = smtp_env(db_url, wrong.rules_dir, server, RIVALWATCH_ALERT_EMAIL_TO=TEAM)
        listed = rivalwatch("channels", "list", env=env)
        assert "BROKEN" in listed.stdout and "STARTTLS" in listed.stdout
        assert "to probe it now: rivalwatch channels retry email" in listed.stdout

        started = time.monotonic()
        polled = rivalwatch("poll", "--once", env=env | {"RIVALWATCH_SMTP_STARTTLS": "false"})
        elapsed_s = time.monotonic() - started
        received = server.received
    assert polled.returncode == 0, polled.stderr[-2000:]
    assert "channel_probe_due" in polled.stderr
    assert len(received) == 1 and received[0].rcpt_tos == (TEAM,)
    assert [r["state"] for r in rows(engine)] == ["sent"]
    assert health(engine, clock)["email"]["broken"] is None
    assert elapsed_s < 30  # the probe did not wait for RIVALWATCH_DELIVERY_PROBE_BROKEN_S (900 s)


async def test_a_process_with_changed_settings_probes_a_broken_channel_at_once_and_one_with_the_same_waits(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer
) -> None:
    with scripted_smtp() as server:
        wrong, clock = await email_broken_by_starttls(db_url, engine, tmp_path, feed, server)
        same, same_notifiers = make_worker(engine, wrong, clock, owner="same-settings")
        fixed_settings = wrong.model_copy(update={"smtp_starttls": False})
        fixed, fixed_notifiers = make_worker(engine, fixed_settings, clock, owner="fixed-settings")
        try:
            assert same.probe_broken(every=False) == []
            assert (await same.run_once()).attempted == 0  # the probe is 900 s away
            assert fixed.probe_broken(every=False) == ["email"]
            assert (await fixed.run_once()).sent == 1
        finally:
            await same_notifiers.aclose()
            await fixed_notifiers.aclose()
        assert len(server.received) == 1
    with engine.connect() as conn:
        assert channel_state.broken_channels(conn) == []


def test_a_receiver_fixed_on_its_side_gets_the_held_messages_when_the_service_starts_again(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer
) -> None:
    feed.route("/f.xml", body=rss_items(*acme_items(2)))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["slack"])
    with SlackReceiver() as slack:
        env = service_env(db_url, rules, RIVALWATCH_SLACK_WEBHOOK_URL=slack.url)
        slack.script(channel_not_found())
        assert rivalwatch("poll", "--once", env=env).returncode == 0
        assert {r["state"] for r in rows(engine)} == {"held"}
        again = rivalwatch("poll", "--once", env=env)  # same settings: only the start probes
        received = len(slack.received)
    assert again.returncode == 0 and "reason=start-up" in again.stderr
    assert {r["state"] for r in rows(engine)} == {"sent"} and received == 3  # refused, probe, rest


def test_channels_retry_sends_the_held_messages_now(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer, clock: FakeClock
) -> None:
    items = acme_items(3)
    feed.route("/f.xml", body=rss_items(*items))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["slack"])
    with SlackReceiver() as slack:
        env = service_env(
            db_url,
            rules,
            RIVALWATCH_SLACK_WEBHOOK_URL=slack.url,
            RIVALWATCH_SLACK_MIN_INTERVAL_S="0",
            RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S="30",
        )
        slack.script(channel_not_found(), channel_not_found())  # the channel was deleted...
        polled = rivalwatch("poll", "--once", env=env)
        assert polled.returncode == 0, polled.stderr[-2000:]
        assert {r["state"] for r in rows(engine)} == {"held"}

        still = rivalwatch("channels", "retry", "slack", env=env)
        assert still.returncode == 1, still.stderr[-2000:]
        assert "slack: still broken: " in still.stdout and "channel_not_found" in still.stdout
        assert "3 held" in still.stdout and len(slack.received) == 2  # one probe only

        # ... and is back: the probe goes through, then the rest.
        started = time.monotonic()
        fixed = rivalwatch("channels", "retry", "slack", env=env)
        elapsed_s = time.monotonic() - started
        unknown = rivalwatch("channels", "retry", "slak", env=env)
        received = [r.body for r in slack.received[2:]]
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "slack: 3 sent" in fixed.stdout and "slack: works" in fixed.stdout
    assert elapsed_s < 20
    assert {r["state"] for r in rows(engine)} == {"sent"}
    assert {u: sum(u.encode() in b for b in received) for _, u, _ in items} == {u: 1 for _, u, _ in items}
    assert unknown.returncode == 2 and "unknown channel 'slak'" in unknown.stderr
    assert "did you mean 'slack'" in unknown.stderr


def test_retrying_the_digest_sends_the_real_digest_once_and_no_empty_one(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer
) -> None:
    feed.route("/f.xml", body=rss_items(STORY))
    rules = shipped_rules(tmp_path / "rules", [("wire", feed.url("/f.xml"))])
    with scripted_smtp() as server:
        env = smtp_env(db_url, rules, server, RIVALWATCH_DIGEST_TO=TEAM)
        polled = rivalwatch("poll", "--once", env=env)
        assert polled.returncode == 0, polled.stderr[-2000:]

        refused = rivalwatch("digest", "--send", env=env)  # STARTTLS required, none offered
        assert refused.returncode == 1
        assert "digest: 1 stories" in refused.stdout and "0 sent" in refused.stdout
        assert "digest: still broken: " in refused.stdout and "STARTTLS" in refused.stdout
        assert not server.received

        started = time.monotonic()
        sent = rivalwatch("digest", "--send", env=env | {"RIVALWATCH_SMTP_STARTTLS": "false"})
        elapsed_s = time.monotonic() - started
        again = rivalwatch("digest", "--send", env=env | {"RIVALWATCH_SMTP_STARTTLS": "false"})
        received = server.received
    assert sent.returncode == 0, sent.stdout + sent.stderr[-2000:]
    assert "nothing new since the digest already waiting" in sent.stdout and "1 sent" in sent.stdout
    assert elapsed_s < 20  # probed at once, not after RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S
    # Nothing held any more: a digest asked for by hand with nothing new says so, as before.
    assert again.returncode == 0 and "digest: 0 stories" in again.stdout
    first, nothing_new = (m.message for m in received)
    assert STORY[1] in first.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert STORY[1] not in nothing_new.get_body(("html",)).get_content()  # type: ignore[union-attr]
    with engine.connect() as conn:
        digest_rows = conn.execute(sa.select(deliveries.c.state).where(deliveries.c.channel == "digest"))
        assert list(digest_rows.scalars()) == ["sent", "sent"]


def test_muting_an_unknown_rule_or_channel_is_refused(db_url: str, engine: Engine, tmp_path: Path) -> None:
    rules = shipped_rules(tmp_path / "rules", [("wire", "http://127.0.0.1:9/f.xml")])
    env = service_env(db_url, rules, RIVALWATCH_SLACK_WEBHOOK_URL="http://127.0.0.1:9/hook")
    with engine.begin() as conn:  # a channel that had messages once, no longer configured
        channel_state.ensure_channels(conn, ["webhook:ops"], now=FakeClock().now())

    typo_rule = rivalwatch("channels", "mute", "rule:teslaa", "--for", "2h", env=env)
    typo_channel = rivalwatch("channels", "mute", "channel:slak", "--for", "2h", env=env)
    assert typo_rule.returncode == 2 and "unknown or disabled rule 'teslaa'" in typo_rule.stderr
    assert "did you mean 'tesla'" in typo_rule.stderr
    assert typo_channel.returncode == 2 and "unknown channel 'slak'" in typo_channel.stderr
    assert "did you mean 'slack'" in typo_channel.stderr
    assert "0 active mutes" in rivalwatch("channels", "mutes", env=env).stdout

    for target in ("rule:tesla", "channel:slack", "channel:webhook:ops"):
        muted = rivalwatch("channels", "mute", target, "--for", "2h", env=env)
        assert muted.returncode == 0, muted.stderr
    assert "3 active mutes" in rivalwatch("channels", "mutes", env=env).stdout


def test_configured_channels_are_listed_before_their_first_message(tmp_path: Path) -> None:
    rules = write_acme_rules(tmp_path / "rules", "https://news.example.test/feed.xml", notify=["slack"])
    env = service_env(
        f"sqlite:///{tmp_path}/rw.db",
        rules,
        RIVALWATCH_SLACK_WEBHOOK_URL="http://127.0.0.1:9/services/T0/B0/default",
        RIVALWATCH_SLACK_WEBHOOKS='{"pricing": "http://127.0.0.1:9/services/T0/B0/pricing"}',
        RIVALWATCH_WEBHOOKS='{"ops": "http://127.0.0.1:9/hook"}',
    )
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    listed = rivalwatch("channels", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert list(rows) == ["slack", "slack:pricing", "webhook:ops"]  # no digest: no SMTP set
    assert all(r["queue_depth"] == 0 and r["broken"] is None for r in rows.values())
    text = rivalwatch("channels", "list", env=env).stdout
    assert "slack:pricing" in text and "services/T0" not in text  # names, never the URLs
