"""The rollback-safety linter on Alembic revision files (Python ast)."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from safe_release.exceptions import InvalidArgumentError
from safe_release.migrations._lint import lint
from safe_release.migrations._lint_rules import RULES, Finding, LintReport
from safe_release.migrations._lint_sql import lint_sql
from tests.alembic_util import AlembicProject

CASES = Path(__file__).parent / "lint_cases"

HEADER = '''"""A revision."""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
{imports}
revision = "r1"
down_revision = None

'''


def write(
    tmp_path: Path,
    upgrade: str,
    downgrade: str = 'op.execute("SELECT 1")',
    *,
    imports: str = "",
    module: str = "",
    name: str = "r1.py",
) -> Path:
    """A revision file with these bodies; returns its path."""
    body = (
        HEADER.format(imports=imports)
        + textwrap.dedent(module)
        + (
            "\n\ndef upgrade():\n"
            + textwrap.indent(textwrap.dedent(upgrade).strip(), "    ")
            + "\n\n\ndef downgrade():\n"
            + textwrap.indent(textwrap.dedent(downgrade).strip() or "pass", "    ")
            + "\n"
        )
    )
    path = tmp_path / name
    path.write_text(body)
    return path


CONTRACT = 'sr_phase = "contract"\nsr_retires = ("erp-web", "1.0")\n'


def rules(report: LintReport) -> list[str]:
    return [finding.rule for finding in report.findings]


def lint_one(
    tmp_path: Path, upgrade: str, downgrade: str = 'op.execute("SELECT 1")', **kw: str
) -> LintReport:
    return lint([write(tmp_path, upgrade, downgrade, **kw)], dialect="postgresql")


UNSAFE_AND_SAFE = [
    ("ban-drop-column", 'op.drop_column("t", "c")', 'sr_op.drop_column("t", "c")'),
    ("ban-drop-table", 'op.drop_table("t")', 'sr_op.drop_table("t")'),
    (
        "renaming-column",
        'op.alter_column("t", "a", new_column_name="b")',
        'sr_op.rename_column("t", "a", "b")',
    ),
    ("renaming-table", 'op.rename_table("a", "b")', 'sr_op.rename_table("a", "b")'),
    (
        "changing-column-type",
        'op.alter_column("t", "c", type_=sa.Text())',
        'sr_op.alter_column_type("t", "c", sa.Text())',
    ),
    (
        "adding-required-field",
        'op.add_column("t", sa.Column("c", sa.Integer(), nullable=False))',
        'op.add_column("t", sa.Column("c", sa.Integer(), nullable=False, server_default="0"))',
    ),
    (
        "adding-required-field",
        'op.add_column("t", sa.Column("id", sa.Integer(), primary_key=True))',
        'op.add_column("t", sa.Column("c", sa.Integer()))',
    ),
    (
        "adding-not-nullable-field",
        'op.alter_column("t", "c", nullable=False)',
        'sr_op.set_not_null("t", "c", fill=0)',
    ),
    (
        "ban-drop-not-null",
        'op.alter_column("t", "c", nullable=True)',
        'op.alter_column("t", "c", comment="x")',
    ),
    (
        "disallowed-unique-constraint",
        'op.create_unique_constraint("u", "t", ["c"])',
        (
            'op.create_table("t", sa.Column("c", sa.Integer()))\n'
            'op.create_unique_constraint("u", "t", ["c"])'
        ),
    ),
    (
        "constraint-missing-not-valid",
        'op.create_check_constraint("k", "t", "c > 0")',
        'op.create_check_constraint("k", "t", "c > 0", postgresql_not_valid=True)',
    ),
    (
        "adding-foreign-key-constraint",
        'op.create_foreign_key("f", "t", "u", ["a"], ["id"])',
        'op.create_foreign_key("f", "t", "u", ["a"], ["id"], postgresql_not_valid=True)',
    ),
    (
        "adding-foreign-key-constraint",
        'op.add_column("t", sa.Column("u_id", sa.Integer(), sa.ForeignKey("u.id")))',
        'op.add_column("t", sa.Column("u_id", sa.Integer()))',
    ),
    (
        "require-concurrent-index-creation",
        'op.create_index("i", "t", ["c"])',
        'op.create_index("i", "t", ["c"], postgresql_concurrently=True)',
    ),
    (
        "require-concurrent-index-deletion",
        'op.drop_index("i", table_name="t")',
        'op.drop_index("i", table_name="t", postgresql_concurrently=True)',
    ),
    ("ban-drop-constraint", 'op.drop_constraint("k", "t")', 'op.execute("SELECT 1")'),
    (
        "sr-unique-index",
        'op.create_index("i", "t", ["c"], unique=True, postgresql_concurrently=True)',
        'op.create_index("i", "t", ["c"], postgresql_concurrently=True)',
    ),
    (
        "sr-enum-change",
        'op.alter_column("t", "c", type_=sa.Enum("a", name="e"))',
        'op.execute("SELECT 1")',
    ),
    (
        "sr-enum-change",
        'sa.Enum(name="e").drop(op.get_bind())',
        'sr_op.remove_enum_value("t", "c", "a", replace_with="b")',
    ),
    (
        "sr-enum-change",
        "op.execute(\"ALTER TYPE e ADD VALUE 'x'\")",
        "op.execute(\"CREATE TYPE e AS ENUM ('a'); ALTER TYPE e ADD VALUE 'x'\")",
    ),
]


class TestRules:
    @pytest.mark.parametrize(("rule", "unsafe"), [case[:2] for case in UNSAFE_AND_SAFE])
    def test_unsafe_form_flagged(self, tmp_path: Path, rule: str, unsafe: str) -> None:
        """Each rule flags its unsafe operation, at the call's line, once."""
        report = lint_one(tmp_path, unsafe)
        assert rules(report) == [rule]
        assert report.findings[0].line == 12

    @pytest.mark.parametrize("safe", [case[2] for case in UNSAFE_AND_SAFE])
    def test_safe_form_not_flagged(self, tmp_path: Path, safe: str) -> None:
        """The safe form of each operation is not flagged."""
        imports = "from safe_release.migrations import ops as sr_op"
        report = lint_one(tmp_path, safe, "sr_op.undo()", imports=imports, module=CONTRACT)
        assert rules(report) == []

    def test_fixture_file_every_rule(self) -> None:
        """unsafe_revision.py triggers exactly the rule named on each line."""
        path = CASES / "unsafe_revision.py"
        expected = {
            (number, match.group(1))
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if (match := re.search(r"# expect: ([\w-]+)", line))
        }
        report = lint([path], dialect="postgresql")
        assert {(f.line, f.rule) for f in report.findings} == expected
        assert {f.revision for f in report.findings} == {"unsafe1"}

    def test_fixture_safe_file(self) -> None:
        """safe_revision.py, the same operations done safely, has no finding."""
        report = lint([CASES / "safe_revision.py"], dialect="postgresql")
        assert report.findings == ()
        assert report.ok

    def test_every_rule_documented(self) -> None:
        """Every rule has a severity, an explanation and a fix, and the docs page lists it."""
        docs = (Path(__file__).parent.parent / "docs" / "migrations-lint.md").read_text()
        for rule in RULES.values():
            assert rule.severity in {"error", "warning"}
            assert rule.explanation
            assert rule.fix
            assert f"`{rule.id}`" in docs

    def test_postgresql_only_rules_skipped_for_sqlite(self, tmp_path: Path) -> None:
        """With dialect='sqlite', index-locking and NOT VALID rules do not apply."""
        path = write(tmp_path, 'op.create_index("i", "t", ["c"])\nop.drop_column("t", "c")')
        assert rules(lint([path], dialect="sqlite")) == ["ban-drop-column"]
        assert rules(lint([path])) == ["require-concurrent-index-creation", "ban-drop-column"]

    def test_new_table_operations_not_flagged(self, tmp_path: Path) -> None:
        """Indexes, constraints and NOT NULL on a table created in the same upgrade are fine."""
        report = lint_one(
            tmp_path,
            """
            op.create_table("n", sa.Column("c", sa.Integer()))
            op.create_index("i", "n", ["c"], unique=True)
            op.alter_column("n", "c", nullable=False)
            with op.batch_alter_table("n") as b:
                b.create_unique_constraint("u", ["c"])
        """,
            'op.drop_table("n")',
        )
        assert rules(report) == []

    def test_helper_function_called_from_upgrade(self, tmp_path: Path) -> None:
        """Module functions upgrade() calls are linted; ones only downgrade() calls are not."""
        report = lint_one(
            tmp_path,
            "_drop()",
            "_restore()",
            module="""
            def _drop():
                op.drop_column("t", "c")


            def _restore():
                op.drop_table("t")
        """,
        )
        assert rules(report) == ["ban-drop-column"]

    def test_downgrade_operations_not_flagged(self, tmp_path: Path) -> None:
        """Dropping in downgrade() reverses the upgrade's additions: no finding."""
        report = lint_one(
            tmp_path,
            'op.add_column("t", sa.Column("c", sa.Integer()))',
            'op.drop_column("t", "c")',
        )
        assert rules(report) == []


