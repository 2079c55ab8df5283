"""The rollback-safety linter on PostgreSQL SQL: splitter, rules, offline Alembic output."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from alembic import command

from safe_release.migrations._lint import lint
from safe_release.migrations._lint_sql import lint_sql, split_statements, tokenize_sql
from tests.alembic_util import AlembicProject

CASES = Path(__file__).parent / "lint_cases"


def rules(sql: str) -> list[str]:
    return [finding.rule for finding in lint_sql(sql).findings]


def offline_sql(project: AlembicProject) -> str:
    """`alembic upgrade head --sql` for PostgreSQL (offline: no server needed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        command.upgrade(project.config("postgresql://user@localhost/db"), "head", sql=True)
    return out.getvalue()


class TestSplitter:
    def test_semicolons_in_literals_and_comments(self) -> None:
        """Semicolons inside strings, identifiers, dollar quotes and comments do not split."""
        sql = """
            INSERT INTO t VALUES ('a;b', E'c\\';d', "x;y");  -- e; f
            CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql;
            /* g; /* nested; */ h; */ SELECT $$;$$;
            SELECT 1
        """
        statements = split_statements(tokenize_sql(sql))
        assert [s.tokens[0].text for s in statements] == ["INSERT", "CREATE", "SELECT", "SELECT"]
        assert [s.line for s in statements] == [2, 3, 4, 5]

    def test_unterminated_input_does_not_crash(self) -> None:
        """An unterminated string, comment or dollar quote runs to the end of the text."""
        for sql in ["SELECT 'abc", "SELECT 1 /* open", "SELECT $x$ body", 'SELECT "id']:
            assert len(split_statements(tokenize_sql(sql))) == 1

    def test_positional_parameter_is_not_a_dollar_quote(self) -> None:
        """`$1` is a parameter, not the start of a dollar-quoted string."""
        statements = split_statements(tokenize_sql("SELECT $1; DROP TABLE t"))
        assert len(statements) == 2


class TestRules:
    @pytest.mark.parametrize(
        ("sql", "expected"),
        [
            ("ALTER TABLE t DROP COLUMN c", ["ban-drop-column"]),
            ("ALTER TABLE ONLY public.t DROP c CASCADE", ["ban-drop-column"]),
            ("DROP TABLE IF EXISTS t, u", ["ban-drop-table"]),
            ('ALTER TABLE "T" RENAME COLUMN "a" TO "b"', ["renaming-column"]),
            ("ALTER TABLE t RENAME a TO b", ["renaming-column"]),
            ("ALTER TABLE t RENAME TO u", ["renaming-table"]),
            ("ALTER TABLE t RENAME CONSTRAINT a TO b", []),
            ("ALTER TABLE t ALTER COLUMN c TYPE bigint", ["changing-column-type"]),
            ("ALTER TABLE t ALTER c SET DATA TYPE text USING c::text", ["changing-column-type"]),
            ("ALTER TABLE t ADD COLUMN c int NOT NULL", ["adding-required-field"]),
            ("ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0", []),
            ("ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS IDENTITY NOT NULL", []),
            ("ALTER TABLE t ADD COLUMN c int", []),
            ("ALTER TABLE t ALTER COLUMN c SET NOT NULL", ["adding-not-nullable-field"]),
            ("ALTER TABLE t ALTER COLUMN c DROP NOT NULL", ["ban-drop-not-null"]),
            ("ALTER TABLE t ALTER COLUMN c DROP DEFAULT", []),
            ("ALTER TABLE t ADD CONSTRAINT u UNIQUE (c)", ["disallowed-unique-constraint"]),
            ("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx", []),
            ("ALTER TABLE t ADD CONSTRAINT k CHECK (c > 0)", ["constraint-missing-not-valid"]),
            ("ALTER TABLE t ADD CONSTRAINT k CHECK (c > 0) NOT VALID", []),
            ("ALTER TABLE t VALIDATE CONSTRAINT k", []),
            (
                "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)",
                ["adding-foreign-key-constraint"],
            ),
            ("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID", []),
            (
                "ALTER TABLE t ADD COLUMN u_id int REFERENCES u (id)",
                ["adding-foreign-key-constraint"],
            ),
            ("ALTER TABLE t DROP CONSTRAINT k", ["ban-drop-constraint"]),
            ("CREATE INDEX i ON t (c)", ["require-concurrent-index-creation"]),
            ("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c)", []),
            ("CREATE UNIQUE INDEX CONCURRENTLY i ON t (c)", ["sr-unique-index"]),
            ("DROP INDEX i", ["require-concurrent-index-deletion"]),
            ("DROP INDEX CONCURRENTLY i", []),
            ("ALTER TYPE mood ADD VALUE 'x' AFTER 'a'", ["sr-enum-change"]),
            ("ALTER TYPE mood RENAME VALUE 'a' TO 'b'", ["sr-enum-change"]),
            ("DROP TYPE mood", ["sr-enum-change"]),
            ("alter table t drop column c", ["ban-drop-column"]),
        ],
    )
    def test_statement(self, sql: str, expected: list[str]) -> None:
        """Each statement triggers exactly the expected rules."""
        assert rules(sql) == expected

    def test_several_actions_in_one_statement(self) -> None:
        """Each action of a multi-action ALTER TABLE is checked."""
        found = rules(
            "ALTER TABLE t DROP COLUMN a, ADD COLUMN b int NOT NULL, "
            "ADD CONSTRAINT k CHECK (b > 0) NOT VALID"
        )
        assert sorted(found) == ["adding-required-field", "ban-drop-column"]

    def test_keywords_in_literals_are_not_statements(self) -> None:
        """DDL inside strings, quoted identifiers, function bodies and comments is not matched."""
        sql = """
            INSERT INTO audit VALUES ('ALTER TABLE t DROP COLUMN c; DROP TABLE t');
            CREATE TABLE "drop table" ("drop column" int);
            DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$;
            -- DROP TABLE t;
            /* ALTER TABLE t RENAME TO u; */
            COMMENT ON TABLE t IS 'DROP TABLE t';
        """
        assert rules(sql) == []

    def test_new_table_in_same_revision(self) -> None:
        """Indexes and constraints on a table created earlier in the same revision are fine."""
        sql = """
            -- Running upgrade  -> a1
            CREATE TABLE n (id int);
            CREATE INDEX i ON n (id);
            ALTER TABLE n ADD CONSTRAINT u UNIQUE (id);
            -- Running upgrade a1 -> a2
            CREATE INDEX j ON n (id);
        """
        report = lint_sql(sql)
        assert [(f.rule, f.revision, f.line) for f in report.findings] == [
            ("require-concurrent-index-creation", "a2", 7)
        ]

    def test_sdk_and_version_tables_ignored(self) -> None:
        """Statements on sr_* tables and alembic_version are the SDK's and Alembic's own."""
        assert (
            rules(
                "CREATE INDEX i ON sr_migration_archive (rev); DROP TABLE sr_x; "
                "ALTER TABLE alembic_version ALTER COLUMN version_num TYPE varchar(64)"
            )
            == []
        )

    def test_fixture_file(self) -> None:
        """offline.sql: each unsafe statement flagged once, with its revision and line."""
        report = lint_sql((CASES / "offline.sql").read_text(), path="offline.sql")
        assert [(f.line, f.rule, f.revision) for f in report.findings] == [
            (19, "ban-drop-column", "a2"),
            (20, "renaming-column", "a2"),
            (21, "require-concurrent-index-creation", "a2"),
            (21, "sr-unique-index", "a2"),
        ]
        assert report.findings[0].path == "offline.sql"
        assert report.files == 1


class TestSqlSuppression:
    def test_comment_above_and_inside(self) -> None:
        """`-- safe-release: ignore[...]` above or inside a statement suppresses it."""
        sql = """
            -- safe-release: ignore[ban-drop-table]
            DROP TABLE t;
            ALTER TABLE t  -- safe-release: ignore[ban-drop-column, renaming-table]
                DROP COLUMN c;
            DROP TABLE u;  -- safe-release: ignore[ban-drop-column]
        """
        report = lint_sql(sql)
        assert [(f.rule, f.line) for f in report.findings] == [("ban-drop-table", 6)]
        assert report.suppressed == 2


class TestOfflineAlembic:
    def make_project(self, tmp_path: Path) -> AlembicProject:
        project = AlembicProject(tmp_path)
        project.add(
            "a1",
            """
            op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("note", sa.Text()),
                            sa.Column("status", sa.Enum("new", "paid", name="status")))
            op.create_index("ix_orders_note", "orders", ["note"])
        """,
            'op.drop_table("orders")\nsa.Enum(name="status").drop(op.get_bind())',
        )
        project.add(
            "a2",
            """
            op.drop_column("orders", "note")
            op.create_index("ix_orders_id", "orders", ["id"])
            op.alter_column("orders", "status", nullable=False)
            op.execute("ALTER TYPE status ADD VALUE 'void'")
        """,
            """
            op.alter_column("orders", "status", nullable=True)
            op.drop_index("ix_orders_id", table_name="orders")
            op.add_column("orders", sa.Column("note", sa.Text()))
        """,
            imports="",
        )
        return project

    def test_real_offline_output(self, tmp_path: Path) -> None:
        """The SQL Alembic renders offline is linted, each finding tied to its revision."""
        sql = offline_sql(self.make_project(tmp_path))
        assert "-- Running upgrade a1 -> a2" in sql
        report = lint_sql(sql)
        assert [(f.rule, f.revision) for f in report.findings] == [
            ("ban-drop-column", "a2"),
            ("require-concurrent-index-creation", "a2"),
            ("adding-not-nullable-field", "a2"),
            ("sr-enum-change", "a2"),
        ]
        assert not report.ok

    def test_lint_with_sql_does_not_repeat(self, tmp_path: Path) -> None:
        """lint(config, sql=...) adds only what the revision files did not already report."""
        project = self.make_project(tmp_path)
        sql = offline_sql(project)
        path = project.versions / "a2.py"
        path.write_text(
            path.read_text().replace(
                'op.drop_column("orders", "note")',
                'op.drop_column("orders", "note")  # safe-release: ignore[ban-drop-column]',
            )
        )
        sql += "\nALTER TABLE orders RENAME TO purchases;\n"
        report = lint(project.ini, sql=sql, dialect="postgresql")
        assert sorted((f.rule, f.path) for f in report.findings) == [
            ("adding-not-nullable-field", str(Path(path).resolve())),
            ("renaming-table", "<sql>"),
            ("require-concurrent-index-creation", str(Path(path).resolve())),
            ("sr-enum-change", str(Path(path).resolve())),
        ]
        assert report.files == 3
        assert report.suppressed == 1
