"""migrations.check: up, down and up again per revision, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import safe_release as sr
from safe_release.migrations import CheckReport, assert_reversible, check
from tests.alembic_util import ENV_PY, AlembicProject

ORDERS = """op.create_table(
    "orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(20), nullable=False, unique=True),
    sa.Column("price", sa.Numeric(10, 2)),
    sa.Column("note", sa.Text),
    sa.Column("placed_at", sa.DateTime(timezone=True)),
    sa.Column("paid", sa.Boolean, nullable=False, server_default=sa.false()),
)"""
LINES = """op.create_table(
    "lines",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("qty", sa.Integer, nullable=False),
    sa.Column("attrs", sa.JSON),
    sa.Column("blob", sa.LargeBinary),
    sa.Column("shipped_on", sa.Date),
)"""
DROP_NOTE = 'with op.batch_alter_table("orders") as b:\n    b.drop_column("note")'
READD_NOTE = 'op.add_column("orders", sa.Column("note", sa.Text))'


def base_project(root: Path) -> AlembicProject:
    """orders and lines, both created and dropped cleanly."""
    project = AlembicProject(root)
    project.add("r1", ORDERS, 'op.drop_table("orders")')
    project.add("r2", LINES, 'op.drop_table("lines")')
    return project


def run(project: AlembicProject, root: Path, scratch: str | None, **kw: object) -> CheckReport:
    """Check the project; its configured URL is a file the check must never touch."""
    config = project.config(f"sqlite:///{root / 'configured.db'}")
    report = check(config, url=scratch, **kw)  # type: ignore[arg-type]
    assert not (root / "configured.db").exists()
    return report


def errors(report: CheckReport) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, revision, table, column) of each error finding."""
    return [
        (f.kind, f.revision, f.table, f.column) for f in report.findings if f.severity == "error"
    ]


class TestCheckPasses:
    def test_a_reversible_chain_passes(self, tmp_path: Path, scratch: str | None) -> None:
        """Create, add column, index, batch alter: every revision verified, nothing found."""
        project = base_project(tmp_path)
        project.add(
            "r3",
            'op.add_column("orders", sa.Column("ref", sa.String(30)))',
            'with op.batch_alter_table("orders") as b:\n    b.drop_column("ref")',
        )
        project.add(
            "r4",
            'op.create_index("ix_lines_qty", "lines", ["qty"])',
            'op.drop_index("ix_lines_qty", table_name="lines")',
        )
        report = run(project, tmp_path, scratch)
        assert report.ok, report.format_text()
        assert report.verified == ("r1", "r2", "r3", "r4")
        assert report.as_dict()["ok"] is True

    def test_rows_written_into_a_new_column_are_reported_lost_as_info(
        self,
        tmp_path: Path,
        scratch: str | None,
    ) -> None:
        """Values in a column the revision added are dropped by its downgrade: reported, OK."""
        project = base_project(tmp_path)
        project.add(
            "r3",
            'op.add_column("orders", sa.Column("ref", sa.String(30)))',
            'with op.batch_alter_table("orders") as b:\n    b.drop_column("ref")',
        )
        report = run(project, tmp_path, scratch)
        info = [f for f in report.findings if f.kind == "lost"]
        assert [(f.revision, f.table, f.column, f.severity) for f in info] == [
            ("r3", "orders", "ref", "info")
        ]
        assert report.ok

    def test_branches_and_merge(self, tmp_path: Path, scratch: str | None) -> None:
        """Two branches off r2 and their merge are each walked up, down and up."""
        project = base_project(tmp_path)
        project.add(
            "b1",
            'op.add_column("orders", sa.Column("b1", sa.Integer))',
            'with op.batch_alter_table("orders") as b:\n    b.drop_column("b1")',
            down="r2",
        )
        project.add(
            "c1",
            'op.add_column("lines", sa.Column("c1", sa.Integer))',
            'with op.batch_alter_table("lines") as b:\n    b.drop_column("c1")',
            down="r2",
        )
        project.add("m1", "pass", "pass", down=("b1", "c1"))
        report = run(project, tmp_path, scratch)
        assert report.ok, report.format_text()
        assert set(report.checked) == {"r1", "r2", "b1", "c1", "m1"}
        assert report.checked.index("m1") == 4