class TestAliases:
    def test_op_alias(self, tmp_path: Path) -> None:
        """`from alembic import op as migrate` is still Alembic's op."""
        report = lint_one(
            tmp_path, 'migrate.drop_column("t", "c")', imports="from alembic import op as migrate"
        )
        assert rules(report) == ["ban-drop-column"]

    def test_module_attribute(self, tmp_path: Path) -> None:
        """`import alembic` then `alembic.op.drop_table(...)` is recognised."""
        report = lint_one(tmp_path, 'alembic.op.drop_table("t")', imports="import alembic")
        assert rules(report) == ["ban-drop-table"]

    def test_function_imported_from_op(self, tmp_path: Path) -> None:
        """`from alembic.op import drop_column as dc` then `dc(...)` is recognised."""
        report = lint_one(
            tmp_path, 'dc("t", "c")', imports="from alembic.op import drop_column as dc"
        )
        assert rules(report) == ["ban-drop-column"]

    @pytest.mark.parametrize(
        "imports",
        [
            "from safe_release.migrations import ops as safe",
            "import safe_release.migrations.ops as safe",
            "from safe_release import migrations as m\nsafe = None",
        ],
    )
    def test_safe_aliases(self, tmp_path: Path, imports: str) -> None:
        """Calls through any alias of safe_release.migrations.ops are not flagged."""
        call = 'm.ops.drop_column("t", "c")' if "as m" in imports else 'safe.drop_column("t", "c")'
        report = lint_one(tmp_path, call, "safe.undo()", imports=imports, module=CONTRACT)
        assert rules(report) == []

    def test_dotted_safe_module(self, tmp_path: Path) -> None:
        """`import safe_release.migrations.ops` then the full dotted call is safe."""
        report = lint_one(
            tmp_path,
            'safe_release.migrations.ops.drop_table("t")',
            imports="import safe_release.migrations.ops",
            module=CONTRACT,
        )
        assert rules(report) == []

    def test_unrelated_receiver_not_flagged(self, tmp_path: Path) -> None:
        """`something.drop_column(...)` on an object that is not Alembic's op is ignored."""
        report = lint_one(tmp_path, 'cache = {}\ncache.drop_column("t", "c")')
        assert rules(report) == []


