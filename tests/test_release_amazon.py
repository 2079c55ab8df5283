"""Releases end to end with the real ledger: FakeAmazon prices pushed back on rollback."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from safe_release._release import _parts, release, release_record
from safe_release._report import ReleaseStatus, Verification
from safe_release.adapters import active_journal
from safe_release.exceptions import RollbackTriggered
from tests.test_release_fakes import Box, FakeCheckpointSet, FakeRecords

if TYPE_CHECKING:
    import safe_release as sr
    from safe_release.adapters.amazon import AmazonAdapter
    from safe_release.testing import FakeAmazon

OLD, NEW = Decimal("19.99"), Decimal("9.99")
SKUS = ("SKU-1", "SKU-2", "SKU-3")


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


@pytest.fixture(name="checkpoints")
def fixture_checkpoints(monkeypatch: pytest.MonkeyPatch) -> FakeRecords:
    """Checkpoints through the stand-in set; the journal is the real one."""
    records = FakeRecords()
    monkeypatch.setattr(
        _parts,
        "checkpoints_for",
        lambda store, rid, scope: FakeCheckpointSet(records, store, rid, scope),
    )
    return records


@pytest.fixture(name="fake")
def fixture_fake(fake_amazon: FakeAmazon) -> FakeAmazon:
    for sku in SKUS:
        fake_amazon.add_listing(sku, price=OLD, quantity=5)
    return fake_amazon


def _prices(fake: FakeAmazon) -> dict[str, Any]:
    return dict(fake.prices)


@pytest.mark.usefixtures("checkpoints")
class TestAmazonRollback:
    def test_prices_and_rows_are_restored_and_verified(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """A failing price job: prices back on Amazon, rows back, checks and health pass."""
        before = _prices(fake)
        box = Box("prices table", "v1")
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            release("price-sync", store=store, checkpoint=[box], adapters=[amazon_adapter]) as rel,
        ):
            assert active_journal() is rel.journal
            box.value = "v2"
            for sku in SKUS:
                amazon_adapter.update_price(sku, NEW)
            assert set(_prices(fake).values()) == {NEW}
            raise Boom("bad prices")
        assert _prices(fake) == before
        assert box.value == "v1"
        assert active_journal() is None
        fake.assert_no_duplicate_writes()
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert report.verification is Verification.VERIFIED
        assert [s.kind for s in report.restored] == ["checkpoint"] + ["compensation"] * 3
        assert any(c.name.startswith("health ") and c.ok for c in report.checks)
        assert release_record(store, rel.id).report == report

    def test_error_rate_trigger_sees_adapter_calls(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """Adapter calls feed observe(); the trigger trips mid-job and prices go back."""
        before = _prices(fake)
        sent = 0
        with (  # noqa: PT012 - the body is under test
            pytest.raises(RollbackTriggered) as info,
            release(
                "price-sync",
                store=store,
                adapters=[amazon_adapter],
                trigger=lambda obs: len(obs) >= 4,
            ) as rel,
        ):
            for sku in SKUS:
                amazon_adapter.update_price(sku, NEW)
                sent += 1
        assert sent == 1  # the second update's write was the fourth call: it tripped there
        assert len(rel.observations) == 4
        assert _prices(fake) == before
        assert info.value.rollback_report.status is ReleaseStatus.ROLLED_BACK  # type: ignore[attr-defined]
        fake.assert_no_duplicate_writes()

    def test_success_keeps_the_new_prices(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """A job that succeeds keeps its writes; the adapter is unbound afterwards."""
        with release("price-sync", store=store, adapters=[amazon_adapter]) as rel:
            amazon_adapter.update_price("SKU-1", NEW)
        assert _prices(fake)["SKU-1"] == NEW
        assert rel.status is ReleaseStatus.SUCCEEDED
        assert rel.verification is Verification.VERIFIED  # the adapter's health check