class TestCheckFinds:
    def test_a_lossy_downgrade_fails_naming_table_column_revision(
        self,
        tmp_path: Path,
        scratch: str | None,
    ) -> None:
        """A drop_column whose downgrade re-adds an empty column loses data: caught."""
        project = base_project(tmp_path)
        project.add("r3", DROP_NOTE, READD_NOTE)
        report = run(project, tmp_path, scratch)
        assert not report.ok
        assert errors(report) == [("data", "r3", "orders", "note")]
        first = report.first_failure
        assert first is not None
        assert "orders.note" in first.message
        assert "r3" in report.format_text()

    def test_a_downgrade_that_deletes_rows(self, tmp_path: Path, scratch: str | None) -> None:
        """A downgrade deleting rows it did not add is named as rows missing."""
        project = base_project(tmp_path)
        project.add("r3", "pass", 'op.execute("DELETE FROM lines WHERE qty % 2 = 0")')
        report = run(project, tmp_path, scratch)
        assert errors(report) == [("data", "r3", "lines", None)]
        assert "rows missing" in report.findings[0].message

    def test_a_forgotten_index_is_a_schema_difference(
        self,
        tmp_path: Path,
        scratch: str | None,
    ) -> None:
        """A downgrade that leaves an index behind: the first schema failure names it."""
        project = base_project(tmp_path)
        project.add("r3", 'op.create_index("ix_orders_price", "orders", ["price"])', "pass")
        report = run(project, tmp_path, scratch)
        assert not report.ok
        first = report.first_failure
        assert first is not None
        assert (first.kind, first.revision, first.table) == ("schema", "r3", "orders")
        assert "ix_orders_price" in first.message

    def test_a_failing_downgrade_stops_the_walk(
        self,
        tmp_path: Path,
        scratch: str | None,
    ) -> None:
        """A downgrade that raises: the report names the revision and the step."""
        project = base_project(tmp_path)
        project.add("r3", "pass", 'raise RuntimeError("cannot go back")')
        project.add("r4", "pass", "pass")
        report = run(project, tmp_path, scratch)
        assert report.failed_step == "r3 downgrade"
        assert "cannot go back" in report.findings[-1].message
        assert report.checked == ("r1", "r2")

    @pytest.mark.postgres
    def test_an_enum_type_left_behind(self, tmp_path: Path, pg_url: str) -> None:
        """PostgreSQL: a downgrade leaving its ENUM type behind: schema differs, re-up fails."""
        project = AlembicProject(tmp_path)
        project.add(
            "e1",
            'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True),'
            ' sa.Column("s", sa.Enum("a", "b", name="t_state")))',
            'op.drop_table("t")',
        )
        report = run(project, tmp_path, pg_url)
        assert [(f.kind, f.revision) for f in report.findings] == [
            ("schema", "e1"),
            ("error", "e1"),
        ]
        assert "type t_state was added" in report.findings[0].message
        # ... and, as with `alembic upgrade` after such a downgrade, upgrading again fails
        assert report.failed_step == "e1 upgrade again"
        assert "t_state" in report.findings[1].message


class TestSeeding:
    CHECKED = (
        'op.create_table("codes", sa.Column("id", sa.Integer, primary_key=True), '
        'sa.Column("code", sa.String(12), nullable=False), '
        'sa.CheckConstraint("code LIKE \'SKU-%\'", name="ck_code"))'
    )

    def test_unseedable_table_is_a_warning(self, tmp_path: Path, scratch: str | None) -> None:
        """Generated rows the table refuses: a warning saying to give rows=, the check OK."""
        project = AlembicProject(tmp_path)
        project.add("k1", self.CHECKED, 'op.drop_table("codes")')
        report = run(project, tmp_path, scratch)
        assert [(f.kind, f.severity, f.table) for f in report.findings] == [
            ("seed", "warning", "codes")
        ]
        assert "rows=" in report.findings[0].message
        assert report.ok

    def test_rows_hook_supplies_valid_values(self, tmp_path: Path, scratch: str | None) -> None:
        """rows={'codes': fn} makes the table seedable; a lossy change is then caught."""
        project = AlembicProject(tmp_path)
        project.add("k1", self.CHECKED, 'op.drop_table("codes")')
        project.add("k2", "op.execute(\"UPDATE codes SET code = 'SKU-x'\")", "pass")
        report = run(project, tmp_path, scratch, rows={"codes": lambda i: {"code": f"SKU-{i}"}})
        assert errors(report) == [("data", "k2", "codes", "code")]


