"""A scratch rivalwatch for the whole-process suites (``round``, ``fleet``): the shipped rules
with the feeds replaced by the benchmark's, the environment to run it with, and the local
PostgreSQL when it answers."""

from __future__ import annotations

import compileall
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from bench.corpus import PROJECT_ROOT

PG_URL_ENV = "RIVALWATCH_BENCH_PG_URL"


def user_environment() -> dict[str, str]:
    """The caller's environment as a user's shell has it: none of the caller's RIVALWATCH_
    settings, and Python's default of caching compiled modules in ``__pycache__``. With
    PYTHONDONTWRITEBYTECODE set (some shells and CI machines set it), every process compiled the
    project's modules from source again: about 0.3 s of CPU a ``poll --once``, 60 ms a command."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("RIVALWATCH_") and k != "PYTHONDONTWRITEBYTECODE"
    }


def compile_project() -> None:
    """Compile the project's modules as ``pip install`` does for an installed package, so that no
    timed process is the first to import them."""
    compileall.compile_dir(PROJECT_ROOT / "service", quiet=1)


def service_env(work: Path, urls: Sequence[str], *, database_url: str, prefix: str) -> dict[str, str]:
    """The shipped rules and baseline in ``work/rules``, feeds ``"{prefix} N"`` polling ``urls``,
    and an environment without the caller's RIVALWATCH_ settings: every "site" is on the one
    loopback host, so the per-host limit is 16."""
    rules = work / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    width = len(str(len(urls)))
    lines = ["feeds:"] + [
        f'  - name: "{prefix} {n:0{width}d}"\n    url: "{url}"' for n, url in enumerate(urls)
    ]
    (rules / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return user_environment() | {
        "RIVALWATCH_DATABASE_URL": database_url,
        "RIVALWATCH_RULES_DIR": str(rules),
        "RIVALWATCH_FETCH_ALLOW_CIDRS": "127.0.0.1/32",
        "RIVALWATCH_FETCH_PER_HOST_CONCURRENCY": "16",
    }


def reachable_pg() -> str | None:
    """``RIVALWATCH_BENCH_PG_URL`` (default: the local ``test`` database) if it answers."""
    import sqlalchemy as sa

    url = os.environ.get(PG_URL_ENV, "postgresql://postgres@127.0.0.1:5432/test")
    try:
        engine = sa.create_engine(_with_driver(url))
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # any failure means: no PostgreSQL rows
        return None
    return url


def reset_pg(url: str) -> None:
    """Empty the database's ``public`` schema: each run starts from nothing."""
    import sqlalchemy as sa

    engine = sa.create_engine(_with_driver(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _with_driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)
