"""The Store: URLs, engines, the SDK's own Alembic revisions."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import safe_release as sr
from safe_release._store._engine import DEFAULT_URL, ENV_URL, resolve_url

if TYPE_CHECKING:
    from tests.conftest import Backend


class TestConnect:
    def test_url_argument_wins(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An explicit URL is used even when SAFE_RELEASE_URL is set."""
        monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'env.db'}")
        with sr.connect(f"sqlite:///{tmp_path / 'arg.db'}") as store:
            assert store.engine.url.database == str(tmp_path / "arg.db")

    def test_env_url(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without an argument the URL comes from SAFE_RELEASE_URL."""
        monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'env.db'}")
        with sr.connect() as store:
            assert store.engine.url.database == str(tmp_path / "env.db")

    def test_default_url(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without argument or env var the store is ./safe_release.db."""
        monkeypatch.delenv(ENV_URL, raising=False)
        monkeypatch.chdir(tmp_path)
        assert resolve_url(None) == DEFAULT_URL
        with sr.connect() as store:
            store.config("p").publish({"a": 1}, author="a")
        assert (tmp_path / "safe_release.db").exists()

    def test_existing_engine_is_used_not_disposed(self, tmp_path: Path) -> None:
        """An ERP's own Engine hosts the SDK's tables and stays usable after close()."""
        engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
        store = sr.connect(engine)
        assert store.engine is engine
        store.close()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sr_config")).scalar() == 0
        engine.dispose()

    @pytest.mark.parametrize(
        ("url", "match"),
        [
            ("not a url", "could not be parsed"),
            ("mysql://u@h/db", "not supported"),
            ("postgresql+nosuchdriver://u@h/db", "driver"),
        ],
    )
    def test_bad_urls(self, url: str, match: str) -> None:
        """Unusable URLs raise StoreConfigurationError saying what to use."""
        with pytest.raises(sr.StoreConfigurationError, match=match):
            sr.connect(url)

    def test_wrong_argument_type(self) -> None:
        """connect() refuses things that are neither URL nor Engine."""
        with pytest.raises(sr.InvalidArgumentError, match="URL string or Engine"):
            sr.connect(42)  # type: ignore[arg-type]

    def test_unreachable_database_is_a_store_error(self) -> None:
        """A server that does not answer gives StoreError with the password masked."""
        url = "postgresql+psycopg://erp:hunter2@127.0.0.1:1/erp?connect_timeout=2"
        with pytest.raises(sr.StoreError) as info:
            sr.connect(url)
        assert "hunter2" not in str(info.value)
        assert "***" in str(info.value)

    def test_schema_option_is_postgresql_only(self, tmp_path: Path) -> None:
        """schema= on SQLite is refused with advice."""
        with pytest.raises(sr.StoreConfigurationError, match="only supported on PostgreSQL"):
            sr.connect(f"sqlite:///{tmp_path / 'a.db'}", schema="x")

    @pytest.mark.postgres
    def test_schema_must_be_identifier(self, pg_url: str) -> None:
        """A schema name that is not a plain identifier is refused."""
        with pytest.raises(sr.StoreConfigurationError, match="plain identifier"):
            sr.connect(pg_url, schema='x"; DROP TABLE y; --')

    def test_repr_masks_password(self) -> None:
        """The store's repr never shows the password."""
        engine = create_engine("postgresql+psycopg://erp:s3cret@127.0.0.1/erp")
        store = sr.Store(engine)
        assert "s3cret" not in repr(store)
        assert "***" in repr(store)

    def test_sqlite_is_tuned_for_several_processes(self, tmp_path: Path) -> None:
        """Stores on SQLite use WAL and a busy timeout."""
        with sr.connect(f"sqlite:///{tmp_path / 'w.db'}") as store, store.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


class TestSchema:
    def test_threads_connect_at_once(self, tmp_path: Path) -> None:
        """Threads creating stores at once (Alembic's proxies are process-wide) all succeed."""

        def open_one(i: int) -> str | None:
            with sr.connect(f"sqlite:///{tmp_path / f's{i}.db'}") as store:
                return store.current_revision()

        with ThreadPoolExecutor(8) as pool:
            revisions = list(pool.map(open_one, range(24)))
        assert revisions == [sr.Store.head_revision()] * 24

    def test_upgrade_creates_sdk_tables_only(self, store: sr.Store, backend: Backend) -> None:
        """The SDK creates only sr_ tables, tracked in its own version table."""
        insp = inspect(store.engine)
        tables = set(insp.get_table_names(schema=backend.schema))
        assert tables == {
            "sr_config",
            "sr_config_version",
            "sr_config_event",
            "sr_rate_bucket",
            "sr_quota_window",
            "sr_refresh_lock",
            "sr_release",
            "sr_release_lock",
            "sr_release_event",
            "sr_checkpoint",
            "sr_ledger",
            "sr_app_schema",
            "sr_migration_verified",
            "sr_alembic_version",
        }
        assert store.current_revision() == store.head_revision()

    def test_upgrade_is_idempotent(self, store: sr.Store) -> None:
        """upgrade() on an up-to-date store is a no-op."""
        assert store.upgrade() == store.head_revision()
        assert store.upgrade() == store.head_revision()

    def test_revisions_match_table_definitions(self, store: sr.Store, backend: Backend) -> None:
        """The Alembic revisions create exactly what the Core tables describe."""
        with store.engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": backend.schema is not None,
                    "include_name": lambda name, type_, _p: (
                        type_ != "schema" or name == backend.schema
                    ),
                    "include_object": lambda _o, name, type_, _r, _c: (
                        not (type_ == "table" and name == sr.VERSION_TABLE)
                    ),
                },
            )
            diffs = compare_metadata(ctx, store.tables.metadata)
        assert diffs == []

    def test_no_auto_upgrade_on_old_database(self, backend: Backend) -> None:
        """auto_upgrade=False on a database without the tables says what to run."""
        with pytest.raises(sr.SchemaOutOfDateError, match="safe-release db upgrade") as info:
            sr.connect(backend.url, schema=backend.schema, auto_upgrade=False)
        assert info.value.current is None
        with sr.connect(backend.url, schema=backend.schema):
            pass
        with sr.connect(backend.url, schema=backend.schema, auto_upgrade=False) as store:
            assert store.current_revision() == sr.Store.head_revision()

    def test_concurrent_first_connects(self, backend: Backend) -> None:
        """Several processes upgrading an empty database at once all succeed."""
        import subprocess  # noqa: PLC0415
        import sys  # noqa: PLC0415

        code = (
            "import sys, safe_release as sr\n"
            "s = sr.connect(sys.argv[1], schema=(sys.argv[2] or None))\n"
            "print(s.current_revision())\n"
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, backend.url, backend.schema or ""],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
        assert {o[0].strip() for o in outs} == {sr.Store.head_revision()}


