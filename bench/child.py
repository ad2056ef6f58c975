"""A helper server in a child process, so that its CPU never counts in the benchmark's.

The child prints one JSON line when it is listening (at least ``base_url``), serves until its
standard input closes, then prints one JSON line of its own statistics. Both feed servers of the
benchmark (``bench.feedserver`` for polling, ``bench.delivery --feed-server``) speak this way:
:class:`ChildServer` is the parent's side, :func:`serve_until_stdin_closes` the child's.
"""

from __future__ import annotations

import http.client
import json
import select
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from bench.corpus import PROJECT_ROOT

START_TIMEOUT_S = 60.0


class ChildServer:
    """``python -m MODULE ARGS...`` as a context manager; stopped by closing its standard input."""

    def __init__(self, module: str, *args: str) -> None:
        self.argv = [sys.executable, "-m", module, *args]
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        """What the child printed when it started."""
        self.stats: dict[str, Any] = {}
        """What the child printed when it stopped."""

    @property
    def base_url(self) -> str:
        return str(self.info.get("base_url", ""))

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(
            self.argv, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            self.info = json.loads(read_line(self.proc, timeout_s=START_TIMEOUT_S))
            if urlsplit(self.base_url).hostname != "127.0.0.1":
                raise RuntimeError(f"helper server is not on loopback: {self.base_url}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        try:
            out, _ = proc.communicate(timeout=15)  # closes its stdin: the child's signal to stop
            last = out.strip().splitlines()[-1] if out.strip() else "{}"
            self.stats = json.loads(last)
        except (subprocess.TimeoutExpired, ValueError):
            proc.kill()
            proc.wait(timeout=5)

    def get_json(self, path: str) -> Any:
        """GET ``path`` from the child on a fresh connection and decode the JSON answer."""
        parts = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()


def serve_until_stdin_closes(
    started: dict[str, Any], requests: Callable[[], int], *, max_seconds: float
) -> int:
    """The child's side: announce ``started``, serve (in the server's own threads) until the parent
    closes our standard input or ``max_seconds`` pass, then report CPU time and requests served."""
    print(json.dumps(started), flush=True)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sys.stdin], [], [], 0.2)
        if readable and not sys.stdin.readline():
            break  # EOF: the benchmark is done with us
    print(json.dumps({"cpu_s": time.process_time(), "requests": requests()}), flush=True)
    return 0


def read_line(proc: subprocess.Popen[str], *, timeout_s: float) -> str:
    """The child's next line of output, or an error if it says nothing in time or exits."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            proc.kill()
            raise RuntimeError("the helper server did not start in time")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the helper server exited (status {proc.wait(timeout=5)})")
    return line
