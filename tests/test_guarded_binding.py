"""``@sr.guarded`` with its store and adapters bound late: at call time, or by `sr.override`.

A job module is imported before the application opens its store, and its tests
want the fixtures' store and fake adapters, not the production ones.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

import safe_release as sr
from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from safe_release.adapters.amazon import AmazonAdapter
    from safe_release.testing import FakeAmazon


class Boom(Exception):  # noqa: N818 - the job's own error
    pass


# what an application module looks like: the store does not exist at import time
APP: dict[str, Any] = {}


@sr.guarded("price-sync", store=lambda: APP["store"], adapters=lambda: APP.get("adapters", []))
def sync_from_app(adapter: AmazonAdapter | None, price: str, *, fail: bool = False) -> None:
    if adapter is not None:
        adapter.update_price("SKU-1", Decimal(price))
    if fail:
        raise Boom


@sr.guarded("price-sync")  # the store is bound by the caller (tests: sr.override)
def sync_unbound(adapter: AmazonAdapter, price: str, *, fail: bool = False) -> None:
    adapter.update_price("SKU-1", Decimal(price))
    if fail:
        raise Boom


@pytest.fixture(name="listing")
def fixture_listing(fake_amazon: FakeAmazon) -> FakeAmazon:
    fake_amazon.add_listing("SKU-1", price=Decimal("10.00"), quantity=5)
    return fake_amazon


class TestLateBinding:
    def test_functions_are_called_at_each_call(
        self, store: sr.Store, amazon_adapter: AmazonAdapter, listing: FakeAmazon
    ) -> None:
        """store= and adapters= given as functions are resolved when the job runs."""
        del listing  # the SKU the job reprices
        APP.clear()
        with pytest.raises(KeyError):  # no store yet: the application has not started
            sync_from_app(None, "1.00")
        APP.update(store=store, adapters=[amazon_adapter])
        try:
            with pytest.raises(Boom):
                sync_from_app(amazon_adapter, "1.00", fail=True)
            assert amazon_adapter.get_price("SKU-1") == Decimal("10.00")  # compensated
            (record,) = store.releases(scope="price-sync", limit=1)
            assert record.status == sr.ReleaseStatus.ROLLED_BACK
        finally:
            APP.clear()

    def test_a_call_without_a_store_says_how_to_bind_one(self) -> None:
        with pytest.raises(InvalidArgumentError, match=r"sr\.override\(job, store=\.\.\.\)"):
            sync_unbound(None, "1.00")  # type: ignore[arg-type]


class TestOverride:
    def test_a_test_binds_its_fixtures(
        self, store: sr.Store, amazon_adapter: AmazonAdapter, listing: FakeAmazon
    ) -> None:
        """The pattern docs/testing.md shows: the job rolls back against the fakes."""
        del listing  # the SKU the job reprices
        with sr.override(sync_unbound, store=store, adapters=[amazon_adapter]):
            sync_unbound(amazon_adapter, "9.00")
            with pytest.raises(Boom):
                sync_unbound(amazon_adapter, "1.00", fail=True)
        assert amazon_adapter.get_price("SKU-1") == Decimal("9.00")
        statuses = sorted(r.status.value for r in store.releases(scope="price-sync"))
        assert statuses == ["rolled_back", "succeeded"]  # on the fake clock: same start
        with pytest.raises(InvalidArgumentError, match="has no store"):  # the block ended
            sync_unbound(amazon_adapter, "1.00")

    def test_an_override_replaces_a_late_binding(
        self, store: sr.Store, amazon_adapter: AmazonAdapter, listing: FakeAmazon
    ) -> None:
        del listing  # the SKU the job reprices
        APP.clear()
        with (
            sr.override(sync_from_app, store=store, adapters=[amazon_adapter]),
            pytest.raises(Boom),
        ):
            sync_from_app(amazon_adapter, "2.00", fail=True)
        assert amazon_adapter.get_price("SKU-1") == Decimal("10.00")

    def test_other_threads_keep_their_own_binding(self, store: sr.Store) -> None:
        """An override is per thread or task: a parallel test is not affected."""
        seen: list[BaseException] = []
        inside, done = threading.Event(), threading.Event()

        def other() -> None:
            inside.wait(timeout=30)
            try:
                sync_unbound(None, "1.00")  # type: ignore[arg-type]
            except InvalidArgumentError as exc:
                seen.append(exc)
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        with sr.override(sync_unbound, store=store):
            inside.set()
            assert done.wait(timeout=30)
        thread.join(timeout=30)
        assert len(seen) == 1

    def test_async_jobs(
        self, store: sr.Store, amazon_adapter: AmazonAdapter, listing: FakeAmazon
    ) -> None:
        del listing  # the SKU the job reprices

        @sr.guarded("price-sync")
        async def job(price: str) -> None:
            amazon_adapter.update_price("SKU-1", Decimal(price))
            await asyncio.sleep(0)
            raise Boom

        async def main() -> None:
            with sr.override(job, store=store, adapters=[amazon_adapter]), pytest.raises(Boom):
                await job("3.00")

        asyncio.run(main())
        assert amazon_adapter.get_price("SKU-1") == Decimal("10.00")

    def test_only_guarded_jobs(self, store: sr.Store) -> None:
        with (
            pytest.raises(InvalidArgumentError, match=r"decorated with @sr\.guarded"),
            sr.override(print, store=store),
        ):
            pass

    def test_an_override_binds_one_job_of_a_shared_decorator(self, store: sr.Store) -> None:
        """One guarded(...) decorating two jobs: overriding one leaves the other unbound."""
        guard = sr.guarded("price-sync")
        one, two = guard(lambda: "one"), guard(lambda: "two")
        with sr.override(one, store=store):
            assert one() == "one"
            with pytest.raises(InvalidArgumentError, match="has no store"):
                two()