class TestBesideAnErpAlembicHistory:
    def _erp_project(self, root: Path, url: str) -> object:
        from alembic.config import Config  # noqa: PLC0415

        (root / "versions").mkdir(parents=True)
        (root / "env.py").write_text(
            "from alembic import context\n"
            "from sqlalchemy import create_engine\n"
            "import safe_release as sr\n"
            "engine = create_engine(context.config.get_main_option('sqlalchemy.url'))\n"
            "with engine.connect() as conn:\n"
            "    context.configure(connection=conn, target_metadata=None,\n"
            "                      include_object=sr.exclude_sdk_tables)\n"
            "    with context.begin_transaction():\n"
            "        context.run_migrations()\n"
            "engine.dispose()\n"
        )
        (root / "script.py.mako").write_text("")
        (root / "versions" / "e1_orders.py").write_text(
            "import sqlalchemy as sa\nfrom alembic import op\n"
            "revision = 'e1'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n"
            "def upgrade():\n"
            "    op.create_table('orders', sa.Column('id', sa.Integer, primary_key=True))\n"
            "def downgrade():\n    op.drop_table('orders')\n"
        )
        cfg = Config()
        cfg.set_main_option("script_location", str(root))
        cfg.set_main_option("sqlalchemy.url", url)
        return cfg

    def test_erp_history_untouched(self, tmp_path: Path) -> None:
        """The ERP's alembic_version and tables survive the SDK's upgrade, and vice versa."""
        from alembic import command  # noqa: PLC0415

        url = f"sqlite:///{tmp_path / 'erp.db'}"
        cfg = self._erp_project(tmp_path / "alembic", url)
        command.upgrade(cfg, "head")  # type: ignore[arg-type]
        with sr.connect(url) as store:
            store.config("p").publish({"a": 1}, author="a")
        con = sqlite3.connect(tmp_path / "erp.db")
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("e1",)]
        assert con.execute("SELECT version_num FROM sr_alembic_version").fetchall() == [
            (sr.Store.head_revision(),)
        ]
        con.close()
        command.downgrade(cfg, "base")  # type: ignore[arg-type]
        command.upgrade(cfg, "head")  # type: ignore[arg-type]
        with sr.connect(url) as store:
            assert store.config("p").current().content == {"a": 1}

    def test_exclude_sdk_tables_hook(self) -> None:
        """The include_object hook hides sr_ tables and the SDK's version table only."""
        assert sr.exclude_sdk_tables(None, "sr_config", "table", True, None) is False
        assert sr.exclude_sdk_tables(None, "sr_alembic_version", "table", True, None) is False
        assert sr.exclude_sdk_tables(None, "orders", "table", True, None) is True
        assert sr.exclude_sdk_tables(None, "sr_x_idx", "index", True, None) is True


