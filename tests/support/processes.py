"""Run the real ``rivalwatch`` console script as a subprocess, for kill and replica tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

RIVALWATCH = Path(sys.executable).with_name("rivalwatch")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(db_url: str, rules_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVALWATCH_")}
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
