"""The check's walk: every revision up, down and up again inside one run of ``env.py``.

Alembic's ``MigrationContext.run_migrations`` asks its migration function for
the steps to run and runs each as it is handed over. `Walker` is that function:
a generator that hands over one revision's upgrade, looks at the database
(through the connection ``env.py`` configured, after proving it is the scratch
database), hands over its downgrade, compares, and hands over the upgrade
again. So the user's ``env.py`` runs once, as ``alembic upgrade`` would run it,
and no revision file is loaded twice.

Per revision, in the order Alembic would apply them (branches and merges
included): the schema and data before it (A); after its upgrade the schema
and data (B), then a few rows written under the new schema into each table it
changed; after its downgrade the schema must equal A, the probe rows must
still be there (their values in columns A knows unchanged) and every row A had
must be back with every value; after the upgrade again, schema and data must
equal B. Tables the revision created are then seeded for the revisions after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from alembic.runtime.migration import RevisionStep
from sqlalchemy.exc import SQLAlchemyError

from safe_release.exceptions import MigrationEnvironmentError
from safe_release.migrations._changes import ChangeTracker
from safe_release.migrations._data import (
    TableData,
    TableShape,
    compare_data,
    read_keyed,
    read_table,
    show_key,
    show_value,
    table_shape,
)
from safe_release.migrations._schema import Schema, capture_schema, schema_differences
from safe_release.migrations._seed import Seeder, reflect

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator, Sequence

    from alembic.runtime.migration import MigrationContext
    from alembic.script import Script, ScriptDirectory
    from sqlalchemy import Connection, Table

__all__ = ["CheckFinding", "Walker"]

_PROBES = 3


@dataclass(frozen=True)
class CheckFinding:
    """Something the check saw at one revision.

    ``kind``: ``schema`` (the downgrade did not restore the schema), ``data``
    (values or rows lost or changed), ``lost`` (rows written under the new schema
    lost by the downgrade), ``nondeterministic`` (upgrading again gave another
    result), ``error`` (a step raised), ``seed`` (a table could not be seeded, so
    its data was not exercised: a warning).
    """

    kind: str
    revision: str
    message: str
    table: str | None = None
    column: str | None = None
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "revision": self.revision,
            "table": self.table,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Probe:
    """Rows written under a revision's schema: rendered values by key, and as inserted."""

    table: str
    rendered: dict[tuple[Any, ...], dict[str, Any]]
    inserted: list[dict[str, Any]]
    key: tuple[str, ...]
    reflected: Table
    keyed: bool = False


def _reshaped(before: Schema, after: Schema) -> set[str]:
    """Tables whose definition changed beyond their indexes (an index keeps every row)."""
    return {
        t
        for t in before.changed_tables(after)
        if any(
            not line.startswith("index ") for line in set(before.tables[t]) ^ set(after.tables[t])
        )
    }


def _retyped(before: Schema, after: Schema, table: str) -> set[str]:
    """PostgreSQL: columns whose definition differs (their rendered text may differ too)."""
    if before.dialect != "postgresql":
        return set()  # SQLite values are compared as Python values

    def lines(schema: Schema) -> dict[str, str]:
        return {
            line.split(" ")[1]: line
            for line in schema.tables.get(table, ())
            if line.startswith("column ")
        }

    old, new = lines(before), lines(after)
    return {c for c in old if c in new and old[c] != new[c]}


def _plain_key(column: Any) -> bool:
    """Whether the key column's values come back from the driver as inserted (int, str)."""
    try:
        return column.type.python_type in (int, str)
    except NotImplementedError:
        return False


