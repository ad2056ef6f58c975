"""A picture of the fixture digest, for a person to look at.

Renders the fixture day's HTML part and screenshots it with headless Chromium at desktop
(720 px) and phone (390 px) widths. The files land in ``tests/artifacts/`` (git-ignored):
``digest.html``, ``digest-720.png``, ``digest-390.png``. Chromium runs with networking
features off and a throw-away profile; the page is a local file with no remote resources.
Without Chromium the test is skipped (fails under ``RIVALWATCH_TEST_STRICT=1``); install it
with ``apt-get install -y chromium``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from service.notify.render_email import message_html
from tests.conftest import ROOT, skip_or_fail
from tests.unit.test_digest import render_fixture_digest

ARTIFACTS = ROOT / "tests" / "artifacts"
MIN_PNG_BYTES = 20_000
TIMEOUT_S = 60


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        skip_or_fail("chromium not installed (apt-get install -y chromium): digest screenshot skipped")
        raise AssertionError("unreachable")
    return found


def _screenshot(browser: str, page: Path, png: Path, *, width: int, height: int, profile: Path) -> None:
    png.unlink(missing_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=TIMEOUT_S,
    )


@pytest.mark.parametrize(("width", "height"), [(720, 2400), (390, 2600)])
def test_digest_screenshot(width: int, height: int, tmp_path: Path) -> None:
    browser = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / "digest.html"
    page.write_text(message_html(render_fixture_digest()), encoding="utf-8")
    png = ARTIFACTS / f"digest-{width}.png"
    _screenshot(browser, page, png, width=width, height=height, profile=tmp_path / "profile")
    assert png.is_file()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > MIN_PNG_BYTES
