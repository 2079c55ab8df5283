"""Reliability: a rollback killed with SIGKILL at any point is finished by ``recover()``.

A child process (``tests/reliability/crash_child.py``) runs the job of
``tests/reliability/world.py`` in a release: a new config version, ERP rows
changed, inserted and deleted, eight Amazon price changes and one shipment
confirmation, then a failure. While it rolls back it kills itself with SIGKILL
at the k-th commit on the store's or the ERP's engine (every journaled step and
transition: the commit never happens) or right after the m-th compensating
PATCH was applied by the fake (sent, not yet journaled as done). A first run
without a kill counts the points. After each kill, ``recover()`` in this
process, given the live checkpoints and adapter, must bring the ERP rows, the
config and the marketplace back to the checkpoint, keep the shipment, never
apply a write twice, and a second ``recover()`` must change nothing.

The fake is served over loopback (``fake.serve()``) on the real clock, so the
child and the test see one marketplace. Kill points run in parallel worlds
(each its own store, ERP database and fake) to keep the module near 30 s.

Takeover of the dead child's scope happens long before its 30 s lease ends: on
PostgreSQL the child's advisory lock dies with its session (polled briefly: the
server notices the closed socket asynchronously); on SQLite the lock's owner
names a process of this host that no longer exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, create_engine, select, text

import safe_release as sr
from safe_release._release import recover, release_record
from safe_release._report import ReleaseStatus
from safe_release.testing import FakeAmazon
from tests.reliability import world

if TYPE_CHECKING:
    from collections.abc import Iterator

table_checkpoint = sr.table_checkpoint

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 60.0
LEASE_S = 30.0
TAKEOVER_S = 10.0
WORKERS = 8
_CONNECT = threading.Lock()
"""connect() runs Alembic, whose context is global: two threads may not connect at once."""


@dataclass(frozen=True)
class Kill:
    """Where the child dies: the k-th commit or the m-th compensating PATCH (or never)."""

    commit: int | None = None
    patch: int | None = None

    def __str__(self) -> str:
        return (
            f"commit {self.commit}"
            if self.commit
            else (f"patch {self.patch}" if self.patch else "no kill")
        )


@dataclass
class World:
    """One store, one ERP database, one served fake: the scene of one crash."""

    backend: str
    store_url: str
    store_schema: str | None
    erp_url: str
    erp_schema: str | None
    tmp: Path
    fake: FakeAmazon = field(default_factory=lambda: FakeAmazon(clock=sr.SystemClock()))
    trace: list[list[Any]] = field(default_factory=list)

    _store: sr.Store | None = None

    @property
    def store(self) -> sr.Store:
        """The test's store (opened once), on the real clock: the child's lease has not expired."""
        if self._store is None:
            with _CONNECT:
                self._store = sr.connect(
                    self.store_url, schema=self.store_schema, clock=sr.SystemClock()
                )
        return self._store

    def close(self) -> None:
        """Close the test's store, if it was opened."""
        if self._store is not None:
            self._store.close()


@contextlib.contextmanager
def new_world(backend: str, tmp: Path, pg_url: str | None) -> Iterator[tuple[World, str]]:
    """A seeded world and the fake's base URL; its PostgreSQL schemas dropped after."""
    tmp.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        w = World(
            backend,
            f"sqlite:///{tmp / 'store.db'}",
            None,
            f"sqlite:///{tmp / 'erp.db'}",
            None,
            tmp,
        )
    else:
        assert pg_url is not None
        tag = uuid.uuid4().hex[:10]
        w = World(backend, pg_url, f"t_{tag}", pg_url, f"erp_{tag}", tmp)
    erp = create_engine(w.erp_url)
    try:
        if w.erp_schema:
            with erp.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{w.erp_schema}"'))
        world.seed_erp(erp, world.prices_table(w.erp_schema))
        w.store.config(world.CONFIG).publish(world.BEFORE_CONFIG, author="ops")
        world.seed_fake(w.fake)
        with w.fake.serve() as base_url:
            yield w, base_url
    finally:
        w.close()
        if w.erp_schema:
            with erp.begin() as conn:
                for schema in (w.erp_schema, w.store_schema):
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        erp.dispose()


