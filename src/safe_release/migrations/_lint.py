"""Linting Alembic revision files with Python's ``ast`` (never importing them).

`lint` reads each revision file, resolves the names its imports bind
(``from alembic import op``, ``batch_alter_table(...) as batch_op``,
``from safe_release.migrations import ops as sr_op``) and checks the calls
``upgrade()`` makes (and the module functions it calls) against `RULES`;
``op.execute("...")`` literals go through the SQL rules. ``downgrade()`` is
checked for being empty and for leaving PostgreSQL ENUM types behind.
"""

from __future__ import annotations

import ast
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.config import Config

from safe_release.exceptions import InvalidArgumentError
from safe_release.migrations._lint_calls import CallChecker, Hit, Names, enum_name, qualname
from safe_release.migrations._lint_rules import (
    RULES,
    Finding,
    LintReport,
    Suppressions,
    sort_findings,
)
from safe_release.migrations._lint_sql import analyse_sql, lint_sql

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TypeAlias

    LintTarget: TypeAlias = "Config | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"

__all__ = ["RULES", "Finding", "LintReport", "lint", "lint_sql"]

_SAFE_COVERS = {
    "drop_column": {"ban-drop-column"},
    "drop_table": {"ban-drop-table"},
    "rename_column": {"renaming-column"},
    "rename_table": {"renaming-table"},
    "alter_column_type": {"changing-column-type"},
    "set_not_null": {"adding-not-nullable-field"},
    "remove_enum_value": {"sr-enum-change", "changing-column-type"},
}
"""The rules whose hazard a safe helper handles (its offline SQL is not reported again)."""


@dataclass
class _FileResult:
    findings: list[Finding] = field(default_factory=list)
    suppressed: int = 0
    revision: str | None = None
    covered: set[str] = field(default_factory=set)
    """Rules already reported, suppressed or handled by a safe helper in this file."""


_CONTRACT_ONLY = {
    "drop_column",
    "drop_table",
    "rename_column",
    "rename_table",
    "remove_enum_value",
}
"""Safe helpers that still break the old code, so belong in a contract revision."""


