"""The rollback floor: can a released application version still run on today's schema?

Record the SQLAlchemy ``MetaData`` of every released version with `record`; after
migrations ran, `check` one version or ask `rollback_floor` for the oldest
version that it is still safe to roll the code back to::

    from safe_release.migrations import compat

    compat.record(store, "erp", "1.4.0", Base.metadata)       # at release time
    floor = compat.rollback_floor(store, "erp", erp_engine)    # after an upgrade
    print(floor.format_text())

A version is compatible when its code can still **read** (every table and column
it maps exists with a compatible type) and **write** (no new NOT NULL column
without a server default, no column it may leave NULL became NOT NULL, no column
it writes was dropped or narrowed, no enum value it writes was removed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from safe_release._store import StoreCore, store_error
from safe_release.exceptions import InvalidArgumentError
from safe_release.migrations import _compat_store
from safe_release.migrations._compat_store import (
    AppVersion,
    check_name,
    record_verified,
    revision_file_sha256,
    verified_revisions,
)
from safe_release.migrations._metadata_json import (
    ColumnDesc,
    SchemaDesc,
    TableDesc,
    TypeDesc,
    compare_types,
    describe_metadata,
    reflect_table,
)

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "AppVersion",
    "CompatResult",
    "Problem",
    "RollbackFloor",
    "check",
    "is_retired",
    "record",
    "record_verified",
    "retire",
    "revision_file_sha256",
    "rollback_floor",
    "verified_revisions",
    "versions",
]


@dataclass(frozen=True)
class Problem:
    """One reason an old version's code breaks on the current schema."""

    access: str
    """``read`` or ``write``: what the old code can no longer do."""
    code: str
    """Stable id: table-missing, column-missing, type-changed, type-narrowed,
    enum-value-added, enum-value-removed, new-required-column, now-not-null,
    default-removed, now-generated."""
    table: str
    """``schema.table`` or ``table``."""
    column: str | None
    message: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "access": self.access,
            "code": self.code,
            "table": self.table,
            "column": self.column,
            "message": self.message,
        }

    def format_text(self) -> str:
        """``write orders.sku: ...``."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.access:<5} {where}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class CompatResult:
    """Whether one recorded version's code still reads and writes the schema."""

    app: str
    version: str
    recorded_at: datetime
    read: tuple[Problem, ...]
    write: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """No read and no write problem."""
        return not self.read and not self.write

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "app": self.app,
            "version": self.version,
            "ok": self.ok,
            "recorded_at": self.recorded_at.isoformat(),
            "read": [p.as_dict() for p in self.read],
            "write": [p.as_dict() for p in self.write],
        }

    def format_text(self) -> str:
        """One line for the verdict, one per problem."""
        problems = (*self.read, *self.write)
        verdict = "ok" if self.ok else f"{len(problems)} problem(s)"
        return "\n".join(
            [f"{self.app} {self.version}: {verdict}", *(f"  {p.format_text()}" for p in problems)]
        )


@dataclass(frozen=True)
class RollbackFloor:
    """The oldest version still safe to roll back to, and every version's result."""

    app: str
    floor: str | None
    """``None``: not even the newest recorded version is compatible."""
    results: tuple[CompatResult, ...]
    """Every non-retired version, newest first."""
    retired: tuple[str, ...]
    """Retired versions, skipped."""

    @property
    def safe(self) -> tuple[str, ...]:
        """The versions it is safe to roll back to, newest first (down to the floor)."""
        out = []
        for result in self.results:
            if not result.ok:
                break
            out.append(result.version)
        return tuple(out)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "app": self.app,
            "floor": self.floor,
            "safe": list(self.safe),
            "retired": list(self.retired),
            "results": [r.as_dict() for r in self.results],
        }

    def format_text(self) -> str:
        """A summary line, then each version's result, newest first."""
        if not self.results:
            head = f"rollback floor of {self.app!r}: none (every recorded version is retired)"
        elif self.floor is None:
            head = f"rollback floor of {self.app!r}: none (the newest version is incompatible)"
        else:
            head = f"rollback floor of {self.app!r}: {self.floor} (safe: {', '.join(self.safe)})"
        lines = [head, *(r.format_text() for r in self.results)]
        if self.retired:
            lines.append(f"retired (skipped): {', '.join(self.retired)}")
        return "\n".join(lines)


# -- recording -------------------------------------------------------------------------


def _check_store(store: object) -> StoreCore:
    if not isinstance(store, StoreCore):
        msg = f"pass a safe_release Store (safe_release.connect(...)), not {store!r}"
        raise InvalidArgumentError(msg)
    return store


