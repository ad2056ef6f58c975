"""The Slack client against a scripted loopback receiver: matrix rows A1-A7 and D1-D4, and secrecy.

Pacing runs on a manual clock (its sleeps advance fake time instantly); the receiver stamps
arrivals with the same clock, so rate assertions are exact and nothing really waits.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

import pytest

from service.errors import (
    ChannelBrokenError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    ThrottledDeliveryError,
)
from service.notify.blocks import render_batch, render_story
from service.notify.classify import REASON_MAX
from service.notify.pacing import Pacer
from service.notify.story import RuleHit, StoryView
from service.notify.webhook_client import WebhookClient
from tests.support.slack import (
    WEBHOOK_PATH,
    Answer,
    ManualClock,
    SlackReceiver,
    archived,
    channel_not_found,
    forbidden,
    invalid_blocks,
    rate_limited,
    reset,
    server_error,
    slow,
)

KEY = "slack:intel"
SECRET = "SECRETTOKEN"
TEXT = {"text": "hello"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[SlackReceiver]:
    with SlackReceiver(clock=clock.now) as receiver:
        yield receiver


def webhook(clock: ManualClock, *, timeout_s: float = 10.0, deadline_s: float = 15.0) -> WebhookClient:
    pacer = Pacer(now=clock.now, sleep=clock.sleep)
    return WebhookClient(
        receiver="slack", expected_body="ok", pacer=pacer, timeout_s=timeout_s, deadline_s=deadline_s
    )


async def failure(client: WebhookClient, url: str, payload: Mapping[str, object] = TEXT) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await client.send(url, payload, key=KEY)
    return caught.value


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


async def test_three_server_errors_are_retryable_then_the_message_is_delivered(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    slack.script(server_error(), server_error(), server_error())
    async with webhook(clock) as client:
        for _attempt in range(3):
            error = await failure(client, slack.url)
            assert type(error) is RetryableDeliveryError and not error.ambiguous
            assert "rollup_error" in str(error) and KEY in str(error)
        await client.send(slack.url, TEXT, key=KEY)
    assert slack.payloads == [TEXT] * 4


async def test_429_is_throttled_for_its_retry_after_and_the_pause_is_left_to_the_outbox(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    slack.script(rate_limited("2"))
    async with webhook(clock) as client:
        error = await failure(client, slack.url)
        assert isinstance(error, ThrottledDeliveryError) and error.retry_after_s == 2.0
        await client.send(slack.url, TEXT, key=KEY)
    assert len(slack.received) == 2


async def test_thirty_messages_are_paced_to_one_a_second_after_a_short_burst(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    async with webhook(clock) as client:
        for i in range(30):
            await client.send(slack.url, {"text": f"alert {i}"}, key=KEY)
    arrivals = [r.arrived_at for r in slack.received]
    assert [p["text"] for p in slack.payloads] == [f"alert {i}" for i in range(30)]
    assert arrivals[-1] - arrivals[0] >= 27.0
    for i in range(len(arrivals)):
        for j in range(i, len(arrivals)):
            assert j - i + 1 <= 3 + (arrivals[j] - arrivals[i]) + 1e-6


async def test_invalid_blocks_is_permanent_with_the_reason(slack: SlackReceiver, clock: ManualClock) -> None:
    slack.script(invalid_blocks())
    async with webhook(clock) as client:
        error = await failure(client, slack.url)
    assert type(error) is PermanentDeliveryError
    assert "invalid_blocks" in str(error)


@pytest.mark.parametrize("answer", [channel_not_found(), archived(), forbidden(), forbidden("invalid_token")])
async def test_a_gone_or_refusing_channel_is_broken(
    slack: SlackReceiver, clock: ManualClock, answer: Answer
) -> None:
    slack.script(answer)
    async with webhook(clock) as client:
        error = await failure(client, slack.url)
    assert type(error) is ChannelBrokenError
    assert answer.body in str(error)


async def test_a_reset_after_the_request_was_sent_is_ambiguous(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    slack.script(reset())
    async with webhook(clock) as client:
        error = await failure(client, slack.url)
        assert type(error) is RetryableDeliveryError and error.ambiguous
        assert "possible duplicate" in str(error)
        await client.send(slack.url, TEXT, key=KEY)  # the next attempt on a fresh connection
    assert slack.payloads == [TEXT, TEXT]  # the receiver did get the first one


@pytest.mark.parametrize("options", [{"timeout_s": 0.3}, {"deadline_s": 0.3}])
async def test_no_answer_in_time_after_sending_is_ambiguous(
    slack: SlackReceiver, clock: ManualClock, options: dict[str, float]
) -> None:
    slack.script(slow(5.0))
    async with webhook(clock, **options) as client:
        error = await failure(client, slack.url)
    assert type(error) is RetryableDeliveryError and error.ambiguous
    assert len(slack.received) == 1


async def test_connection_refused_is_retryable_and_not_ambiguous(clock: ManualClock) -> None:
    async with webhook(clock) as client:
        error = await failure(client, closed_port_url())
    assert type(error) is RetryableDeliveryError and not error.ambiguous
    assert "could not connect" in str(error)


async def test_a_redirect_is_not_followed_and_marks_the_channel_broken(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    slack.script(Answer(302, "", {"Location": slack.url + "/elsewhere"}))
    async with webhook(clock) as client:
        error = await failure(client, slack.url)
    assert type(error) is ChannelBrokenError
    assert len(slack.received) == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/services/T/B/SECRETTOKEN", "SECRETTOKEN", "http://"])
async def test_a_url_that_is_not_http_is_a_broken_channel_and_opens_no_connection(
    slack: SlackReceiver, clock: ManualClock, url: str
) -> None:
    async with webhook(clock) as client:
        error = await failure(client, url)
    assert type(error) is ChannelBrokenError
    assert SECRET not in str(error)
    assert slack.connection_count == 0


def hostile_story(title: str) -> StoryView:
    return StoryView(
        alert_ids=(1,),
        title=title,
        url="https://news.example/a",
        feed="<!here> feed",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        rules=(RuleHit("r1", "BYD <@U123>", "high", ("<!channel>",)),),
        snippet=title,
        highlights=((0, 5),),
        novelty=0.5,
        reason="<!subteam^S1>",
    )


@pytest.mark.parametrize(
    "title",
    [
        "<!channel> <!here> <@U123> <!subteam^S1> BYD price cut",  # D1
        "<https://evil.example|https://bank.example>",  # D2
        "AT&amp;T &lt;b&gt; deal",  # D3
        "<!channel>" * 1000,  # D4
    ],
)
async def test_hostile_titles_arrive_escaped(slack: SlackReceiver, clock: ManualClock, title: str) -> None:
    async with webhook(clock) as client:
        await client.send(slack.url, render_story(hostile_story(title)), key=KEY)
    (received,) = slack.received
    raw = received.body.decode()
    assert "<!" not in raw and "<@" not in raw and "<https://evil" not in raw
    assert received.payload["blocks"][0]["type"] == "header"


async def test_a_burst_of_500_is_sent_as_few_messages(slack: SlackReceiver, clock: ManualClock) -> None:
    messages = render_batch([hostile_story(f"story {i} <!channel>") for i in range(500)])
    async with webhook(clock) as client:
        for message in messages:
            await client.send(slack.url, message, key=KEY)
    assert len(slack.received) == len(messages) < 100
    assert all("<!" not in r.body.decode() for r in slack.received)


async def test_the_webhook_url_never_appears_in_errors_or_logs(
    slack: SlackReceiver, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = Answer(400, f"invalid_payload for {slack.url} at {WEBHOOK_PATH}")
    slack.script(server_error(), rate_limited("1"), invalid_blocks(), channel_not_found(), reset(), echo)
    errors: list[DeliveryError] = []
    async with webhook(clock) as client:
        for _ in range(6):
            errors.append(await failure(client, slack.url, render_story(hostile_story("t"))))
        await client.send(slack.url, TEXT, key=KEY)
        errors.append(await failure(client, closed_port_url()))
        errors.append(await failure(client, "ftp://x/services/T000/B000/SECRETTOKEN"))
        assert SECRET not in repr(client)
    assert len(errors) == 8
    for error in errors:
        rendered = str(error) + repr(error) + "".join(traceback.format_exception(error))
        assert SECRET not in rendered, rendered
    assert caplog.records, "debug logging produced nothing to check"
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in json.dumps(record.__dict__, default=str)
    assert SECRET not in caplog.text


async def test_a_url_echoed_past_the_reasons_length_is_redacted_before_it_is_cut(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    # The reason is cut to 120 characters; cut first, the end of the URL (the secret) was cut
    # with it, and what was left of the token escaped the redaction of whole URLs.
    padding = "x" * (REASON_MAX - len("upstream error: ") - len(slack.url) + len(SECRET) // 2)
    slack.script(server_error(502, f"upstream error: {padding}{slack.url}"))
    async with webhook(clock) as client:
        error = await failure(client, slack.url)
    assert SECRET[:3] not in str(error) and "[redacted]" in str(error)


@pytest.mark.parametrize(
    "escape",
    [
        lambda url: url.replace("/", "\\/"),  # JSON
        lambda url: url.replace("&", "&amp;"),  # HTML
        lambda url: url.replace(":", "%3A").replace("/", "%2F"),  # percent-encoded
    ],
    ids=["json", "html", "percent"],
)
async def test_a_url_echoed_escaped_gives_no_token_away(
    slack: SlackReceiver, clock: ManualClock, escape: Callable[[str], str]
) -> None:
    slack.script(server_error(502, f"bad gateway for {escape(slack.url + '?x=1&token=Q1w2E3r4T5y6')}"))
    async with webhook(clock) as client:
        error = await failure(client, slack.url + "?x=1&token=Q1w2E3r4T5y6")
    assert SECRET not in str(error) and "Q1w2E3r4T5y6" not in str(error)


async def test_a_bare_query_token_echoed_decoded_is_redacted_and_a_short_query_is_left(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    slack.script(
        server_error(502, "bad signature Ab1+Cd2/Ef3Gh4"), server_error(502, "upstream gateway timeout")
    )
    async with webhook(clock) as client:
        signed = await failure(client, slack.url + "?Ab1%2BCd2%2FEf3Gh4")
        short = await failure(client, slack.url + "?a")
    assert "Ab1+Cd2/Ef3Gh4" not in str(signed)
    assert "upstream gateway timeout" in str(short)  # "a" is no secret: the message stays readable


@pytest.mark.parametrize(
    "echoed",
    [
        "Ab1%2BCd2%2FEf3%3D%3D",
        "Ab1%2bCd2%2fEf3%3d%3d",  # lower-case hex
        "Ab1+Cd2%2FEf3=%3D",  # in part
        "Ab1+Cd2\\/Ef3==",  # JSON's escaped slash
        "Ab1&#43;Cd2&#x2F;Ef3&#x3D;&#61;",  # HTML character references
        "Ab1\\u002bCd2\\u002FEf3\\u003d=",  # JSON \\u escapes
    ],
)
async def test_a_raw_query_token_echoed_escaped_is_redacted(
    slack: SlackReceiver, clock: ManualClock, echoed: str
) -> None:
    # written raw in the URL (+, / and = unescaped), echoed escaped in any of the ways receivers do
    slack.script(server_error(502, f"bad signature sig={echoed} rejected"))
    async with webhook(clock) as client:
        error = await failure(client, slack.url + "?sig=Ab1+Cd2/Ef3==")
    assert echoed not in str(error) and "Ab1" not in str(error)
    assert "bad signature" in str(error) and "rejected" in str(error)


async def test_a_non_ascii_token_echoed_as_json_escapes_is_redacted(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    slack.script(server_error(502, '{"error": "unknown key", "key": "T\\u00f6k3nValue99"}'))
    async with webhook(clock) as client:
        error = await failure(client, slack.url + "?key=T%C3%B6k3nValue99")
    assert "k3nValue99" not in str(error) and "unknown key" in str(error)


async def test_user_info_is_sent_as_basic_credentials_and_never_echoed(
    slack: SlackReceiver, clock: ManualClock
) -> None:
    basic = base64.b64encode(b"hooks:p@ss-word").decode()
    slack.script(
        Answer(200, "ok"),
        server_error(502, "proxy: bad credentials for hooks:p%40ss-word ('p@ss-word')"),
        server_error(502, f"proxy: rejected Authorization: Basic {basic}"),
    )
    url = slack.url.replace("http://", "http://hooks:p%40ss-word@", 1)
    async with webhook(clock) as client:
        await client.send(url, TEXT, key=KEY)
        errors = [await failure(client, url), await failure(client, url)]
    assert slack.received[0].headers.get("authorization") == f"Basic {basic}"
    for error in errors:
        assert "ss-word" not in str(error) and basic[:12] not in str(error), str(error)
    assert "bad credentials for hooks" in str(errors[0]) and "rejected Authorization" in str(errors[1])


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:99999{WEBHOOK_PATH}",  # was an OverflowError inside an exception group
        f"http://127.0.0.1:0{WEBHOOK_PATH}",
        f"http://xn--a.example{WEBHOOK_PATH}",  # IDNA refuses it while the request is built
    ],
)
async def test_a_malformed_webhook_url_holds_the_channel_with_a_clear_reason(
    clock: ManualClock, url: str
) -> None:
    async with webhook(clock) as client:
        error = await failure(client, url)
    assert isinstance(error, ChannelBrokenError) and "webhook URL" in str(error)
    assert "SECRETTOKEN" not in str(error)


async def test_a_2xx_without_ok_counts_as_delivered_and_is_logged(
    slack: SlackReceiver, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    slack.script(Answer(200, "accepted, probably"))
    async with webhook(clock) as client:
        await client.send(slack.url, TEXT, key=KEY)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "webhook_unexpected_answer"
    ]
