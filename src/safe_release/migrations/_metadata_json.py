"""A stable JSON description of an application's SQLAlchemy MetaData.

Only what decides whether old code still reads and writes a schema is kept:
tables (with their schema), columns, a generic description of each type,
nullability, primary keys and which columns the database or the code fills in.
Default *values*, comments, server-default text and anything bound to a
connection are never described, so no secret or URL can reach the store.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "FORMAT",
    "ColumnDesc",
    "SchemaDesc",
    "TableDesc",
    "TypeDesc",
    "compare_types",
    "describe_metadata",
    "describe_type",
    "family",
    "ignored_table",
    "reflect_table",
]

FORMAT = 1
"""Version of the JSON layout; bumped if it ever changes incompatibly."""

_DIALECTS: dict[str, sa.engine.Dialect] = {
    "postgresql": postgresql.dialect(),  # type: ignore[no-untyped-call]
    "sqlite": sqlite.dialect(),
}
# First match along a type's MRO wins, so subclasses come before their bases.
_GENERICS: tuple[type[sa.types.TypeEngine[Any]], ...] = (
    sa.Enum,
    sa.Text,
    sa.String,
    sa.BigInteger,
    sa.SmallInteger,
    sa.Integer,
    sa.Double,
    sa.Float,
    sa.Numeric,
    sa.DateTime,
    sa.Date,
    sa.Time,
    sa.Interval,
    sa.Boolean,
    sa.Uuid,
    sa.JSON,
    sa.LargeBinary,
    sa.ARRAY,
)
_FAMILIES = {
    "Enum": "string",
    "Text": "string",
    "String": "string",
    "BigInteger": "integer",
    "SmallInteger": "integer",
    "Integer": "integer",
    "Double": "float",
    "Float": "float",
    "Numeric": "numeric",
}


def ignored_table(name: str) -> bool:
    """The SDK's own tables (``sr_*``) and Alembic's version table are never compared."""
    return name.startswith("sr_") or name == "alembic_version"


@dataclass(frozen=True)
class TypeDesc:
    """A column type: its generic class, compiled forms and the sizes that matter."""

    generic: str
    compiled: dict[str, str | None]
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    timezone: bool | None = None
    enum: tuple[str, ...] | None = None

    def label(self, dialect: str | None = None) -> str:
        """The compiled type for ``dialect`` (else any), e.g. ``VARCHAR(20)``."""
        text = self.compiled.get(dialect or "") or next(
            (v for v in self.compiled.values() if v), None
        )
        return text or self.generic

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``enum`` as a list)."""
        data = asdict(self)
        data["enum"] = list(self.enum) if self.enum is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TypeDesc:
        """Inverse of `as_dict`."""
        enum = data.get("enum")
        return cls(
            generic=str(data["generic"]),
            compiled=dict(data["compiled"]),
            length=data.get("length"),
            precision=data.get("precision"),
            scale=data.get("scale"),
            timezone=data.get("timezone"),
            enum=tuple(enum) if enum is not None else None,
        )