def run_child(w: World, base_url: str, kill: Kill) -> int:
    """Run the crashing job; its trace lands in ``w.trace``; returns the exit code."""
    trace, spec_path = w.tmp / "trace.jsonl", w.tmp / "spec.json"
    seller = world.Seller.of(w.fake, base_url)
    spec = {
        "store_url": w.store_url,
        "store_schema": w.store_schema,
        "erp_url": w.erp_url,
        "erp_schema": w.erp_schema,
        "seller": seller.__dict__,
        "lease": LEASE_S,
        "kill_commit": kill.commit,
        "kill_patch": kill.patch,
        "trace": str(trace),
    }
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.crash_child", str(spec_path)],
        cwd=ROOT,
        capture_output=True,
        timeout=CHILD_TIMEOUT_S,
        env=os.environ.copy(),
        check=False,
    )
    if trace.exists():
        w.trace = [json.loads(x) for x in trace.read_text(encoding="utf-8").splitlines()]
    if proc.returncode not in (0, -signal.SIGKILL):
        pytest.fail(f"crash child failed ({kill}):\n{proc.stderr.decode()[-3000:]}")
    return proc.returncode


def release_id(w: World) -> str:
    """The id of the child's release (from its trace)."""
    return next(x[1] for x in w.trace if x[0] == "release")


def live_parts(store: sr.Store, w: World, base_url: str) -> tuple[list[Any], Any, Engine]:
    """The job's live checkpoints and adapter, as recover() is given them."""
    erp = create_engine(w.erp_url)
    table = world.prices_table(w.erp_schema)
    adapter = world.amazon(world.Seller.of(w.fake, base_url))
    return [store.config(world.CONFIG), table_checkpoint(erp, table)], adapter, erp


def recover_once(store: sr.Store, parts: list[Any], adapter: Any) -> list[Any]:
    """recover(), retried (bounded) until the dead child's lock is seen to be free."""
    deadline = time.monotonic() + TAKEOVER_S
    while True:
        reports = recover(store, checkpoint=parts, adapters=[adapter])
        if reports or time.monotonic() > deadline:
            return reports
        store.clock.sleep(0.05)  # real clock: the server drops the dead session soon


def check_recovery(w: World, base_url: str, before: dict[str, Any]) -> None:
    """recover() restores everything once; a second recover() changes nothing."""
    rid, store = release_id(w), w.store
    parts, adapter, erp = live_parts(store, w, base_url)
    try:
        status = release_record(store, rid).status
        if status is ReleaseStatus.ROLLED_BACK:  # killed after the final commit:
            record = release_record(store, rid)  # then the record is complete
            assert record.report is not None
            assert record.finished_at is not None
            assert recover(store, checkpoint=parts, adapters=[adapter]) == []
        else:
            assert status in (ReleaseStatus.RUNNING, ReleaseStatus.ROLLING_BACK)
            reports = recover_once(store, parts, adapter)
            assert [(r.release_id, r.status) for r in reports] == [
                (rid, ReleaseStatus.ROLLED_BACK)
            ], reports
            assert reports[0].failed == ()
        table = world.prices_table(w.erp_schema)
        assert world.world_state(erp, table, store, w.fake) == before
        assert len(w.fake.shipments) == 1  # irreversible: kept
        w.fake.assert_no_duplicate_writes()
        writes, head = len(w.fake.writes()), store.config(world.CONFIG).refresh().version
        assert recover(store, checkpoint=parts, adapters=[adapter]) == []
        assert world.world_state(erp, table, store, w.fake) == before
        assert (len(w.fake.writes()), store.config(world.CONFIG).refresh().version) == (
            writes,
            head,
        )
        assert release_record(store, rid).status is ReleaseStatus.ROLLED_BACK
    finally:
        adapter.close()
        erp.dispose()


def before_state(w: World) -> dict[str, Any]:
    """The world as the checkpoint captured it (taken before the child runs)."""
    erp = create_engine(w.erp_url)
    try:
        return world.world_state(erp, world.prices_table(w.erp_schema), w.store, w.fake)
    finally:
        erp.dispose()


def crash_and_recover(backend: str, tmp: Path, pg_url: str | None, kill: Kill) -> str:
    """One kill point end to end; returns the label of the point killed at."""
    with new_world(backend, tmp, pg_url) as (w, base_url):
        before = before_state(w)
        code = run_child(w, base_url, kill)
        assert code == -signal.SIGKILL, f"{kill}: the child was not killed (point not reached)"
        check_recovery(w, base_url, before)
        point = [x for x in w.trace if x[0] in ("commit", "patch")][-1]
        return f"{point[0]} {point[1]}: {point[2]}"