class TestContractPhase:
    @pytest.mark.parametrize(
        "call",
        [
            'sr_op.drop_column("t", "c")',
            'sr_op.drop_table("t")',
            'sr_op.rename_column("t", "a", "b")',
            'sr_op.rename_table("a", "b")',
            'sr_op.remove_enum_value("t", "c", "a", replace_with="b")',
        ],
    )
    def test_destructive_helper_outside_contract(self, tmp_path: Path, call: str) -> None:
        """A helper that removes a name old code uses belongs in a contract revision."""
        imports = "from safe_release.migrations import ops as sr_op"
        report = lint_one(tmp_path, call, "sr_op.undo()", imports=imports)
        assert rules(report) == ["sr-contract-phase"]
        assert report.ok
        assert rules(
            lint_one(
                tmp_path, call, "sr_op.undo()", imports=imports, module='sr_phase = "expand"\n'
            )
        ) == ["sr-contract-phase"]

    def test_additive_helpers_need_no_phase(self, tmp_path: Path) -> None:
        """Backfills, type changes and NOT NULL through helpers need no contract phase."""
        report = lint_one(
            tmp_path,
            """
            sr_op.backfill("t", {"c": 1})
            sr_op.set_not_null("t", "c", fill=0)
            sr_op.alter_column_type("t", "c", sa.BigInteger())
        """,
            "sr_op.undo()",
            imports="from safe_release.migrations import ops as sr_op",
        )
        assert rules(report) == []