class TestEnvironment:
    def test_a_non_empty_sqlite_file_is_refused(self, tmp_path: Path) -> None:
        """url= naming an existing database: refused, it is not a scratch database."""
        (tmp_path / "erp.db").write_bytes(b"x")
        project = base_project(tmp_path)
        with pytest.raises(sr.InvalidArgumentError, match="not empty"):
            check(project.config("sqlite://"), url=f"sqlite:///{tmp_path / 'erp.db'}")

    @pytest.mark.parametrize("bad", [0, -1, True, "10", 1_000_001])
    def test_bad_rows_per_table(self, tmp_path: Path, bad: object) -> None:
        """rows_per_table must be a sensible int."""
        project = base_project(tmp_path)
        with pytest.raises(sr.InvalidArgumentError, match="rows_per_table"):
            check(project.config("sqlite://"), rows_per_table=bad)  # type: ignore[arg-type]

    def test_not_a_config(self, tmp_path: Path) -> None:
        """Neither a Config nor an alembic.ini: a typed error saying what to give."""
        with pytest.raises(sr.InvalidArgumentError, match=r"alembic\.ini"):
            check(tmp_path / "missing.ini")

    def test_the_users_config_is_not_modified(self, tmp_path: Path) -> None:
        """The scratch URL and connection go into a copy of the Config."""
        project = base_project(tmp_path)
        url = f"sqlite:///{tmp_path / 'configured.db'}"
        config = project.config(url)
        check(config)
        assert config.get_main_option("sqlalchemy.url") == url
        assert "connection" not in config.attributes

    def test_assert_reversible_for_pytest(self, tmp_path: Path) -> None:
        """The pytest helper raises AssertionError carrying the report."""
        project = base_project(tmp_path)
        assert assert_reversible(project.ini).ok
        project.add("r3", DROP_NOTE, READD_NOTE)
        with pytest.raises(AssertionError, match=r"orders\.note"):
            assert_reversible(project.ini)


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "erp_migrations" / "alembic.ini"


class TestExampleProject:
    def test_the_example_erp_project_passes(self, scratch: str | None, tmp_path: Path) -> None:
        """examples/erp_migrations (sr_op helpers, expand/contract) round-trips losslessly."""
        report = check(EXAMPLE, url=scratch, rows_per_table=200)
        assert report.ok, report.format_text()
        assert len(report.verified) == len(report.revisions) == 7
        assert not (tmp_path / "erp.db").exists()

    def test_store_records_what_passed(self, scratch: str | None, tmp_path: Path) -> None:
        """With store=, every verified revision is recorded for the dialect with its hash."""
        from safe_release.migrations import compat  # noqa: PLC0415

        with sr.connect(f"sqlite:///{tmp_path / 'store.db'}") as store:
            report = check(EXAMPLE, url=scratch, store=store)
            recorded = compat.verified_revisions(store, report.dialect)
        assert set(recorded) == set(report.verified)


class TestPytestFixture:
    def test_migration_check_fixture(self, migration_check: Any, tmp_path: Path) -> None:
        """The plugin's migration_check fixture passes a clean project, fails a lossy one."""
        project = base_project(tmp_path)
        assert migration_check(project.ini).ok
        project.add("r3", DROP_NOTE, READD_NOTE)
        with pytest.raises(AssertionError, match=r"orders\.note"):
            migration_check(project.ini)


ENUM_TABLE = (
    'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("s", sa.Enum("a", "b", name="t_state"), nullable=False))'
)
ADD_VALUE = """with op.get_context().autocommit_block():
    op.execute("ALTER TYPE t_state ADD VALUE 'c'")"""
REMOVE_VALUE = """op.execute("UPDATE t SET s = 'a' WHERE s = 'c'")
op.execute("ALTER TYPE t_state RENAME TO t_state_old")
op.execute("CREATE TYPE t_state AS ENUM ('a', 'b')")
op.execute("ALTER TABLE t ALTER COLUMN s TYPE t_state USING s::text::t_state")
op.execute("DROP TYPE t_state_old")"""


@pytest.mark.postgres
class TestEnumChanges:
    def test_enum_value_added_and_removed_again(self, tmp_path: Path, pg_url: str) -> None:
        """ADD VALUE with a downgrade that rebuilds the type: schema and data round-trip."""
        project = AlembicProject(tmp_path)
        project.add("e1", ENUM_TABLE, 'op.drop_table("t")\nop.execute("DROP TYPE t_state")')
        project.add("e2", ADD_VALUE, REMOVE_VALUE)
        report = run(project, tmp_path, pg_url)
        assert report.ok, report.format_text()
        assert report.verified == ("e1", "e2")

    def test_a_value_left_in_the_type(self, tmp_path: Path, pg_url: str) -> None:
        """A downgrade that forgets the added label: the ENUM type differs, named."""
        project = AlembicProject(tmp_path)
        project.add("e1", ENUM_TABLE, 'op.drop_table("t")\nop.execute("DROP TYPE t_state")')
        project.add("e2", ADD_VALUE, "pass")
        report = run(project, tmp_path, pg_url)
        first = report.first_failure
        assert first is not None
        assert (first.kind, first.revision) == ("schema", "e2")
        assert "t_state" in first.message