class TestFailures:
    def test_database_failure_is_a_store_error(self, tmp_path: Path) -> None:
        """A broken database mid-operation raises StoreError, never a raw driver error."""
        db = tmp_path / "broken.db"
        store = sr.connect(f"sqlite:///{db}")
        cfg = store.config("p")
        cfg.publish({"a": 1}, author="a")
        store.engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        db.write_bytes(b"this is not a database" * 100)
        with pytest.raises(sr.StoreError, match="reading the store failed"):
            cfg.get(1)
        with pytest.raises(sr.StoreError, match="writing to the store failed"):
            cfg.publish({"a": 2}, author="a")
        store.close()

    def test_tables_from_a_newer_sdk(self, backend: Backend) -> None:
        """Tables at a revision this SDK does not ship raise UnknownSchemaRevisionError."""
        store = sr.connect(backend.url, schema=backend.schema)
        version_table = store.tables.metadata.schema
        table = f'"{version_table}".{sr.VERSION_TABLE}' if version_table else sr.VERSION_TABLE
        with store.engine.begin() as conn:
            conn.execute(text(f"UPDATE {table} SET version_num = '9999'"))  # noqa: S608
        store.close()
        for auto in (True, False):
            with pytest.raises(sr.UnknownSchemaRevisionError, match="newer safe_release"):
                sr.connect(backend.url, schema=backend.schema, auto_upgrade=auto)


class TestHardening:
    """Regressions found by review of the store."""

    def test_query_password_is_masked(self) -> None:
        """Passwords given as URL query parameters never show in reprs."""
        engine = create_engine("postgresql+psycopg://u@h/db?password=hunter2&sslmode=require")
        assert "hunter2" not in repr(sr.Store(engine))
        assert "sslmode=require" in repr(sr.Store(engine))

    def test_bad_port_is_a_configuration_error(self) -> None:
        """A malformed port is a StoreConfigurationError, not a ValueError."""
        with pytest.raises(sr.StoreConfigurationError, match="could not be parsed"):
            sr.connect("postgresql://u:pw@h:abc/db")

    @pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
    def test_in_memory_sqlite_is_refused(self, url: str) -> None:
        """An in-memory store would be empty for other threads: refused with advice."""
        with pytest.raises(sr.StoreConfigurationError, match="use a file"):
            sr.connect(url)

    def test_foreign_sqlite_engine_gets_wal_and_busy_timeout(self, tmp_path: Path) -> None:
        """An ERP's own SQLite engine is made safe for several processes."""
        engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
        with sr.connect(engine), engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        engine.dispose()

    @pytest.mark.postgres
    def test_autocommit_engine_still_gets_transactions(self, pg_url: str) -> None:
        """An ERP engine in AUTOCOMMIT mode loses no update under concurrent publishes."""
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        store = sr.connect(engine, schema="t_autocommit")
        cfg = store.config("p")
        cfg.publish({"n": 0}, author="a")

        def bump(_: int) -> None:
            cfg.publish({"n": 1}, author="a")

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(bump, range(30)))
        assert cfg.refresh().version == 31
        with engine.connect() as conn:
            conn.execute(text('DROP SCHEMA "t_autocommit" CASCADE'))
        engine.dispose()

    def test_data_errors_say_why(self, store: sr.Store) -> None:
        """A refused statement reports the database's reason, not 'unreachable'."""
        from sqlalchemy.exc import IntegrityError  # noqa: PLC0415

        from safe_release._store._engine import store_error  # noqa: PLC0415

        exc = IntegrityError("INSERT …", {}, Exception("duplicate key value violates x"))
        message = str(store_error("writing", store.engine, exc))
        assert "duplicate key value" in message
        assert "reachable" not in message


@pytest.mark.postgres
class TestBesideAnErpOnPostgres:
    def test_public_schema_shared_with_erp_history(self, pg_engine: object) -> None:
        """With schema=None on PostgreSQL, the ERP's alembic_version is untouched."""
        import uuid  # noqa: PLC0415

        admin = pg_engine.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[attr-defined]
        name = f"erp_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = pg_engine.url.set(database=name)  # type: ignore[attr-defined]
        erp = create_engine(url)
        with erp.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num varchar(32))"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('erp_head')"))
        with sr.connect(erp) as store:
            store.config("p").publish({"a": 1}, author="a")
        with erp.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
                ("erp_head",)
            ]
            assert conn.execute(text("SELECT version_num FROM sr_alembic_version")).all() == [
                (sr.Store.head_revision(),)
            ]
        erp.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