class TestBatchMode:
    def test_batch_operations(self, tmp_path: Path) -> None:
        """Operations on any `batch_alter_table(...) as name` alias are checked, table named."""
        report = lint_one(
            tmp_path,
            """
            with op.batch_alter_table("orders", schema=None) as batch:
                batch.drop_column("note")
                batch.alter_column("ref", new_column_name="reference")
                batch.add_column(sa.Column("x", sa.Integer(), nullable=False))
                batch.create_index("ix", ["ref"])
        """,
        )
        assert rules(report) == [
            "ban-drop-column",
            "renaming-column",
            "adding-required-field",
            "require-concurrent-index-creation",
        ]
        assert report.findings[0].message.startswith("drop_column orders.note:")
        assert report.findings[1].message.startswith("alter_column orders.ref ")


class TestExecute:
    def test_sql_literal_linted(self, tmp_path: Path) -> None:
        """op.execute's SQL goes through the SQL rules, reported at the statement's line."""
        report = lint_one(
            tmp_path,
            '''
            op.execute("""
                CREATE INDEX CONCURRENTLY i ON t (c);
                ALTER TABLE t DROP COLUMN c;
            """)
        ''',
        )
        assert rules(report) == ["ban-drop-column"]
        assert report.findings[0].line == 14

    def test_text_clause_and_connection(self, tmp_path: Path) -> None:
        """sa.text("...") literals and connection.execute(...) are linted too."""
        report = lint_one(
            tmp_path,
            """
            op.execute(sa.text("DROP TABLE t"))
            op.get_bind().execute(sa.text("ALTER TABLE t RENAME TO u"))
        """,
        )
        assert rules(report) == ["ban-drop-table", "renaming-table"]

    def test_non_literal_sql_ignored(self, tmp_path: Path) -> None:
        """SQL built at run time cannot be read, so it is not reported."""
        report = lint_one(tmp_path, 'op.execute(f"DROP TABLE {name}")', module='name = "t"\n')
        assert rules(report) == []


class TestSuppression:
    def test_single_id(self, tmp_path: Path) -> None:
        """An ignore comment naming the rule on the call's line suppresses it and is counted."""
        report = lint_one(
            tmp_path, 'op.drop_column("t", "c")  # safe-release: ignore[ban-drop-column]'
        )
        assert rules(report) == []
        assert report.suppressed == 1

    def test_line_above_and_several_ids(self, tmp_path: Path) -> None:
        """A comment on the line above may name several rules."""
        report = lint_one(
            tmp_path,
            """
            # safe-release: ignore[renaming-column, changing-column-type]
            op.alter_column("t", "a", new_column_name="b", type_=sa.Text(), nullable=False)
        """,
        )
        assert rules(report) == ["adding-not-nullable-field"]
        assert report.suppressed == 2

    def test_wrong_id_does_not_suppress(self, tmp_path: Path) -> None:
        """A comment naming another rule leaves the finding."""
        report = lint_one(
            tmp_path, 'op.drop_column("t", "c")  # safe-release: ignore[ban-drop-table]'
        )
        assert rules(report) == ["ban-drop-column"]
        assert report.suppressed == 0

    def test_comment_two_lines_above_does_not_suppress(self, tmp_path: Path) -> None:
        """Only the call's own lines and the line just above count."""
        report = lint_one(
            tmp_path,
            """
            # safe-release: ignore[ban-drop-column]
            x = 1
            op.drop_column("t", "c")
        """,
        )
        assert rules(report) == ["ban-drop-column"]

    def test_multiline_call(self, tmp_path: Path) -> None:
        """A comment inside a multi-line call suppresses it."""
        report = lint_one(
            tmp_path,
            """
            op.drop_column(
                "t", "c",  # safe-release: ignore[ban-drop-column]
            )
        """,
        )
        assert rules(report) == []

    def test_text_in_string_is_not_a_comment(self, tmp_path: Path) -> None:
        """The marker inside a string literal suppresses nothing."""
        report = lint_one(
            tmp_path, 'op.drop_column("t", "# safe-release: ignore[ban-drop-column]")'
        )
        assert rules(report) == ["ban-drop-column"]

    def test_empty_downgrade_suppressed_on_def(self, tmp_path: Path) -> None:
        """sr-empty-downgrade is suppressed by a comment on the downgrade's def line."""
        path = write(
            tmp_path, 'op.drop_column("t", "c")  # safe-release: ignore[ban-drop-column]', "pass"
        )
        path.write_text(
            path.read_text().replace(
                "def downgrade():", "def downgrade():  # safe-release: ignore[sr-empty-downgrade]"
            )
        )
        report = lint([path])
        assert report.findings == ()
        assert report.suppressed == 2


