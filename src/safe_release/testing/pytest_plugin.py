"""pytest fixtures for code that uses safe_release (registered by the ``pytest11`` entry point).

- ``fake_clock``: a `FakeClock`.
- ``fake_amazon``: a `FakeAmazon` on ``fake_clock``.
- ``amazon_adapter``: an `AmazonAdapter` wired to ``fake_amazon`` (its transport, its
  credentials, the same clock).
- ``sr_store``: a fresh store in an SQLite file under ``tmp_path`` on ``fake_clock``;
  set ``SAFE_RELEASE_TEST_URL`` to run it on another database instead.
- ``migration_check``: `safe_release.migrations.assert_reversible`, with the
  scratch server from ``$SAFE_RELEASE_CHECK_URL`` when set (a PostgreSQL server
  URL), else a temporary SQLite file: ``migration_check("alembic.ini")``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

import safe_release as sr
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.migrations import assert_reversible
from safe_release.testing._amazon import FakeAmazon
from safe_release.testing._clock import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from safe_release.migrations import CheckReport

__all__ = ["amazon_adapter", "fake_amazon", "fake_clock", "migration_check", "sr_store"]


@pytest.fixture(name="fake_clock")
def fake_clock() -> FakeClock:
    """Time that moves only when the test (or a fake sleep) moves it."""
    return FakeClock()


@pytest.fixture(name="fake_amazon")
def fake_amazon(fake_clock: FakeClock) -> FakeAmazon:
    """An in-memory Amazon SP-API with documented quotas, on the fake clock."""
    return FakeAmazon(clock=fake_clock)


@pytest.fixture(name="amazon_adapter")
def amazon_adapter(fake_amazon: FakeAmazon, fake_clock: FakeClock) -> Iterator[AmazonAdapter]:
    """An AmazonAdapter that talks to ``fake_amazon``."""
    creds = fake_amazon.credentials
    adapter = AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        marketplace_id=creds.marketplace_id,
        transport=fake_amazon.transport,
        clock=fake_clock,
    )
    yield adapter
    adapter.close()


@pytest.fixture(name="sr_store")
def sr_store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[sr.Store]:
    """A fresh store: SQLite under tmp_path, or ``$SAFE_RELEASE_TEST_URL``."""
    url = os.environ.get("SAFE_RELEASE_TEST_URL") or f"sqlite:///{tmp_path / 'store.db'}"
    store = sr.connect(url, clock=fake_clock)
    yield store
    store.close()


@pytest.fixture(name="migration_check")
def migration_check() -> Callable[..., CheckReport]:
    """Check an Alembic project up/down/up; AssertionError with the report unless OK."""

    def run(config: object, **kwargs: Any) -> CheckReport:
        kwargs.setdefault("url", os.environ.get("SAFE_RELEASE_CHECK_URL") or None)
        return assert_reversible(config, **kwargs)  # type: ignore[arg-type]

    return run
