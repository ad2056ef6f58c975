"""The deployment files kept correct by test, since no container engine runs here: compose.yaml,
the Dockerfile and the lock files they and the Makefile install from."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _name(requirement: str) -> str:
    """``psycopg[binary]>=3.1,<4`` → ``psycopg``, normalised as pip compares names."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]).lower()


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {_name(name): version for name, version in PIN.findall(text)}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_compose_migrates_once_before_two_replicas_share_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["healthcheck"]["test"] and any("pgdata:" in v for v in postgres["volumes"])
    assert "pgdata" in compose["volumes"]
    migrating = [name for name, s in services.items() if s.get("command") == ["db", "upgrade"]]
    assert migrating == ["migrate"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    replicas = {name: s for name, s in services.items() if s.get("command") == ["run"]}
    assert len(replicas) == 2
    for replica in replicas.values():
        # `rivalwatch run` itself: the image's entrypoint migrates before `run`.
        assert replica["entrypoint"] == ["rivalwatch"]
        assert replica["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert replica["healthcheck"]["test"][0] == "CMD"
        assert replica["environment"]["RIVALWATCH_DATABASE_URL"].startswith("postgresql://")
    host_ports = [port.split(":")[0] for replica in replicas.values() for port in replica["ports"]]
    assert len(set(host_ports)) == 2


def test_compose_passes_only_settings_that_exist(compose: dict[str, Any]) -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    for name, service in compose["services"].items():
        passed = {key for key in service.get("environment", {}) if key.startswith(ENV_PREFIX)}
        assert passed <= known, (name, passed - known)


def test_the_image_installs_the_locked_dependencies_and_the_project_not_editable() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile and " -e " not in dockerfile
    # Installed as a wheel, the package has no migrations beside it: the image says where they are.
    assert "RIVALWATCH_MIGRATIONS_DIR=/app/migrations" in dockerfile
    assert "COPY migrations ./migrations" in dockerfile


def test_the_build_context_leaves_out_local_environments_and_data() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    # The virtualenv (hundreds of MB), the local SQLite database and bytecode never reach the image.
    assert {".venv", "data", "**/__pycache__", ".git"} <= set(ignored)


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("test", "bench"))]
)
def test_every_dependency_is_pinned_with_hashes(
    lock: str, extras: tuple[str, ...], project: dict[str, Any]
) -> None:
    wanted = [
        *project["dependencies"],
        *(r for extra in extras for r in project["optional-dependencies"][extra]),
    ]
    pins = _pins(lock)
    assert {_name(r) for r in wanted} <= set(pins), "run `make lock` after changing the dependencies"
    text = (ROOT / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if PIN.match(entry))


def test_the_dev_lock_pins_the_runtime_exactly_as_the_runtime_lock() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