class TestDowngrade:
    @pytest.mark.parametrize(
        "body",
        [
            "pass",
            '"""Nothing to do."""',
            '"""Doc."""\npass',
            "...",
            "raise NotImplementedError",
            'raise NotImplementedError("irreversible")',
        ],
    )
    def test_empty_variants(self, tmp_path: Path, body: str) -> None:
        """An empty, pass-only, docstring-only or NotImplementedError downgrade is an error."""
        report = lint_one(tmp_path, 'op.add_column("t", sa.Column("c", sa.Integer()))', body)
        assert rules(report) == ["sr-empty-downgrade"]
        assert report.findings[0].line == 15
        assert not report.ok

    def test_missing_downgrade(self, tmp_path: Path) -> None:
        """A revision without downgrade() is reported at upgrade()."""
        path = tmp_path / "r.py"
        path.write_text(
            'from alembic import op\nrevision = "r"\n\n'
            'def upgrade():\n    op.execute("SELECT 1")\n'
        )
        report = lint(path)
        assert rules(report) == ["sr-empty-downgrade"]
        assert report.findings[0].line == 4

    def test_empty_merge_revision_is_fine(self, tmp_path: Path) -> None:
        """A merge revision with empty upgrade and downgrade has nothing to undo."""
        assert rules(lint_one(tmp_path, "pass", "pass")) == []

    def test_other_raise_is_not_empty(self, tmp_path: Path) -> None:
        """A downgrade raising something else still does something deliberate."""
        report = lint_one(tmp_path, 'op.execute("SELECT 1")', 'raise RuntimeError("no")')
        assert rules(report) == []


