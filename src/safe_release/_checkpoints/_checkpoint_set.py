"""``CheckpointSet``: a release's checkpoints in ``sr_checkpoint``, captured and restored."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, insert, select, update

from safe_release._checkpoints._protocol import Checkpointable, CheckpointContext
from safe_release._checkpoints._rebuild import find, rebuild
from safe_release._checkpoints._table import TableCheckpoint, restore_tables
from safe_release._checkpoints._together import batch_records
from safe_release._clock import utc_now
from safe_release._json import canonical_dumps, check_json
from safe_release._report import StepResult
from safe_release._sealing import CHECKPOINTS
from safe_release._store import read_tx, write_tx
from safe_release.exceptions import (
    CheckpointError,
    CheckpointNotFoundError,
    RecordTamperedError,
    SnapshotTamperedError,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy import Row

    from safe_release._checkpoints._protocol import JsonState
    from safe_release._store import StoreCore

_log = logging.getLogger("safe_release.checkpoints")

__all__ = ["CheckpointRecord", "CheckpointSet"]

_DETAIL_MAX = 2000


class CheckpointRecord(BaseModel):
    """One recorded checkpoint of a release."""

    model_config = ConfigDict(frozen=True)

    seq: int
    kind: str
    name: str
    status: str
    """``captured``, ``restoring``, ``restored``, ``failed``, ``discarded`` or ``pruned``."""
    detail: str = ""
    tampered: bool = False
    """The record does not verify with the store's key (its fields are not to be trusted)."""


