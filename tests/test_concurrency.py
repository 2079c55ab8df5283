"""Concurrent publishers never lose an update: threads and processes, both backends."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

import safe_release as sr

if TYPE_CHECKING:
    from tests.conftest import Backend

WRITERS = 8
PER_WRITER = 10

_WORKER = """
import sys, safe_release as sr
url, schema, who, mode = sys.argv[1], sys.argv[2] or None, sys.argv[3], sys.argv[5]
n = int(sys.argv[4])
store = sr.connect(url, schema=schema)
cfg = store.config("pricing")
done = 0
while done < n:
    if mode == "cas":
        head = cfg.refresh()
        content = dict(head.content)
        content[who] = content.get(who, 0) + 1
        try:
            cfg.publish(content, author=who, expected_version=head.version)
        except sr.VersionConflictError:
            continue
    else:
        cfg.publish({"by": who, "i": done}, author=who)
    done += 1
store.close()
"""


def _seed(backend: Backend) -> sr.Store:
    store = sr.connect(backend.url, schema=backend.schema)
    store.config("pricing").publish({}, author="seed")
    return store


class TestThreads:
    def test_blind_publishes_all_land(self, backend: Backend) -> None:
        """N threads x M publishes yield exactly N*M new, gap-free versions."""
        store = _seed(backend)
        cfg = store.config("pricing")

        def work(who: int) -> None:
            for i in range(PER_WRITER):
                cfg.publish({"by": who, "i": i}, author=f"t{who}")

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(work, range(WRITERS)))
        versions = cfg.history(limit=1000)
        assert [v.version for v in versions] == list(range(WRITERS * PER_WRITER + 1, 0, -1))
        assert all(v.parent == v.version - 1 for v in versions if v.version > 1)
        store.close()

    def test_compare_and_set_loses_no_update(self, backend: Backend) -> None:
        """Read-modify-write loops with expected_version never lose an increment."""
        store = _seed(backend)
        cfg = store.config("pricing")
        conflicts = 0
        lock = threading.Lock()

        def work(who: int) -> None:
            nonlocal conflicts
            done = 0
            while done < PER_WRITER:
                head = cfg.refresh()
                content = dict(head.content)  # type: ignore[arg-type]
                content[f"t{who}"] = int(content.get(f"t{who}", 0)) + 1  # type: ignore[arg-type]
                try:
                    cfg.publish(content, author=f"t{who}", expected_version=head.version)
                except sr.VersionConflictError:
                    with lock:
                        conflicts += 1
                    continue
                done += 1

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(work, range(WRITERS)))
        assert cfg.refresh().content == {f"t{w}": PER_WRITER for w in range(WRITERS)}
        assert cfg.current().version == WRITERS * PER_WRITER + 1
        store.close()


class TestProcesses:
    @pytest.mark.parametrize("mode", ["blind", "cas"])
    def test_processes_lose_no_update(self, backend: Backend, mode: str) -> None:
        """Separate processes publishing to one config lose nothing."""
        store = _seed(backend)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER,
                    backend.url,
                    backend.schema or "",
                    f"p{i}",
                    str(PER_WRITER),
                    mode,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        outs = [p.communicate(timeout=180) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, outs
        cfg = store.config("pricing")
        head = cfg.refresh()
        assert head.version == 4 * PER_WRITER + 1
        if mode == "cas":
            assert head.content == {f"p{i}": PER_WRITER for i in range(4)}
        numbers = [v.version for v in cfg.history(limit=1000)]
        assert numbers == list(range(head.version, 0, -1))
        store.close()