class TestEnums:
    def test_enum_in_add_column_not_dropped(self, tmp_path: Path) -> None:
        """sa.Enum in add_column creates a type; dropping only the column leaves it."""
        report = lint_one(
            tmp_path,
            'op.add_column("t", sa.Column("c", sa.Enum("a", name="mood")))',
            'op.drop_column("t", "c")',
        )
        assert rules(report) == ["sr-enum-not-dropped"]
        assert "mood" in report.findings[0].message

    @pytest.mark.parametrize(
        "downgrade",
        [
            'op.drop_column("t", "c")\nsa.Enum(name="mood").drop(op.get_bind())',
            'op.drop_column("t", "c")\npostgresql.ENUM(name="mood").drop(op.get_bind())',
            'op.drop_column("t", "c")\nop.execute("DROP TYPE IF EXISTS mood")',
            "sr_op.undo()",
        ],
    )
    def test_enum_dropped(self, tmp_path: Path, downgrade: str) -> None:
        """Dropping the type by constructor, raw SQL or sr_op.undo() satisfies the rule."""
        report = lint_one(
            tmp_path,
            'op.add_column("t", sa.Column("c", sa.Enum("a", name="mood")))',
            downgrade,
            imports="from safe_release.migrations import ops as sr_op",
        )
        assert rules(report) == []

    def test_create_type_sql_and_create_method(self, tmp_path: Path) -> None:
        """CREATE TYPE ... AS ENUM and Enum(...).create(bind) count as creating a type."""
        report = lint_one(
            tmp_path,
            """
            op.execute("CREATE TYPE a AS ENUM ('x')")
            postgresql.ENUM("y", name="b").create(op.get_bind())
        """,
            'op.execute("DROP TYPE a")',
        )
        assert [(f.rule, f.message.split(":")[0]) for f in report.findings] == [
            ("sr-enum-not-dropped", "ENUM type b not dropped in downgrade()")
        ]

    def test_create_type_false_and_non_native(self, tmp_path: Path) -> None:
        """create_type=False and native_enum=False create no type."""
        report = lint_one(
            tmp_path,
            """
            op.add_column("t", sa.Column("c", postgresql.ENUM("a", name="m", create_type=False)))
            op.add_column("t", sa.Column("d", sa.Enum("a", name="n", native_enum=False)))
        """,
            'op.drop_column("t", "c")',
        )
        assert rules(report) == []

    def test_module_level_enum_variable(self, tmp_path: Path) -> None:
        """An enum bound to a module variable is tracked through create_table and .drop()."""
        module = 'kind = sa.Enum("a", name="kind")\n'
        created = 'op.create_table("n", sa.Column("k", kind))'
        assert rules(lint_one(tmp_path, created, 'op.drop_table("n")', module=module)) == [
            "sr-enum-not-dropped"
        ]
        assert (
            rules(
                lint_one(
                    tmp_path,
                    created,
                    'op.drop_table("n")\nkind.drop(op.get_bind())',
                    module=module,
                )
            )
            == []
        )


class TestTargets:
    def test_versions_directory(self, tmp_path: Path) -> None:
        """A directory is linted file by file, __init__.py skipped, revision ids read."""
        write(tmp_path, 'op.drop_table("a")', name="a.py")
        write(tmp_path, 'op.drop_table("b")', name="b.py").write_text(
            (tmp_path / "b.py").read_text().replace('"r1"', '"r2"')
        )
        (tmp_path / "__init__.py").write_text("")
        report = lint(tmp_path)
        assert report.files == 2
        assert [(Path(f.path).name, f.revision) for f in report.findings] == [
            ("a.py", "r1"),
            ("b.py", "r2"),
        ]

    def test_config_and_ini(self, tmp_path: Path) -> None:
        """An alembic Config or its ini path lints the versions locations."""
        project = AlembicProject(tmp_path)
        project.add(
            "a1", 'op.drop_column("t", "c")', 'op.add_column("t", sa.Column("c", sa.Text()))'
        )
        project.add("a2", 'op.create_index("i", "t", ["c"])', 'op.drop_index("i")')
        by_ini = lint(project.ini)
        assert [(f.rule, f.revision) for f in by_ini.findings] == [
            ("ban-drop-column", "a1"),
            ("require-concurrent-index-creation", "a2"),
        ]
        config = project.config(f"sqlite:///{tmp_path / 'x.db'}")
        assert rules(lint(config)) == ["ban-drop-column"]

    def test_version_locations(self, tmp_path: Path) -> None:
        """Every directory in version_locations is read."""
        project = AlembicProject(tmp_path)
        project.add("a1", 'op.drop_table("t")', 'op.execute("SELECT 1")')
        extra = tmp_path / "more"
        extra.mkdir()
        write(extra, 'op.drop_column("t", "c")', name="b1.py")
        config = project.config("postgresql://u@h/db")
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", f"{project.versions}{os.pathsep}{extra}")
        assert sorted(rules(lint(config))) == ["ban-drop-column", "ban-drop-table"]

    def test_list_with_directory(self, tmp_path: Path) -> None:
        """A directory inside a list of targets stands for its .py files."""
        write(tmp_path, 'op.drop_table("a")', name="a.py")
        (tmp_path / "x").mkdir()
        single = write(tmp_path / "x", 'op.drop_table("b")', name="b.py")
        report = lint([tmp_path, single])
        assert (report.files, rules(report)) == (2, ["ban-drop-table", "ban-drop-table"])

    def test_pyproject_toml(self, tmp_path: Path) -> None:
        """A pyproject.toml with [tool.alembic] is read like an alembic.ini."""
        project = AlembicProject(tmp_path)
        project.add("a1", 'op.drop_table("t")', 'op.execute("SELECT 1")')
        toml = tmp_path / "pyproject.toml"
        toml.write_text(f'[tool.alembic]\nscript_location = "{tmp_path / "migrations"}"\n')
        assert rules(lint(toml)) == ["ban-drop-table"]

    def test_missing_path(self, tmp_path: Path) -> None:
        """A path that does not exist is an InvalidArgumentError naming it."""
        with pytest.raises(InvalidArgumentError, match=r"nope\.py does not exist"):
            lint([tmp_path / "nope.py"])
        with pytest.raises(InvalidArgumentError, match="does not exist"):
            lint(tmp_path / "missing")

    def test_wrong_kind(self) -> None:
        """A target of another type is refused."""
        with pytest.raises(InvalidArgumentError, match="cannot lint a int"):
            lint(42)

    def test_syntax_error(self, tmp_path: Path) -> None:
        """A file that does not parse is one sr-syntax-error finding, not a crash."""
        bad = tmp_path / "bad.py"
        bad.write_text("def upgrade(:\n    pass\n")
        report = lint([bad])
        assert rules(report) == ["sr-syntax-error"]
        assert report.findings[0].line == 1
        assert not report.ok


