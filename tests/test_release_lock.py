"""One release per scope: the lease lock, waiting, takeover, heartbeat, and concurrency."""

from __future__ import annotations

import subprocess
import threading
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, update

import safe_release as sr
from safe_release._release import recover, release, releases
from safe_release._release._lock import ScopeLock, new_owner, owner_is_dead
from safe_release._report import ReleaseStatus
from safe_release.exceptions import (
    InvalidArgumentError,
    ReleaseLockedError,
    ReleaseStateError,
)
from safe_release.testing import FakeClock
from tests.test_release_fakes import fixture_fakes

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.conftest import Backend

__all__ = ["fixture_fakes"]

pytestmark = pytest.mark.usefixtures("fakes")


class HookClock(FakeClock):
    """A fake clock that runs a callback at each sleep (what 'meanwhile' means in a test)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_sleep: Callable[[], None] | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.on_sleep is not None:
            self.on_sleep()


def _lock_row(store: sr.Store, scope: str) -> Any:
    t = store.tables.release_lock
    with store.engine.connect() as conn:
        return conn.execute(select(t).where(t.c.scope == scope)).first()


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


class TestLocked:
    def test_second_release_in_a_scope_fails_fast(self, store: sr.Store) -> None:
        """A second release in the same scope raises ReleaseLockedError naming the holder."""
        with release("sync", store=store) as first:
            with (
                pytest.raises(ReleaseLockedError) as info,
                release("other", store=store, scope="sync"),
            ):
                pytest.fail("must not run")
            assert (info.value.scope, info.value.holder) == ("sync", first.id)
            assert "wait=" in str(info.value)
            with release("elsewhere", store=store):
                pass  # another scope is independent
        with release("sync", store=store):
            pass  # freed
        assert len(releases(store)) == 3  # the refused one was never recorded

    def test_wait_gives_up_after_the_timeout(self, backend: Backend, store: sr.Store) -> None:
        """With wait=, it polls on the clock and raises once the time is up."""
        clock = HookClock()
        other = sr.connect(backend.url, schema=backend.schema, clock=clock)
        try:
            with (
                release("sync", store=store),
                pytest.raises(ReleaseLockedError, match="after waiting 2 s"),
            ):
                release("sync", store=other, wait=2).__enter__()
            assert 1.9 <= sum(clock.slept) <= 2.0
            assert len(clock.slept) > 10
        finally:
            other.close()

    def test_waiting_release_runs_once_the_holder_finishes(
        self, backend: Backend, store: sr.Store
    ) -> None:
        """A waiting release gets the scope as soon as the holder leaves."""
        clock = HookClock()
        other = sr.connect(backend.url, schema=backend.schema, clock=clock)
        holder = release("sync", store=store)
        holder.__enter__()

        def finish_holder() -> None:
            if holder.status is ReleaseStatus.RUNNING and len(clock.slept) == 3:
                holder.__exit__(None, None, None)

        clock.on_sleep = finish_holder
        try:
            with release("sync", store=other, wait=60) as waiter:
                assert _lock_row(store, "sync").release_id == waiter.id
            assert len(clock.slept) == 3
        finally:
            other.close()

    def test_expired_lease_is_taken_over(self, store: sr.Store, clock: FakeClock) -> None:
        """A holder that stopped renewing loses the scope once its lease ends."""
        crashed = release("sync", store=store, lease=10)
        crashed.__enter__()
        assert crashed._lock is not None
        crashed._lock.close()  # its process "died": no heartbeat, no exit
        clock.advance(5)
        if store.dialect == "sqlite":  # on PostgreSQL the gone session already frees it
            with pytest.raises(ReleaseLockedError):
                release("sync", store=store).__enter__()
        clock.advance(6)
        with pytest.raises(ReleaseStateError, match=r"crashed while running.*recover"):
            release("sync", store=store).__enter__()  # its changes are still in place
        assert [r.status for r in recover(store)] == [ReleaseStatus.ROLLED_BACK]
        with release("sync", store=store) as rel:
            assert _lock_row(store, "sync").release_id == rel.id
        crashed._unbind()

    def test_a_parked_release_blocks_its_scope(self, store: sr.Store) -> None:
        """A release waiting in pending_rollback blocks new ones until it is rolled back."""
        parked = release("sync", store=store, on_failure="manual")
        with pytest.raises(RuntimeError), parked:
            raise RuntimeError("boom")
        with pytest.raises(ReleaseStateError, match=f"safe-release rollback {parked.id}"):
            release("sync", store=store).__enter__()
        with release("other-scope", store=store):
            pass  # other scopes are not blocked
        store.rollback(parked.id)
        with release("sync", store=store) as rel:
            assert rel.status is ReleaseStatus.RUNNING

    def test_a_dead_process_on_this_host_frees_the_scope_at_once(self, store: sr.Store) -> None:
        """A holder whose process exited (same host and pid namespace) is taken over at once."""
        crashed = release("sync", store=store, lease=3600)
        crashed.__enter__()
        assert crashed._lock is not None
        crashed._lock.close()
        if store.dialect == "sqlite":  # PostgreSQL: the closed session already freed it
            with pytest.raises(ReleaseLockedError):  # this process is alive: still held
                release("sync", store=store).__enter__()
        dead = new_owner().split(":")
        dead[2] = str(_exited_pid())
        t = store.tables.release_lock
        with store.engine.begin() as conn:
            conn.execute(update(t).where(t.c.scope == "sync").values(owner=":".join(dead)))
        with pytest.raises(ReleaseStateError, match="crashed while running"):
            release("sync", store=store).__enter__()
        assert len(recover(store)) == 1  # taken over at once: no lease to wait for
        crashed._unbind()

    def test_other_hosts_are_presumed_alive(self) -> None:
        """Only a process of this host and pid namespace can be known dead."""
        parts = new_owner().split(":")
        assert not owner_is_dead(":".join(["elsewhere", *parts[1:]]))
        assert not owner_is_dead(new_owner())
        assert not owner_is_dead("garbage")

    def test_bad_lease_and_wait(self, sqlite_store: sr.Store) -> None:
        """Lease and wait are validated."""
        with pytest.raises(InvalidArgumentError):
            release("x", store=sqlite_store, lease=-1)
        with pytest.raises(InvalidArgumentError):
            ScopeLock(sqlite_store, "x", release_id="r", owner="o", lease=0)


class TestHeartbeat:
    def test_heartbeat_renews_the_lease(self, store: sr.Store, clock: FakeClock) -> None:
        """While the release runs its lease end keeps moving with the clock."""
        with release("sync", store=store, lease=0.09) as rel:
            assert rel._lock is not None
            before = _lock_row(store, "sync").expires_at
            clock.advance(100)
            rel._lock.renewed.clear()
            assert rel._lock.renewed.wait(timeout=5)
            after = _lock_row(store, "sync").expires_at
            assert after >= before + 100
            assert not rel._lock.lost

    def test_a_taken_over_lock_is_noticed(self, store: sr.Store, clock: FakeClock) -> None:
        """renew() answers False once another holder took the scope."""
        lock = ScopeLock(store, "s", release_id="r1", owner="o1", lease=5)
        lock.acquire()
        lock._drop_advisory()
        clock.advance(6)
        other = ScopeLock(store, "s", release_id="r2", owner="o2", lease=5)
        other.acquire()
        assert lock.renew() is False
        assert other.renew() is True
        assert lock._beat_once() is False
        assert lock.lost
        other.close()


@pytest.mark.postgres
class TestLostLock:
    @pytest.mark.parametrize("fails", [False, True])
    def test_a_release_that_lost_its_lock_does_not_finish_it(
        self, store: sr.Store, *, fails: bool
    ) -> None:
        """Taken over while running: no rollback, no success here; ReleaseLockedError."""
        box: list[str] = []
        cp = sr.checkpoint(lambda: "before", box.append, name="box")
        rel = release("sync", store=store, checkpoint=[cp])

        def job() -> None:
            with rel:
                t = store.tables.release_lock
                with store.engine.begin() as conn:  # a recovery took the scope over
                    conn.execute(
                        update(t)
                        .where(t.c.scope == "sync")
                        .values(owner=new_owner("recover-"), release_id="someone-else")
                    )
                if fails:
                    raise RuntimeError("boom")

        with pytest.raises(ReleaseLockedError, match="lost the lock") as info:
            job()
        assert box == []  # nothing restored by this process
        assert isinstance(info.value.__cause__, RuntimeError) is fails
        assert releases(store)[0].status is ReleaseStatus.RUNNING  # left to the new holder


class TestAdvisory:
    def test_a_dead_session_frees_the_scope_before_the_lease_ends(
        self, backend: Backend, store: sr.Store
    ) -> None:
        """On PostgreSQL a holder whose session ended is taken over at once."""
        if backend.name != "postgresql":
            pytest.skip("advisory locks are PostgreSQL's")
        lock = ScopeLock(store, "s", release_id="r1", owner="o1", lease=3600)
        lock.acquire()
        other = ScopeLock(store, "s", release_id="r2", owner="o2", lease=3600)
        with pytest.raises(ReleaseLockedError):
            other.acquire()
        assert lock._advisory is not None
        lock._advisory.invalidate()  # the session dies; its advisory lock with it
        lock._advisory = None
        other.acquire()
        assert _lock_row(store, "s").release_id == "r2"
        other.close()


class TestConcurrency:
    def test_threads_in_one_scope_never_interleave(self, backend: Backend) -> None:
        """Eight threads releasing in one scope run one at a time, all of them."""
        clock = FakeClock()
        stores = [sr.connect(backend.url, schema=backend.schema, clock=clock) for _ in range(8)]
        trace: list[tuple[str, int]] = []
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def job(i: int) -> None:
            try:
                start.wait()
                for _ in range(3):
                    with release("sync", store=stores[i], wait=3600, lease=3600):
                        trace.append(("in", i))
                        trace.append(("out", i))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=job, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        statuses = {r.status for r in releases(stores[0], limit=100)}
        for s in stores:
            s.close()
        assert errors == []
        assert len(trace) == 48
        assert all(
            trace[k][0] == "in" and trace[k + 1] == ("out", trace[k][1]) for k in range(0, 48, 2)
        )
        assert statuses == {ReleaseStatus.SUCCEEDED}
