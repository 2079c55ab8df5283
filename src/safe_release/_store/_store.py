"""``Store`` and ``connect``: the one persistence layer of the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel, JsonValue
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from safe_release._clock import Clock, SystemClock
from safe_release._config._cache import ReadCache
from safe_release._config._configstore import DEFAULT_MAX_BYTES, DEFAULT_TTL, ConfigStore
from safe_release._signing import Signer
from safe_release._store import _migrate
from safe_release._store._engine import (
    check_schema_name,
    create_store_engine,
    read_tx,
    resolve_url,
    safe_url,
    store_error,
    tune_foreign_sqlite,
)
from safe_release._store._tables import Tables, build_tables
from safe_release.exceptions import (
    InvalidArgumentError,
    SchemaOutOfDateError,
    StoreConfigurationError,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta
    from types import TracebackType

    from typing_extensions import Self

    from safe_release._release import IncidentReport, ReleaseRecord
    from safe_release._report import RollbackReport
    from safe_release.adapters._auth import Secret

    _Keys = str | bytes | Secret | Sequence[str | bytes | Secret]

__all__ = ["Store", "connect"]

M = TypeVar("M", bound=BaseModel)


class Store:
    """The SDK's tables in one database: config versions (and, later, releases).

    Create it with `connect`. A store is safe to share between threads;
    open one per process.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        schema: str | None = None,
        clock: Clock | None = None,
        owns_engine: bool = False,
        signing_key: str | bytes | Secret | None = None,
        previous_signing_keys: _Keys | None = None,
    ) -> None:
        self._engine = engine
        self._signer = Signer(signing_key, previous=previous_signing_keys)
        self._schema = check_schema_name(schema, engine)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._owns_engine = owns_engine
        self._tables = build_tables(self._schema)
        self._read_cache = ReadCache()

    # -- properties -------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the store uses."""
        return self._engine

    @property
    def schema(self) -> str | None:
        """The database schema holding the SDK's tables (PostgreSQL only)."""
        return self._schema

    @property
    def clock(self) -> Clock:
        """The clock used for timestamps and cache staleness."""
        return self._clock

    @property
    def tables(self) -> Tables:
        """The SDK's table definitions (for the SDK's own modules)."""
        return self._tables

    @property
    def signer(self) -> Signer:
        """Signs and verifies snapshot manifests with the store's key."""
        return self._signer

    @property
    def read_cache(self) -> ReadCache:
        """The per-process cache of config heads."""
        return self._read_cache

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        where = f" schema={self._schema!r}" if self._schema else ""
        return f"<Store {safe_url(self._engine)}{where}>"

    # -- schema -------------------------------------------------------------------

    def upgrade(self) -> str:
        """Bring the SDK's tables to this version's head revision; returns it."""
        try:
            return _migrate.upgrade(self._engine, self._schema)
        except DBAPIError as exc:
            raise store_error("upgrading the SDK's tables", self._engine, exc) from exc

    def current_revision(self) -> str | None:
        """The SDK schema revision of the database (``None``: not created yet)."""
        try:
            return _migrate.current_revision(self._engine, self._schema)
        except DBAPIError as exc:
            raise store_error("reading the SDK's schema revision", self._engine, exc) from exc

    @staticmethod
    def head_revision() -> str:
        """The newest SDK schema revision this version of safe_release ships."""
        return _migrate.head_revision()

    def check_revision(self) -> None:
        """Raise `SchemaOutOfDateError` unless the tables are at the head.

        Tables written by a newer safe_release raise `UnknownSchemaRevisionError`.
        """
        current, head = self.current_revision(), self.head_revision()
        if current is not None and current != head and not _migrate.is_known(current):
            raise _migrate.unknown_revision(current)
        if current != head:
            msg = (
                f"the SDK's tables are at revision {current or 'none'}, this version of "
                f"safe_release needs {head}; run 'safe-release db upgrade' or "
                "store.upgrade() (or connect with auto_upgrade=True)"
            )
            raise SchemaOutOfDateError(msg, current=current, head=head)

    # -- configs -----------------------------------------------------------------

    @overload
    def config(
        self,
        name: str,
        *,
        schema: None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float | timedelta = DEFAULT_TTL,
    ) -> ConfigStore[JsonValue]: ...

    @overload
    def config(
        self,
        name: str,
        *,
        schema: type[M],
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float | timedelta = DEFAULT_TTL,
    ) -> ConfigStore[M]: ...

    def config(
        self,
        name: str,
        *,
        schema: type[BaseModel] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float | timedelta = DEFAULT_TTL,
    ) -> ConfigStore[JsonValue] | ConfigStore[M]:
        """A handle on the versioned config ``name`` (validated by ``schema``).

        Handles are cheap; the cache behind them is shared by the whole store.
        """
        return ConfigStore(self, name, schema=schema, max_bytes=max_bytes, ttl=ttl)

    def configs(self) -> list[str]:
        """Names of every config with at least one version, sorted."""
        c = self._tables.config.c
        with read_tx(self._engine) as conn:
            rows = conn.execute(select(c.name).where(c.head > 0).order_by(c.name))
            return list(rows.scalars())

    # -- releases -----------------------------------------------------------------

    def recover(
        self, *, checkpoint: Sequence[Any] = (), adapters: Sequence[Any] = ()
    ) -> list[RollbackReport]:
        """Finish every rollback a crash left half-done; safe to run twice, even at once.

        Give the job's live ``checkpoint`` objects and ``adapters``: the store alone
        can restore config and tables in its own database, but marketplace
        compensation needs the adapters (and their credentials).
        """
        from safe_release import _release  # noqa: PLC0415 - releases import the store

        return _release.recover(self, checkpoint=checkpoint, adapters=adapters)

    def rollback(
        self, release_id: str, *, checkpoint: Sequence[Any] = (), adapters: Sequence[Any] = ()
    ) -> RollbackReport:
        """Roll back a release waiting in ``pending_rollback`` (or finish a failed one)."""
        from safe_release import _release  # noqa: PLC0415 - releases import the store

        return _release.rollback(self, release_id, checkpoint=checkpoint, adapters=adapters)

    def releases(self, *, scope: str | None = None, limit: int = 50) -> list[ReleaseRecord]:
        """Recorded releases, newest first (of one ``scope``, if given)."""
        from safe_release import _release  # noqa: PLC0415 - releases import the store

        return _release.releases(self, scope=scope, limit=limit)

    def release_record(self, release_id: str) -> ReleaseRecord:
        """One release with its events; `ReleaseNotFoundError` if unknown."""
        from safe_release import _release  # noqa: PLC0415 - releases import the store

        return _release.release_record(self, release_id)

    def incident_report(
        self, *, scope: str | None = None, since: datetime | None = None
    ) -> IncidentReport:
        """Time-to-restore (median, p90) and change failure rate of finished releases."""
        from safe_release import _release  # noqa: PLC0415 - releases import the store

        return _release.incident_report(self, scope=scope, since=since)

    def prune_checkpoints(self, *, keep: int = 3, live: Sequence[Any] = ()) -> int:
        """Drop snapshots older than the last ``keep`` (>= 3) releases of each scope.

        Returns how many were pruned. Table snapshots in another database need
        their live checkpoint in ``live``; unreachable ones are left for later.
        """
        from safe_release._checkpoints import prune_checkpoints  # noqa: PLC0415 - cycle

        return prune_checkpoints(self, keep=keep, live=live)

    # -- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Release the connections (the engine too, when the store created it)."""
        self._read_cache.clear()
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    url_or_engine: str | Engine | None = None,
    *,
    schema: str | None = None,
    auto_upgrade: bool = True,
    clock: Clock | None = None,
    signing_key: str | bytes | Secret | None = None,
    previous_signing_keys: _Keys | None = None,
) -> Store:
    """Open the SDK's store.

    ``url_or_engine`` is an SQLAlchemy URL or an existing ``Engine`` (so the SDK's
    tables can live in the ERP's own database); when omitted, the URL comes from
    ``$SAFE_RELEASE_URL``, else ``sqlite:///safe_release.db``. ``schema`` puts the
    SDK's tables in their own PostgreSQL schema. With ``auto_upgrade`` (default)
    the SDK's own Alembic revisions are applied; otherwise a database behind this
    version raises `SchemaOutOfDateError`. ``signing_key`` signs snapshot
    manifests (default: ``$SAFE_RELEASE_SIGNING_KEY``, else a key file created
    with mode 0600 on first use; see `Signer`); it is never stored.
    ``previous_signing_keys`` verify what earlier keys signed, for rotation
    (default ``$SAFE_RELEASE_PREVIOUS_SIGNING_KEYS``, else the key file's other
    lines; see docs/security.md).
    """
    if isinstance(url_or_engine, Engine):
        engine, owns = url_or_engine, False
        tune_foreign_sqlite(engine)
    elif url_or_engine is None or isinstance(url_or_engine, str):
        engine, owns = create_store_engine(resolve_url(url_or_engine)), True
    else:
        msg = (
            "connect() takes an SQLAlchemy URL string or Engine, not "
            f"{type(url_or_engine).__name__}"
        )
        raise InvalidArgumentError(msg)
    try:
        store = Store(
            engine,
            schema=schema,
            clock=clock,
            owns_engine=owns,
            signing_key=signing_key,
            previous_signing_keys=previous_signing_keys,
        )
        if auto_upgrade:
            store.upgrade()
        else:
            store.check_revision()
    except (StoreError, StoreConfigurationError):
        if owns:
            engine.dispose()
        raise
    return store
