"""Hostile feed text end to end (reliability D1-D8) and secrets in debug logs (E1).

A loopback feed with hostile titles and links is polled through the real pipeline with
``poll_once`` (fetch, parse, match, store, outbox, deliver); the Slack receiver checks every
payload against Slack's published limits (answering 400 like Slack when one is broken) and
the scripted SMTP server keeps every email. Then the payloads are checked to be inert.
"""

from __future__ import annotations

import json
import re
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from service.runtime import poll_once
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import (
    ProgrammableSlack,
    limits_enforced,
    rows,
    slack_limit_violation,
    write_acme_rules,
)
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, test_settings
from tests.support.slack import WEBHOOK_PATH, SlackReceiver, server_error
from tests.support.smtp import Received, SmtpScript, scripted_smtp

pytestmark = pytest.mark.timeout(120)

TEAM = "team@example.test"
FROM = "rivalwatch@example.test"
EVIL = "<https://evil.example|https://bank.example>"
BIDI = "\u202e"
ZERO_WIDTH = "\u200b"

# (marker, title, link): each marker starts its title, so each story can be found again.
HOSTILE = [
    ("d1", "d1 Acme <!channel> <!here> <@U123> <!subteam^S1> price cut", "https://news.example.test/d1"),
    ("d2", f"d2 Acme login moved to {EVIL} today", "https://news.example.test/d2"),
    ("d3", "d3 Acme buys AT&T stake", "https://news.example.test/d3"),
    ("d4", "d4 Acme " + "very long headline " * 526, "https://news.example.test/d4"),
    ("d5", "d5 Acme Re: x\r\nBcc: victim@example.com", "https://news.example.test/d5"),
    ("d6", "d6 Acme <script>alert(1)</script> <img src=x onerror=alert(1)>", "javascript:alert(1)"),
    ("d7a", "d7a Acme item with a data link", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    ("d7b", "d7b Acme item with a relative link", "/relative/acme-d7b.html"),
    ("d8", f"d8 Acme {BIDI}gnp.exe{BIDI} zero{ZERO_WIDTH}width", "https://news.example.test/d8"),
]


def _by_marker(mails: list[Received]) -> dict[str, EmailMessage]:
    found: dict[str, EmailMessage] = {}
    for mail in mails:
        subject = str(mail.message["Subject"])
        for marker, _, _ in HOSTILE:
            if re.search(rf"\b{marker}\b", subject):
                found[marker] = mail.message
    return found


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_hostile_titles_and_links_arrive_inert_in_slack_and_email(
    db_url: str, engine: Engine, tmp_path: Path, feed: LoopbackHTTPServer
) -> None:
    assert len(HOSTILE[3][1]) > 10_000
    feed.route(
        "/f.xml", body=rss_items(*[(title, link, f"{title} body text.") for _, title, link in HOSTILE])
    )
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["slack", "email"])
    with ProgrammableSlack(clock=time.monotonic, decide=limits_enforced) as slack, scripted_smtp() as smtp:
        settings = test_settings(
            db_url,
            rules,
            slack_webhook_url=slack.url,
            slack_min_interval_s=0,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_starttls=False,
            alert_email_to=TEAM,
            email_from=FROM,
            poll_once_deliver_timeout_s=30,
            console_url="https://rivalwatch.example.test/",
        )
        (outcome,) = await poll_once(settings)
        received = slack.received
        mails = smtp.received
    assert outcome.alerts == len(HOSTILE), outcome
    alert_ids = {r["alert_ids"][0] for r in rows(engine) if r["channel"] == "slack"}
    linked = {
        int(n)
        for r in received
        for n in re.findall(r"rivalwatch\.example\.test/alert/(\d+)\|In rivalwatch>", r.body.decode())
    }
    assert linked == alert_ids  # every story links its alert page in the console
    # D4: nothing broke Slack's limits (the receiver answers 400 like Slack if one is broken)
    assert {(r["channel"], r["state"]) for r in rows(engine)} == {("slack", "sent"), ("email", "sent")}
    assert [slack_limit_violation(r.payload) for r in received] == [None] * len(received)

    slack_text = "\n".join(r.body.decode() for r in received)
    for marker, _, _ in HOSTILE:
        assert re.search(rf"\b{marker}\b", slack_text), marker
    assert "<!" not in slack_text and "<@" not in slack_text  # D1: nobody pinged
    assert "&lt;@U123&gt;" in slack_text  # the mention that survived parsing is shown as text
    assert "<https://evil" not in slack_text and "|https://bank.example>" not in slack_text  # D2
    assert "AT&amp;T" in slack_text and "AT&amp;amp;T" not in slack_text  # D3: shows AT&T
    assert "<javascript:" not in slack_text and "<data:" not in slack_text  # D6, D7
    assert "<script" not in slack_text
    assert BIDI not in slack_text and ZERO_WIDTH not in slack_text  # D8
    assert "\\u202e" not in slack_text.lower() and "\\u200b" not in slack_text.lower()

    assert all(m.rcpt_tos == (TEAM,) for m in mails)  # D5: nobody added to the envelope
    by_marker = _by_marker(mails)
    assert set(by_marker) == {m for m, _, _ in HOSTILE} and len(mails) == len(HOSTILE)
    for marker, message in by_marker.items():
        assert len(message.get_all("Subject") or []) == 1, marker
        assert message.get_all("Bcc") is None, marker
        html = _html(message)
        assert "<script" not in html.lower() and "<img" not in html.lower(), marker
        hrefs = re.findall(r"""href\s*=\s*["']?([^"'\s>]+)""", html, flags=re.IGNORECASE)
        assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), (marker, hrefs)
        assert BIDI not in str(message["Subject"]) and ZERO_WIDTH not in str(message["Subject"]), marker
        assert BIDI not in html and ZERO_WIDTH not in html, marker
    assert "Bcc" not in by_marker["d5"]
    assert "alert(1)" not in _html(by_marker["d6"]).replace("&", "")  # D6: the markup was dropped
    assert "AT&T" in str(by_marker["d3"]["Subject"]) and "AT&amp;T" in _html(by_marker["d3"])
    assert "AT&amp;amp;T" not in _html(by_marker["d3"]) and "AT&amp;T" not in _text(by_marker["d3"])
    assert "javascript:" not in _html(by_marker["d6"]).lower()
    assert "data:text/html" not in _html(by_marker["d7a"])
    assert feed.url("/relative/acme-d7b.html") in _html(by_marker["d7b"])  # D7: resolved
    assert len(str(by_marker["d4"]["Subject"])) < 1000


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_debug_logs_of_a_poll_never_show_the_webhook_url_or_the_smtp_password(
    tmp_path: Path, feed: LoopbackHTTPServer, log_format: str
) -> None:
    password = "hunter2-SMTP-SECRET"
    feed.route("/f.xml", body=rss_items(("Acme opens a plant", "https://news.example.test/e1", "Acme body.")))
    rules = write_acme_rules(tmp_path / "rules", feed.url("/f.xml"), notify=["slack", "email"])
    script = SmtpScript(credentials=("rw", password), data=["451 4.3.0 try later"])
    with SlackReceiver() as slack, scripted_smtp(script) as smtp:
        slack.script(server_error())
        env = service_env(
            f"sqlite:///{tmp_path}/rw.db",
            rules,
            RIVALWATCH_LOG_LEVEL="DEBUG",
            RIVALWATCH_LOG_FORMAT=log_format,
            RIVALWATCH_SLACK_WEBHOOK_URL=slack.url,
            RIVALWATCH_SLACK_MIN_INTERVAL_S="0",
            RIVALWATCH_SMTP_HOST=smtp.host,
            RIVALWATCH_SMTP_PORT=str(smtp.port),
            RIVALWATCH_SMTP_STARTTLS="false",
            RIVALWATCH_SMTP_USERNAME="rw",
            RIVALWATCH_SMTP_PASSWORD=password,
            RIVALWATCH_ALERT_EMAIL_TO=TEAM,
            RIVALWATCH_EMAIL_FROM=FROM,
            RIVALWATCH_DELIVERY_RETRY_BASE_S="0.2",
            RIVALWATCH_DELIVERY_RETRY_MAX_S="0.4",
            RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S="20",
        )
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        polled = rivalwatch("poll", "--once", env=env)
        posts, mails = len(slack.received), len(smtp.received)
        url = slack.url
    output = polled.stdout + polled.stderr
    assert polled.returncode == 0, output[-3000:]
    assert posts == 2 and mails == 1  # a retry on each channel, so error paths were logged too
    assert "debug" in output.lower() and "delivery_retry" in output
    for secret in (url, WEBHOOK_PATH, "SECRETTOKEN", password):
        assert secret not in output, secret
        assert json.dumps(secret)[1:-1] not in output
