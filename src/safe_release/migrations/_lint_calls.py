"""The linter's view of one revision's calls: which names mean what, which rules a call breaks.

`Names` resolves what a revision module's imports bind; `CallChecker` walks the
functions ``upgrade()`` runs and turns each Alembic operation it recognises into
`Hit` records. Calls into ``safe_release.migrations.ops`` are never hits.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safe_release.migrations._lint_sql import analyse_sql

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["CallChecker", "Hit", "Names", "enum_name", "qualname"]

OP = "alembic.op"
SAFE = "safe_release.migrations.ops"
BATCH = "<batch>"

_TABLE_ARG = {
    "drop_column": (0, "table_name"),
    "alter_column": (0, "table_name"),
    "add_column": (0, "table_name"),
    "drop_table": (0, "table_name"),
    "rename_table": (0, "old_table_name"),
    "create_table": (0, "table_name"),
    "create_index": (1, "table_name"),
    "drop_index": (1, "table_name"),
    "create_unique_constraint": (1, "table_name"),
    "create_check_constraint": (1, "table_name"),
    "create_foreign_key": (1, "source_table"),
    "drop_constraint": (1, "table_name"),
}
"""Where an operation takes its table: (position, keyword) in the ``op.`` form."""


@dataclass(frozen=True)
class Hit:
    """A rule broken at ``node``; ``at`` overrides the reported line, ``end`` the span."""

    rule: str
    node: ast.AST
    detail: str
    end: int | None = None
    at: int | None = None

    @property
    def line(self) -> int:
        """The line reported."""
        return self.at or self.first

    @property
    def first(self) -> int:
        """The first line a suppression comment may follow."""
        return int(getattr(self.node, "lineno", 1))

    @property
    def last(self) -> int:
        """The last line a suppression comment may be on."""
        return self.end or int(getattr(self.node, "end_lineno", None) or self.first)


def qualname(expr: ast.expr, imports: dict[str, str]) -> str | None:
    """The dotted name ``expr`` refers to through the module's imports, if any."""
    if isinstance(expr, ast.Name):
        return imports.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = qualname(expr.value, imports)
        return f"{base}.{expr.attr}" if base else None
    return None


def _literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