def record(store: StoreCore, app: str, version: str, metadata: sa.MetaData) -> None:
    """Record the schema ``app`` ``version`` maps (its ``Base.metadata``).

    Recording the same content again is a no-op; different content for a version
    already recorded raises `InvalidArgumentError`.
    """
    _check_store(store)
    check_name(app, "app")
    check_name(version, "version")
    if not isinstance(metadata, sa.MetaData):
        msg = (
            f"record() takes the application's SQLAlchemy MetaData (e.g. Base.metadata), "
            f"not {type(metadata).__name__}"
        )
        raise InvalidArgumentError(msg)
    _compat_store.insert_schema(store, app, version, describe_metadata(metadata))


def retire(store: StoreCore, app: str, version: str) -> None:
    """Mark a recorded version retired: no longer a rollback target (contract may run)."""
    _check_store(store)
    _compat_store.retire(store, check_name(app, "app"), check_name(version, "version"))


def is_retired(store: StoreCore, app: str, version: str) -> bool:
    """Whether ``app`` ``version`` was retired (``False`` if it was never recorded)."""
    _check_store(store)
    check_name(app, "app")
    check_name(version, "version")
    return _compat_store.is_retired(store, app, version)


def versions(store: StoreCore, app: str) -> list[AppVersion]:
    """Every recorded version of ``app``, oldest first (empty if none)."""
    _check_store(store)
    return [v for v, _ in _compat_store.load_versions(store, check_name(app, "app"))]


# -- checking -------------------------------------------------------------------------


def check(
    store: StoreCore,
    app: str,
    version: str,
    engine_or_connection: sa.Engine | sa.Connection,
    *,
    schema: str | None = None,
) -> CompatResult:
    """Compare one recorded version with the database's schema now.

    ``schema``: where tables recorded without a schema live (``None``: the
    connection's default schema).
    """
    _check_store(store)
    recorded, desc = _compat_store.load_schema(
        store, check_name(app, "app"), check_name(version, "version")
    )
    return _Live(engine_or_connection, schema).result(recorded, desc)


def rollback_floor(
    store: StoreCore,
    app: str,
    engine_or_connection: sa.Engine | sa.Connection,
    *,
    schema: str | None = None,
) -> RollbackFloor:
    """The oldest non-retired version that it and every newer one are compatible."""
    _check_store(store)
    recorded = _compat_store.load_versions(store, check_name(app, "app"))
    if not recorded:
        msg = (
            f"no schema is recorded for {app!r}; record each release with "
            "compat.record(store, app, version, Base.metadata)"
        )
        raise InvalidArgumentError(msg)
    live = _Live(engine_or_connection, schema)
    newest_first = list(reversed(recorded))
    results = tuple(live.result(v, d) for v, d in newest_first if not v.retired)
    floor = None
    for result in results:
        if not result.ok:
            break
        floor = result.version
    return RollbackFloor(
        app=app,
        floor=floor,
        results=results,
        retired=tuple(v.version for v, _ in newest_first if v.retired),
    )


class _Live:
    """The database's schema now, reflected lazily and once per table."""

    def __init__(self, bind: object, schema: str | None) -> None:
        if not isinstance(bind, (sa.Engine, sa.Connection)):
            msg = (
                "pass the ERP database's SQLAlchemy Engine or Connection, "
                f"not {type(bind).__name__}"
            )
            raise InvalidArgumentError(msg)
        self._bind, self._schema = bind, schema
        self._engine = bind if isinstance(bind, sa.Engine) else bind.engine
        self._tables: dict[tuple[str | None, str], TableDesc | None] = {}
        self._names: dict[str | None, set[str]] = {}
        self._inspector: sa.Inspector | None = None

    def result(self, recorded: AppVersion, desc: SchemaDesc) -> CompatResult:
        """Compare a recorded schema with this database."""
        try:
            problems = [p for table in desc.tables for p in self._table(table)]
        except DBAPIError as exc:
            raise store_error("reading the database schema", self._engine, exc) from exc
        return CompatResult(
            app=recorded.app,
            version=recorded.version,
            recorded_at=recorded.recorded_at,
            read=tuple(p for p in problems if p.access == "read"),
            write=tuple(p for p in problems if p.access == "write"),
        )

    def _reflect(self, name: str, schema: str | None) -> TableDesc | None:
        if self._inspector is None:
            self._inspector = sa.inspect(self._bind)
        if schema not in self._names:
            self._names[schema] = set(self._inspector.get_table_names(schema=schema))
        if (schema, name) not in self._tables:
            self._tables[schema, name] = (
                reflect_table(self._inspector, name, schema)
                if name in self._names[schema]
                else None
            )
        return self._tables[schema, name]

    def _table(self, old: TableDesc) -> list[Problem]:
        schema = old.schema if old.schema is not None else self._schema
        new = self._reflect(old.name, schema)
        label = f"{schema}.{old.name}" if schema else old.name
        if new is None:
            return [
                Problem(
                    "read",
                    "table-missing",
                    label,
                    None,
                    "the table no longer exists; the old code reads it",
                )
            ]
        dialect = self._engine.dialect.name
        return _table_problems(old, new, label, dialect)