class TestOutput:
    def test_text_format(self, tmp_path: Path) -> None:
        """One line per finding (path:line: rule [severity] message (fix: ...)), then a summary."""
        report = lint_one(
            tmp_path, 'op.drop_column("orders", "note")\nop.create_index("i", "t", ["c"])'
        )
        lines = report.format_text().splitlines()
        assert re.fullmatch(
            r".*r1\.py:12: ban-drop-column \[error\] drop_column orders\.note: "
            r".+ \(fix: use sr_op\.drop_column .+\)",
            lines[0],
        )
        assert lines[-1] == "2 findings (1 error, 1 warning) in 1 file"

    def test_clean_summary(self, tmp_path: Path) -> None:
        """No findings: a single summary line with the suppressed count."""
        report = lint_one(tmp_path, 'op.drop_table("t")  # safe-release: ignore[ban-drop-table]')
        assert report.format_text() == "no findings in 1 file, 1 suppressed"
        assert report.ok

    def test_json_shape(self, tmp_path: Path) -> None:
        """as_dict has stable keys and is JSON-serialisable."""
        report = lint_one(tmp_path, 'op.drop_column("t", "c")')
        data = json.loads(json.dumps(report.as_dict()))
        assert set(data) == {"ok", "files", "suppressed", "errors", "warnings", "findings"}
        assert data["ok"] is False
        assert (data["files"], data["errors"], data["warnings"]) == (1, 1, 0)
        assert set(data["findings"][0]) == {
            "rule",
            "severity",
            "path",
            "line",
            "revision",
            "message",
            "fix",
        }
        assert data["findings"][0]["revision"] == "r1"

    def test_finding_of_unknown_rule(self) -> None:
        """Findings are only made for known rule ids."""
        with pytest.raises(KeyError):
            Finding.of("no-such-rule", "p", 1, None, "")


