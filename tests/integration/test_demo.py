"""`rivalwatch demo` as a newcomer runs it: a real process, loopback only, the shipped rules."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import RIVALWATCH, free_port, rivalwatch, stop, wait_until
from tests.support.slack import SlackReceiver

pytestmark = pytest.mark.slow
PROJECT_RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def slack() -> Any:
    with SlackReceiver() as receiver:
        yield receiver


def demo_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RIVALWATCH_")}  # any case
    return env | {"RIVALWATCH_RULES_DIR": str(PROJECT_RULES), **extra}


def test_the_demo_shows_every_part_and_sends_nothing(tmp_path: Path, slack: SlackReceiver) -> None:
    # A Slack webhook in the environment (the canary) must not receive anything from the demo.
    result = rivalwatch(
        "demo", "--dir", str(tmp_path / "demo"), env=demo_env(RIVALWATCH_SLACK_WEBHOOK_URL=slack.url)
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    alerted = [line.removeprefix("ALERT  ") for line in out.splitlines() if line.startswith("ALERT  ")]
    assert sorted(alerted) == sorted(
        [
            "Nissan cuts the number of new-energy models it plans for China",
            "BYD opens its first showrooms in Canada",
            "Chery to build SUVs at a former Nissan plant in Barcelona",
            "Tesla cuts Model Y prices in Germany by 3,000 euros",
            "China's new-energy vehicle sales rise 18% in November",
        ]
    )  # the feeds are polled at once: in any order
    assert "changed  NEV models Nissan plans for China: 10 → 8" in out
    assert "4 new; 1 alert on 1 story, 3 suppressed as known, 1 held back as too old" in out
    assert "3 feeds polled, 10 new items" in out and "0 failed" in out
    digest = tmp_path / "demo" / "digest.html"
    assert f"digest preview: {digest} (5 stories, 3 restatements suppressed as known" in out
    html = digest.read_text(encoding="utf-8")
    assert "BYD opens its first showrooms in Canada" in html
    assert "Titans edge Jaguars" not in html and "Magnet maker" not in html  # no rule fires on them
    assert slack.received == []
    assert "Traceback" not in result.stderr


def test_the_demo_wants_a_new_or_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = rivalwatch("demo", "--dir", str(tmp_path), env=demo_env())
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_demo_serve_keeps_the_status_page_up_on_the_demo_data(tmp_path: Path) -> None:
    port = free_port()
    env = demo_env(RIVALWATCH_API_PORT=str(port))
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        [str(RIVALWATCH), "demo", "--serve", "--dir", str(tmp_path / "demo")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def page() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return str(answer.read().decode("utf-8"))
            except OSError:
                return ""

        shown = wait_until(lambda: "BYD opens its first showrooms in Canada" in page(), timeout_s=60)
    finally:
        stopped = stop(process)
        log.close()
    output = (tmp_path / "demo.log").read_text(encoding="utf-8")
    assert shown and stopped == 0, output
    assert f"serving http://127.0.0.1:{port}/ on the demo data" in output
    assert "Traceback" not in output
