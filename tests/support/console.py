"""The console served for a real browser: uvicorn on 127.0.0.1 in a thread, and Debian's
Chromium driven by Playwright (its own browser download is never used)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import uvicorn
from sqlalchemy.engine import Engine

from service.api.app import create_app
from service.rulebook import RulesState
from tests.conftest import skip_or_fail
from tests.support.processes import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serving(engine: Engine, rules: Callable[[], RulesState], *, timezone: str = "UTC") -> Iterator[str]:
    """The console on a free loopback port for as long as the block runs; yields its base URL."""
    port = free_port()
    app = create_app(engine, clock=lambda: datetime.now(UTC), rules=rules, timezone=timezone)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, name="console", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    try:
        assert server.started, "the console did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; skipped (failed under strict CI) when either is missing."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        skip_or_fail("chromium not installed (apt-get install -y chromium): browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright not installed (make test installs it): browser tests skipped")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