def _module_constant(tree: ast.Module, name: str) -> str | None:
    """The string a module-level ``name = "..."`` (or ``name: str = "..."``) assigns."""
    for node in tree.body:
        target = (
            node.targets[0]
            if isinstance(node, ast.Assign) and node.targets
            else (node.target if isinstance(node, ast.AnnAssign) else None)
        )
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if (
            isinstance(target, ast.Name)
            and target.id == name
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            return value.value
    return None


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _reachable(functions: dict[str, ast.FunctionDef], start: str) -> list[ast.FunctionDef]:
    """``start`` and the module functions it calls, directly or not."""
    seen, todo = [], [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in functions or (name == "downgrade" != start):
            continue
        seen.append(name)
        todo.extend(
            node.func.id
            for node in ast.walk(functions[name])
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        )
    return [functions[name] for name in seen]


def _is_empty(function: ast.FunctionDef) -> str | None:
    """Why ``function`` does nothing (``None`` when it does something)."""
    body = [
        stmt
        for stmt in function.body
        if not (
            isinstance(stmt, ast.Pass)
            or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
        )
    ]
    if not body:
        return f"{function.name}() is empty"
    first = body[0]
    if len(body) == 1 and isinstance(first, ast.Raise) and first.exc is not None:
        exc = first.exc.func if isinstance(first.exc, ast.Call) else first.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return f"{function.name}() raises NotImplementedError"
    return None


class _FileLinter:
    """The hits of one parsed revision file."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.names = Names.of(tree)
        self.functions = _functions(tree)
        self.hits: list[Hit] = []
        self.covered: set[str] = set()

    def run(self) -> list[Hit]:
        upgrade = self.functions.get("upgrade")
        if upgrade is None:
            return []
        checker = CallChecker(self.names, _reachable(self.functions, "upgrade"))
        self.hits.extend(checker.check())
        self.covered.update(*(_SAFE_COVERS.get(op, set()) for op, _ in checker.safe_calls))
        if _module_constant(self.tree, "sr_phase") != "contract":
            self.hits.extend(
                Hit("sr-contract-phase", call, f"sr_op.{op}")
                for op, call in checker.safe_calls
                if op in _CONTRACT_ONLY
            )
        self._downgrade(upgrade, checker)
        return self.hits

    def _downgrade(self, upgrade: ast.FunctionDef, checker: CallChecker) -> None:
        downgrade = self.functions.get("downgrade")
        if _is_empty(upgrade):
            return
        if downgrade is None:
            self.hits.append(
                Hit("sr-empty-downgrade", upgrade, "no downgrade() defined", end=upgrade.lineno)
            )
            return
        if reason := _is_empty(downgrade):
            self.hits.append(Hit("sr-empty-downgrade", downgrade, reason, end=downgrade.lineno))
            return
        dropped = self._dropped_enums(downgrade)
        for name, node in checker.created_enums.items():
            if not ({name, "?"} & dropped or (name == "?" and dropped)):
                self.hits.append(
                    Hit(
                        "sr-enum-not-dropped", node, f"ENUM type {name} not dropped in downgrade()"
                    )
                )

    def _dropped_enums(self, downgrade: ast.FunctionDef) -> set[str]:
        """Enum types ``downgrade`` drops; ``{"?"}`` stands for all (``sr_op.undo()``)."""
        dropped: set[str] = set()
        for node in ast.walk(downgrade):
            if not isinstance(node, ast.Call):
                continue
            name = qualname(node.func, self.names.imports) or ""
            if name.endswith(".undo") and name.startswith("safe_release."):
                dropped.add("?")
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "drop":
                enum = enum_name(node.func.value, self.names)
                dropped.update([enum] if enum else [])
            elif (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "exec_driver_sql"}
                and (sql := self.names.literal_sql(node))
            ):
                dropped.update(analyse_sql(str(sql.value)).dropped_enums)
        return dropped


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _syntax_error(path: str, error: Exception) -> _FileResult:
    line = getattr(error, "lineno", None) or 1
    detail = getattr(error, "msg", None) or str(error)
    return _FileResult([Finding.of("sr-syntax-error", path, line, None, str(detail))])


def _lint_file(path: Path, dialects: frozenset[str]) -> _FileResult:
    shown = _relative(path)
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=shown)
        suppressions = Suppressions.from_python(source)
    except (SyntaxError, ValueError, tokenize.TokenError) as exc:
        return _syntax_error(shown, exc)
    linter = _FileLinter(tree)
    result = _FileResult(revision=_module_constant(tree, "revision"), covered=linter.covered)
    for hit in linter.run():
        rule = RULES[hit.rule]
        if rule.postgresql_only and "postgresql" not in dialects:
            continue
        result.covered.add(hit.rule)
        if suppressions.covers(hit.rule, hit.first, hit.last):
            result.suppressed += 1
            continue
        result.findings.append(Finding.of(hit.rule, shown, hit.line, result.revision, hit.detail))
    return result


def _config_files(config: Config) -> list[Path]:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only Config targets need it
    from alembic.util import CommandError, coerce_resource_to_filename  # noqa: PLC0415

    try:
        script = ScriptDirectory.from_config(config)
    except CommandError as exc:
        msg = f"cannot read the Alembic configuration: {exc}; check script_location"
        raise InvalidArgumentError(msg) from exc
    configured = script.version_locations or [str(Path(script.dir, "versions"))]
    locations = [coerce_resource_to_filename(str(loc)) for loc in configured]
    files: list[Path] = []
    for location in locations:
        files.extend(_py_files(Path(location), recursive=script.recursive_version_locations))
    return files


def _py_files(directory: Path, *, recursive: bool = False) -> list[Path]:
    pattern = directory.rglob("*.py") if recursive else directory.glob("*.py")
    return sorted(path for path in pattern if not path.name.startswith(("__init__", ".#")))


def _existing(path: Path) -> Path:
    if not path.exists():
        msg = (
            f"{path} does not exist; pass an alembic Config, an alembic.ini path, a "
            "versions directory or revision files"
        )
        raise InvalidArgumentError(msg)
    return path


def _files(target: object) -> tuple[list[Path], Config | None]:
    """The revision files ``target`` names, and its Config if it is one."""
    if isinstance(target, Config):
        return _config_files(target), target
    if isinstance(target, (str, os.PathLike)):
        path = _existing(Path(target))
        if path.suffix in {".ini", ".toml"}:
            config = Config(str(path)) if path.suffix == ".ini" else Config(toml_file=str(path))
            return _config_files(config), config
        return _py_files(path) if path.is_dir() else [path], None
    if isinstance(target, (list, tuple)):
        paths = [_existing(Path(item)) for item in target]
        return [f for p in paths for f in (_py_files(p) if p.is_dir() else [p])], None
    msg = (
        f"cannot lint a {type(target).__name__}; pass a Config, an ini path, a directory or files"
    )
    raise InvalidArgumentError(msg)


_KNOWN = frozenset({"postgresql", "postgres", "sqlite", "mysql", "mariadb", "mssql", "oracle"})


def _dialects(dialect: str | None, config: Config | None) -> frozenset[str]:
    """The dialects to check for: the given one, the Config's URL's, else PostgreSQL too."""
    if dialect is None and config is not None:
        url = config.get_main_option("sqlalchemy.url") or ""
        dialect = url.split(":", 1)[0].split("+", 1)[0] or None
    if dialect is None:
        return frozenset({"postgresql", "sqlite"})
    return frozenset({"postgresql" if dialect == "postgres" else dialect})


def _merge_sql(report: LintReport, sql: str, results: Iterable[_FileResult]) -> LintReport:
    """Add the SQL findings the revision files did not already account for."""
    covered = {result.revision: result.covered for result in results if result.revision}
    sql_report = lint_sql(sql)
    fresh = tuple(
        finding
        for finding in sql_report.findings
        if finding.rule not in covered.get(finding.revision or "", set())
    )
    return report.merged(LintReport(fresh, sql_report.files, sql_report.suppressed))


def lint(target: LintTarget, *, sql: str | None = None, dialect: str | None = None) -> LintReport:
    """Lint Alembic revision files for operations that break rollback or the old code.

    Args:
        target: an ``alembic.config.Config``, an ``alembic.ini`` path, a versions
            directory, or a list of revision files.
        sql: offline SQL (``alembic upgrade head --sql``, PostgreSQL) to lint as well;
            findings the revision files already account for are not repeated.
        dialect: ``"postgresql"``, ``"sqlite"`` …; PostgreSQL-only rules are skipped for
            other dialects. Default: the Config's ``sqlalchemy.url``, else all rules.

    Raises:
        InvalidArgumentError: a path does not exist or ``target`` is of the wrong kind.
    """
    if sql is not None and not isinstance(sql, str):
        msg = f"lint(sql=...) takes the offline SQL as text, not {type(sql).__name__}"
        raise InvalidArgumentError(msg)
    if dialect is not None and (not isinstance(dialect, str) or dialect not in _KNOWN):
        msg = f"lint(dialect=...) must be one of {', '.join(sorted(_KNOWN))}, not {dialect!r}"
        raise InvalidArgumentError(msg)
    files, config = _files(target)
    dialects = _dialects(dialect, config)
    results = [_lint_file(path, dialects) for path in files]
    findings = sort_findings(f for result in results for f in result.findings)
    report = LintReport(findings, len(files), sum(result.suppressed for result in results))
    return report if sql is None else _merge_sql(report, sql, results)
