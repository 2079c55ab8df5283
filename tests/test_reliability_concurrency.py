"""Reliability: releases in one scope never overlap, across real processes.

Eight processes loop over ``with release(..., scope="s", wait=30)`` on one store
(an SQLite file, then PostgreSQL in a private schema); each writes when it
entered and left the scope (``time.monotonic_ns``, one clock for the host) and
does a deliberately racy read-modify-write of a counter inside. No two stays may
overlap, no update may be lost, and every process must finish. A release with
``wait=0`` in a held scope fails at once with `ReleaseLockedError`.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

import safe_release as sr
from safe_release._release import release, releases
from safe_release.exceptions import ReleaseLockedError

if TYPE_CHECKING:
    from tests.conftest import Backend

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 8
ITERATIONS = 3
CHILD_TIMEOUT_S = 90.0


def _counter_table(backend: Backend) -> str:
    return f'"{backend.schema}".sr_test_counter' if backend.schema else "sr_test_counter"


def _make_counter(store: sr.Store, name: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (n INTEGER NOT NULL)"))
        conn.execute(text(f"INSERT INTO {name} (n) VALUES (0)"))  # noqa: S608 - test table


def _spawn(spec: dict[str, Any], path: Path) -> subprocess.Popen[bytes]:
    path.write_text(json.dumps(spec), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.lock_child", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )


def _finish(proc: subprocess.Popen[bytes]) -> None:
    try:
        _, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child {proc.pid} did not finish in {CHILD_TIMEOUT_S} s:\n{err.decode()}")
    assert proc.returncode == 0, err.decode()


def _read(out: Path) -> list[list[Any]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _stays(lines: list[list[Any]]) -> list[tuple[int, int, int]]:
    """(enter ns, exit ns, pid) for each stay in the scope."""
    enters = {(p, i): t for p, i, what, t in lines if what == "enter"}
    exits = {(p, i): t for p, i, what, t in lines if what == "exit"}
    assert enters.keys() == exits.keys(), "a child entered without leaving (or the reverse)"
    return sorted((enters[k], exits[k], k[0]) for k in enters)


class TestOneReleasePerScope:
    @pytest.mark.slow
    def test_eight_processes_never_interleave(
        self, backend: Backend, store: sr.Store, tmp_path: Path
    ) -> None:
        """8 processes x 3 releases in one scope: stays are disjoint, no update lost."""
        counter = _counter_table(backend)
        _make_counter(store, counter)
        out = tmp_path / "stays.jsonl"
        spec = {
            "mode": "loop",
            "url": backend.url,
            "schema": backend.schema,
            "out": str(out),
            "scope": "s",
            "iterations": ITERATIONS,
            "counter": counter,
        }
        procs = [_spawn(spec, tmp_path / f"spec{n}.json") for n in range(PROCESSES)]
        for proc in procs:
            _finish(proc)
        lines = _read(out)
        done = {p for p, _, what, _ in lines if what == "done"}
        assert done == {proc.pid for proc in procs}
        stays = _stays(lines)
        assert len(stays) == PROCESSES * ITERATIONS
        for (_, left, pid), (entered, _, next_pid) in itertools.pairwise(stays):
            assert left < entered, f"pid {next_pid} entered before pid {pid} left"
        with store.engine.connect() as conn:
            n = conn.execute(text(f"SELECT n FROM {counter}")).scalar_one()  # noqa: S608
        assert n == PROCESSES * ITERATIONS
        records = releases(store, limit=0)
        assert len(records) == PROCESSES * ITERATIONS
        assert {r.status.value for r in records} == {"succeeded"}


class TestWaitZero:
    def test_second_release_fails_fast_in_process(self, store: sr.Store) -> None:
        """While a release holds the scope, wait=0 raises ReleaseLockedError naming it."""
        with release("first", store=store, scope="s") as first:
            with pytest.raises(ReleaseLockedError) as info:  # noqa: SIM117 - the raise is inside
                with release("second", store=store, scope="s", wait=0):
                    pytest.fail("the second release entered a held scope")
            assert (info.value.scope, info.value.holder) == ("s", first.id)
        with release("third", store=store, scope="s", wait=0) as third:
            assert third.status is not None

    @pytest.mark.slow
    def test_second_release_fails_fast_across_processes(
        self, backend: Backend, store: sr.Store, tmp_path: Path
    ) -> None:
        """Another process's wait=0 release fails at once, naming the live holder."""
        out = tmp_path / "try.jsonl"
        spec = {
            "mode": "try",
            "url": backend.url,
            "schema": backend.schema,
            "out": str(out),
            "scope": "s",
        }
        del store  # upgraded the schema; this test needs the real clock the child has
        live = sr.connect(backend.url, schema=backend.schema, clock=sr.SystemClock())
        with live, release("holder", store=live, scope="s", lease=600) as held:
            started = time.monotonic()
            _finish(_spawn(spec, tmp_path / "spec.json"))
            assert time.monotonic() - started < CHILD_TIMEOUT_S
        [(outcome, elapsed, holder)] = _read(out)
        assert (outcome, holder) == ("locked", held.id)
        assert elapsed < 2.0  # "fast": no waiting on the lock
