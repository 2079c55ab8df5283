"""safe-release migrations check|lint|plan, and migrations.plan()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner, Result

import safe_release as sr
from safe_release.cli._app import cli
from safe_release.migrations import compat, plan
from tests.alembic_util import AlembicProject

ORDERS = (
    'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("sku", sa.String(20), nullable=False), sa.Column("note", sa.Text))'
)
LOSSY_UP = 'with op.batch_alter_table("orders") as b:\n    b.drop_column("note")'
LOSSY_DOWN = 'op.add_column("orders", sa.Column("note", sa.Text))'


def invoke(*args: str) -> Result:
    """Run the CLI in-process."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(name="project")
def fixture_project(tmp_path: Path) -> AlembicProject:
    """A two-revision project whose database is a file in tmp_path, at r1."""
    project = AlembicProject(tmp_path)
    project.add("r1", ORDERS, 'op.drop_table("orders")')
    project.add(
        "r2",
        'op.add_column("orders", sa.Column("ref", sa.String(30)))',
        'op.drop_column("orders", "ref")',
    )
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        f"sqlalchemy.url = sqlite:///{tmp_path / 'erp.db'}\n"
    )
    command.upgrade(project.config(f"sqlite:///{tmp_path / 'erp.db'}"), "r1")
    return project


class TestCheckCommand:
    def test_passing_project_exits_0(self, project: AlembicProject) -> None:
        """A reversible project: OK and exit 0."""
        result = invoke("migrations", "check", "-c", str(project.ini))
        assert result.exit_code == 0, result.output
        assert "OK: 2 of 2 revisions" in result.output

    def test_lossy_project_exits_1_naming_the_loss(self, project: AlembicProject) -> None:
        """A lossy downgrade: exit 1, the JSON names table, column and revision."""
        project.add("r3", LOSSY_UP, LOSSY_DOWN)
        result = invoke("migrations", "check", "-c", str(project.ini), "--json")
        assert result.exit_code == 1
        first = json.loads(result.output)["first_failure"]
        assert (first["revision"], first["table"], first["column"]) == ("r3", "orders", "note")

    def test_record_marks_revisions_verified(
        self, project: AlembicProject, tmp_path: Path
    ) -> None:
        """--record stores the verified revisions with their file hashes."""
        url = f"sqlite:///{tmp_path / 'store.db'}"
        result = invoke("--url", url, "migrations", "check", "-c", str(project.ini), "--record")
        assert result.exit_code == 0, result.output
        with sr.connect(url) as store:
            assert set(compat.verified_revisions(store, "sqlite")) == {"r1", "r2"}

    def test_missing_ini(self, tmp_path: Path) -> None:
        """No alembic.ini: a usage error (exit 2) naming the option."""
        result = CliRunner().invoke(cli, ["migrations", "check", "-c", str(tmp_path / "nope.ini")])
        assert result.exit_code == 2
        assert "nope.ini" in result.output
        assert "does not exist" in result.output


class TestLintCommand:
    def test_lint_flags_a_drop(self, project: AlembicProject) -> None:
        """A plain drop_column is flagged as ban-drop-column, exit 1."""
        project.add("r3", LOSSY_UP, LOSSY_DOWN)
        result = invoke("migrations", "lint", "-c", str(project.ini), "--json")
        assert result.exit_code == 1
        rules = [f["rule"] for f in json.loads(result.output)["findings"]]
        assert "ban-drop-column" in rules

    def test_lint_paths(self, project: AlembicProject) -> None:
        """Given files, only they are linted; a clean file exits 0."""
        result = invoke("migrations", "lint", str(project.versions / "r2.py"))
        assert result.exit_code == 0, result.output


