"""One-line CLI errors: a missing driver names its extra, a database error its cause."""

from __future__ import annotations

import socket
import sqlite3
import sys
import uuid
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from safe_release._store import store_error
from safe_release.cli._app import cli
from tests.alembic_util import AlembicProject

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "hunter2-not-shown"  # noqa: S105 - a fake password that must never be printed


def invoke(*args: str) -> Result:
    """Run the CLI in-process; an exception it does not turn into an exit code propagates."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def one_error_line(result: Result) -> str:
    """The single ``error: …`` line a failed command prints (exit 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(name="project")
def fixture_project(tmp_path: Path) -> AlembicProject:
    """A one-revision Alembic project whose own database is an SQLite file."""
    project = AlembicProject(tmp_path)
    project.add(
        "r1",
        'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))',
        'op.drop_table("orders")',
    )
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        f"sqlalchemy.url = sqlite:///{tmp_path / 'erp.db'}\n"
    )
    return project


@pytest.fixture(name="no_psycopg")
def fixture_no_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import psycopg`` (and psycopg2) fails, as without the postgres extra."""
    monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
    for name in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, name, None)


PG = f"postgresql+psycopg://ops:{SECRET}@127.0.0.1:1/erp"


@pytest.mark.usefixtures("no_psycopg")
class TestMissingDriver:
    @pytest.mark.parametrize(
        "argv",
        [
            ["migrations", "check", "--scratch-url", PG],
            ["migrations", "plan", "--db-url", PG],
            ["migrations", "upgrade", "--db-url", PG],
            ["migrations", "upgrade", "--db-url", PG, "--json"],
        ],
        ids=["check", "plan", "upgrade", "upgrade-json"],
    )
    def test_migration_urls_name_the_extra(self, project: AlembicProject, argv: list[str]) -> None:
        """Without psycopg a PostgreSQL URL gives one line naming the postgres extra, exit 1."""
        line = one_error_line(invoke(*argv, "-c", str(project.ini)))
        assert "PostgreSQL driver (psycopg) is not installed" in line
        assert "pip install 'safe-release[postgres]'" in line
        assert "ModuleNotFoundError" not in line
        assert SECRET not in line

    @pytest.mark.parametrize(
        "argv",
        [["db", "current"], ["config", "list"], ["releases", "list", "--json"]],
    )
    def test_store_urls_name_the_extra(self, argv: list[str]) -> None:
        """--url postgresql+psycopg://… without the driver: one line naming the extra, exit 1."""
        line = one_error_line(invoke("--url", PG, *argv))
        assert "pip install 'safe-release[postgres]'" in line
        assert SECRET not in line

    def test_alembic_ini_url_names_the_extra(self, project: AlembicProject) -> None:
        """A PostgreSQL sqlalchemy.url in alembic.ini (no --db-url) is caught the same way."""
        text = project.ini.read_text().replace("sqlite:///", "postgresql+psycopg://u@127.0.0.1:1/")
        project.ini.write_text(text)
        line = one_error_line(invoke("migrations", "upgrade", "-c", str(project.ini)))
        assert "pip install 'safe-release[postgres]'" in line

    def test_psycopg2_urls_say_both_ways_out(self, project: AlembicProject) -> None:
        """A postgresql+psycopg2:// URL names psycopg2-binary and the extra with psycopg."""
        url = "postgresql+psycopg2://u@127.0.0.1:1/erp"
        line = one_error_line(
            invoke("migrations", "plan", "-c", str(project.ini), "--db-url", url)
        )
        assert "psycopg2 is not installed" in line
        assert "pip install psycopg2-binary" in line
        assert "safe-release[postgres]" in line

    def test_other_missing_modules_still_raise(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing module that is no database driver is not disguised as one."""

        def broken(*_: object, **__: object) -> None:
            raise ModuleNotFoundError("No module named 'myerp'", name="myerp")

        monkeypatch.setattr("safe_release.cli._db._status", broken)
        with pytest.raises(ModuleNotFoundError, match="myerp"):
            invoke("--url", "sqlite:///ignored.db", "db", "current")


class TestSqliteCauses:
    def test_missing_directory(self, tmp_path: Path) -> None:
        """A store in a directory that does not exist: names the directory and mkdir."""
        where = tmp_path / "no" / "such" / "dir"
        line = one_error_line(invoke("--url", f"sqlite:///{where / 's.db'}", "db", "current"))
        assert f"the directory {where} does not exist" in line
        assert f"mkdir -p {where}" in line
        assert "OperationalError" not in line

    def test_path_under_a_file_cannot_be_created(self, tmp_path: Path) -> None:
        """A store path whose parent is a file: the file cannot be created there."""
        (tmp_path / "plain.txt").write_text("x")
        url = f"sqlite:///{tmp_path / 'plain.txt' / 's.db'}"
        line = one_error_line(invoke("--url", url, "db", "upgrade"))
        assert f"{tmp_path / 'plain.txt'} is not a directory" in line

    def test_a_directory_is_not_a_store_file(self, tmp_path: Path) -> None:
        """A URL naming a directory: says to give a file's path."""
        line = one_error_line(invoke("--url", f"sqlite:///{tmp_path}", "db", "current"))
        assert f"{tmp_path} is a directory" in line

    def test_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not SQLite: says so and what to point the URL at."""
        path = tmp_path / "notes.db"
        path.write_text("these are notes, not a database\n" * 100)
        line = one_error_line(invoke("--url", f"sqlite:///{path}", "db", "current"))
        assert f"{path} is not an SQLite database" in line

    def test_locked(self, tmp_path: Path) -> None:
        """A write lock held past the busy timeout: says the database is locked and why."""
        path = tmp_path / "busy.db"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN IMMEDIATE")
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        try:
            with pytest.raises(OperationalError) as info, engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            message = str(store_error("writing to the store", engine, info.value))
        finally:
            engine.dispose()
            holder.close()
        assert "the database is locked" in message
        assert "another connection held its write lock" in message


@pytest.mark.postgres
class TestPostgresCauses:
    def test_database_does_not_exist(self, pg_url: str) -> None:
        """A database name that does not exist: named, with createdb to fix it."""
        name = f"sr_missing_{uuid.uuid4().hex[:8]}"
        url = sa.make_url(pg_url).set(database=name, password=SECRET)
        line = one_error_line(
            invoke("--url", url.render_as_string(hide_password=False), "db", "current")
        )
        assert f'database "{name}" does not exist' in line
        assert f"createdb {name}" in line
        assert SECRET not in line

    def test_role_does_not_exist(self, pg_url: str) -> None:
        """A role that does not exist (trust auth names it): named, with what to do."""
        role = f"sr_nobody_{uuid.uuid4().hex[:8]}"
        url = sa.make_url(pg_url).set(username=role, password=SECRET)
        line = one_error_line(
            invoke("--url", url.render_as_string(hide_password=False), "config", "list")
        )
        assert f'role "{role}" does not exist' in line
        assert "fix the user name in the URL" in line
        assert SECRET not in line
        assert ":***@" in line

    def test_connection_refused(self, pg_url: str) -> None:
        """A port nothing listens on: connection refused, host and port named."""
        port = free_port()
        url = sa.make_url(pg_url).set(port=port, password=SECRET)
        line = one_error_line(
            invoke("--url", url.render_as_string(hide_password=False), "db", "current")
        )
        assert f"nothing accepts connections at 127.0.0.1:{port} (connection refused)" in line
        assert "check that PostgreSQL is running" in line
        assert SECRET not in line

    def test_migrations_plan_names_the_missing_database(
        self, pg_url: str, project: AlembicProject
    ) -> None:
        """migrations plan --db-url with a missing database: the same cause, one line."""
        name = f"sr_missing_{uuid.uuid4().hex[:8]}"
        url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        line = one_error_line(
            invoke("migrations", "plan", "-c", str(project.ini), "--db-url", url)
        )
        assert f'database "{name}" does not exist' in line

    def test_refused_login_by_sqlstate(self) -> None:
        """An error carrying SQLSTATE 28P01 is a refused login, whatever its wording."""

        class AuthError(Exception):
            sqlstate = "28P01"

        exc = OperationalError("connect", {}, AuthError("FATAL: authentication failed"))
        url = f"postgresql+psycopg://ops:{SECRET}@db.internal:5433/erp"
        message = str(store_error("connecting", sa.create_engine(url), exc))
        assert "db.internal:5433 refused the login" in message
        assert "check the user name and password" in message
        assert SECRET not in message


class TestUnknownCauses:
    def test_the_driver_line_is_shown_without_the_password(self) -> None:
        """A cause the SDK does not know still shows the driver's line, password masked."""
        exc = OperationalError("SELECT 1", {}, RuntimeError(f"odd failure near {SECRET}"))
        url = f"postgresql+psycopg://ops:{SECRET}@127.0.0.1/erp"
        message = str(store_error("reading", sa.create_engine(url), exc))
        assert "the driver said: odd failure near ***" in message
        assert SECRET not in message
