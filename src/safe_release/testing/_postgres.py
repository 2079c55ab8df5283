"""``TemporaryPostgres``: a throw-away PostgreSQL server from the local binaries.

For test suites and benchmarks that must run against a real PostgreSQL without
one being provisioned: it runs ``initdb`` into a temporary directory, starts the
server on 127.0.0.1 with a free port (fsync off: the data is disposable), creates
a database and hands back its SQLAlchemy URL. As root it runs the server as the
``postgres`` user, as PostgreSQL requires.

Also usable from a shell (this is what ``.ci/run`` does):

    url=$(python -m safe_release.testing start /tmp/pg)
    python -m safe_release.testing stop /tmp/pg
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from safe_release.exceptions import SafeReleaseError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["PostgresUnavailableError", "TemporaryPostgres", "find_postgres_bindir"]

_ROOTS = (Path("/usr/lib/postgresql"),)
_TIMEOUT_S = 120


class PostgresUnavailableError(SafeReleaseError):
    """No PostgreSQL binaries were found, or the server did not start."""


def find_postgres_bindir() -> Path | None:
    """The newest local PostgreSQL ``bin`` directory (Debian layout, or on PATH)."""
    found = [p.parent for root in _ROOTS for p in root.glob("*/bin/initdb")]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TemporaryPostgres:
    """Start a disposable PostgreSQL server; ``url`` points at its database.

    Use it as a context manager (``with TemporaryPostgres() as url:``) or call
    `start` and `stop`. ``datadir`` defaults to a new temporary directory,
    removed again by `stop`.
    """

    def __init__(
        self, datadir: str | Path | None = None, *, database: str = "safe_release_test"
    ) -> None:
        bindir = find_postgres_bindir()
        if bindir is None:
            msg = (
                "no PostgreSQL binaries found (looked for initdb under /usr/lib/postgresql "
                "and on PATH); install them, e.g. apt-get install postgresql"
            )
            raise PostgresUnavailableError(msg)
        self._bin = bindir
        self._owns_dir = datadir is None
        self._datadir = (
            Path(datadir) if datadir else Path(tempfile.mkdtemp(prefix="sr-pg-")) / "data"
        )
        self._database = database
        self.url: str | None = None

    def __repr__(self) -> str:
        state = "running" if self.url else "stopped"
        return f"<TemporaryPostgres {state} datadir={str(self._datadir)!r}>"

    def _run(self, *argv: str) -> str:
        if os.getuid() == 0:
            argv = ("su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv))
        try:
            out = subprocess.run(  # noqa: S603 - our own argv, from the local binaries
                argv, check=True, capture_output=True, text=True, timeout=_TIMEOUT_S
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            msg = f"PostgreSQL command {Path(argv[0]).name} failed: {detail.strip()[:500]}"
            raise PostgresUnavailableError(msg) from exc
        return out.stdout

    def _prepare_dir(self) -> None:
        self._datadir.mkdir(parents=True, exist_ok=True)
        if self._owns_dir:
            self._datadir.parent.chmod(0o755)
        if os.getuid() == 0:
            shutil.chown(self._datadir, "postgres")
        self._datadir.chmod(0o700)

    def start(self) -> str:
        """Initialise (first time), start the server, create the database; return the URL."""
        self._prepare_dir()
        data, port = str(self._datadir), _free_port()
        if not (self._datadir / "PG_VERSION").exists():
            self._run(
                str(self._bin / "initdb"),
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            )
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            str(self._bin / "pg_ctl"),
            "-D",
            data,
            "-l",
            f"{data}/server.log",
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        )
        self._run(
            str(self._bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            self._database,
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{self._database}"
        return self.url

    def stop(self) -> None:
        """Stop the server and remove the data it created."""
        if (self._datadir / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailableError):
                self._run(
                    str(self._bin / "pg_ctl"),
                    "-D",
                    str(self._datadir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                )
        self.url = None
        shutil.rmtree(
            self._datadir.parent if self._owns_dir else self._datadir, ignore_errors=True
        )

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
