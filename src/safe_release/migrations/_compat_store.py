"""Store access for compat: recorded application schemas and verified revisions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from os import PathLike, fspath
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from safe_release._clock import as_utc, utc_now
from safe_release._store import NAME_LENGTH, read_tx, write_tx
from safe_release.exceptions import InvalidArgumentError
from safe_release.migrations._metadata_json import SchemaDesc

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy import Connection

    from safe_release._store import StoreCore

__all__ = [
    "AppVersion",
    "insert_schema",
    "is_retired",
    "load_schema",
    "load_versions",
    "record_verified",
    "retire",
    "revision_file_sha256",
    "verified_revisions",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AppVersion:
    """A recorded application version: when it was recorded and (maybe) retired."""

    app: str
    version: str
    recorded_at: datetime
    retired_at: datetime | None

    @property
    def retired(self) -> bool:
        """Whether the version was retired (no longer a rollback target)."""
        return self.retired_at is not None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (times in ISO 8601)."""
        return {
            "app": self.app,
            "version": self.version,
            "recorded_at": self.recorded_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }


def check_name(value: object, what: str) -> str:
    """``value`` as a non-empty name of at most 200 characters, else `InvalidArgumentError`."""
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_LENGTH:
        msg = (
            f"{what} must be a non-empty string of at most {NAME_LENGTH} characters, "
            f"not {value!r}; pass the application's name and release version"
        )
        raise InvalidArgumentError(msg)
    return value


def _insert(conn: Connection, table: sa.Table) -> Any:
    """A dialect insert that supports ``on_conflict_*``."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def unknown_version(app: str, version: str) -> InvalidArgumentError:
    """The error for a version that was never recorded."""
    msg = (
        f"no schema is recorded for {app!r} version {version!r}; record it with "
        "safe_release.migrations.compat.record(store, app, version, metadata) when "
        "that version is released"
    )
    return InvalidArgumentError(msg)


def insert_schema(store: StoreCore, app: str, version: str, desc: SchemaDesc) -> None:
    """Record ``desc`` for (app, version); same content again is a no-op."""
    t = store.tables.app_schema
    text, digest = desc.to_json(), desc.sha256()
    with write_tx(store.engine, "recording an application schema") as conn:
        seq = (
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(t.c.seq), 0)).where(t.c.app == app)
            ).scalar_one()
            + 1
        )
        conn.execute(
            _insert(conn, t)
            .values(
                app=app,
                version=version,
                seq=seq,
                metadata_json=text,
                metadata_sha256=digest,
                recorded_at=utc_now(store.clock),
                retired_at=None,
            )
            .on_conflict_do_nothing()
        )
        stored = conn.execute(
            sa.select(t.c.metadata_sha256).where(t.c.app == app, t.c.version == version)
        ).scalar_one()
    if stored != digest:
        msg = (
            f"{app!r} version {version!r} is already recorded with a different schema; "
            "a released version's schema must not change: record the new schema under a "
            "new version"
        )
        raise InvalidArgumentError(msg)


def _version(row: Any) -> AppVersion:
    recorded = as_utc(row.recorded_at)
    assert recorded is not None  # noqa: S101 - NOT NULL column
    return AppVersion(
        app=row.app, version=row.version, recorded_at=recorded, retired_at=as_utc(row.retired_at)
    )


def load_versions(store: StoreCore, app: str) -> list[tuple[AppVersion, SchemaDesc]]:
    """Every recorded version of ``app`` with its schema, oldest first."""
    t = store.tables.app_schema
    query = sa.select(t).where(t.c.app == app).order_by(t.c.recorded_at, t.c.seq, t.c.version)
    with read_tx(store.engine, "reading recorded application schemas") as conn:
        rows = conn.execute(query).all()
    return [(_version(r), SchemaDesc.from_json(r.metadata_json)) for r in rows]


def load_schema(store: StoreCore, app: str, version: str) -> tuple[AppVersion, SchemaDesc]:
    """One recorded version, else `InvalidArgumentError` saying how to record it."""
    t = store.tables.app_schema
    query = sa.select(t).where(t.c.app == app, t.c.version == version)
    with read_tx(store.engine, "reading a recorded application schema") as conn:
        row = conn.execute(query).first()
    if row is None:
        raise unknown_version(app, version)
    return _version(row), SchemaDesc.from_json(row.metadata_json)


def retire(store: StoreCore, app: str, version: str) -> None:
    """Mark a recorded version retired (the first retirement time is kept)."""
    t = store.tables.app_schema
    where = (t.c.app == app, t.c.version == version)
    with write_tx(store.engine, "retiring an application version") as conn:
        found = conn.execute(sa.select(t.c.retired_at).where(*where)).first()
        if found is not None and found.retired_at is None:
            conn.execute(t.update().where(*where).values(retired_at=utc_now(store.clock)))
    if found is None:
        raise unknown_version(app, version)


def is_retired(store: StoreCore, app: str, version: str) -> bool:
    """Whether the version is recorded and retired."""
    t = store.tables.app_schema
    query = sa.select(t.c.retired_at).where(t.c.app == app, t.c.version == version)
    with read_tx(store.engine, "reading an application version") as conn:
        row = conn.execute(query).first()
    return row is not None and row.retired_at is not None


def _check_dialect(dialect: object) -> str:
    if not isinstance(dialect, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", dialect):
        msg = (
            f"dialect must be a database dialect name such as 'sqlite' or 'postgresql', "
            f"not {dialect!r}"
        )
        raise InvalidArgumentError(msg)
    return dialect


def _check_revisions(revisions: Mapping[str, str]) -> dict[str, str]:
    checked = {}
    for revision, digest in dict(revisions).items():
        check_name(revision, "a revision id")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            msg = (
                f"revision {revision!r}: the file hash must be a lower-case hex SHA-256 "
                "(use revision_file_sha256(path))"
            )
            raise InvalidArgumentError(msg)
        checked[revision] = digest
    return checked


def record_verified(store: StoreCore, revisions: Mapping[str, str], dialect: str) -> None:
    """Record revisions (id -> SHA-256 of the revision file) as verified on ``dialect``."""
    checked, dialect = _check_revisions(revisions), _check_dialect(dialect)
    if not checked:
        return
    t = store.tables.migration_verified
    at = utc_now(store.clock)
    with write_tx(store.engine, "recording verified revisions") as conn:
        for revision, digest in sorted(checked.items()):
            stmt = _insert(conn, t).values(
                revision=revision, dialect=dialect, file_sha256=digest, verified_at=at
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.revision, t.c.dialect],
                    set_={"file_sha256": digest, "verified_at": at},
                )
            )


def verified_revisions(store: StoreCore, dialect: str) -> dict[str, str]:
    """Revision id -> SHA-256 of the file the checker verified on ``dialect``."""
    t = store.tables.migration_verified
    query = sa.select(t.c.revision, t.c.file_sha256).where(t.c.dialect == _check_dialect(dialect))
    with read_tx(store.engine, "reading verified revisions") as conn:
        return {row.revision: row.file_sha256 for row in conn.execute(query)}


def revision_file_sha256(path: str | PathLike[str]) -> str:
    """SHA-256 (hex) of a revision file's bytes: an edited file no longer matches."""
    file = Path(fspath(path))
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as exc:
        msg = f"cannot read the revision file {file.name!r} ({exc.strerror}); check the path"
        raise InvalidArgumentError(msg) from exc
