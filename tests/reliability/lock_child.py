"""A job process for the concurrency tests: release in one scope, record when it held it.

``python -m tests.reliability.lock_child SPEC.json``. Modes (``spec["mode"]``):

- ``loop``: ``iterations`` times, ``with release(..., scope=spec["scope"], wait=30)``
  append ``enter`` and ``exit`` lines (pid, iteration, ``time.monotonic_ns()``) to
  ``spec["out"]``, and in between do a read-modify-write of a counter row (a lost
  update would show that two bodies overlapped).
- ``try``: one ``release(..., wait=0)`` while the parent holds the scope; write
  the outcome (``locked`` with the holder and the elapsed time, or ``entered``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

import safe_release as sr
from safe_release._release import release
from safe_release.exceptions import ReleaseLockedError


def _line(out: Path, *fields: object) -> None:
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(list(fields)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _bump(store: sr.Store, table: str) -> None:
    """Read the counter, pause, write it back plus one (two transactions: racy on purpose)."""
    with store.engine.begin() as conn:
        n = conn.execute(text(f"SELECT n FROM {table}")).scalar_one()  # noqa: S608 - test table
    store.clock.sleep(0.003)  # widen the window an overlap would need to lose an update
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET n = :n"), {"n": n + 1})  # noqa: S608


def loop(spec: dict[str, Any], store: sr.Store) -> None:
    """Enter the scope ``iterations`` times, recording each stay."""
    out, pid = Path(spec["out"]), os.getpid()
    for i in range(spec["iterations"]):
        with release(f"job-{pid}", store=store, scope=spec["scope"], wait=30):
            _line(out, pid, i, "enter", time.monotonic_ns())
            _bump(store, spec["counter"])
            _line(out, pid, i, "exit", time.monotonic_ns())
    _line(out, pid, -1, "done", time.monotonic_ns())


def try_once(spec: dict[str, Any], store: sr.Store) -> None:
    """One attempt with wait=0 while the scope is held elsewhere."""
    out, started = Path(spec["out"]), time.monotonic()
    try:
        with release("intruder", store=store, scope=spec["scope"], wait=0):
            _line(out, "entered", time.monotonic() - started, "")
    except ReleaseLockedError as exc:
        _line(out, "locked", time.monotonic() - started, exc.holder)


def main(argv: list[str]) -> int:
    """Run the mode the spec file names."""
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    store = sr.connect(spec["url"], schema=spec["schema"])
    try:
        {"loop": loop, "try": try_once}[spec["mode"]](spec, store)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