class TestPlan:
    def test_pending_revisions_sql_and_losses(self, project: AlembicProject) -> None:
        """The database at r1: r2 and r3 pending, SQL both ways, r3's loss named."""
        project.add("r3", 'op.drop_column("orders", "note")', LOSSY_DOWN)
        report = plan(project.ini)
        assert report.current == ("r1",)
        assert [p.revision for p in report.pending] == ["r2", "r3"]
        assert "ALTER TABLE orders ADD COLUMN ref" in (report.upgrade_sql or "")
        assert report.downgrade_sql
        assert report.pending[1].losses
        assert not report.ok
        assert "downgrade loses" in report.format_text()

    def test_plan_with_store_reports_verification_and_floor(
        self,
        project: AlembicProject,
        tmp_path: Path,
    ) -> None:
        """With a store and an app: unverified revisions and the rollback floor."""
        url = f"sqlite:///{tmp_path / 'store.db'}"
        v1 = sa.MetaData()
        sa.Table(
            "orders",
            v1,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("sku", sa.String(20), nullable=False),
            sa.Column("note", sa.Text),
        )
        with sr.connect(url) as store:
            compat.record(store, "erp", "1.0", v1)
            report = plan(project.ini, store=store, app="erp")
            assert [p.verified for p in report.pending] == [False]
            assert report.floor is not None
            assert report.floor.floor == "1.0"
            sr.migrations.check(project.ini, store=store)
            assert [p.verified for p in plan(project.ini, store=store).pending] == [True]

    def test_cli_plan_json(self, project: AlembicProject) -> None:
        """The CLI prints the plan as one JSON document."""
        result = invoke("migrations", "plan", "-c", str(project.ini), "--json")
        data = json.loads(result.output)
        assert [p["revision"] for p in data["pending"]] == ["r2"]
        assert data["current"] == ["r1"]
        assert result.exit_code == (0 if data["ok"] else 1)

    def test_sql_unavailable_offline_is_a_note(self, project: AlembicProject) -> None:
        """Batch mode cannot run offline on SQLite: that revision is a note, the rest is SQL."""
        project.add("r3", LOSSY_UP, LOSSY_DOWN)
        report = plan(project.ini)
        assert "ALTER TABLE orders ADD COLUMN ref" in (report.upgrade_sql or "")
        assert "-- r3: upgrade SQL not available offline" in (report.upgrade_sql or "")
        assert any(n.startswith("r3: ") and "not available offline" in n for n in report.notes)

    def test_nothing_pending(self, project: AlembicProject, tmp_path: Path) -> None:
        """At head: no pending revisions, empty SQL, OK."""
        command.upgrade(project.config(f"sqlite:///{tmp_path / 'erp.db'}"), "head")
        report = plan(project.ini)
        assert report.pending == ()
        assert report.ok


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "erp_migrations" / "alembic.ini"


class TestUpgradeRunner:
    def test_contract_refused_until_retired(self, tmp_path: Path) -> None:
        """The runner stops before any revision while erp-web 1.4 is live, then runs them."""
        erp = f"sqlite:///{tmp_path / 'erp.db'}"
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        with sr.connect(store_url) as store:
            compat.record(store, "erp-web", "1.4", sa.MetaData())
        refused = CliRunner().invoke(
            cli, ["--url", store_url, "migrations", "upgrade", "-c", str(EXAMPLE), "--db-url", erp]
        )
        assert refused.exit_code == 1
        assert "erp-web" in refused.output
        engine = sa.create_engine(erp)
        assert "orders" not in sa.inspect(engine).get_table_names()
        ok = invoke(
            "--url",
            store_url,
            "migrations",
            "upgrade",
            "-c",
            str(EXAMPLE),
            "--db-url",
            erp,
            "0006",
        )
        assert ok.exit_code == 0, ok.output
        with sr.connect(store_url) as store:
            compat.retire(store, "erp-web", "1.4")
        done = invoke(
            "--url", store_url, "migrations", "upgrade", "-c", str(EXAMPLE), "--db-url", erp
        )
        assert done.exit_code == 0, done.output
        assert done.output.strip() == "upgraded through 0007"
        assert "title" not in {c["name"] for c in sa.inspect(engine).get_columns("listings")}
        engine.dispose()


class TestPlanTarget:
    def test_offline_sql_is_rendered_for_the_target_database(self, tmp_path: Path) -> None:
        """--db-url on another dialect: its SQL (PostgreSQL types), not alembic.ini's."""
        project = AlembicProject(tmp_path)
        project.add(
            "r1",
            'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True),'
            ' sa.Column("st", sa.Enum("a", "b", name="t_st")))',
            'op.drop_table("t")',
        )
        config = project.config(f"sqlite:///{tmp_path / 'erp.db'}")
        target = project.config("postgresql+psycopg://u@127.0.0.1:1/x")
        from safe_release.migrations._check import copy_config  # noqa: PLC0415
        from safe_release.migrations._plan import _sql  # noqa: PLC0415

        notes: list[str] = []
        sql = _sql(
            copy_config(config, url=target.get_main_option("sqlalchemy.url")),
            "upgrade",
            "base:r1",
            notes,
        )
        assert sql is not None, notes
        assert "CREATE TYPE t_st AS ENUM" in sql

    def test_upgrade_needs_a_database(self, tmp_path: Path) -> None:
        """upgrade() without any URL: a typed error saying where to give one."""
        project = AlembicProject(tmp_path)
        project.add("r1", "pass", "pass")
        with pytest.raises(sr.InvalidArgumentError, match="url="):
            sr.migrations.upgrade(project.ini, store=None)

    def test_without_a_store_a_contract_revision_is_refused(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """No --url: revisions up to the contract run; the contract is refused, no store file."""
        monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
        monkeypatch.chdir(tmp_path)
        erp = f"sqlite:///{tmp_path / 'erp.db'}"
        ok = invoke("migrations", "upgrade", "-c", str(EXAMPLE), "--db-url", erp, "0006")
        assert ok.exit_code == 0, ok.output
        refused = CliRunner().invoke(
            cli, ["migrations", "upgrade", "-c", str(EXAMPLE), "--db-url", erp]
        )
        assert refused.exit_code == 1
        assert "no store was given" in refused.output
        assert not (tmp_path / "safe_release.db").exists()
