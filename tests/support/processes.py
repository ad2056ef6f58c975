"""Run the real ``rivalwatch`` console script as a subprocess, for kill and replica tests."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

RIVALWATCH = Path(sys.executable).with_name("rivalwatch")
_GIVEN: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, chosen below the kernel's ephemeral range.

    A port the kernel handed out for ``bind(0)`` is free again once the probe closes, and the
    process under test may be given it for a socket of its own (a server on port 0, an outgoing
    connection) before it binds the port it was told to use: it then fails with "port taken".
    Below the ephemeral range the kernel never hands a port out by itself. No port is given twice
    in one test run (two replicas asking in turn must not get the same one).
    """
    high = _ephemeral_range_start()
    low = max(1024, high - 10_000)  # above the ports only root may bind
    for _ in range(200):
        port = random.randrange(low, max(high, low + 1_000))
        if port in _GIVEN:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # another service's port, or one still in TIME_WAIT
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free loopback port from {low} below {high}")


@cache
def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # the Linux default; elsewhere a port of this range is as good as any


def service_env(db_url: str, rules_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RIVALWATCH_")}  # any case
    env.update(
        {
            "RIVALWATCH_DATABASE_URL": db_url,
            "RIVALWATCH_RULES_DIR": str(rules_dir),
            "RIVALWATCH_FETCH_ALLOW_CIDRS": "127.0.0.1/32",
            "RIVALWATCH_API_ENABLED": "false",
            "RIVALWATCH_TICK_S": "0.5",
            "RIVALWATCH_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


def rivalwatch(
    *args: str, env: Mapping[str, str], timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RIVALWATCH), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def start_service(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process by the caller's stop()
    return subprocess.Popen([str(RIVALWATCH), "run"], env=dict(env), stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout_s: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def wait_until(condition: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()