SILENT_ENV = ENV_PY.replace(
    "    with context.begin_transaction():\n        context.run_migrations()\n\n\nif",
    "    with context.begin_transaction():\n        try:\n"
    "            context.run_migrations()\n        except Exception:\n"
    "            pass\n\n\nif",
)


class TestNoFalsePass:
    def test_env_py_that_never_runs_migrations(self, tmp_path: Path) -> None:
        """An env.py that runs nothing: not OK, said plainly."""
        project = AlembicProject(tmp_path, env_py="# does nothing\n")
        project.add("r1", ORDERS, 'op.drop_table("orders")')
        report = check(project.ini)
        assert not report.ok
        assert "never ran the migrations" in report.findings[0].message

    def test_env_py_that_swallows_errors(self, tmp_path: Path) -> None:
        """A failing downgrade swallowed by env.py: the incomplete walk fails the check."""
        assert "except Exception" in SILENT_ENV
        project = AlembicProject(tmp_path, env_py=SILENT_ENV)
        project.add("r1", ORDERS, 'op.drop_table("orders")')
        project.add("r2", "pass", 'raise RuntimeError("no way back")')
        report = check(project.ini)
        assert not report.ok
        assert report.failed_step == "r2 (incomplete)"
        assert "catch exceptions" in report.findings[-1].message

    def test_a_swallowed_refusal_is_still_raised(self, tmp_path: Path) -> None:
        """env.py connecting elsewhere and hiding the refusal: still refused."""
        other = tmp_path / "production.db"
        bad = SILENT_ENV.replace(
            'connection = config.attributes.get("connection")',
            f'connection = None; config.set_main_option("sqlalchemy.url", "sqlite:///{other}")',
        )
        project = AlembicProject(tmp_path, env_py=bad)
        project.add("r1", ORDERS, 'op.drop_table("orders")')
        with pytest.raises(sr.MigrationEnvironmentError):
            check(project.ini)

    def test_rows_lost_in_a_table_that_could_not_take_probe_rows(
        self,
        tmp_path: Path,
        scratch: str | None,
    ) -> None:
        """A seed warning on a table does not hide rows its downgrade deletes."""
        project = base_project(tmp_path)
        project.add(
            "r3",
            'op.add_column("lines", sa.Column("grade", sa.Integer, '
            'sa.CheckConstraint("grade BETWEEN 1 AND 5", name="ck_grade")))',
            'op.execute("DELETE FROM lines WHERE qty % 2 = 0")\n'
            'with op.batch_alter_table("lines") as b:\n'
            '    b.drop_constraint("ck_grade", type_="check")\n'
            '    b.drop_column("grade")',
        )
        report = run(project, tmp_path, scratch)
        assert ("data", "r3", "lines", None) in errors(report)

    def test_probe_rows_deleted_by_the_downgrade(
        self, tmp_path: Path, scratch: str | None
    ) -> None:
        """Rows written under the new schema and deleted by the downgrade are named lost."""
        project = base_project(tmp_path)
        project.add(
            "r3",
            'op.add_column("orders", sa.Column("ref", sa.String(30)))',
            'op.execute("DELETE FROM orders WHERE ref IS NOT NULL")\n'
            'with op.batch_alter_table("orders") as b:\n    b.drop_column("ref")',
        )
        report = run(project, tmp_path, scratch)
        lost = [f for f in report.findings if f.kind == "lost" and f.severity == "error"]
        assert lost
        assert "rows written to orders under r3's schema are gone" in lost[0].message
        assert "'" not in lost[0].message.split("e.g. key ")[1]

    def test_case_folding_data_migration_is_caught(
        self, tmp_path: Path, scratch: str | None
    ) -> None:
        """Seeded text has mixed case, so a downgrade lowering it loses data."""
        project = base_project(tmp_path)
        project.add("r3", "pass", 'op.execute("UPDATE orders SET sku = lower(sku)")')
        report = run(project, tmp_path, scratch)
        assert ("data", "r3", "orders", "sku") in errors(report)