@dataclass
class Names:
    """What a module's names refer to: imports, and module-level enum types."""

    imports: dict[str, str]
    enums: dict[str, ast.Call] = field(default_factory=dict)
    """Module-level variable -> the ``sa.Enum(...)`` it is bound to."""

    @classmethod
    def of(cls, tree: ast.Module) -> Names:
        """The names ``tree``'s imports and module-level enum assignments bind."""
        names = cls(_imports(tree))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and names.is_enum(node.value)
            ):
                names.enums[node.targets[0].id] = node.value
        return names

    def is_enum(self, call: ast.Call) -> bool:
        """True when ``call`` constructs ``sqlalchemy.Enum`` or PostgreSQL ``ENUM``."""
        name = qualname(call.func, self.imports) or ""
        return name.startswith("sqlalchemy") and name.rsplit(".", 1)[-1] in {"Enum", "ENUM"}

    def literal_sql(self, call: ast.Call) -> ast.Constant | None:
        """The SQL string literal ``call`` executes (``"..."`` or ``sa.text("...")``)."""
        arg = call.args[0] if call.args else _keyword(call, "sqltext")
        if (
            isinstance(arg, ast.Call)
            and (qualname(arg.func, self.imports) or "").endswith(".text")
            and arg.args
        ):
            arg = arg.args[0]
        return arg if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _imports(tree: ast.Module) -> dict[str, str]:
    imports: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".", 1)[0]
                imports[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return imports


def _enum_type_name(call: ast.Call) -> str:
    """The PostgreSQL type name an Enum constructor creates (``?`` when unknown)."""
    name = _literal(_keyword(call, "name"))
    if isinstance(name, str):
        return name
    first = call.args[0] if call.args else None
    if _keyword(call, "name") is None and isinstance(first, (ast.Name, ast.Attribute)):
        return (first.id if isinstance(first, ast.Name) else first.attr).lower()
    return "?"


def enum_name(expr: ast.expr, names: Names) -> str | None:
    """The enum type name ``expr`` (an Enum constructor or a variable bound to one) denotes."""
    if isinstance(expr, ast.Name) and expr.id in names.enums:
        return _enum_type_name(names.enums[expr.id])
    if isinstance(expr, ast.Call) and names.is_enum(expr):
        return _enum_type_name(expr)
    return None


def _creates_type(call: ast.Call) -> bool:
    return (
        _literal(_keyword(call, "create_type")) is not False
        and _literal(_keyword(call, "native_enum")) is not False
    )


class _Args:
    """The arguments of one ``op.<name>(...)`` or ``batch_op.<name>(...)`` call."""

    def __init__(self, call: ast.Call, op: str, batch_table: str | None) -> None:
        self.call, self.batch_table = call, batch_table
        self.table_pos = _TABLE_ARG.get(op, (-1, ""))

    def get(self, pos: int, keyword: str) -> ast.expr | None:
        if (value := _keyword(self.call, keyword)) is not None:
            return value
        if self.batch_table is not None and pos > self.table_pos[0] >= 0:
            pos -= 1
        return self.call.args[pos] if pos < len(self.call.args) else None

    def text(self, pos: int, keyword: str) -> str:
        value = _literal(self.get(pos, keyword))
        return value if isinstance(value, str) else "?"

    @property
    def table(self) -> str:
        return self.batch_table or self.text(*self.table_pos)

    def flag(self, keyword: str) -> object:
        return _literal(_keyword(self.call, keyword))


class CallChecker:
    """The hits of the functions ``upgrade()`` runs, and what they create."""

    def __init__(self, names: Names, functions: list[ast.FunctionDef]) -> None:
        self.names = names
        self.imports = dict(names.imports)
        self.functions = functions
        self.batch: dict[str, str] = {}
        self.created_tables: set[str] = set()
        self.created_enums: dict[str, ast.AST] = {}
        self.safe_calls: list[tuple[str, ast.Call]] = []
        self.hits: list[Hit] = []

    def calls(self) -> Iterator[ast.Call]:
        for function in self.functions:
            yield from (node for node in ast.walk(function) if isinstance(node, ast.Call))

    def check(self) -> list[Hit]:
        """Every hit, in no particular order."""
        self._prepare()
        for call in self.calls():
            self._call(call)
        return self.hits

    def _prepare(self) -> None:
        """Batch aliases and the tables this upgrade creates (new tables hold no rows)."""
        for function in self.functions:
            for node in ast.walk(function):
                if isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
                    self._batch_alias(node.context_expr, node.optional_vars)
        for call in self.calls():
            name = qualname(call.func, self.imports) or ""
            if name in {f"{OP}.create_table", f"{SAFE}.create_table"}:
                self.created_tables.add(_Args(call, "create_table", None).table)

    def _batch_alias(self, call: ast.Call, target: ast.expr | None) -> None:
        if qualname(call.func, self.imports) == f"{OP}.batch_alter_table" and isinstance(
            target, ast.Name
        ):
            self.imports[target.id] = BATCH
            self.batch[target.id] = _Args(call, "drop_table", None).table

    def _call(self, call: ast.Call) -> None:
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in {"create", "drop"}
            and (enum := enum_name(func.value, self.names))
        ):
            self._enum_method(call, func.attr, enum)
            return
        module, _, op = (qualname(func, self.imports) or "").rpartition(".")
        if module == OP:
            self._op(op, call, None)
        elif (
            module == BATCH
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
        ):
            self._op(op, call, self.batch[func.value.id])
        elif module == SAFE:
            self.safe_calls.append((op, call))
            if op in {"create_table", "add_column"}:
                self._collect_enums(call)
        elif isinstance(func, ast.Attribute) and func.attr in {"execute", "exec_driver_sql"}:
            self._execute(call)

    def _enum_method(self, call: ast.Call, method: str, enum: str) -> None:
        if method == "create":
            self.created_enums.setdefault(enum, call)
        else:
            self.hits.append(Hit("sr-enum-change", call, f"drops ENUM type {enum}"))

    def _collect_enums(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Call) and self.names.is_enum(child) and _creates_type(child):
                self.created_enums.setdefault(_enum_type_name(child), child)
            elif isinstance(child, ast.Name) and child.id in self.names.enums:
                enum = self.names.enums[child.id]
                if _creates_type(enum):
                    self.created_enums.setdefault(_enum_type_name(enum), child)

    def _op(self, op: str, call: ast.Call, batch_table: str | None) -> None:
        args = _Args(call, op, batch_table)
        if op in {"create_table", "add_column"}:
            self._collect_enums(call)
        if op == "execute":
            self._execute(call)
            return
        if op in _TABLE_ARG and op != "create_table" and args.table in self.created_tables:
            return
        check = _CHECKS.get(op)
        for rule, detail in check(self, args) if check else ():
            self.hits.append(Hit(rule, call, detail))

    def _execute(self, call: ast.Call) -> None:
        literal = self.names.literal_sql(call)
        if literal is None:
            return
        analysis = analyse_sql(str(literal.value), created_tables=self.created_tables)
        for hit in analysis.hits:
            self.hits.append(
                Hit(
                    hit.rule,
                    call,
                    f"execute {hit.statement.snippet}",
                    at=literal.lineno + hit.statement.line - 1,
                )
            )
        for enum in analysis.created_enums:
            self.created_enums.setdefault(enum, call)

    def is_enum_type(self, node: ast.expr | None) -> bool:
        """True when ``node`` is an Enum constructor or a variable bound to one."""
        return node is not None and enum_name(node, self.names) is not None


