"""`StoreCore`: the persistence handle every part of the SDK works through.

The engine, the schema, the SDK's table definitions, the clock, the signer and the
per-process read cache of one store; the SDK's own schema revisions. The `Store`
users get from ``sr.connect()`` is a `StoreCore` with the methods that reach into
config, releases and checkpoints (composed at the top, in ``safe_release._facade``);
the layers below it take a `StoreCore`, so that nothing below the facade imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from safe_release._clock import Clock, SystemClock
from safe_release._signing import Signer
from safe_release._store import _migrate
from safe_release._store._cache import ReadCache
from safe_release._store._engine import (
    check_schema_name,
    create_store_engine,
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
    from types import TracebackType

    from typing_extensions import Self

    from safe_release._secrets import Secret


__all__ = ["Keys", "StoreCore", "open_store"]

Keys: TypeAlias = "str | bytes | Secret | Sequence[str | bytes | Secret]"
"""A signing key, or several: what ``previous_signing_keys=`` takes."""

S = TypeVar("S", bound="StoreCore")


class StoreCore:
    """The SDK's tables in one database, and what every part needs to work on them.

    Built by ``sr.connect()`` (as a `Store`). Safe to share between threads; open
    one per process.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        schema: str | None = None,
        clock: Clock | None = None,
        owns_engine: bool = False,
        signing_key: str | bytes | Secret | None = None,
        previous_signing_keys: Keys | None = None,
    ) -> None:
        self._engine = engine
        self._signer = Signer(signing_key, previous=previous_signing_keys)
        self._schema = check_schema_name(schema, engine)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._owns_engine = owns_engine
        self._tables = build_tables(self._schema)
        self._read_cache: ReadCache[Any] = ReadCache()

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
    def read_cache(self) -> ReadCache[Any]:
        """The per-process cache of config heads (the config layer's entries)."""
        return self._read_cache

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        where = f" schema={self._schema!r}" if self._schema else ""
        return f"<{type(self).__name__} {safe_url(self._engine)}{where}>"

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


def open_store(
    kind: type[S],
    url_or_engine: str | Engine | None = None,
    *,
    schema: str | None = None,
    auto_upgrade: bool = True,
    clock: Clock | None = None,
    signing_key: str | bytes | Secret | None = None,
    previous_signing_keys: Keys | None = None,
) -> S:
    """A ``kind`` of store on ``url_or_engine``, its tables upgraded or checked.

    What ``sr.connect()`` does (with ``kind`` its `Store`); see it for the arguments.
    A layer below the facade that must open a store of its own (a migration run
    outside the application) opens a `StoreCore`.
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
        store = kind(
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
