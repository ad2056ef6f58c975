"""Shared fixtures: both databases, the shared corpus, strict mode for CI.

With ``RIVALWATCH_TEST_STRICT=1`` (set by ``.ci/run``) a missing PostgreSQL or a missing
``../shared`` corpus fails the run; on a laptop those tests are skipped and the skip reason
is printed in the summary.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import db

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
STRICT = os.environ.get("RIVALWATCH_TEST_STRICT") == "1"
PG_URL = os.environ.get("RIVALWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def skip_or_fail(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} (required when RIVALWATCH_TEST_STRICT=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "feeds").is_dir():
        skip_or_fail("shared feed corpus not found beside the checkout (../shared/feeds)")
    return SHARED


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    engine = sa.create_engine(db.normalise_url(PG_URL), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError:
        skip_or_fail(f"PostgreSQL not reachable at {PG_URL}: PostgreSQL tests skipped")
    finally:
        engine.dispose()
    return PG_URL


@pytest.fixture(scope="session")
def pg_database(pg_server_url: str) -> Iterator[str]:
    """A private database for this test session, dropped at the end."""
    name = f"rw_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(db.normalise_url(pg_server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = (
        sa.make_url(db.normalise_url(pg_server_url)).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rivalwatch.db"
    url: str = request.getfixturevalue("pg_database")
    reset_postgres(url)
    return url


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database at the current schema, on each backend in turn."""
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine)
    engine.dispose()
    return empty_db_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()