class CheckpointSet:
    """The checkpoints of one release: capture them in order, restore them after a failure."""

    def __init__(self, store: StoreCore, release_id: str, scope: str) -> None:
        self._store, self._release_id, self._scope = store, release_id, scope
        self._t = store.tables.checkpoint
        self._written: dict[int, dict[str, Any]] = {}
        """Sealed columns and ``mac`` of the records this object wrote, by seq."""

    def __repr__(self) -> str:
        return f"<CheckpointSet release={self._release_id} scope={self._scope!r}>"

    def _now(self) -> datetime:
        return utc_now(self._store.clock)

    def _ctx(self, seq: int, manifest: str | None = None) -> CheckpointContext:
        return CheckpointContext(self._store, self._release_id, seq, manifest)

    # -- capture --------------------------------------------------------------------

    def capture(self, items: Sequence[Checkpointable]) -> None:
        """Capture each item in order and record it signed; all or nothing."""
        for item in items:
            if not isinstance(item, Checkpointable):
                msg = (
                    f"checkpoint= items need kind, describe(), capture() and restore(); "
                    f"{item!r} does not have them"
                )
                raise CheckpointError(msg)
        taken: list[tuple[int, Checkpointable, JsonState]] = []
        seq = self._next_seq()
        for item in items:
            try:
                state = self._capture_one(item, seq)
            except BaseException as exc:
                self._undo(taken)
                if not isinstance(exc, Exception):
                    raise
                msg = (
                    f"capturing checkpoint {_name(item)} failed ({type(exc).__name__}: "
                    f"{exc}); the release did not start, and the checkpoints already "
                    "taken were discarded. Fix the cause and run it again"
                )
                raise CheckpointError(msg) from exc
            taken.append((seq, item, state))
            seq += 1

    def _capture_one(self, item: Checkpointable, seq: int) -> JsonState:
        """Record the intent, capture, then record the signed state.

        The ``capturing`` record comes first: if the process dies mid-capture, a
        recovery finds it and drops what the capture left (a table checkpoint's
        snapshot, change log and triggers), instead of leaving them unrecorded.
        A checkpoint whose capture leaves nothing behind (a config store, a custom
        one without ``abandon``) is recorded once, captured: a crash before that
        leaves nothing to drop, and the job had not run.
        """
        ctx = self._ctx(seq)
        payload: dict[str, Any] = {
            "release_id": self._release_id,
            "seq": seq,
            "kind": item.kind,
            "name": item.describe(),
            "state": {},
        }
        if item.kind not in _ABANDONS and getattr(item, "abandon", None) is None:
            return self._capture_at_once(item, payload, ctx)
        self._insert(payload, status="capturing")
        try:
            state = _captured_state(item, item.capture(ctx))
        except BaseException:
            _abandon(item, ctx)
            with contextlib.suppress(StoreError):
                self._set(seq, "discarded", "the capture failed")
            raise
        payload["state"] = state
        try:
            self._record(payload)
        except BaseException:
            _discard(item, state, ctx)
            raise
        return state

    def _capture_at_once(
        self, item: Checkpointable, payload: dict[str, Any], ctx: CheckpointContext
    ) -> JsonState:
        try:
            state = _captured_state(item, item.capture(ctx))
        except BaseException:
            with contextlib.suppress(StoreError):  # the record of the attempt
                self._insert(payload, status="discarded", detail="the capture failed")
            raise
        payload["state"] = state
        try:
            self._insert(payload, status="captured")
        except BaseException:
            _discard(item, state, ctx)
            raise
        return state

    def _insert(self, payload: dict[str, Any], *, status: str, detail: str = "") -> None:
        now = self._now()
        values = {
            "scope": self._scope,
            "kind": payload["kind"],
            "name": payload["name"],
            "state": canonical_dumps(payload["state"]),
            "manifest": self._store.signer.sign(payload),
            "status": status,
            "detail": detail,
        }
        values["mac"] = CHECKPOINTS.seal(
            self._store.signer, (self._release_id, payload["seq"]), values
        )
        with write_tx(self._store.engine, "recording a checkpoint") as conn:
            conn.execute(
                insert(self._t).values(
                    release_id=self._release_id,
                    seq=payload["seq"],
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
        self._written[payload["seq"]] = values

    def _record(self, payload: dict[str, Any]) -> None:
        self._rewrite(
            payload["seq"],
            state=canonical_dumps(payload["state"]),
            manifest=self._store.signer.sign(payload),
            status="captured",
        )

    def _next_seq(self) -> int:
        c = self._t.c
        with read_tx(self._store.engine) as conn:
            top = conn.execute(
                select(func.max(c.seq)).where(c.release_id == self._release_id)
            ).scalar()
        return int(top or 0) + 1

    def _undo(self, taken: list[tuple[int, Checkpointable, JsonState]]) -> None:
        for seq, item, state in reversed(taken):
            _discard(item, state, self._ctx(seq))
            self._set(seq, "discarded", "the release's capture failed")

    # -- records ------------------------------------------------------------------------

    def _rows(self) -> list[Row[Any]]:
        c = self._t.c
        with read_tx(self._store.engine) as conn:
            return list(
                conn.execute(
                    select(self._t).where(c.release_id == self._release_id).order_by(c.seq)
                )
            )

    def _tampered(self, row: Row[Any]) -> RecordTamperedError | None:
        """Why ``row`` does not verify with the store's key, or None when it does."""
        try:
            self._check(row.seq, CHECKPOINTS.values(row))
        except RecordTamperedError as exc:
            return exc
        return None

    def _check(self, seq: int, values: dict[str, Any]) -> None:
        CHECKPOINTS.check(
            self._store.signer,
            (self._release_id, seq),
            values,
            what=f"checkpoint record {seq} of release {self._release_id}",
            release_id=self._release_id,
        )

    def _verified_rows(self) -> list[Row[Any]]:
        """The release's records; `RecordTamperedError` if any does not verify."""
        rows = self._rows()
        for row in rows:
            error = self._tampered(row)
            if error is not None:
                raise error
        return rows

    def records(self) -> list[CheckpointRecord]:
        """Every checkpoint of the release, in capture order."""
        return [
            CheckpointRecord(
                seq=r.seq,
                kind=r.kind,
                name=r.name,
                status=r.status,
                detail=r.detail,
                tampered=self._tampered(r) is not None,
            )
            for r in self._rows()
        ]

    def _set(self, seq: int, status: str, detail: str) -> None:
        self._rewrite(seq, status=status, detail=detail[:_DETAIL_MAX])

    def set_status(self, seq: int, status: str, detail: str) -> None:
        """Record a checkpoint's new status, sealed (`RecordTamperedError` if it was altered)."""
        self._set(seq, status, detail)

    def _rewrite(self, seq: int, **changes: Any) -> None:
        """Change a record and seal it again, once its current seal verifies.

        A record this object wrote is updated by compare-and-set on the seal it
        wrote (no read); any other, or one changed since, is read and verified.
        """
        c, key = self._t.c, (self._release_id, seq)
        where = (c.release_id == self._release_id, c.seq == seq)
        with write_tx(self._store.engine, "recording a checkpoint's status") as conn:
            known = self._written.get(seq)
            if known is not None:
                values = {**known, **changes}
                values["mac"] = CHECKPOINTS.seal(self._store.signer, key, values)
                if (
                    conn.execute(
                        update(self._t)
                        .where(*where, c.mac == known["mac"])
                        .values(updated_at=self._now(), **values)
                    ).rowcount
                    == 1
                ):
                    self._written[seq] = values
                    return
            row = conn.execute(select(self._t).where(*where).with_for_update()).one()
            values = CHECKPOINTS.values(row)
            self._check(seq, values)
            values.update(changes)
            values["mac"] = CHECKPOINTS.seal(self._store.signer, key, values)
            conn.execute(update(self._t).where(*where).values(updated_at=self._now(), **values))
            self._written[seq] = values

    # -- restore ------------------------------------------------------------------------

    def restore(
        self,
        live: Sequence[Checkpointable] = (),
        on_step: Callable[[StepResult], None] | None = None,
    ) -> list[StepResult]:
        """Restore every checkpoint not yet restored: schema first, then newest first.

        Every record is verified first. One that does not (altered, swapped or
        replayed) is reported failed and nothing is done from it; since it may have
        been a table of the same database as others, no table checkpoint of the
        release is restored either (all tables of a batch, or none). Config and
        custom checkpoints, whose records verify, are restored.
        """
        rows, steps = self._pending(on_step)
        rows.sort(key=lambda r: (r.kind != "alembic", -r.seq))
        for batch in batch_records(rows):
            for step in self._restore_batch(batch, live):
                steps.append(step)
                if on_step is not None:
                    on_step(step)
        return steps

    def _pending(
        self,
        on_step: Callable[[StepResult], None] | None,
    ) -> tuple[list[Row[Any]], list[StepResult]]:
        """Records to restore, and the failed steps of those refused."""
        rows, refused = [], []
        for row in self._rows():
            error = self._tampered(row)
            if error is not None:
                refused.append(
                    StepResult(
                        kind="checkpoint",
                        name=_record_name(row),
                        ok=False,
                        detail=f"{type(error).__name__}: {error}",
                    )
                )
            elif row.status in {"capturing", "captured", "restoring", "failed"}:
                rows.append(row)
        if refused:
            _log.error(
                "release %s: %d checkpoint record(s) do not verify; its table "
                "checkpoints are not restored",
                self._release_id,
                len(refused),
            )
            refused += [
                StepResult(
                    kind="checkpoint",
                    name=row.name,
                    ok=False,
                    detail=(
                        "not restored: a checkpoint record of this release does not verify, "
                        "and restoring some tables alone could leave related tables apart"
                    ),
                )
                for row in rows
                if row.kind == "table"
            ]
            rows = [row for row in rows if row.kind != "table"]
        for step in refused:
            if on_step is not None:
                on_step(step)
        return rows, refused

    def _restore_batch(
        self, batch: list[Row[Any]], live: Sequence[Checkpointable]
    ) -> list[StepResult]:
        """One record alone, or table checkpoints of one database together (`_together`)."""
        if len(batch) == 1:
            row = batch[0]
            return [
                self._abandon_one(row, live)
                if row.status == "capturing"
                else self._restore_one(row, live)
            ]
        together: list[tuple[Row[Any], TableCheckpoint, JsonState]] = []
        steps: dict[int, StepResult] = {}
        refused = self._refuse_batch(batch)
        if refused is not None:
            return refused
        for row in batch:
            try:
                state = self.verified_state(row)
                item = self._item(row, live, state)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed step is reported, not raised
                steps[row.seq] = self._failed(row, exc)
                continue
            if isinstance(item, TableCheckpoint):
                together.append((row, item, state))
            else:  # not found, or not a table checkpoint after all: reported alone
                steps[row.seq] = self._restore_one(row, live)
        # one transaction per engine: the same URL may name two databases (in memory)
        for engine in {id(item.engine): item.engine for _, item, _ in together}.values():
            group = [t for t in together if t[1].engine is engine]
            done = (
                [self._restore_one(group[0][0], live)]
                if len(group) == 1
                else self._restore_together(group)
            )
            steps.update({t[0].seq: step for t, step in zip(group, done, strict=True)})
        return [steps[row.seq] for row in batch]

    def _unverified(self, row: Row[Any]) -> Exception | None:
        """Why the record's seal or signed manifest does not verify, else None."""
        try:
            self.verified_state(row)
        except (RecordTamperedError, SnapshotTamperedError) as exc:
            return exc
        return None

    def _refuse_batch(self, batch: list[Row[Any]]) -> list[StepResult] | None:
        """Every record of a batch verified before any is applied; one refusal refuses all.

        The tables of one database come back together or not at all: restoring
        the others without the one whose manifest does not verify could leave
        them apart (or fail on a foreign key, hiding the tampering).
        """
        errors = {row.seq: error for row in batch if (error := self._unverified(row)) is not None}
        if not errors:
            return None
        names = ", ".join(row.name for row in batch if row.seq in errors)
        steps = []
        for row in batch:
            if row.seq in errors:
                steps.append(self._failed(row, errors[row.seq]))
                continue
            detail = (
                f"not restored: {names}, restored in one transaction with it, does not "
                "verify; tables of one database are restored together or not at all"
            )
            self._set(row.seq, "failed", detail)
            steps.append(StepResult(kind="checkpoint", name=row.name, ok=False, detail=detail))
        return steps

    def _restore_together(
        self,
        together: list[tuple[Row[Any], TableCheckpoint, JsonState]],
    ) -> list[StepResult]:
        """Restore table checkpoints in one transaction: all of them, or none."""
        for row, _, _ in together:
            self._set(row.seq, "restoring", "")
        try:
            details = restore_tables(
                [(item, state, self._ctx(row.seq, row.manifest)) for row, item, state in together]
            )
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - failed steps are reported, not raised
            return [self._failed(row, exc) for row, _, _ in together]
        steps = []
        for (row, item, state), detail in zip(together, details, strict=True):
            self._set(row.seq, "restored", detail)
            _finish_one(item, state, self._ctx(row.seq, row.manifest))
            steps.append(StepResult(kind="checkpoint", name=row.name, ok=True, detail=detail))
        return steps

    def _failed(self, row: Row[Any], exc: Exception) -> StepResult:
        detail = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, RecordTamperedError):  # a forged record is left as found
            self._set(row.seq, "failed", detail)
        return StepResult(kind="checkpoint", name=row.name, ok=False, detail=detail)

    def _abandon_one(self, row: Row[Any], live: Sequence[Checkpointable]) -> StepResult:
        """A capture the process died in: the job never ran; drop what it left."""
        item = find(live, row.kind, row.name)
        if item is None and row.kind in _ABANDONS:
            detail = (
                f"its capture was interrupted; pass the live checkpoint to recover() "
                f"to drop the partial {row.kind} snapshot it may have left"
            )
            self._set(row.seq, "capturing", detail)
            return StepResult(kind="checkpoint", name=row.name, ok=False, detail=detail)
        if item is not None:
            _abandon(item, self._ctx(row.seq, row.manifest))
        detail = "its capture was interrupted before the job ran: nothing to restore"
        self._set(row.seq, "discarded", detail)
        return StepResult(kind="checkpoint", name=row.name, ok=True, detail=detail)

    def _restore_one(self, row: Row[Any], live: Sequence[Checkpointable]) -> StepResult:
        try:
            state = self.verified_state(row)
            item = self._item(row, live, state)
            if item is None:
                _not_found(row.kind, row.name)
            self._set(row.seq, "restoring", "")
            detail = item.restore(state, self._ctx(row.seq, row.manifest))
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed step is reported, not raised
            return self._failed(row, exc)
        self._set(row.seq, "restored", str(detail))
        _finish_one(item, state, self._ctx(row.seq, row.manifest))
        return StepResult(kind="checkpoint", name=row.name, ok=True, detail=str(detail))

    def finish(self, live: Sequence[Checkpointable] = ()) -> None:
        """The release succeeded: let each checkpoint stop tracking changes.

        Calls the optional ``finish(state, ctx)`` of every captured checkpoint (a
        table checkpoint drops its change-tracking triggers; the snapshot itself is
        kept for retention). A failure is logged: the release's outcome stands.
        """
        for row in self._rows():
            if row.status != "captured":
                continue
            try:
                state = self.verified_state(row)
            except (RecordTamperedError, SnapshotTamperedError) as exc:
                _log.error(
                    "checkpoint %s of release %s was not finished: %s",
                    row.seq,
                    self._release_id,
                    exc,
                )
                continue
            item = self._item(row, live, state)
            if item is not None:
                _finish_one(item, state, self._ctx(row.seq, row.manifest))

    def _item(
        self, row: Row[Any], live: Sequence[Checkpointable], state: JsonState
    ) -> Checkpointable | None:
        """The live object for a record, else one rebuilt from the store (or None)."""
        return find(live, row.kind, row.name) or rebuild(self._store, row.kind, row.name, state)

    def verified_state(self, row: Row[Any]) -> JsonState:
        """The row's state once both its seal and its signed manifest verify."""
        self._check(row.seq, CHECKPOINTS.values(row))
        payload = self._store.signer.verify(row.manifest, what=f"checkpoint {row.name}")
        state = json.loads(row.state)
        expected = {
            "release_id": self._release_id,
            "seq": row.seq,
            "kind": row.kind,
            "name": row.name,
            "state": state,
        }
        if payload != expected:
            msg = (
                f"the signed manifest of checkpoint {row.name!r} does not match its record "
                f"(release {payload.get('release_id')!r}, seq {payload.get('seq')!r}): the "
                "record was altered or copied from another release; nothing was restored"
            )
            raise SnapshotTamperedError(msg)
        if not isinstance(state, dict):
            msg = f"the state of checkpoint {row.name!r} is not an object; nothing was restored"
            raise SnapshotTamperedError(msg)
        return state

    def verify(self, live: Sequence[Checkpointable] = ()) -> list[StepResult]:
        """Re-read every restored checkpoint and compare it with its capture."""
        steps = []
        for row in self._rows():
            try:
                state = self.verified_state(row)
            except (RecordTamperedError, SnapshotTamperedError) as exc:
                steps.append(
                    StepResult(
                        kind="check",
                        name=_record_name(row),
                        ok=False,
                        detail=f"{type(exc).__name__}: {exc}",
                    )
                )
                continue
            if row.status != "restored":
                continue
            item = self._item(row, live, state)
            check = getattr(item, "verify", None)
            if check is None:
                continue
            try:
                ok, detail = check(state, self._ctx(row.seq, row.manifest))
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed check is reported
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            steps.append(
                StepResult(
                    kind="check", name=f"restored {row.name}", ok=bool(ok), detail=str(detail)
                )
            )
        return steps


def _record_name(row: Row[Any]) -> str:
    """A record that does not verify, named by its sequence and (unverified) name."""
    return f"checkpoint record {row.seq} ({str(row.name)[:100]}, unverified)"


def _not_found(kind: str, name: str) -> NoReturn:
    msg = (
        f"no live checkpoint {name!r} ({kind}) to restore it with; pass it to "
        "recover(checkpoint=[...]) or rollback(checkpoint=[...])"
    )
    raise CheckpointNotFoundError(msg)


def _name(item: object) -> str:
    try:
        return str(item.describe())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - only for the message
        return repr(item)


def _finish_one(item: object, state: JsonState, ctx: CheckpointContext) -> None:
    done = getattr(item, "finish", None)
    if done is None:
        return
    try:
        done(state, ctx)
    except Exception as exc:  # noqa: BLE001 - best effort: logged, never masks the outcome
        _log.warning(
            "checkpoint %s could not finish (%s: %s); run store.prune_checkpoints() "
            "later to clean up",
            _name(item),
            type(exc).__name__,
            exc,
        )


def _captured_state(item: Checkpointable, raw: object) -> JsonState:
    state = check_json(raw)
    if not isinstance(state, dict):
        msg = f"capture() of {item.describe()} returned {type(raw).__name__}, not a dict"
        raise CheckpointError(msg)
    return state


_ABANDONS = frozenset({"table"})
"""Kinds whose interrupted capture can leave objects behind (so need their live object)."""


def _abandon(item: object, ctx: CheckpointContext) -> None:
    """Drop what an interrupted capture of ``item`` left (best effort, logged)."""
    drop = getattr(item, "abandon", None)
    if drop is None:
        return
    try:
        drop(ctx)
    except Exception as exc:  # noqa: BLE001 - cleanup after a failure: logged, never masks it
        _log.warning(
            "could not drop what the capture of %s left (%s: %s)",
            _name(item),
            type(exc).__name__,
            exc,
        )


def _discard(item: object, state: JsonState, ctx: CheckpointContext) -> None:
    drop = getattr(item, "discard", None)
    if drop is not None:
        drop(state, ctx)