def count_points(backend: str, tmp: Path, pg_url: str | None) -> tuple[int, int, list[str]]:
    """Run the job without a kill: its own rollback completes; count commits and PATCHes."""
    with new_world(backend, tmp, pg_url) as (w, base_url):
        before = before_state(w)
        assert run_child(w, base_url, Kill()) == 0
        [done] = [x for x in w.trace if x[0] == "done"]
        assert done[3] == ReleaseStatus.ROLLED_BACK.value
        erp = create_engine(w.erp_url)
        state = world.world_state(erp, world.prices_table(w.erp_schema), w.store, w.fake)
        erp.dispose()
        assert state == before
        w.fake.assert_no_duplicate_writes()
        labels = [f"{x[0]} {x[1]}: {x[2]}" for x in w.trace if x[0] in ("commit", "patch")]
        (tmp / "points.json").write_text(json.dumps(labels), encoding="utf-8")
        return done[1], done[2], labels


def run_points(backend: str, tmp: Path, pg_url: str | None, kills: list[Kill]) -> None:
    """Every kill point in its own world, in parallel; fail listing every failure."""

    def one(n: int, kill: Kill) -> str | None:
        try:
            crash_and_recover(backend, tmp / f"k{n}", pg_url, kill)
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            return f"{kill}: {type(exc).__name__}: {str(exc)[:1500]}"
        return None

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        failures = [f for f in pool.map(one, range(len(kills)), kills) if f is not None]
    assert not failures, f"{len(failures)} of {len(kills)} kill points failed:\n" + "\n".join(
        failures
    )


@pytest.fixture(scope="module", name="sqlite_points")
def fixture_sqlite_points(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int]:
    """The commits and PATCHes of the job's rollback on SQLite (one run, shared)."""
    commits, patches, labels = count_points("sqlite", tmp_path_factory.mktemp("count"), None)
    assert commits + patches >= 20, labels
    return commits, patches


@pytest.mark.slow
class TestCrashDuringRollback:
    def test_sqlite_points(self, tmp_path: Path, sqlite_points: tuple[int, int]) -> None:
        """SQLite: kills at each distinct commit and at compensating PATCHes are recovered.

        Every commit up to the second compensation's, and the last seven; the
        compensations in between repeat the same three commits and one PATCH.
        """
        commits, patches = sqlite_points
        picked = sorted(
            {*range(1, min(commits, 16) + 1), *range(max(1, commits - 6), commits + 1)}
        )
        kills = [Kill(commit=k) for k in picked]
        kills += [Kill(patch=m) for m in sorted({1, 2, patches})]
        run_points("sqlite", tmp_path, None, kills)

    @pytest.mark.postgres
    def test_postgresql_points(self, tmp_path: Path, pg_url: str) -> None:
        """PostgreSQL: kills at every third commit and at PATCHes are recovered at once."""
        commits, patches, labels = count_points("postgresql", tmp_path / "count", pg_url)
        assert commits + patches >= 20, labels
        kills = [Kill(commit=k) for k in range(1, commits + 1, 3)]
        kills += [Kill(patch=m) for m in (1, patches // 2, patches)]
        assert len(kills) >= 15
        run_points("postgresql", tmp_path, pg_url, kills)


@pytest.mark.slow
class TestFinalTransaction:
    def test_recover_finishes_a_release_killed_in_its_last_commit(
        self, tmp_path: Path, sqlite_points: tuple[int, int]
    ) -> None:
        """Killed at the rollback's last commit: recover() records the report, frees the scope."""
        commits, _ = sqlite_points
        with new_world("sqlite", tmp_path / "last", None) as (w, base_url):
            assert run_child(w, base_url, Kill(commit=commits)) == -signal.SIGKILL
            rid, store = release_id(w), w.store
            parts, adapter, erp = live_parts(store, w, base_url)
            try:
                recover(store, checkpoint=parts, adapters=[adapter])
                record = release_record(store, rid)
                assert record.report is not None
                assert record.finished_at is not None
                with store.engine.connect() as conn:
                    assert list(conn.execute(select(store.tables.release_lock))) == []
            finally:
                adapter.close()
                erp.dispose()