class TestEdges:
    def test_module_without_upgrade(self, tmp_path: Path) -> None:
        """A helper module in the versions directory (no upgrade()) has nothing to check."""
        path = tmp_path / "helpers.py"
        path.write_text("from alembic import op\n\n\ndef drop():\n    op.drop_table('t')\n")
        report = lint([path])
        assert (report.findings, report.files) == ((), 1)

    def test_annotated_revision(self, tmp_path: Path) -> None:
        """`revision: str = "..."` is read like a plain assignment."""
        path = write(tmp_path, 'op.drop_table("t")')
        path.write_text(path.read_text().replace('revision = "r1"', 'revision: str = "r9"'))
        assert [f.revision for f in lint([path]).findings] == ["r9"]

    def test_config_without_script_location(self, tmp_path: Path) -> None:
        """An ini Alembic cannot use is an InvalidArgumentError saying what to check."""
        ini = tmp_path / "alembic.ini"
        ini.write_text("[alembic]\n")
        with pytest.raises(InvalidArgumentError, match="script_location"):
            lint(ini)

    def test_enum_named_after_python_enum(self, tmp_path: Path) -> None:
        """sa.Enum(PyEnum) creates a type named after the class, lower-cased."""
        report = lint_one(
            tmp_path,
            'op.add_column("t", sa.Column("c", sa.Enum(Mood)))',
            'op.drop_column("t", "c")',
            module="import enum\n\n\nclass Mood(enum.Enum):\n    HAPPY = 1\n",
        )
        assert "ENUM type mood not dropped" in report.findings[0].message

    def test_safe_create_table_enum_needs_undo(self, tmp_path: Path) -> None:
        """sr_op.create_table records its ENUM types, but only sr_op.undo() drops them."""
        upgrade = 'sr_op.create_table("n", sa.Column("s", sa.Enum("a", name="s")))'
        imports = "from safe_release.migrations import ops as sr_op"
        assert rules(lint_one(tmp_path, upgrade, 'op.drop_table("n")', imports=imports)) == [
            "sr-enum-not-dropped"
        ]
        assert rules(lint_one(tmp_path, upgrade, "sr_op.undo()", imports=imports)) == []

    def test_column_from_variable(self, tmp_path: Path) -> None:
        """add_column with a Column built elsewhere cannot be judged and is not reported."""
        report = lint_one(
            tmp_path, 'col = sa.Column("c", sa.Integer(), nullable=False)\nop.add_column("t", col)'
        )
        assert rules(report) == []

    def test_sync_enum_values(self, tmp_path: Path) -> None:
        """alembic-postgresql-enum's op.sync_enum_values changes an enum."""
        report = lint_one(tmp_path, 'op.sync_enum_values("public", "mood", ["a"], [])')
        assert rules(report) == ["sr-enum-change"]

    def test_doubled_quote_in_sql(self, tmp_path: Path) -> None:
        """A doubled quote inside an SQL string does not end it."""
        sql = "INSERT INTO t VALUES ('it''s; DROP TABLE t')"
        report = lint_one(tmp_path, f"op.execute({sql!r})")
        assert rules(report) == []

    def test_unnamed_enum_any_drop(self, tmp_path: Path) -> None:
        """An enum whose type name cannot be read is satisfied by any type drop."""
        upgrade = 'op.add_column("t", sa.Column("c", sa.Enum("a", "b")))'
        assert rules(lint_one(tmp_path, upgrade, 'op.drop_column("t", "c")')) == [
            "sr-enum-not-dropped"
        ]
        assert rules(lint_one(tmp_path, upgrade, 'op.execute("DROP TYPE whatever")')) == []


class TestExamples:
    def test_erp_example_has_no_errors(self) -> None:
        """The examples/ ERP project, written with the sr_op helpers, has no error finding."""
        ini = Path(__file__).parent.parent / "examples" / "erp_migrations" / "alembic.ini"
        if not ini.exists():
            pytest.skip("examples/erp_migrations is not there")
        report = lint(ini, dialect="postgresql")
        assert report.ok, report.format_text()
        assert report.files >= 1


class TestLintBadInput:
    @pytest.mark.parametrize("sql", [None, b"DROP TABLE t;", 5])
    def test_lint_sql_takes_text(self, sql: object) -> None:
        """lint_sql() of anything but text: a typed error."""
        with pytest.raises(InvalidArgumentError, match="SQL text"):
            lint_sql(sql)  # type: ignore[arg-type]

    def test_lint_sql_argument_takes_text(self, tmp_path: Path) -> None:
        """lint(sql=...) of anything but text: a typed error."""
        (tmp_path / "r1.py").write_text('revision = "r1"\n')
        with pytest.raises(InvalidArgumentError, match="as text"):
            lint([str(tmp_path / "r1.py")], sql=5)  # type: ignore[arg-type]

    def test_unknown_dialect(self, tmp_path: Path) -> None:
        """An unknown dialect name is refused instead of silently linting nothing."""
        (tmp_path / "r1.py").write_text('revision = "r1"\n')
        with pytest.raises(InvalidArgumentError, match="dialect"):
            lint([str(tmp_path / "r1.py")], dialect="foo")
