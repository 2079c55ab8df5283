"""safe_release's pytest plugin: its fixtures, importing safe_release only when one is used.

Registered by the ``pytest11`` entry point for every project that installs
safe-release, so it must cost nothing to a test run that never asks for one of its
fixtures: importing ``safe_release`` takes about half a second, so each fixture
imports what it needs when it runs (the imports inside the functions below are that,
not a way round an import cycle). The fixtures are documented in docs/testing.md:

- ``fake_clock``: a `FakeClock`.
- ``fake_amazon``: a `FakeAmazon` on ``fake_clock``.
- ``amazon_adapter``: an `AmazonAdapter` wired to ``fake_amazon`` (its transport, its
  credentials, the same clock).
- ``fake_ebay`` / ``ebay_adapter``: a `FakeEbay` on ``fake_clock``, and an
  `EbayAdapter` signed in to it as its default user.
- ``fake_walmart`` / ``walmart_adapter``: a `FakeWalmart` on ``fake_clock``, and a
  `WalmartAdapter` signed in to it as its default seller.
- ``sr_store``: a fresh store on ``fake_clock``, of its own for each test: an SQLite
  file under ``tmp_path``; with ``SAFE_RELEASE_TEST_URL`` set to a PostgreSQL URL, a
  schema of its own on that server, dropped after the test. Its signing key is the
  test's own (``$SAFE_RELEASE_SIGNING_KEY`` if set): no key file is written.
- ``migration_check``: `safe_release.migrations.assert_reversible`, with the
  scratch server from ``$SAFE_RELEASE_CHECK_URL`` when set (a PostgreSQL server
  URL), else a temporary SQLite file: ``migration_check("alembic.ini")``.
"""

from __future__ import annotations

import os
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import safe_release as sr
    from safe_release.adapters.amazon import AmazonAdapter
    from safe_release.adapters.ebay import EbayAdapter
    from safe_release.adapters.walmart import WalmartAdapter
    from safe_release.migrations import CheckReport
    from safe_release.testing import FakeAmazon, FakeClock, FakeEbay, FakeWalmart

__all__ = [
    "amazon_adapter",
    "ebay_adapter",
    "fake_amazon",
    "fake_clock",
    "fake_ebay",
    "fake_walmart",
    "migration_check",
    "sr_store",
    "walmart_adapter",
]

TEST_URL = "SAFE_RELEASE_TEST_URL"
SIGNING_KEY = "SAFE_RELEASE_SIGNING_KEY"
CHECK_URL = "SAFE_RELEASE_CHECK_URL"


@pytest.fixture(name="fake_clock")
def fake_clock() -> FakeClock:
    """Time that moves only when the test (or a fake sleep) moves it."""
    from safe_release.testing import FakeClock

    return FakeClock()


@pytest.fixture(name="fake_amazon")
def fake_amazon(fake_clock: FakeClock) -> FakeAmazon:
    """An in-memory Amazon SP-API with documented quotas, on the fake clock."""
    from safe_release.testing import FakeAmazon

    return FakeAmazon(clock=fake_clock)


@pytest.fixture(name="amazon_adapter")
def amazon_adapter(fake_amazon: FakeAmazon, fake_clock: FakeClock) -> Iterator[AmazonAdapter]:
    """An AmazonAdapter that talks to ``fake_amazon``."""
    from safe_release.adapters.amazon import AmazonAdapter

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


@pytest.fixture(name="fake_ebay")
def fake_ebay(fake_clock: FakeClock) -> FakeEbay:
    """An in-memory eBay Sell API with its daily quotas and token lifetimes, on the fake clock."""
    from safe_release.testing import FakeEbay

    return FakeEbay(clock=fake_clock)


@pytest.fixture(name="ebay_adapter")
def ebay_adapter(fake_ebay: FakeEbay, fake_clock: FakeClock) -> Iterator[EbayAdapter]:
    """An EbayAdapter that talks to ``fake_ebay`` as its default user."""
    from safe_release.adapters.ebay import EbayAdapter

    creds = fake_ebay.credentials
    adapter = EbayAdapter(
        user_id=creds.user_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        scopes=creds.scopes,
        base_url="https://api.ebay.com",
        transport=fake_ebay.transport,
        clock=fake_clock,
    )
    yield adapter
    adapter.close()


@pytest.fixture(name="fake_walmart")
def fake_walmart(fake_clock: FakeClock) -> FakeWalmart:
    """An in-memory Walmart Marketplace with its replenishing buckets, on the fake clock."""
    from safe_release.testing import FakeWalmart

    return FakeWalmart(clock=fake_clock)


@pytest.fixture(name="walmart_adapter")
def walmart_adapter(fake_walmart: FakeWalmart, fake_clock: FakeClock) -> Iterator[WalmartAdapter]:
    """A WalmartAdapter that talks to ``fake_walmart`` as its default seller."""
    from safe_release.adapters.walmart import WalmartAdapter

    creds = fake_walmart.credentials
    adapter = WalmartAdapter(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        seller_id=creds.seller_id,
        transport=fake_walmart.transport,
        clock=fake_clock,
    )
    yield adapter
    adapter.close()


@pytest.fixture(name="sr_store")
def sr_store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[sr.Store]:
    """A fresh store of this test's own: SQLite under tmp_path, or a schema of its own.

    With ``$SAFE_RELEASE_TEST_URL`` set to a PostgreSQL URL, the store's tables are
    created in a new schema on that server and the schema is dropped after the test;
    an SQLite URL there is ignored for a file under ``tmp_path`` (one file is one
    database, which the tests would share).
    """
    import safe_release as sr

    # a key of the test's own unless one is set: nothing is written to the home dir
    key = None if os.environ.get(SIGNING_KEY) else secrets.token_hex(32)
    url = os.environ.get(TEST_URL)
    if not url or url.startswith("sqlite"):
        store = sr.connect(f"sqlite:///{tmp_path / 'store.db'}", clock=fake_clock, signing_key=key)
        yield store
        store.close()
        return
    schema = f"sr_test_{uuid.uuid4().hex[:16]}"
    store = sr.connect(url, schema=schema, clock=fake_clock, signing_key=key)
    try:
        yield store
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        store.close()


@pytest.fixture(name="migration_check")
def migration_check() -> Callable[..., CheckReport]:
    """Check an Alembic project up/down/up; AssertionError with the report unless OK."""
    from safe_release.migrations import assert_reversible

    def run(config: object, **kwargs: Any) -> CheckReport:
        kwargs.setdefault("url", os.environ.get(CHECK_URL) or None)
        return assert_reversible(config, **kwargs)  # type: ignore[arg-type]

    return run