# -- the rules ------------------------------------------------------------------------

_WHY = {
    "column-missing": "the column no longer exists; the old code {}",
    "new-required-column": "a new NOT NULL column without a server default; the old code's "
    "INSERTs do not know it and omit it",
    "now-generated": "the column is now generated by the database; the old code writes it",
    "now-not-null": "the column is now NOT NULL without a server default; the old code may "
    "write NULL or omit it",
    "default-removed": "the database no longer fills the column in; the old code omits it "
    "and relies on the database",
    "type-changed": "the type changed ({}); the old code reads and writes it as {}",
    "type-narrowed": "the type was narrowed ({}): {}",
    "enum-value-removed": "enum value(s) {} no longer allowed; the old code may write them",
    "enum-value-added": "new enum value(s) {}; the old code cannot read rows holding them "
    "(SQLAlchemy raises LookupError)",
}
_Found = list[tuple[str, str, str]]


def _found(access: str, code: str, *args: object) -> tuple[str, str, str]:
    return access, code, _WHY[code].format(*args)


def _table_problems(old: TableDesc, new: TableDesc, label: str, dialect: str) -> list[Problem]:
    live = {c.name: c for c in new.columns}
    known = {c.name for c in old.columns}
    out: list[Problem] = []
    for column in old.columns:
        now = live.get(column.name)
        found = _missing(column) if now is None else _column(column, now, dialect)
        out += [Problem(a, code, label, column.name, m) for a, code, m in found]
    out += [
        Problem("write", "new-required-column", label, c.name, _WHY["new-required-column"])
        for c in new.columns
        if c.name not in known and _requires_value(c)
    ]
    return out


def _missing(old: ColumnDesc) -> _Found:
    found = [_found("read", "column-missing", "selects it")]
    if not old.computed:
        found.append(_found("write", "column-missing", "writes it"))
    return found


def _requires_value(col: ColumnDesc) -> bool:
    """Whether an INSERT must name the column (NOT NULL, nothing fills it in)."""
    return not (col.nullable or col.server_default or col.autoincrement or col.computed)


def _column(old: ColumnDesc, new: ColumnDesc, dialect: str) -> _Found:
    found = _type_problems(old.type, new.type, dialect)
    if old.computed:
        return found
    if new.computed:
        found.append(_found("write", "now-generated"))
    elif _requires_value(new) and old.nullable and not old.primary_key:
        found.append(_found("write", "now-not-null"))
    elif (
        _requires_value(new)
        and (old.server_default or _generated_on(old, dialect))
        and not old.default
    ):
        found.append(_found("write", "default-removed"))
    return found


def _generated_on(col: ColumnDesc, dialect: str) -> bool:
    """Whether ``dialect`` generated the column's values for the old code.

    SQLite fills in only an ``INTEGER PRIMARY KEY`` (the rowid): a BigInteger
    key, or ``Identity()``, was never generated there, so not generating it now
    is no change.
    """
    if not col.autoincrement:
        return False
    if dialect != "sqlite":
        return True
    return col.primary_key and (col.type.label("sqlite") or "").upper() == "INTEGER"


def _type_problems(old: TypeDesc, new: TypeDesc, dialect: str) -> _Found:
    found = _enum_problems(old, new)
    change = compare_types(old, new, dialect)
    label = f"{old.label(dialect)} -> {new.label(dialect)}"
    if change == "changed":
        found.append(_found("read", "type-changed", label, old.generic))
    elif change is not None:
        found.append(_found("write", "type-narrowed", label, change))
    return found


def _enum_problems(old: TypeDesc, new: TypeDesc) -> _Found:
    if old.enum is None or new.enum is None:
        return []
    found = []
    removed = [v for v in old.enum if v not in new.enum]
    added = [v for v in new.enum if v not in old.enum]
    if removed:
        found.append(_found("write", "enum-value-removed", ", ".join(removed)))
    if added:
        found.append(_found("read", "enum-value-added", ", ".join(added)))
    return found
