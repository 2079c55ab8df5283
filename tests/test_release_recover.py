"""recover(), rollback() and incident figures: finishing what a crash left, measuring restores."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from safe_release._release import (
    incident_report,
    recover,
    release,
    release_record,
    releases,
    rollback,
)
from safe_release._release._lock import ScopeLock, new_owner
from safe_release._report import ReleaseStatus
from safe_release.exceptions import ReleaseLockedError, RollbackFailedError
from tests.test_release_fakes import Box, FakeMarket, fixture_fakes

if TYPE_CHECKING:
    import safe_release as sr
    from safe_release.testing import FakeClock

__all__ = ["fixture_fakes"]

pytestmark = pytest.mark.usefixtures("fakes")


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


class Crash(BaseException):
    """The process dying: nothing after it runs (not even except Exception)."""


def _crash_mid_job(store: sr.Store, box: Box, market: FakeMarket) -> str:
    """A release whose process died in its body: row running, lock held, heartbeat gone."""
    rel = release("sync", store=store, checkpoint=[box], adapters=[market], lease=10)
    rel.__enter__()
    box.value = 2
    market.update_price("A", 5.0)
    rel._unbind()
    assert rel._lock is not None
    rel._lock.close()
    return rel.id


class TestRecover:
    def test_a_crashed_running_release_is_rolled_back_once_its_lease_ends(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """recover() skips a live lease, then rolls the dead release back; twice is harmless."""
        box, market = Box("prices", 1), FakeMarket()
        rid = _crash_mid_job(store, box, market)
        if store.dialect == "sqlite":  # PostgreSQL sees the session is gone at once
            assert recover(store, checkpoint=[box], adapters=[market]) == []
            assert release_record(store, rid).status is ReleaseStatus.RUNNING
        clock.advance(11)
        (report,) = recover(store, checkpoint=[box], adapters=[market])
        assert (report.release_id, report.status) == (rid, ReleaseStatus.ROLLED_BACK)
        assert (box.value, market.prices) == (1, {})
        rec = release_record(store, rid)
        assert rec.status is ReleaseStatus.ROLLED_BACK
        assert rec.error is not None
        assert rec.error.startswith("crashed")
        assert "recovered" in [e.kind for e in rec.events]
        assert recover(store, checkpoint=[box], adapters=[market]) == []
        assert box.restores == 1

    def test_a_rollback_interrupted_by_a_crash_is_finished(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """A crash mid-rollback leaves rolling_back; recover finishes only what is left."""
        first, second = Box("a", 1), Box("b", 1)

        def die() -> None:
            second.on_restore = None
            raise Crash

        second.on_restore = die  # restored first (newest first), dies before its restore
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Crash),
            release("sync", store=store, checkpoint=[first, second], lease=10) as rel,
        ):
            first.value = second.value = 2
            raise ValueError("job failed")
        assert release_record(store, rel.id).status is ReleaseStatus.ROLLING_BACK
        clock.advance(11)
        (report,) = recover(store, checkpoint=[first, second])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert (first.value, second.value) == (1, 1)
        assert (first.restores, second.restores) == (1, 1)
        assert report.reason == "ValueError: job failed"

    def test_a_failed_rollback_is_retried_once_the_cause_is_fixed(self, store: sr.Store) -> None:
        """rollback_failed is finished by recover after the fix, restoring only what failed."""
        good, bad = Box("a", 1), Box("b", 1)
        bad.fail_restore = True
        with (  # noqa: PT012 - the body is under test
            pytest.raises(RollbackFailedError),
            release("sync", store=store, checkpoint=[good, bad]) as rel,
        ):
            good.value = bad.value = 2
            raise Boom
        bad.fail_restore = False
        (report,) = recover(store, checkpoint=[good, bad])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert report.release_id == rel.id
        assert (good.value, bad.value, good.restores) == (1, 1, 1)

    def test_missing_live_objects_leave_it_failed(self, store: sr.Store, clock: FakeClock) -> None:
        """Without the job's adapters recover cannot compensate: the report says so."""
        box, market = Box("prices", 1), FakeMarket()
        rid = _crash_mid_job(store, box, market)
        clock.advance(11)
        (report,) = recover(store, checkpoint=[box])
        assert report.status is ReleaseStatus.ROLLBACK_FAILED
        assert [s.name for s in report.failed] == ["fake price A"]
        (again,) = recover(store, checkpoint=[box], adapters=[market])
        assert again.status is ReleaseStatus.ROLLED_BACK
        assert again.release_id == rid
        assert market.prices == {}
        assert box.restores == 1

    def test_concurrent_recovers_restore_each_release_once(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """Two recover() calls at once: every release is rolled back exactly once."""
        boxes = [Box(f"b{i}", 1) for i in range(3)]
        for i, box in enumerate(boxes):
            rel = release("sync", store=store, scope=f"s{i}", checkpoint=[box], lease=10)
            rel.__enter__()
            box.value = 2
            rel._unbind()
            assert rel._lock is not None
            rel._lock.close()
        clock.advance(11)
        results: list[list[str]] = []
        barrier = threading.Barrier(2)

        def run() -> None:
            barrier.wait()
            results.append([r.release_id for r in recover(store, checkpoint=boxes)])

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(rid for ids in results for rid in ids) == sorted(
            r.id for r in releases(store)
        )
        assert [b.restores for b in boxes] == [1, 1, 1]
        assert [b.value for b in boxes] == [1, 1, 1]

    def test_rollback_of_a_locked_scope_is_refused(self, store: sr.Store) -> None:
        """rollback(id) while another holder (a recovery) has the scope: ReleaseLockedError."""
        with pytest.raises(Boom), release("sync", store=store, on_failure="manual") as parked:
            raise Boom
        holder = ScopeLock(store, "sync", release_id="recovery", owner=new_owner(), lease=60)
        holder.acquire(0.0)
        try:
            with pytest.raises(ReleaseLockedError):
                rollback(store, parked.id)
        finally:
            with store.engine.begin() as conn:
                holder.release(conn)
            holder.close()
        assert rollback(store, parked.id).status is ReleaseStatus.ROLLED_BACK


class TestIncidents:
    def test_time_to_restore_and_change_failure_rate(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """Median and p90 time-to-restore and failed/finished come from the records."""
        for seconds in [1, 2, 3, 4, 10]:
            box = Box("prices")
            box.on_restore = lambda s=seconds: clock.advance(s)
            with pytest.raises(Boom), release("sync", store=store, checkpoint=[box]):
                raise Boom
        for _ in range(5):
            with release("sync", store=store):
                pass
        with release("other", store=store):
            pass
        stats = incident_report(store, scope="sync")
        assert (stats.releases, stats.failed, stats.restored) == (10, 5, 5)
        assert stats.change_failure_rate == 0.5
        assert (stats.ttr_median, stats.ttr_p90) == (3.0, 10.0)
        everything = incident_report(store)
        assert everything.releases == 11

    def test_no_releases(self, store: sr.Store) -> None:
        """With nothing recorded the figures are empty, not an error."""
        stats = incident_report(store)
        assert (stats.releases, stats.change_failure_rate, stats.ttr_median) == (0, 0.0, None)
