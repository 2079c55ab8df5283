"""Releases: success, rollback on any exception, reports, notes, notifiers, guarded jobs."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

import safe_release as sr
from safe_release._release import (
    Release,
    current_release,
    guarded,
    release,
    release_record,
    releases,
    rollback,
)
from safe_release._report import ReleaseStatus, RollbackReport, Verification
from safe_release.exceptions import (
    InvalidArgumentError,
    ReleaseStateError,
    RollbackFailedError,
    StoreError,
)
from tests.test_release_fakes import Box, FakeMarket, FakeRecords, fixture_fakes

if TYPE_CHECKING:
    from safe_release.testing import FakeClock

__all__ = ["fixture_fakes"]


class Boom(Exception):  # noqa: N818 - the job's own error
    pass


def _lock_rows(store: sr.Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(store.tables.release_lock)))


def _kinds(store: sr.Store, release_id: str) -> list[str]:
    return [e.kind for e in release_record(store, release_id).events]


@pytest.mark.usefixtures("fakes")
class TestSuccess:
    def test_success_is_recorded_and_frees_the_scope(self, store: sr.Store) -> None:
        """A body that returns records succeeded with its times and frees the lock."""
        box = Box("prices", 1)
        with release("price-sync", store=store, checkpoint=[box]) as rel:
            assert rel.status is ReleaseStatus.RUNNING
            assert [r.scope for r in _lock_rows(store)] == ["price-sync"]
            box.value = 2
        assert rel.status is ReleaseStatus.SUCCEEDED
        assert box.value == 2
        rec = release_record(store, rel.id)
        assert (rec.status, rec.scope, rec.on_failure) == (
            ReleaseStatus.SUCCEEDED,
            "price-sync",
            "rollback",
        )
        assert rec.finished_at is not None
        assert rec.finished_at.tzinfo is not None
        assert rec.verification is None
        assert rec.report is None
        assert rec.error is None
        assert _kinds(store, rel.id) == ["started", "succeeded"]
        assert _lock_rows(store) == []

    def test_checks_run_after_success_and_mark_it_unverified(self, store: sr.Store) -> None:
        """A failing verify= check after success marks it unverified and rolls nothing back."""
        box = Box("prices", 1)
        market = FakeMarket()

        def orders_flow() -> bool:
            return False

        with release(
            "sync",
            store=store,
            checkpoint=[box],
            adapters=[market],
            verify=[orders_flow, ("always", lambda: None)],
        ) as rel:
            box.value = 2
        assert (rel.status, rel.verification) == (ReleaseStatus.SUCCEEDED, Verification.UNVERIFIED)
        assert box.value == 2
        rec = release_record(store, rel.id)
        assert rec.verification is Verification.UNVERIFIED
        assert rec.verified_at is not None
        failed = rec.events[-1].detail["failed_checks"]
        assert [c["name"] for c in failed] == ["orders_flow"]
        assert rec.events[-1].detail["checks"] == 3  # two checks and the adapter's health

    def test_async_with_succeeds(self, store: sr.Store) -> None:
        """``async with`` runs the same state machine."""

        async def job() -> Release:
            async with release("async-job", store=store) as rel:
                assert current_release() is rel
            return rel

        rel = asyncio.run(job())
        assert release_record(store, rel.id).status is ReleaseStatus.SUCCEEDED

    def test_a_release_is_entered_once(self, store: sr.Store) -> None:
        """Re-entering a finished release is a ReleaseStateError, not a second run."""
        rel = release("once", store=store)
        with rel:
            pass
        with pytest.raises(ReleaseStateError, match="already entered"), rel:
            pass

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"on_failure": "ignore"}, "on_failure"),
            ({"wait": -1}, "wait"),
            ({"lease": 0}, "lease"),
            ({"scope": ""}, "scope"),
            ({"checkpoint": "prices"}, "checkpoint"),
            ({"verify": [42]}, "verify"),
            ({"trigger": 3}, "trigger"),
            ({"checkpoint": [42]}, "Checkpointable"),
            ({"adapters": [object()]}, "adapters="),
            ({"adapters": ["amazon"]}, "adapters="),
            ({"notify": [5]}, "notify="),
        ],
    )
    def test_bad_options_are_typed_errors(
        self, sqlite_store: sr.Store, kwargs: dict[str, Any], match: str
    ) -> None:
        """Bad options raise InvalidArgumentError before anything is recorded."""
        with pytest.raises(InvalidArgumentError, match=match):
            release("job", store=sqlite_store, **kwargs)
        assert releases(sqlite_store) == []

    @pytest.mark.parametrize("bad", [None, "sqlite:///x.db", 42])
    def test_store_must_be_a_store(self, bad: object) -> None:
        """store= takes a Store: anything else is refused at once, with advice."""
        with pytest.raises(InvalidArgumentError, match=r"sr\.connect"):
            release("job", store=bad)  # type: ignore[arg-type]
        if bad is None:  # a guarded job may get its store later (sr.override)
            job = guarded("job", store=None)(lambda: None)
            with pytest.raises(InvalidArgumentError, match=r"sr\.override"):
                job()
            return
        with pytest.raises(InvalidArgumentError, match=r"sr\.connect"):
            guarded("job", store=bad)  # type: ignore[arg-type]

    def test_the_same_checkpoint_twice_is_refused(self, sqlite_store: sr.Store) -> None:
        """Two checkpoints with one name could not be told apart by a recovery."""
        one = sr.checkpoint(dict, lambda _v: None, name="state")
        two = sr.checkpoint(list, lambda _v: None, name="state")
        with pytest.raises(InvalidArgumentError, match="twice"):
            release("job", store=sqlite_store, checkpoint=[one, two])

    @pytest.mark.parametrize("latency", [-1, "slow", True, float("nan")])
    def test_observe_checks_latency(self, sqlite_store: sr.Store, latency: object) -> None:
        """observe(latency=...) takes seconds >= 0 (or None)."""
        with release("job", store=sqlite_store) as rel:
            with pytest.raises(InvalidArgumentError, match="latency"):
                rel.observe(ok=True, latency=latency)  # type: ignore[arg-type]
            rel.observe(ok=True, latency=0.2)


@pytest.mark.usefixtures("fakes")
class TestRollback:
    def test_exception_restores_checkpoints_and_compensates(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """On an exception rows and marketplace prices go back, and the original re-raises."""
        box, market = Box("prices", 1), FakeMarket()
        market.prices["SKU-1"] = 10.0
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            release("price-sync", store=store, checkpoint=[box], adapters=[market]) as rel,
        ):
            box.value = 99
            market.update_price("SKU-1", 1.0)
            market.update_price("SKU-1", 2.0)
            market.update_price("SKU-2", 3.0)
            clock.advance(5)
            raise Boom("price table broken")
        assert (box.value, market.prices) == (1, {"SKU-1": 10.0})
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert isinstance(report, RollbackReport)
        assert report is rel.report
        assert report.summary() in info.value.__notes__
        assert (report.status, report.verification) == (
            ReleaseStatus.ROLLED_BACK,
            Verification.VERIFIED,
        )
        assert [s.name for s in report.restored] == [
            "box prices",
            "fake price SKU-2",
            "fake price SKU-1",
            "fake price SKU-1",
        ]
        assert report.reason == "Boom: price table broken"
        assert market.journal is None  # unbound after the release

    def test_times_and_journal_are_recorded_in_order(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """detected <= rollback started <= restored <= verified <= finished, all journaled."""
        box = Box("prices", 1)
        box.on_restore = lambda: clock.advance(2)
        with pytest.raises(Boom), release("job", store=store, checkpoint=[box]) as rel:  # noqa: PT012 - the release body is the code under test
            clock.advance(1)
            raise Boom("x")
        rec = release_record(store, rel.id)
        assert rec.status is ReleaseStatus.ROLLED_BACK
        assert rec.verification is Verification.VERIFIED
        times = [
            rec.started_at,
            rec.detected_at,
            rec.rollback_started_at,
            rec.restored_at,
            rec.verified_at,
            rec.finished_at,
        ]
        assert all(t is not None for t in times)
        assert times == sorted(times)  # type: ignore[type-var]
        assert rec.time_to_restore == 2.0
        assert rec.report is not None
        assert rec.report.time_to_restore == 2.0
        assert rec.error == "Boom: x"
        assert _kinds(store, rel.id) == ["started", "rolling_back", "step", "restored"]

    def test_rolling_back_is_written_before_anything_is_restored(self, store: sr.Store) -> None:
        """While a checkpoint is being restored the row already says rolling_back."""
        seen: list[ReleaseStatus] = []
        box = Box("prices")
        with pytest.raises(Boom), release("job", store=store, checkpoint=[box]) as rel:  # noqa: PT012 - the release body is the code under test
            box.on_restore = lambda: seen.append(release_record(store, rel.id).status)
            raise Boom
        assert seen == [ReleaseStatus.ROLLING_BACK]

    @pytest.mark.parametrize("signal", [KeyboardInterrupt, SystemExit])
    def test_interrupts_roll_back_too(
        self, sqlite_store: sr.Store, signal: type[BaseException]
    ) -> None:
        """Ctrl-C and SystemExit roll back and are re-raised as themselves."""
        box = Box("prices", 1)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(signal) as info,
            release(
                "job",
                store=sqlite_store,
                checkpoint=[box],
            ),
        ):
            box.value = 2
            raise signal
        assert box.value == 1
        assert info.value.rollback_report.status is ReleaseStatus.ROLLED_BACK  # type: ignore[attr-defined]

    def test_error_column_is_type_and_truncated_message(self, sqlite_store: sr.Store) -> None:
        """The stored error keeps the type and at most 500 characters of message."""
        with pytest.raises(Boom), release("job", store=sqlite_store) as rel:
            raise Boom("x" * 2000)
        error = release_record(sqlite_store, rel.id).error
        assert error is not None
        assert error.startswith("Boom: xxx")
        assert len(error) < 520

    def test_failed_checks_after_rollback_mark_it_unverified(self, store: sr.Store) -> None:
        """A failing check or an unhealthy adapter leaves the rollback unverified."""
        market = FakeMarket()
        market.healthy = False
        with (
            pytest.raises(Boom) as info,
            release("job", store=store, adapters=[market], verify=[("stock ok", lambda: True)]),
        ):
            raise Boom
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert (report.status, report.verification) == (
            ReleaseStatus.ROLLED_BACK,
            Verification.UNVERIFIED,
        )
        assert [(c.name, c.ok) for c in report.checks] == [
            ("stock ok", True),
            ("health fake|S1|app|eu", False),
        ]

    def test_notifiers_get_the_report_and_a_failing_one_masks_nothing(
        self, store: sr.Store
    ) -> None:
        """Each notifier gets the report; one that raises is journaled and ignored."""
        got: list[RollbackReport] = []

        def pager(report: RollbackReport) -> None:
            raise ConnectionError("pager down")

        with pytest.raises(Boom), release("job", store=store, notify=[pager, got.append]) as rel:
            raise Boom
        assert [r.release_id for r in got] == [rel.id]
        notes = [e for e in release_record(store, rel.id).events if e.kind == "notify_failed"]
        assert notes[0].detail == {"notifier": "pager", "error": "ConnectionError: pager down"}

    def test_a_failed_step_raises_rollback_failed(self, store: sr.Store) -> None:
        """A step that fails gives RollbackFailedError with the report and the original."""
        good, bad = Box("a", 1), Box("b", 1)
        bad.fail_restore = True
        with (  # noqa: PT012 - the body is under test
            pytest.raises(RollbackFailedError) as info,
            release("job", store=store, checkpoint=[good, bad]) as rel,
        ):
            good.value = bad.value = 2
            raise Boom("job broke")
        err = info.value
        assert isinstance(err.original, Boom)
        assert err.__cause__ is err.original
        assert err.release_id == rel.id
        assert rel.status is ReleaseStatus.ROLLBACK_FAILED
        report = err.report
        assert isinstance(report, RollbackReport)
        assert [s.name for s in report.restored] == ["box a"]
        assert [s.name for s in report.failed] == ["box b"]
        assert "safe-release recover" in str(err)
        assert "box b" in str(err)
        assert (good.value, bad.value) == (1, 2)
        rec = release_record(store, rel.id)
        assert rec.status is ReleaseStatus.ROLLBACK_FAILED
        assert rec.restored_at is None
        assert _lock_rows(store) == []

    def test_an_error_inside_the_rollback_is_the_cause(
        self, sqlite_store: sr.Store, fakes: FakeRecords
    ) -> None:
        """When restoring itself raises, RollbackFailedError is chained to that error."""
        fakes.fail_store = True
        with (
            pytest.raises(RollbackFailedError) as info,
            release("job", store=sqlite_store, checkpoint=[Box("a")]),
        ):
            raise Boom
        assert isinstance(info.value.__cause__, RuntimeError)
        assert isinstance(info.value.original, Boom)

    def test_a_swallowed_trigger_still_rolls_back(self, store: sr.Store) -> None:
        """A body that catches RollbackTriggered is rolled back and the trigger re-raised."""
        box = Box("prices", 1)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(sr.exceptions.RollbackTriggered),
            release(
                "job", store=store, checkpoint=[box], trigger=lambda obs: len(obs) >= 2
            ) as rel,
        ):
            box.value = 5
            rel.observe(ok=True)
            with contextlib.suppress(sr.exceptions.RollbackTriggered):
                rel.observe(ok=True)
        assert box.value == 1
        assert rel.status is ReleaseStatus.ROLLED_BACK

    def test_failing_capture_aborts_before_the_body(self, store: sr.Store) -> None:
        """A checkpoint that cannot be captured stops the release before its body runs."""
        box = Box("prices")
        box.fail_capture = True
        ran = []
        with (
            pytest.raises(sr.exceptions.CheckpointError),
            release("job", store=store, checkpoint=[box]),
        ):
            ran.append(1)
        assert ran == []
        (rec,) = releases(store)
        assert rec.status is ReleaseStatus.ROLLED_BACK
        assert rec.detected_at is None
        assert _lock_rows(store) == []

    def test_async_with_rolls_back(self, store: sr.Store) -> None:
        """``async with`` rolls back on an exception and re-raises it."""
        box = Box("prices", 1)

        async def job() -> None:
            async with release("job", store=store, checkpoint=[box]):
                box.value = 2
                raise Boom

        with pytest.raises(Boom):
            asyncio.run(job())
        assert box.value == 1


@pytest.mark.usefixtures("fakes")
class TestManual:
    def test_manual_waits_in_pending_rollback_until_rolled_back(self, store: sr.Store) -> None:
        """on_failure='manual' restores nothing until rollback(store, id) runs it."""
        box, market = Box("prices", 1), FakeMarket()
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            release(
                "job", store=store, checkpoint=[box], adapters=[market], on_failure="manual"
            ) as rel,
        ):
            box.value = 2
            market.update_price("A", 5.0)
            raise Boom
        assert (box.value, market.prices) == (2, {"A": 5.0})
        assert rel.status is ReleaseStatus.PENDING_ROLLBACK
        assert any(f"safe-release rollback {rel.id}" in n for n in info.value.__notes__)
        assert release_record(store, rel.id).status is ReleaseStatus.PENDING_ROLLBACK
        report = rollback(store, rel.id, checkpoint=[box], adapters=[market])
        assert (box.value, market.prices) == (1, {})
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert report.reason == "Boom"
        rec = release_record(store, rel.id)
        assert rec.status is ReleaseStatus.ROLLED_BACK
        assert rec.time_to_restore is not None
        with pytest.raises(ReleaseStateError, match="already rolled back"):
            rollback(store, rel.id)

    def test_a_success_cannot_be_rolled_back(self, sqlite_store: sr.Store) -> None:
        """rollback() of a succeeded release is a ReleaseStateError that says what to do."""
        with release("job", store=sqlite_store) as rel:
            pass
        with pytest.raises(ReleaseStateError, match="succeeded"):
            rollback(sqlite_store, rel.id)
        with pytest.raises(sr.exceptions.ReleaseNotFoundError):
            rollback(sqlite_store, "nope")


@pytest.mark.usefixtures("fakes")
class TestGuarded:
    def test_sync_function_keeps_its_signature_and_gets_a_release_per_call(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """Each call runs in a new release; name, docstring and signature are kept."""
        box = Box("prices", 1)
        ids: list[str] = []

        @guarded("nightly", store=store, checkpoint=[box])
        def job(value: int, *, fail: bool = False) -> int:
            """Set the price."""
            rel = current_release()
            assert rel is not None
            ids.append(rel.id)
            box.value = value
            clock.advance(1)
            if fail:
                raise Boom
            return value * 2

        assert job.__name__ == "job"
        assert job.__doc__ == "Set the price."
        assert list(inspect.signature(job).parameters) == ["value", "fail"]
        assert job(3) == 6
        with pytest.raises(Boom):
            job(4, fail=True)
        assert box.value == 3
        assert len(set(ids)) == 2
        assert [r.status for r in releases(store)] == [
            ReleaseStatus.ROLLED_BACK,
            ReleaseStatus.SUCCEEDED,
        ]

    def test_async_function_is_guarded(self, store: sr.Store) -> None:
        """An async job function stays a coroutine function and rolls back on failure."""
        box = Box("prices", 1)

        @guarded("async-job", store=store, checkpoint=[box])
        async def job(value: int) -> int:
            box.value = value
            await asyncio.sleep(0)
            if value < 0:
                raise Boom
            return value

        assert inspect.iscoroutinefunction(job)
        assert asyncio.run(job(5)) == 5
        with pytest.raises(Boom):
            asyncio.run(job(-1))
        assert box.value == 5

    def test_bad_options_fail_at_decoration(self, sqlite_store: sr.Store) -> None:
        """guarded() validates its options when it decorates, not at the first call."""
        with pytest.raises(InvalidArgumentError):
            guarded("job", store=sqlite_store, on_failure="later")  # type: ignore[arg-type]


@pytest.mark.usefixtures("fakes")
class TestRecords:
    def test_releases_lists_newest_first_by_scope(self, store: sr.Store, clock: FakeClock) -> None:
        """releases() is newest first, filtered by scope and limited."""
        ids = []
        for scope in ["a", "b", "a"]:
            with release("job", store=store, scope=scope) as rel:
                ids.append(rel.id)
            clock.advance(1)
        assert [r.id for r in releases(store)] == ids[::-1]
        assert [r.id for r in releases(store, scope="a")] == [ids[2], ids[0]]
        assert [r.id for r in releases(store, limit=1)] == [ids[2]]

    def test_unknown_release_is_not_found(self, store: sr.Store) -> None:
        """release_record of an unknown id is ReleaseNotFoundError (a LookupError)."""
        with pytest.raises(LookupError, match="no release 'missing'"):
            release_record(store, "missing")

    def test_report_is_stored_as_json(self, store: sr.Store) -> None:
        """The report column holds the RollbackReport as JSON."""
        with pytest.raises(Boom), release("job", store=store) as rel:
            raise Boom
        t = store.tables.release
        with store.engine.connect() as conn:
            raw = conn.execute(select(t.c.report).where(t.c.id == rel.id)).scalar_one()
        assert json.loads(raw)["release_id"] == rel.id


class TestStoreDown:
    def test_store_unreachable_at_start_is_a_store_error(
        self, tmp_path: Any, clock: FakeClock
    ) -> None:
        """A release on a store whose tables are gone fails with StoreError before the body."""
        store = sr.connect(f"sqlite:///{tmp_path / 's.db'}", clock=clock)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE sr_release_lock")
        with pytest.raises(StoreError), release("job", store=store):
            pytest.fail("the body must not run")
        store.close()
