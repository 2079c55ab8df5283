"""Compensation is paced by the adapter's quota: FakeAmazon's real patchListingsItem limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks._compensation import run

if TYPE_CHECKING:
    import safe_release as sr


class TestCompensationPacing:
    def test_300_price_writes_compensated_at_the_quota(self, store: sr.Store) -> None:
        """300 compensations: <= 1.05x the quota's ideal time, no 429, no duplicate."""
        figures = run(300, store=store)
        assert figures["ideal_s"] == (300 - 5) / 5
        assert figures["ratio"] <= 1.05
        assert (figures["throttled_429"], figures["duplicates"]) == (0, 0)
        assert (figures["failed_steps"], figures["restored"]) == (0, 300)