@dataclass(frozen=True)
class ColumnDesc:
    """One column as the application maps it."""

    name: str
    type: TypeDesc
    nullable: bool
    primary_key: bool = False
    default: bool = False
    """A Python-side default: the code supplies a value when it omits the column."""
    server_default: bool = False
    """A server default: the code may omit the column and rely on the database."""
    autoincrement: bool = False
    """An autoincrement or identity column: the database generates it."""
    computed: bool = False
    """A generated column: the code never writes it."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["type"] = self.type.as_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnDesc:
        """Inverse of `as_dict`."""
        fields = {
            k: bool(data.get(k, False))
            for k in ("primary_key", "default", "server_default", "autoincrement", "computed")
        }
        return cls(
            name=str(data["name"]),
            type=TypeDesc.from_dict(data["type"]),
            nullable=bool(data["nullable"]),
            **fields,
        )


@dataclass(frozen=True)
class TableDesc:
    """One table: name, schema (``None``: the connection's default) and columns."""

    name: str
    schema: str | None
    columns: tuple[ColumnDesc, ...]

    @property
    def qualified(self) -> str:
        """``schema.name`` or ``name``."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "schema": self.schema,
            "columns": [c.as_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableDesc:
        """Inverse of `as_dict`."""
        return cls(
            name=str(data["name"]),
            schema=data.get("schema"),
            columns=tuple(ColumnDesc.from_dict(c) for c in data["columns"]),
        )


@dataclass(frozen=True)
class SchemaDesc:
    """Every table an application version maps, sorted by schema and name."""

    tables: tuple[TableDesc, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the layout's format number."""
        return {"format": FORMAT, "tables": [t.as_dict() for t in self.tables]}

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace; equal schemas give equal text."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        """SHA-256 of `to_json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> SchemaDesc:
        """Parse what `to_json` wrote."""
        data = json.loads(text)
        return cls(tables=tuple(TableDesc.from_dict(t) for t in data["tables"]))


def _generic(type_: sa.types.TypeEngine[Any]) -> str:
    for klass in type(type_).__mro__:
        if klass in _GENERICS:
            return klass.__name__
    return type(type_).__name__


def family(generic: str) -> str:
    """The family a generic type belongs to (``string``, ``integer``, ...)."""
    return _FAMILIES.get(generic, generic)


def _compiled(type_: sa.types.TypeEngine[Any]) -> dict[str, str | None]:
    return {name: _compile(type_, dialect) for name, dialect in _DIALECTS.items()}


def _compile(type_: sa.types.TypeEngine[Any], dialect: sa.engine.Dialect) -> str | None:
    try:
        return str(type_.compile(dialect=dialect))
    except sa.exc.SQLAlchemyError:
        return None  # a type the dialect cannot render (e.g. ARRAY on SQLite)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def describe_type(
    type_: sa.types.TypeEngine[Any], enum: tuple[str, ...] | None = None
) -> TypeDesc:
    """Describe ``type_`` (an application's or a reflected one); ``enum`` overrides values."""
    values = getattr(type_, "enums", None)
    if enum is None and isinstance(type_, sa.Enum) and values is not None:
        enum = tuple(str(v) for v in values)
    timezone = getattr(type_, "timezone", None)
    return TypeDesc(
        generic=_generic(type_),
        compiled=_compiled(type_),
        length=_int_or_none(getattr(type_, "length", None)),
        precision=_int_or_none(getattr(type_, "precision", None)),
        scale=_int_or_none(getattr(type_, "scale", None)),
        timezone=timezone if isinstance(timezone, bool) else None,
        enum=enum,
    )


def _describe_column(column: sa.Column[Any]) -> ColumnDesc:
    generated = column.identity is not None or column is column.table.autoincrement_column
    return ColumnDesc(
        name=column.name,
        type=describe_type(column.type),
        nullable=bool(column.nullable),
        primary_key=column.primary_key,
        default=column.default is not None,
        # an Identity() is SQLAlchemy's server_default too; it is recorded as generated
        server_default=column.server_default is not None and column.identity is None,
        autoincrement=generated,
        computed=column.computed is not None,
    )


def describe_metadata(metadata: sa.MetaData) -> SchemaDesc:
    """Describe every table of ``metadata`` except the SDK's and Alembic's own."""
    tables = [
        TableDesc(
            name=t.name, schema=t.schema, columns=tuple(_describe_column(c) for c in t.columns)
        )
        for t in metadata.tables.values()
        if not ignored_table(t.name)
    ]
    tables.sort(key=lambda t: (t.schema or "", t.name))
    return SchemaDesc(tables=tuple(tables))


_ENUM_CHECK = re.compile(
    r"""^[\s(]*"?(?P<col>\w+)"?\)?(?:::[\w ]+)?\s*(?:IN\s*\(|=\s*ANY\b)""", re.IGNORECASE
)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _check_enums(
    inspector: sa.Inspector,
    table: str,
    schema: str | None,
) -> dict[str, tuple[str, ...]]:
    """Values allowed by ``col IN ('a', 'b')`` CHECK constraints (non-native enums)."""
    found: dict[str, tuple[str, ...]] = {}
    for check in inspector.get_check_constraints(table, schema=schema):
        text = str(check.get("sqltext") or "")
        match = _ENUM_CHECK.match(text)
        if match:
            values = tuple(v.replace("''", "'") for v in _QUOTED.findall(text))
            found[match["col"]] = values
    return found


def _generated(info: Any, rowid: str | None) -> bool:
    """Identity, serial/autoincrement, or SQLite's INTEGER PRIMARY KEY (the rowid)."""
    return bool(info.get("identity")) or info.get("autoincrement") is True or info["name"] == rowid


def _reflected_column(
    info: Any, pk: set[str], enums: dict[str, tuple[str, ...]], rowid: str | None
) -> ColumnDesc:
    name = str(info["name"])
    return ColumnDesc(
        name=name,
        type=describe_type(info["type"], enums.get(name)),
        nullable=bool(info["nullable"]),
        primary_key=name in pk,
        server_default=info.get("default") is not None,
        autoincrement=_generated(info, rowid),
        computed="computed" in info,
    )


def reflect_table(inspector: sa.Inspector, name: str, schema: str | None) -> TableDesc:
    """Describe a table of a live database the way `describe_metadata` describes code."""
    infos = inspector.get_columns(name, schema=schema)
    pk = set(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or ())
    enums = _check_enums(inspector, name, schema)
    rowid = None
    if inspector.dialect.name == "sqlite" and len(pk) == 1:
        only = next(i for i in infos if i["name"] in pk)
        rowid = only["name"] if _generic(only["type"]) == "Integer" else None
    columns = tuple(_reflected_column(i, pk, enums, rowid) for i in infos)
    return TableDesc(name=name, schema=schema, columns=columns)


def compare_types(old: TypeDesc, new: TypeDesc, dialect: str) -> str | None:
    """``None``: old code still fits; ``"changed"``; else why the type is narrower.

    Enum values are compared separately.
    """
    before, after = old.compiled.get(dialect), new.compiled.get(dialect)
    if before is not None and before == after:
        return None
    rule = _NARROWING.get(family(old.generic))
    if family(old.generic) != family(new.generic) or rule is None:
        return "changed"
    return rule(old, new, dialect)


def _smaller(before: int | None, after: int | None) -> bool:
    """``after`` bounds tighter than ``before`` (``None``: unbounded)."""
    return after is not None and (before is None or after < before)


def _string(old: TypeDesc, new: TypeDesc, _dialect: str) -> str | None:
    if new.enum is not None and old.enum is None:
        return f"now restricted to {', '.join(new.enum)}; the old code may write others"
    if new.enum is None and _smaller(old.length, new.length):
        return f"values up to {old.length or 'any'} characters no longer fit"
    return None


_INT_RANK = {"SmallInteger": 1, "Integer": 2, "BigInteger": 3}


def _integer(old: TypeDesc, new: TypeDesc, dialect: str) -> str | None:
    if dialect != "sqlite" and _INT_RANK.get(new.generic, 2) < _INT_RANK.get(old.generic, 2):
        return "larger integers the old code may write no longer fit"
    return None  # every SQLite integer is 64-bit


def _numeric(old: TypeDesc, new: TypeDesc, _dialect: str) -> str | None:
    if _smaller(old.precision, new.precision) or _smaller(old.scale, new.scale):
        return "precision or scale the old code may write no longer fits"
    return None


def _float_bits(t: TypeDesc) -> int:
    if t.precision is not None:
        return 24 if t.precision <= 24 else 53  # noqa: PLR2004 - IEEE single precision
    return 24 if any(v and "REAL" in v for v in t.compiled.values()) else 53


def _float(old: TypeDesc, new: TypeDesc, _dialect: str) -> str | None:
    return "double-precision values no longer fit" if _float_bits(new) < _float_bits(old) else None


def _same(_old: TypeDesc, _new: TypeDesc, _dialect: str) -> str | None:
    return None


_NARROWING: dict[str, Callable[[TypeDesc, TypeDesc, str], str | None]] = {
    "string": _string,
    "integer": _integer,
    "numeric": _numeric,
    "float": _float,
    "JSON": _same,
    "Uuid": _same,
    "Boolean": _same,
}
