"""Suite ``cli``: how long a command takes from the shell, start-up included.

Each row runs the real ``rivalwatch`` console script as a user does, on a migrated SQLite
database in a scratch directory with the shipped rules (nothing to poll, nothing sent), and
reports the median and fastest wall time of its repetitions. Beside it, the share of that time
spent importing (``python -X importtime``: the cumulative time of ``service.cli`` and the
command's own heavy modules). Target: each ≤ 0.3 s on an idle machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import table, verdict
from bench.corpus import PROJECT_ROOT
from bench.scratch import user_environment

TARGET_S = 0.3
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("alerts", "list"),
    ("rules", "validate"),
    ("feeds", "list"),
)
REPS = {"quick": 3, "full": 9}
RIVALWATCH = Path(sys.executable).with_name("rivalwatch")


def _env(workdir: Path) -> dict[str, str]:
    env = user_environment()
    env["RIVALWATCH_DATABASE_URL"] = f"sqlite:///{workdir / 'rivalwatch.db'}"
    env["RIVALWATCH_RULES_DIR"] = str(PROJECT_ROOT / "rules")
    return env


def _wall_s(args: tuple[str, ...], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(RIVALWATCH), *args], env=env, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"rivalwatch {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return took


def _import_ms(args: tuple[str, ...], env: dict[str, str]) -> float:
    """Cumulative import time of the whole program for this command, from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "service", *args],
        env=env,
        capture_output=True,
        check=False,
    )
    total_us = 0
    for line in done.stderr.decode().splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() and not parts[2].startswith("  "):  # top-level imports
            try:
                total_us += int(parts[1])
            except ValueError:
                continue
    return total_us / 1000


def run_suite(*, quick: bool) -> dict[str, Any]:
    reps = REPS["quick" if quick else "full"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="rivalwatch-bench-cli-") as scratch:
        env = _env(Path(scratch))
        subprocess.run([str(RIVALWATCH), "db", "upgrade"], env=env, capture_output=True, check=True)
        for args in COMMANDS:
            _wall_s(args, env)  # warm the file cache: the user's second run, not the first after boot
            walls = [_wall_s(args, env) for _ in range(reps)]
            rows.append(
                {
                    "command": "rivalwatch " + " ".join(args),
                    "reps": reps,
                    "wall_median_s": statistics.median(walls),
                    "wall_min_s": min(walls),
                    "import_ms": _import_ms(args, env),
                    "ok": statistics.median(walls) <= TARGET_S,
                }
            )
    return {"target_s": TARGET_S, "rows": rows}


def render(result: dict[str, Any]) -> str:
    rows = [
        (r["command"], r["reps"], r["wall_median_s"], r["wall_min_s"], r["import_ms"], verdict(r["ok"]))
        for r in result["rows"]
    ]
    return table(
        ("command", "reps", "wall s", "fastest s", "imports ms", f"<= {result['target_s']} s"),
        rows,
        title="cli: a command from the shell, start-up included",
    )