class TestBadInput:
    @pytest.mark.parametrize("rows", [5, {"t": 5}, {1: lambda _i: {}}])
    def test_rows_must_map_tables_to_functions(self, tmp_path: Path, rows: object) -> None:
        """rows= of the wrong shape: a typed error before anything runs."""
        with pytest.raises(sr.InvalidArgumentError, match="rows="):
            check(base_project(tmp_path).ini, rows=rows)  # type: ignore[arg-type]

    def test_a_failing_rows_hook_is_the_callers_error(self, tmp_path: Path) -> None:
        """A hook that raises is reported as the hook's failure, not the revision's."""
        with pytest.raises(sr.InvalidArgumentError, match=r"rows\['orders'\]"):
            check(base_project(tmp_path).ini, rows={"orders": lambda i: {"sku": 1 / (i - i)}})

    def test_store_must_be_a_store(self, tmp_path: Path) -> None:
        """store= that is not a Store: refused before the walk."""
        with pytest.raises(sr.InvalidArgumentError, match="store="):
            check(base_project(tmp_path).ini, store="x")  # type: ignore[arg-type]

    def test_scratch_folder_must_exist(self, tmp_path: Path) -> None:
        """An SQLite scratch path in a missing folder: a typed error."""
        with pytest.raises(sr.InvalidArgumentError, match="folder"):
            check(base_project(tmp_path).ini, url=f"sqlite:///{tmp_path / 'no' / 'x.db'}")

    def test_not_an_alembic_ini(self, tmp_path: Path) -> None:
        """A file that is not an Alembic config: a typed error naming it."""
        (tmp_path / "README").write_text("just text\n")
        with pytest.raises(sr.InvalidArgumentError, match="not a usable Alembic project"):
            check(tmp_path / "README")


class TestTypeChangesThroughHelpers:
    def test_numeric_scale_narrowed_and_restored(
        self, tmp_path: Path, scratch: str | None
    ) -> None:
        """sr_op.alter_column_type narrowing a Numeric's scale: undo restores; no false loss."""
        project = AlembicProject(tmp_path)
        project.add(
            "n1",
            'op.create_table("amounts", sa.Column("id", sa.Integer, '
            'primary_key=True), sa.Column("amt", sa.Numeric(10, 4)))',
            'op.drop_table("amounts")',
        )
        project.add(
            "n2",
            'sr_op.alter_column_type("amounts", "amt", sa.Numeric(10, 1))',
            "sr_op.undo()",
            imports="from safe_release.migrations import ops as sr_op",
        )
        report = run(project, tmp_path, scratch)
        assert report.ok, report.format_text()


@pytest.mark.postgres
class TestRecreatedChecks:
    @staticmethod
    def kinds(root: Path) -> AlembicProject:
        """k1: a kinds table with an IN-list CHECK constraint, ck_kind."""
        project = AlembicProject(root)
        project.add(
            "k1",
            'op.create_table("kinds", sa.Column("id", sa.Integer, '
            'primary_key=True), sa.Column("kind", sa.String(5)), '
            "sa.CheckConstraint(\"kind IN ('a', 'b')\", name='ck_kind'))",
            'op.drop_table("kinds")',
        )
        return project

    def test_a_check_constraint_recreated_by_undo_is_the_same(
        self, tmp_path: Path, pg_url: str
    ) -> None:
        """sr_op.drop_table + undo re-spells an IN-list CHECK; the check sees no change."""
        project = self.kinds(tmp_path)
        project.add(
            "k2",
            'sr_op.drop_table("kinds")',
            "sr_op.undo()",
            imports="from safe_release.migrations import ops as sr_op",
        )
        report = run(project, tmp_path, pg_url, rows={"kinds": lambda i: {"kind": "ab"[i % 2]}})
        assert report.ok, report.format_text()

    def test_a_changed_check_constraint_is_still_reported(
        self, tmp_path: Path, pg_url: str
    ) -> None:
        """A downgrade that re-creates the CHECK with another meaning is a difference."""
        project = self.kinds(tmp_path)
        project.add(
            "k2",
            'op.drop_constraint("ck_kind", "kinds", type_="check")',
            'op.create_check_constraint("ck_kind", "kinds", "kind IN (\'a\', \'c\')")',
        )
        report = run(project, tmp_path, pg_url, rows={"kinds": lambda _i: {"kind": "a"}})
        first = report.first_failure
        assert first is not None
        assert (first.kind, first.revision) == ("schema", "k2")
        assert "ck_kind" in first.message
