"""The time helpers every record goes through."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from safe_release._clock import as_utc, utc_now
from safe_release.testing import FakeClock


class TestUtcHelpers:
    def test_utc_now_is_the_clocks_time_aware(self) -> None:
        """utc_now follows the (fake) clock and is timezone-aware UTC."""
        clock = FakeClock(start=1_800_000_000.0)
        first = utc_now(clock)
        clock.advance(90)
        assert first.tzinfo is timezone.utc
        assert first.timestamp() == 1_800_000_000.0
        assert utc_now(clock) - first == timedelta(seconds=90)

    def test_as_utc_marks_naive_values_and_keeps_aware_ones(self) -> None:
        """SQLite's naive timestamps become UTC; aware ones and None pass unchanged."""
        naive = datetime(2026, 11, 27, 12, 0)  # noqa: DTZ001 - what SQLite hands back
        assert as_utc(naive) == naive.replace(tzinfo=timezone.utc)
        tokyo = datetime(2026, 11, 27, 21, 0, tzinfo=timezone(timedelta(hours=9)))
        assert as_utc(tokyo) is tokyo
        assert as_utc(None) is None
