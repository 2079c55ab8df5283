"""A job process that fails, rolls back, and SIGKILLs itself at a chosen point of the rollback.

``python -m tests.reliability.crash_child SPEC.json``. The job (`world.run_job`)
runs in ``release(...)`` with the config and the ERP table as checkpoints and
the Amazon adapter; once its body has raised, every commit on the store's and
the ERP's engines (main thread only: the lease heartbeat is not a rollback
step) is a kill point, and so is every compensating PATCH the fake has applied
(killed before the answer is read back into the journal). Each point is
written to ``spec["trace"]`` before it is reached; the process kills itself at
commit ``spec["kill_commit"]`` or PATCH ``spec["kill_patch"]`` (``null``:
never). Without a kill it writes ``done`` and the report's status, exit 0.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, event

import safe_release as sr
from safe_release._checkpoints import table_checkpoint
from safe_release._release import release
from tests.reliability import world


class Points:
    """Counts the kill points of the rollback and kills the process at the chosen one."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.trace = Path(spec["trace"])
        self.kill_commit: int | None = spec["kill_commit"]
        self.kill_patch: int | None = spec["kill_patch"]
        self.armed = False
        self.commits = self.patches = 0
        self.last_sql = ""

    def write(self, *fields: object) -> None:
        with self.trace.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(list(fields)) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def statement(self, _conn: object, _cursor: object, sql: str, *_args: object) -> None:
        if (
            threading.current_thread() is threading.main_thread()
            and not sql.lstrip().upper().startswith(("SELECT", "PRAGMA"))
        ):
            self.last_sql = " ".join(sql.split())[:70]

    def commit(self, _conn: object) -> None:
        if not self.armed or threading.current_thread() is not threading.main_thread():
            return
        self.commits += 1
        self.write("commit", self.commits, self.last_sql)
        if self.commits == self.kill_commit:
            os.kill(os.getpid(), signal.SIGKILL)

    def patched(self, request: httpx.Request) -> None:
        if not self.armed or request.method != "PATCH":
            return
        self.patches += 1
        self.write("patch", self.patches, request.url.path)
        if self.patches == self.kill_patch:
            os.kill(os.getpid(), signal.SIGKILL)

    def listen(self, *engines: Any) -> None:
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self.statement)
            event.listen(engine, "commit", self.commit)


class KillTransport(httpx.BaseTransport):
    """Real HTTP; after a PATCH the server applied, maybe die before reading the answer."""

    def __init__(self, points: Points) -> None:
        self.inner = httpx.HTTPTransport()
        self.points = points

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()  # the whole answer arrived: the fake applied the write
        self.points.patched(request)
        return response

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str]) -> int:
    """Run the job in a release; report how the rollback ended."""
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    points = Points(spec)
    store = sr.connect(spec["store_url"], schema=spec["store_schema"])
    erp = create_engine(spec["erp_url"])
    table = world.prices_table(spec["erp_schema"])
    points.listen(store.engine, erp)
    pricing = store.config(world.CONFIG)
    adapter = world.amazon(spec["seller"], transport=KillTransport(points))
    checkpoints = [pricing, table_checkpoint(erp, table)]
    try:
        with release(
            "price-sync",
            store=store,
            checkpoint=checkpoints,
            adapters=[adapter],
            scope=world.SCOPE,
            lease=spec["lease"],
        ) as rel:
            points.write("release", rel.id)
            world.run_job(erp, table, pricing, adapter)
            points.armed = True
            raise world.JobFailedError  # noqa: TRY301 - the job fails here, on purpose
    except world.JobFailedError as exc:
        report = getattr(exc, "rollback_report", None)
        points.write(
            "done", points.commits, points.patches, None if report is None else report.status.value
        )
        return 0
    finally:
        adapter.close()
        store.close()
        erp.dispose()
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
