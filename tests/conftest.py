"""Fixtures shared by the test suite: one store per backend, real engines only.

PostgreSQL comes from ``$SAFE_RELEASE_TEST_PG_URL`` when set; otherwise the suite
starts a throw-away server from the local PostgreSQL binaries (``TemporaryPostgres``).
With ``SAFE_RELEASE_REQUIRE_PG=1`` (as in CI) a missing server fails the run
instead of skipping the PostgreSQL half of it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text

import safe_release as sr
from safe_release.testing import FakeClock, PostgresUnavailableError, TemporaryPostgres

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest_plugins = ["pytester"]  # tests of the pytest plugin run pytest on example files

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "SAFE_RELEASE_TEST_PG_URL"
REQUIRE_ENV = "SAFE_RELEASE_REQUIRE_PG"


def pytest_configure(config: pytest.Config) -> None:
    """Sign snapshots with a throw-away key: tests never touch the user's key file."""
    del config
    os.environ.setdefault("SAFE_RELEASE_SIGNING_KEY", uuid.uuid4().hex + uuid.uuid4().hex)


@pytest.fixture(autouse=True)
def _no_leaked_journal() -> Iterator[None]:
    """Every test leaves no active side-effect journal behind.

    A leak would journal the next test's writes into this test's store.
    """
    from safe_release.adapters import active_journal, set_active_journal  # noqa: PLC0415

    yield
    if active_journal() is not None:
        set_active_journal(None)
        pytest.fail("the test left a release's journal active: exit or _unbind() it")


@dataclass(frozen=True)
class Backend:
    """Where a test's store lives: a URL and (PostgreSQL) a private schema."""

    name: str
    url: str
    schema: str | None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL for the session, or skip (fail in CI) if none."""
    url = os.environ.get(PG_ENV)
    server = None
    if not url:
        with contextlib.suppress(PostgresUnavailableError):
            server = TemporaryPostgres()
            url = server.start()
    if not url:
        reason = f"no PostgreSQL server: set {PG_ENV} or install PostgreSQL"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """One pooled engine for the session's PostgreSQL tests."""
    engine = create_engine(pg_url, pool_size=10, max_overflow=20)
    yield engine
    engine.dispose()


@pytest.fixture(
    name="backend",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def fixture_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each storage test runs twice: on an SQLite file and on real PostgreSQL."""
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'store.db'}", None)
        return
    engine: Engine = request.getfixturevalue("pg_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield Backend("postgresql", engine.url.render_as_string(hide_password=False), schema)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(
    name="scratch", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def fixture_scratch(request: pytest.FixtureRequest) -> str | None:
    """Where migrations.check builds its scratch database.

    None: a temporary SQLite file; else the session's PostgreSQL server, on which
    the check creates (and drops) a database of its own.
    """
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(name="clock")
def fixture_clock() -> FakeClock:
    """A fake clock: cache staleness moves only when the test advances it."""
    return FakeClock()


@pytest.fixture(name="store")
def fixture_store(backend: Backend, clock: FakeClock) -> Iterator[sr.Store]:
    """A fresh, upgraded store on the backend under test, on a fake clock."""
    store = sr.connect(backend.url, schema=backend.schema, clock=clock)
    yield store
    store.close()


@pytest.fixture(name="sqlite_store")
def fixture_sqlite_store(tmp_path: Path, clock: FakeClock) -> Iterator[sr.Store]:
    """A store on an SQLite file only (for tests of pure logic)."""
    store = sr.connect(f"sqlite:///{tmp_path / 'store.db'}", clock=clock)
    yield store
    with contextlib.suppress(Exception):
        store.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session", name="redis_url")
def fixture_redis_url() -> Iterator[str]:
    """A throw-away redis-server on 127.0.0.1, or skip when none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis = pytest.importorskip("redis")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.02)
    client.close()
    yield url
    proc.terminate()
    proc.wait(timeout=10)
