"""SQL for the config store: every statement against the ``sr_config*`` tables."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from safe_release._clock import as_utc
from safe_release._config._checkpoint import live_config_versions
from safe_release._config._models import ConfigVersion
from safe_release._json import freeze
from safe_release.exceptions import ConfigNotFoundError, VersionNotFoundError

if TYPE_CHECKING:
    from datetime import datetime

    from safe_release._store import Tables

__all__ = ["ConfigRepo", "HeadRow"]


class HeadRow(NamedTuple):
    """The pointers of one config: what is served, what is next, what is good."""

    head: int
    latest: int
    last_good: int | None
    candidate: int | None
    rollout_bp: int | None


class ConfigRepo:
    """Statements for one config name; callers own the transaction."""

    __slots__ = ("name", "t")

    def __init__(self, tables: Tables, name: str) -> None:
        self.t = tables
        self.name = name

    # -- the config row -------------------------------------------------------

    def head_row(self, conn: Connection) -> HeadRow | None:
        """The config's pointers, without locking."""
        c = self.t.config.c
        stmt = select(c.head, c.latest, c.last_good, c.candidate, c.rollout_bp).where(
            c.name == self.name
        )
        row = conn.execute(stmt).first()
        return None if row is None else HeadRow(*row)

    def lock(self, conn: Connection, now: datetime) -> HeadRow:
        """Create the config row if absent and lock it for this transaction."""
        values = {"name": self.name, "head": 0, "latest": 0, "updated_at": now}
        ins: Any
        if conn.dialect.name == "postgresql":
            ins = postgresql.insert(self.t.config).values(values)
        else:
            ins = sqlite.insert(self.t.config).values(values)
        conn.execute(ins.on_conflict_do_nothing(index_elements=["name"]))
        c = self.t.config.c
        stmt = select(c.head, c.latest, c.last_good, c.candidate, c.rollout_bp).where(
            c.name == self.name
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return HeadRow(*conn.execute(stmt).one())

    def set(self, conn: Connection, now: datetime, **values: object) -> None:
        """Update the config row."""
        conn.execute(
            update(self.t.config)
            .where(self.t.config.c.name == self.name)
            .values(updated_at=now, **values)
        )

    def require(self, conn: Connection) -> HeadRow:
        """The config row, or `ConfigNotFoundError` if it has no versions."""
        row = self.head_row(conn)
        if row is None or row.head == 0:
            msg = (
                f"config {self.name!r} has no versions yet; publish one first "
                f"(store.config({self.name!r}).publish(...) or "
                f"'safe-release config publish {self.name} FILE')"
            )
            raise ConfigNotFoundError(msg)
        return row

    # -- versions ---------------------------------------------------------------

    def insert_version(self, conn: Connection, version: ConfigVersion, text: str) -> None:
        """Append one version row."""
        conn.execute(
            insert(self.t.config_version).values(
                name=self.name,
                version=version.version,
                content=text,
                content_hash=version.content_hash,
                hash_kind=version.hash_kind,
                size=len(text.encode("utf-8")),
                author=version.author,
                message=version.message,
                created_at=version.created_at,
                parent=version.parent,
                rolled_back_from=version.rolled_back_from,
                restores=version.restores,
            )
        )

    def load(self, conn: Connection, number: int, latest: int | None = None) -> ConfigVersion:
        """One version, or `VersionNotFoundError` saying why it is missing."""
        v = self.t.config_version.c
        row = conn.execute(
            select(self.t.config_version).where(v.name == self.name, v.version == number)
        ).first()
        if row is not None:
            return _to_version(row)
        if latest is None:
            head = self.head_row(conn)
            latest = head.latest if head is not None else 0
        if 1 <= number <= latest:
            msg = (
                f"version {number} of config {self.name!r} was pruned; list the kept "
                f"versions with 'safe-release config history {self.name}'"
            )
        else:
            msg = (
                f"config {self.name!r} has no version {number}; its versions run from "
                f"1 to {latest}"
                if latest
                else f"config {self.name!r} has no versions yet"
            )
        raise VersionNotFoundError(msg)

    def history(self, conn: Connection, limit: int, before: int | None) -> list[ConfigVersion]:
        """Newest first, at most ``limit``, optionally below version ``before``."""
        v = self.t.config_version.c
        stmt = select(self.t.config_version).where(v.name == self.name)
        if before is not None:
            stmt = stmt.where(v.version < before)
        rows = conn.execute(stmt.order_by(v.version.desc()).limit(limit))
        return [_to_version(r) for r in rows]

    def numbers(self, conn: Connection) -> list[int]:
        """Every stored version number, newest first."""
        v = self.t.config_version.c
        stmt = select(v.version).where(v.name == self.name).order_by(v.version.desc())
        return list(conn.execute(stmt).scalars())

    def aborted(self, conn: Connection) -> frozenset[int]:
        """Versions that were staged as rollout candidates and aborted (never deployed)."""
        e = self.t.config_event.c
        stmt = select(e.version).where(e.name == self.name, e.action == "abort")
        return frozenset(v for v in conn.execute(stmt).scalars() if v is not None)

    def checkpointed(self, conn: Connection) -> frozenset[int]:
        """Versions a release's checkpoint (not yet restored or pruned) refers to."""
        return frozenset(live_config_versions(conn, self.t, self.name))

    def delete_versions(self, conn: Connection, numbers: list[int]) -> None:
        """Delete the given versions."""
        v = self.t.config_version.c
        conn.execute(
            delete(self.t.config_version).where(v.name == self.name, v.version.in_(numbers))
        )

    def event(
        self,
        conn: Connection,
        now: datetime,
        action: str,
        version: int | None,
        actor: str,
        **detail: object,
    ) -> None:
        """Append one line to the audit trail."""
        conn.execute(
            insert(self.t.config_event).values(
                name=self.name,
                action=action,
                version=version,
                actor=actor,
                detail=json.dumps(detail, sort_keys=True),
                at=now,
            )
        )


def _to_version(row: Row[Any]) -> ConfigVersion:
    # Rows were validated when written; skip re-validating them on every read.
    return ConfigVersion.model_construct(
        name=row.name,
        version=row.version,
        content=freeze(json.loads(row.content)),
        content_hash=row.content_hash,
        hash_kind=row.hash_kind,
        author=row.author,
        message=row.message,
        created_at=as_utc(row.created_at),
        parent=row.parent,
        rolled_back_from=row.rolled_back_from,
        restores=row.restores,
    )