if TYPE_CHECKING:
    from typing import TypeAlias

    Check: TypeAlias = Callable[[CallChecker, _Args], list[tuple[str, str]]]


def _drop_column(_c: CallChecker, a: _Args) -> list[tuple[str, str]]:
    return [("ban-drop-column", f"drop_column {a.table}.{a.text(1, 'column_name')}")]


def _drop_table(_c: CallChecker, a: _Args) -> list[tuple[str, str]]:
    return [("ban-drop-table", f"drop_table {a.table}")]


def _rename_table(_c: CallChecker, a: _Args) -> list[tuple[str, str]]:
    return [("renaming-table", f"rename_table {a.table} -> {a.text(1, 'new_table_name')}")]


def _alter_column(checker: CallChecker, a: _Args) -> list[tuple[str, str]]:
    where = f"alter_column {a.table}.{a.text(1, 'column_name')}"
    hits = []
    new_name = _keyword(a.call, "new_column_name")
    if _literal(new_name) is not None or isinstance(new_name, ast.Name):
        hits.append(("renaming-column", f"{where} new_column_name"))
    if (type_ := _keyword(a.call, "type_")) is not None:
        enum = checker.is_enum_type(type_)
        hits.append(("sr-enum-change" if enum else "changing-column-type", f"{where} type_"))
    nullable = a.flag("nullable")
    if nullable is False:
        hits.append(("adding-not-nullable-field", f"{where} nullable=False"))
    elif nullable is True:
        hits.append(("ban-drop-not-null", f"{where} nullable=True"))
    return hits


def _add_column(checker: CallChecker, a: _Args) -> list[tuple[str, str]]:
    column = a.get(1, "column")
    if not isinstance(column, ast.Call):
        return []
    name = _literal(column.args[0]) if column.args else _literal(_keyword(column, "name"))
    where = f"add_column {a.table}.{name if isinstance(name, str) else '?'}"
    kinds = {
        (qualname(arg.func, checker.imports) or "").rsplit(".", 1)[-1]
        for arg in column.args
        if isinstance(arg, ast.Call)
    }
    required = _literal(_keyword(column, "nullable")) is False or (
        _literal(_keyword(column, "primary_key")) is True and _keyword(column, "nullable") is None
    )
    default = _literal(_keyword(column, "server_default")) is not None or isinstance(
        _keyword(column, "server_default"), (ast.Call, ast.Name, ast.Attribute)
    )
    hits = []
    if required and not default and not kinds & {"Identity", "Computed"}:
        hits.append(("adding-required-field", f"{where} nullable=False, no server_default"))
    if "ForeignKey" in kinds:
        hits.append(("adding-foreign-key-constraint", f"{where} ForeignKey"))
    return hits


def _create_index(_c: CallChecker, a: _Args) -> list[tuple[str, str]]:
    where = f"create_index {a.text(0, 'index_name')} on {a.table}"
    hits = []
    if a.flag("unique") is True:
        hits.append(("sr-unique-index", f"{where} unique=True"))
    if a.flag("postgresql_concurrently") is not True:
        hits.append(("require-concurrent-index-creation", where))
    return hits


def _drop_index(_c: CallChecker, a: _Args) -> list[tuple[str, str]]:
    if a.flag("postgresql_concurrently") is True:
        return []
    return [("require-concurrent-index-deletion", f"drop_index {a.text(0, 'index_name')}")]


def _constraint(rule: str, *, not_valid_ok: bool) -> Check:
    def check(_c: CallChecker, a: _Args) -> list[tuple[str, str]]:
        if not_valid_ok and a.flag("postgresql_not_valid") is True:
            return []
        name = a.text(0, "constraint_name")
        return [(rule, f"{_OP_NAMES[rule]} {name} on {a.table}")]

    return check


_OP_NAMES = {
    "disallowed-unique-constraint": "create_unique_constraint",
    "constraint-missing-not-valid": "create_check_constraint",
    "adding-foreign-key-constraint": "create_foreign_key",
    "ban-drop-constraint": "drop_constraint",
}


def _sync_enum_values(_c: CallChecker, _a: _Args) -> list[tuple[str, str]]:
    return [("sr-enum-change", "sync_enum_values")]


_CHECKS: dict[str, Check] = {
    "drop_column": _drop_column,
    "drop_table": _drop_table,
    "rename_table": _rename_table,
    "alter_column": _alter_column,
    "add_column": _add_column,
    "create_index": _create_index,
    "drop_index": _drop_index,
    "create_unique_constraint": _constraint("disallowed-unique-constraint", not_valid_ok=False),
    "create_check_constraint": _constraint("constraint-missing-not-valid", not_valid_ok=True),
    "create_foreign_key": _constraint("adding-foreign-key-constraint", not_valid_ok=True),
    "drop_constraint": _constraint("ban-drop-constraint", not_valid_ok=False),
    "sync_enum_values": _sync_enum_values,
}
