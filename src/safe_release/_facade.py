"""The public facade: `Store` (what ``sr.connect()`` returns) and `connect`.

A `Store` is a `StoreCore` (the persistence handle every layer below works through)
with the methods that reach into config, releases and checkpoints. It is composed
here, at the top, so that the layers below never import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, overload

from pydantic import BaseModel, JsonValue
from sqlalchemy import Engine, select

from safe_release._checkpoints import prune_checkpoints
from safe_release._config import DEFAULT_MAX_BYTES, DEFAULT_TTL, ConfigStore
from safe_release._release import (
    incident_report,
    recover,
    release_record,
    releases,
    rollback,
)
from safe_release._store import StoreCore, open_store, read_tx

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime, timedelta

    from safe_release._checkpoints import Checkpointable
    from safe_release._clock import Clock
    from safe_release._release import IncidentReport, ReleaseRecord
    from safe_release._report import RollbackReport, StepResult
    from safe_release._secrets import Secret
    from safe_release._store import Keys
    from safe_release.adapters import MarketplaceAdapter

__all__ = ["Store", "connect"]

M = TypeVar("M", bound=BaseModel)


class Store(StoreCore):
    """The SDK's tables in one database: configs, releases, checkpoints.

    Create it with `connect`. A store is safe to share between threads;
    open one per process. Its engine, schema, clock, signer and the SDK's own
    schema revisions (`upgrade`, `check_revision`, `close`) are those of
    `StoreCore`, which every part of the SDK takes.
    """

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
        c = self.tables.config.c
        with read_tx(self.engine) as conn:
            rows = conn.execute(select(c.name).where(c.head > 0).order_by(c.name))
            return list(rows.scalars())

    # -- releases -----------------------------------------------------------------

    def recover(
        self,
        *,
        checkpoint: Sequence[Checkpointable] = (),
        adapters: Sequence[MarketplaceAdapter] = (),
        on_step: Callable[[StepResult], object] | None = None,
    ) -> list[RollbackReport]:
        """Finish every rollback a crash left half-done; safe to run twice, even at once.

        Give the job's live ``checkpoint`` objects and ``adapters``: the store alone
        can restore config and tables in its own database, but marketplace
        compensation needs the adapters (and their credentials). ``on_step`` is
        told of each restored or compensated step as it is done (a progress
        display; an error it raises is logged, not raised).
        """
        return recover(self, checkpoint=checkpoint, adapters=adapters, on_step=on_step)

    def rollback(
        self,
        release_id: str,
        *,
        checkpoint: Sequence[Checkpointable] = (),
        adapters: Sequence[MarketplaceAdapter] = (),
        on_step: Callable[[StepResult], object] | None = None,
    ) -> RollbackReport:
        """Roll back a release waiting in ``pending_rollback`` (or finish a failed one).

        ``on_step``: as for `recover`.
        """
        return rollback(
            self, release_id, checkpoint=checkpoint, adapters=adapters, on_step=on_step
        )

    def releases(self, *, scope: str | None = None, limit: int = 50) -> list[ReleaseRecord]:
        """Recorded releases, newest first (of one ``scope``, if given)."""
        return releases(self, scope=scope, limit=limit)

    def release_record(self, release_id: str) -> ReleaseRecord:
        """One release with its events; `ReleaseNotFoundError` if unknown."""
        return release_record(self, release_id)

    def incident_report(
        self, *, scope: str | None = None, since: datetime | None = None
    ) -> IncidentReport:
        """Time-to-restore (median, p90) and change failure rate of finished releases."""
        return incident_report(self, scope=scope, since=since)

    def prune_checkpoints(self, *, keep: int = 3, live: Sequence[Checkpointable] = ()) -> int:
        """Drop snapshots older than the last ``keep`` (>= 3) releases of each scope.

        Returns how many were pruned. Table snapshots in another database need
        their live checkpoint in ``live``; unreachable ones are left for later.
        """
        return prune_checkpoints(self, keep=keep, live=live)


def connect(
    url_or_engine: str | Engine | None = None,
    *,
    schema: str | None = None,
    auto_upgrade: bool = True,
    clock: Clock | None = None,
    signing_key: str | bytes | Secret | None = None,
    previous_signing_keys: Keys | None = None,
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
    return open_store(
        Store,
        url_or_engine,
        schema=schema,
        auto_upgrade=auto_upgrade,
        clock=clock,
        signing_key=signing_key,
        previous_signing_keys=previous_signing_keys,
    )