def _by_key(
    data: TableData, wanted: set[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The ``wanted`` rows of ``data`` as column -> value, by key."""
    if data.raw is not None:  # SQLite: one pass over the fetched rows
        at = [data.names.index(k) for k in data.key]
        get = itemgetter(*at)
        keyed = ((get(row) if len(at) > 1 else (get(row),), row) for row in data.raw)
        return {k: dict(zip(data.names, row, strict=True)) for k, row in keyed if k in wanted}
    keys = data.keys() or []
    columns = {c: data.values(c) or [] for c in data.columns}
    return {
        key: {c: v[i] for c, v in columns.items() if i < len(v)}
        for i, key in enumerate(keys)
        if key in wanted
    }


@dataclass
class _State:
    schema: Schema
    data: dict[str, TableData]


@dataclass
class Walker:
    """Alembic's migration function for the check (see the module docstring)."""

    script: ScriptDirectory
    order: Sequence[Script]
    seeder: Seeder
    version_table: str
    verify_target: Callable[[Connection], None]
    findings: list[CheckFinding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    step: tuple[str, str] | None = None
    shapes: dict[str, TableShape] = field(default_factory=dict)
    last: Schema | None = None
    cache: dict[str, TableData] = field(default_factory=dict)
    tables: dict[tuple[str, tuple[str, ...]], Table] = field(default_factory=dict)
    tracker: ChangeTracker | None = None
    context: Any = None

    def __call__(self, heads: Sequence[str], context: MigrationContext) -> Iterator[RevisionStep]:
        """Called by ``run_migrations`` with the database's heads."""
        conn = context.connection
        assert conn is not None  # noqa: S101 - online mode; offline is refused before this
        self.verify_target(conn)
        self.context = context
        if heads:
            msg = (
                f"the scratch database is already at {', '.join(heads)}: the check needs "
                "an empty database"
            )
            raise MigrationEnvironmentError(msg)
        return self._walk(conn)

    def _walk(self, conn: Connection) -> Iterator[RevisionStep]:
        self.tracker = ChangeTracker(conn)
        state = self._state(conn)
        for script in self.order:
            rev = script.revision
            yield self._step(rev, "upgrade", script, up=True)
            self.step = (rev, "the check after its upgrade")
            state = yield from self._revision(conn, script, state)
            self.checked.append(rev)

    def _step(self, rev: str, what: str, script: Script, *, up: bool) -> RevisionStep:
        self.step = (rev, what)
        # Alembic's DDL memo (PostgreSQL ENUM types "already created in this run")
        # lives as long as the migration context; each step starts afresh, as a
        # separate `alembic upgrade` would, or re-creating a type would be skipped.
        impl = getattr(self.context, "impl", None)
        if impl is not None and isinstance(getattr(impl, "memo", None), dict):
            impl.memo = {}
        return RevisionStep(self.script.revision_map, script, up)

    def _revision(
        self,
        conn: Connection,
        script: Script,
        before: _State,
    ) -> Generator[RevisionStep, None, _State]:
        rev = script.revision
        after = self._state(conn)
        new = after.schema.tables.keys() - before.schema.tables.keys()
        probes = self._probe(conn, rev, _reshaped(before.schema, after.schema))
        yield self._step(rev, "downgrade", script, up=False)
        self.step = (rev, "the check after its downgrade")
        down = self._schema(conn)
        self._note_schema(rev, before.schema, down, "after its downgrade")
        for probe in probes:
            self._settle_probe(conn, rev, probe, down, after.schema)
        restored = self._read(conn, before.data.keys() & down.tables.keys(), down)
        self._note_data(rev, before.data, restored, "after its downgrade")
        yield self._step(rev, "upgrade again", script, up=True)
        self.step = (rev, "the check after upgrading it again")
        again = self._state(conn)
        self._note_schema(
            rev, after.schema, again.schema, "after upgrading again", kind="nondeterministic"
        )
        self._note_data(rev, after.data, again.data, "after up, down and up again")
        return self._seeded(conn, rev, again, new)

    def _schema(self, conn: Connection) -> Schema:
        schema = capture_schema(conn, self.version_table)
        if self.last is not None:
            for name in schema.changed_tables(self.last) | (
                self.last.tables.keys() ^ schema.tables.keys()
            ):
                self.shapes.pop(name, None)
        self.last = schema
        return schema

    def _state(self, conn: Connection) -> _State:
        schema = self._schema(conn)
        tables = [t for t in schema.tables if not t.startswith("type ")]
        return _State(schema, self._read(conn, tables, schema))

    def _read(
        self,
        conn: Connection,
        names: Iterable[str],
        schema: Schema,
    ) -> dict[str, TableData]:
        """Each table's data, read again only if it may have changed since last read."""
        tracker = self.tracker
        assert tracker is not None  # noqa: S101 - set when the walk starts
        tracker.refresh(conn)
        out = {}
        for name in names:
            definition = schema.tables[name]
            if name in self.cache and tracker.unchanged(name, definition):
                out[name] = self.cache[name]
                continue
            out[name] = self.cache[name] = read_table(conn, name, self._shape(conn, name))
            tracker.read(conn, name, definition)
        return out

    def _seeded(self, conn: Connection, rev: str, state: _State, new: set[str]) -> _State:
        tables = sorted(t for t in new if not t.startswith("type "))
        if not tables:
            return state
        before = len(self.seeder.problems)
        self.seeder.seed(conn, tables)
        for table, detail in self.seeder.problems[before:]:
            self.findings.append(
                CheckFinding(
                    "seed",
                    rev,
                    f"could not seed {table} ({detail}); its data round-trip was not "
                    f"exercised: give rows={{'{table}': fn}} with valid values",
                    table,
                    severity="warning",
                )
            )
        data = dict(state.data)
        data.update(self._read(conn, tables, state.schema))
        return _State(state.schema, data)

    def _probe(self, conn: Connection, rev: str, tables: set[str]) -> list[_Probe]:
        """Write a few rows under the new schema into each table the revision changed."""
        out = []
        for name in sorted(t for t in tables if not t.startswith("type ")):
            shape = self._shape(conn, name)
            table = self._table(conn, name)
            keyed = (
                conn.dialect.name == "sqlite"
                and bool(shape.key)
                and all(_plain_key(table.c[k]) for k in shape.key)
            )
            had = None if keyed else read_table(conn, name, shape)
            rows = self.seeder.insert(conn, name, table, _PROBES) if table.primary_key else None
            if rows is None:
                detail = self.seeder.problems.pop()[1] if table.primary_key else "no primary key"
                self.findings.append(
                    CheckFinding(
                        "seed",
                        rev,
                        f"could not write rows under the new schema of {name} "
                        f"({detail}); whether the downgrade keeps them was not exercised",
                        name,
                        severity="warning",
                    )
                )
                continue
            if had is None:  # SQLite, int/str keys: the rows are found by the keys inserted
                mine = [tuple(r[k] for k in shape.key) for r in rows]
                now = read_keyed(conn, name, shape, mine)
                found = _by_key(now, set(mine))
            else:
                now = read_table(conn, name, shape)
                found = _by_key(now, set(now.keys() or ()) - set(had.keys() or ()))
            out.append(
                _Probe(name, found, rows, tuple(c.name for c in table.primary_key), table, keyed)
            )
        return out

    def _table(self, conn: Connection, name: str) -> Table:
        """The table as reflected now (cached per definition)."""
        assert self.last is not None  # noqa: S101 - a schema was captured first
        definition = (name, self.last.tables[name])
        if definition not in self.tables:
            self.tables[definition] = reflect(conn, name, resolve_fks=False)
        return self.tables[definition]

    def _shape(self, conn: Connection, name: str) -> TableShape:
        if name not in self.shapes:
            self.shapes[name] = table_shape(conn, name)
        return self.shapes[name]

    def _settle_probe(
        self, conn: Connection, rev: str, probe: _Probe, down: Schema, written: Schema
    ) -> None:
        """Report probe rows the downgrade lost or changed, then delete them."""
        if probe.table not in down.tables:
            return
        shape = self._shape(conn, probe.table)
        if any(k not in shape.columns for k in probe.key):
            return
        data = (
            read_keyed(conn, probe.table, shape, list(probe.rendered))
            if probe.keyed
            else read_table(conn, probe.table, shape)
        )
        now = _by_key(data, set(probe.rendered))
        self._report_probe(rev, probe, now, _retyped(written, down, probe.table))
        table = probe.reflected
        for row in probe.inserted:
            conn.execute(table.delete().where(*[table.c[k] == row[k] for k in probe.key]))

    def _report_probe(
        self,
        rev: str,
        probe: _Probe,
        now: dict[tuple[Any, ...], dict[str, Any]],
        retyped: set[str],
    ) -> None:
        lost = [k for k in probe.rendered if k not in now]
        if lost:
            self.findings.append(
                CheckFinding(
                    "lost",
                    rev,
                    f"{len(lost)} of {len(probe.rendered)} rows written to "
                    f"{probe.table} under {rev}'s schema are gone after its downgrade (e.g. key "
                    f"{show_key(lost[0])})",
                    probe.table,
                )
            )
        if not now:
            return
        kept = {c for row in now.values() for c in row}
        for column in sorted({c for row in probe.rendered.values() for c in row} - kept):
            self.findings.append(
                CheckFinding(
                    "lost",
                    rev,
                    f"values written to {probe.table}.{column} under {rev}'s schema "
                    "are dropped by its downgrade (the column is not in the schema before it)",
                    probe.table,
                    column,
                    severity="info",
                )
            )
        changed = {
            c: (k, probe.rendered[k][c], v)
            for k, row in now.items()
            for c, v in row.items()
            if c not in retyped and c in probe.rendered[k] and probe.rendered[k][c] != v
        }
        for column in sorted(changed):
            key, was, became = changed[column]
            self.findings.append(
                CheckFinding(
                    "lost",
                    rev,
                    f"values written to {probe.table}.{column} under {rev}'s schema "
                    f"changed after its downgrade (e.g. key {show_key(key)}: {show_value(was)} -> "
                    f"{show_value(became)})",
                    probe.table,
                    column,
                )
            )

    def _note_schema(
        self, rev: str, want: Schema, got: Schema, when: str, *, kind: str = "schema"
    ) -> None:
        normalize = self._check_spelling if want.dialect == "postgresql" else None
        for line in schema_differences(want, got, normalize=normalize):
            table = line.split(":", 1)[0].removeprefix("table ").split(" ")[0]
            named = None if line.startswith("type ") else table
            self.findings.append(CheckFinding(kind, rev, f"schema differs {when}: {line}", named))

    def _check_spelling(self, table: str, definition: str) -> str | None:
        """PostgreSQL's spelling of ``definition`` once re-created; None if it cannot be.

        It is created on an empty copy of ``table``'s columns, in a savepoint.
        """
        conn = self.context.connection
        prep = conn.dialect.identifier_preparer
        schema, _, name = table.rpartition(".")
        source = f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"CREATE TEMP TABLE sr_check_spelling (LIKE {source})")
                conn.exec_driver_sql(
                    f"ALTER TABLE sr_check_spelling ADD CONSTRAINT sr_spelled {definition}"
                )
                spelled = conn.exec_driver_sql(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = "
                    "'sr_spelled' AND conrelid = 'sr_check_spelling'::regclass"
                ).scalar()
                conn.exec_driver_sql("DROP TABLE sr_check_spelling")
        except SQLAlchemyError:
            return None
        return str(spelled) if spelled is not None else None

    def _note_data(
        self, rev: str, want: dict[str, TableData], got: dict[str, TableData], when: str
    ) -> None:
        seen = {
            (f.table, f.column)
            for f in self.findings
            if f.revision == rev and f.kind in {"data", "lost"} and f.severity == "error"
        }
        for diff in compare_data(want, got, sorted(want.keys() & got.keys())):
            if (diff.table, diff.column) in seen:
                continue  # already reported after the downgrade
            self.findings.append(
                CheckFinding(
                    "data", rev, f"data lost {when}: {diff.describe()}", diff.table, diff.column
                )
            )
