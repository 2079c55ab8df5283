"""Rows of ``sr_release`` and ``sr_release_event``: the persisted state machine."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update

from safe_release._clock import as_utc, utc_now
from safe_release._report import ReleaseStatus, RollbackReport, Verification
from safe_release._sealing import RELEASES
from safe_release._store import read_tx
from safe_release.exceptions import (
    RecordTamperedError,
    ReleaseNotFoundError,
    ReleaseStateError,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row

    from safe_release._store import StoreCore

__all__ = [
    "ERROR_LIMIT",
    "ReleaseEvent",
    "ReleaseRecord",
    "describe_error",
    "event",
    "insert_release",
    "load",
    "load_any",
    "load_events",
    "now",
    "release_record",
    "releases",
    "sealed_release",
    "set_state",
]

ERROR_LIMIT = 500
"""The ``error`` column keeps the exception type and at most this many characters."""


class ReleaseEvent(BaseModel):
    """One journal entry of a release: a transition, a step, a notification failure."""

    model_config = ConfigDict(frozen=True)

    kind: str
    detail: dict[str, Any]
    at: datetime


class ReleaseRecord(BaseModel):
    """A release as recorded in the store (``safe-release releases show``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    scope: str
    status: ReleaseStatus
    verification: Verification | None = None
    on_failure: str
    owner: str
    started_at: datetime
    detected_at: datetime | None = None
    rollback_started_at: datetime | None = None
    restored_at: datetime | None = None
    verified_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    report: RollbackReport | None = None
    events: tuple[ReleaseEvent, ...] = ()
    """The release's journal, oldest first (filled by `release_record`, not `releases`)."""
    tampered: str | None = None
    """Why the record does not verify with the store's signing key (None: it does).

    A tampered record is shown, never acted on: rollback and recover refuse it.
    """

    @property
    def time_to_restore(self) -> float | None:
        """Seconds from the failure being seen to everything restored."""
        if self.detected_at is None or self.restored_at is None:
            return None
        return (self.restored_at - self.detected_at).total_seconds()


def now(store: StoreCore) -> datetime:
    """The store clock's time as an aware UTC datetime."""
    return utc_now(store.clock)


def describe_error(exc: BaseException) -> str:
    """The exception's type and (truncated) message, for the ``error`` column."""
    text = str(exc).strip().replace("\n", " ").replace("\x00", "\\x00")
    if len(text) > ERROR_LIMIT:
        text = text[:ERROR_LIMIT] + "…"
    name = type(exc).__qualname__
    return f"{name}: {text}" if text else name


_BLOCKING = ("running", "rolling_back", "rollback_failed", "pending_rollback")


def refuse_if_unfinished(conn: Connection, store: StoreCore, scope: str) -> None:
    """Raise `ReleaseStateError` if a release of ``scope`` still needs rolling back.

    Called under the scope lock: a ``running`` release found here lost its lock
    (its process died), so its changes are still in place. Starting another
    release on top of them would let a later recovery undo the new one's work.
    """
    t = store.tables.release
    row = conn.execute(
        select(t.c.id, t.c.name, t.c.status)
        .where(t.c.scope == scope, t.c.status.in_(_BLOCKING))
        .limit(1)
    ).first()
    if row is None:
        return
    how = (
        f"'safe-release rollback {row.id}' (store.rollback)"
        if row.status == "pending_rollback"
        else "'safe-release recover' (store.recover)"
    )
    state = "crashed while running" if row.status == "running" else f"is {row.status}"
    msg = (
        f"scope {scope!r} has release {row.name} ({row.id}) that {state}; its changes "
        f"are still in place. Run {how} first, then start this release again"
    )
    raise ReleaseStateError(msg, release_id=row.id)


def sealed_release(store: StoreCore, values: dict[str, Any]) -> dict[str, Any]:
    """The sealed columns of a new release row (from its ``values``) and their ``mac``."""
    sealed = {name: values.get(name) for name in RELEASES.fields}
    sealed["mac"] = RELEASES.seal(store.signer, (values["id"],), sealed)
    return sealed


def insert_release(conn: Connection, store: StoreCore, values: dict[str, Any]) -> None:
    """Insert the release row (status ``running``), sealed, and its ``started`` event."""
    refuse_if_unfinished(conn, store, values["scope"])
    mac = values.get("mac") or sealed_release(store, values)["mac"]
    conn.execute(insert(store.tables.release).values(**{**values, "mac": mac}))
    event(
        conn,
        store,
        values["id"],
        "started",
        {"name": values["name"], "scope": values["scope"]},
        at=values["started_at"],
    )


def set_state(
    conn: Connection,
    store: StoreCore,
    release_id: str,
    kind: str,
    detail: dict[str, Any] | None = None,
    *,
    known: dict[str, Any] | None = None,
    **values: Any,
) -> dict[str, Any] | None:
    """Update the release row with ``values``, sealed, and journal it as event ``kind``.

    ``known``: the row's sealed columns and ``mac`` as this process last wrote
    them; the update is then a compare-and-set on that seal, without reading the
    row first (a row changed since is read, and verified, as without ``known``).
    Returns the sealed columns and ``mac`` as now stored (None: nothing changed).
    """
    if "report" in values and isinstance(values["report"], RollbackReport):
        values["report"] = values["report"].model_dump_json()
    if "status" in values and isinstance(values["status"], ReleaseStatus):
        values["status"] = values["status"].value
    if isinstance(values.get("verification"), Verification):
        values["verification"] = values["verification"].value
    sealed = None
    if values:
        sealed = _reseal(conn, store, release_id, values, known)
    shown = {k: v for k, v in values.items() if k in {"status", "verification", "error"}}
    event(conn, store, release_id, kind, {**shown, **(detail or {})})
    return sealed


def _reseal(
    conn: Connection,
    store: StoreCore,
    release_id: str,
    values: dict[str, Any],
    known: dict[str, Any] | None,
) -> dict[str, Any]:
    """Write ``values`` with the row's new seal (over the row as it was, verified)."""
    t = store.tables.release
    changed = {k: v for k, v in values.items() if k in RELEASES.fields}
    if known is not None:
        sealed = {**known, **changed}
        sealed["mac"] = RELEASES.seal(store.signer, (release_id,), sealed)
        done = conn.execute(
            update(t)
            .where(t.c.id == release_id, t.c.mac == known["mac"])
            .values(**values, mac=sealed["mac"])
        )
        if done.rowcount == 1:
            return sealed
    row = conn.execute(select(t).where(t.c.id == release_id).with_for_update()).one()
    sealed = RELEASES.values(row)
    _check(store, release_id, sealed)
    sealed.update(changed)
    sealed["mac"] = RELEASES.seal(store.signer, (release_id,), sealed)
    conn.execute(update(t).where(t.c.id == release_id).values(**values, mac=sealed["mac"]))
    return sealed


def event(
    conn: Connection,
    store: StoreCore,
    release_id: str,
    kind: str,
    detail: dict[str, Any],
    *,
    at: datetime | None = None,
) -> None:
    """Append one entry to the release's journal."""
    conn.execute(
        insert(store.tables.release_event).values(
            release_id=release_id,
            kind=kind,
            detail=json.dumps(detail, default=str),
            at=at or now(store),
        )
    )


def _check(store: StoreCore, release_id: str, sealed: dict[str, Any]) -> None:
    RELEASES.check(
        store.signer,
        (release_id,),
        sealed,
        what=f"the record of release {release_id}",
        release_id=release_id,
    )


def _tampered(store: StoreCore, row: Row[Any]) -> str | None:
    try:
        _check(store, row.id, RELEASES.values(row))
    except RecordTamperedError as exc:
        return str(exc)
    return None


_TIMES = (
    "started_at",
    "detected_at",
    "rollback_started_at",
    "restored_at",
    "verified_at",
    "finished_at",
)


def _record(store: StoreCore, row: Row[Any]) -> ReleaseRecord:
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    tampered = _tampered(store, row)
    try:
        report = RollbackReport.model_validate_json(m["report"]) if m["report"] else None
        status = ReleaseStatus(m["status"])
        verification = Verification(m["verification"]) if m["verification"] else None
    except ValueError:
        if tampered is None:
            raise
        report, status, verification = None, ReleaseStatus.ROLLBACK_FAILED, None
    return ReleaseRecord(
        id=m["id"],
        name=m["name"],
        scope=m["scope"],
        status=status,
        verification=verification,
        on_failure=m["on_failure"],
        owner=m["owner"],
        error=m["error"],
        report=report,
        tampered=tampered,
        **{k: as_utc(m[k]) for k in _TIMES},
    )


def load(conn: Connection, store: StoreCore, release_id: str) -> ReleaseRecord:
    """The release ``release_id``, verified.

    Raises `ReleaseNotFoundError` if there is none, `RecordTamperedError` if its
    record does not verify with the store's signing key.
    """
    record = load_any(conn, store, release_id)
    if record.tampered is not None:
        t = store.tables.release
        sealed = RELEASES.values(conn.execute(select(t).where(t.c.id == release_id)).one())
        _check(store, release_id, sealed)
    return record


def load_any(conn: Connection, store: StoreCore, release_id: str) -> ReleaseRecord:
    """The release ``release_id`` as recorded, tampered or not (``tampered`` says)."""
    t = store.tables.release
    row = conn.execute(select(t).where(t.c.id == release_id)).first()
    if row is None:
        msg = (
            f"no release {release_id!r} is recorded in this store; list them with "
            "'safe-release releases list' (or store.releases())"
        )
        raise ReleaseNotFoundError(msg, release_id=release_id)
    return _record(store, row)


def load_events(conn: Connection, store: StoreCore, release_id: str) -> tuple[ReleaseEvent, ...]:
    """The journal of one release, oldest first."""
    e = store.tables.release_event
    rows = conn.execute(
        select(e.c.kind, e.c.detail, e.c.at).where(e.c.release_id == release_id).order_by(e.c.id)
    )
    return tuple(
        ReleaseEvent(kind=r.kind, detail=json.loads(r.detail), at=as_utc(r.at) or r.at)
        for r in rows
    )


def release_record(store: StoreCore, release_id: str) -> ReleaseRecord:
    """One release with its journal; `ReleaseNotFoundError` if it is not recorded."""
    with read_tx(store.engine, "reading a release") as conn:
        record = load_any(conn, store, release_id)
        return record.model_copy(update={"events": load_events(conn, store, release_id)})


def releases(
    store: StoreCore,
    *,
    scope: str | None = None,
    limit: int = 50,
    statuses: tuple[str, ...] = (),
    since: datetime | None = None,
) -> list[ReleaseRecord]:
    """The newest releases first (of one ``scope``, statuses, since a time), at most ``limit``."""
    t = store.tables.release
    query = select(t).order_by(t.c.started_at.desc(), t.c.id.desc())
    if scope is not None:
        query = query.where(t.c.scope == scope)
    if statuses:
        query = query.where(t.c.status.in_(statuses))
    if since is not None:
        query = query.where(t.c.started_at >= since)
    if limit:
        query = query.limit(limit)
    with read_tx(store.engine, "listing releases") as conn:
        return [_record(store, row) for row in conn.execute(query)]
