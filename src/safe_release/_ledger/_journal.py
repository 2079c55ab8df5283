"""`Journal`: every marketplace write of one release, recorded before and after sending."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import insert, select, update

from safe_release._clock import utc_now
from safe_release._effects import SideEffect
from safe_release._json import canonical_dumps
from safe_release._ledger import _compensate
from safe_release._ledger._entries import (
    LEDGER_TABLE,
    MAX_RESPONSE_BYTES,
    LedgerEntry,
    encode_request,
    encode_response,
    idem_key,
    replayed_response,
    seal_values,
    target_text,
)
from safe_release._sealing import LEDGER
from safe_release._store import read_tx, write_tx
from safe_release.adapters import BatchTicket, ItemResult
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    MarketplaceTransportError,
    RecordTamperedError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
    from datetime import datetime

    import httpx
    from sqlalchemy import Connection

    from safe_release._effects import Inverse
    from safe_release._report import StepResult
    from safe_release._store import StoreCore
    from safe_release.adapters import BatchItem, MarketplaceAdapter, Operation

__all__ = ["Journal", "Ticket"]

VERIFY_SAMPLE = 100
SENDING, SUCCEEDED, FAILED, AMBIGUOUS = "sending", "succeeded", "failed", "ambiguous"
_IN_PLACE = (None, "kept", "failed")
"""Compensation states that leave a succeeded write in place (a replay skips it)."""


def _replayable(op: Operation, idempotency_key: str | None) -> bool:
    """Whether a write already in place is skipped rather than sent again.

    Irreversible and compensable writes (tracking, shipments, plans) always are. A
    reversible write (set a price) is skipped only under a key the caller chose:
    with the default key, sending the same value again is harmless and keeps the
    marketplace equal to what the job computed even if someone changed it since.
    """
    return idempotency_key is not None or op.side_effect is not SideEffect.REVERSIBLE


class _Write(NamedTuple):
    """One write to journal: its ledger target and idempotency key, what it sent, its inverse."""

    target: str
    key: str
    encoded: dict[str, Any]
    inverse: Inverse | None
    idempotency_key: str | None  # the caller's, if any


@dataclass(frozen=True)
class Ticket:
    """One call in flight: its ledger row (writes), or the recorded answer (a replay)."""

    entry_id: int | None = None
    operation: Operation | None = None
    replayed: httpx.Response | None = None
    observe: bool = True
    stored: dict[str, Any] | None = None
    """The row's sealed columns and ``mac`` as written by `Journal.begin`."""


class Journal:
    """The side-effect ledger of one release (rows of ``sr_ledger``).

    Bound adapters (``adapter.bind_journal(journal)``), or any adapter while the
    journal is `active_journal`, record each write here before sending it and
    record its outcome after. `compensate` undoes them newest-first; a journal
    built again with the same ``release_id`` (another process, after a crash)
    sees the same rows and finishes what is left.
    """

    def __init__(self, store: StoreCore, *, release_id: str, scope: str) -> None:
        self.store, self.release_id, self.scope = store, release_id, scope
        self.observer: Callable[[bool, float], None] | None = None
        self._quiet = threading.local()

    def __repr__(self) -> str:
        return f"<Journal release={self.release_id!r} scope={self.scope!r}>"

    # -- recording (called by MarketplaceAdapter.call / acall) ---------------------------

    def begin(
        self,
        adapter: MarketplaceAdapter,
        op: Operation,
        request: httpx.Request,
        *,
        path_params: Mapping[str, str],
        idempotency_key: str | None = None,
        inverse: Inverse | None = None,
    ) -> Ticket:
        """Journal a write as "sending" (or find it already in place); reads pass through."""
        if self.quiet:
            return Ticket(observe=False)
        if not op.is_write:
            return Ticket(operation=op)
        encoded = encode_request(request, path_params)
        write = _Write(
            target_text(adapter.ledger_target(op, request)),
            idem_key(idempotency_key, adapter.identity, op.name, encoded),
            encoded,
            inverse,
            idempotency_key,
        )
        with write_tx(self.store.engine, "journaling a marketplace write") as conn:
            entered = self._enter(conn, adapter, op, write, utc_now(self.store.clock))
        if isinstance(entered, LedgerEntry):
            return Ticket(replayed=replayed_response(entered.response, request), observe=False)
        entry_id, stored = entered
        return Ticket(entry_id, op, stored=stored)

    def finish(
        self,
        ticket: Ticket,
        *,
        response: httpx.Response | None = None,
        error: BaseException | None = None,
        latency: float = 0.0,
    ) -> None:
        """Record the outcome, then report it to `observer` (which may raise)."""
        if (
            ticket.entry_id is not None
            and ticket.operation is not None
            and ticket.stored is not None
        ):
            state, outcome = _outcome(ticket.operation, response, error)
            self._write(
                ticket.entry_id,
                ticket.stored,
                {**ticket.stored, "state": state, "response": json.dumps(outcome)},
            )
        if ticket.observe and self.observer is not None:
            self.observer(error is None, latency)

    def run(self, ticket: Ticket, send: Callable[[list[float]], httpx.Response]) -> httpx.Response:
        """Send (unless replayed) and record the outcome; ``send`` adds its latency."""
        if ticket.replayed is not None:
            return ticket.replayed
        timing = [0.0]
        try:
            response = send(timing)
        except BaseException as exc:
            self.finish(ticket, error=exc, latency=timing[0])
            raise
        self.finish(ticket, response=response, latency=timing[0])
        return response

    async def arun(
        self, ticket: Ticket, send: Callable[[list[float]], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        """`run` for the async surface (the ledger's database work stays synchronous)."""
        if ticket.replayed is not None:
            return ticket.replayed
        timing = [0.0]
        try:
            response = await send(timing)
        except BaseException as exc:
            self.finish(ticket, error=exc, latency=timing[0])
            raise
        self.finish(ticket, response=response, latency=timing[0])
        return response

    # -- batches (MarketplaceAdapter.call_items) ---------------------------------------

    def begin_items(
        self,
        adapter: MarketplaceAdapter,
        op: Operation,
        request: httpx.Request,
        items: Sequence[BatchItem],
        *,
        path_params: Mapping[str, str],
    ) -> BatchTicket:
        """Journal each item of a batch as "sending", in one transaction.

        Each item is a ledger entry of its own (target: the item's key; its own
        inverse), so compensation undoes exactly the items that applied. An item
        already in place under the same key (an earlier run of this release) is
        not sent again: it comes back in ``replayed``.
        """
        if self.quiet or not op.is_write:
            return BatchTicket(_Batch(op, [], observe=not self.quiet))
        whole = encode_request(request, path_params)
        replayed: dict[int, ItemResult] = {}
        rows: list[tuple[int, dict[str, Any]]] = []
        with write_tx(self.store.engine, "journaling a batch of marketplace writes") as conn:
            at = utc_now(self.store.clock)
            for index, item in enumerate(items):
                encoded = {**whole, "json": item.payload}
                write = _Write(
                    target_text(item.key),
                    idem_key(item.idempotency_key, adapter.identity, op.name, encoded),
                    encoded,
                    item.inverse,
                    item.idempotency_key,
                )
                entered = self._enter(conn, adapter, op, write, at)
                if isinstance(entered, LedgerEntry):
                    replayed[index] = _replayed_item(item.key, entered.response)
                else:
                    rows.append(entered)
        return BatchTicket(_Batch(op, rows), replayed)

    def finish_items(
        self,
        ticket: BatchTicket,
        results: Sequence[ItemResult] | None,
        *,
        error: BaseException | None = None,
        latency: float = 0.0,
    ) -> None:
        """Record each sent item's outcome in one transaction, then tell `observer`.

        With ``results``: an item that applied is "succeeded", one that failed is
        "failed" (nothing to undo). With ``error`` instead (the call raised, or its
        answer did not say which items applied): every item is recorded as the
        error says a single write would be; an answer received but unreadable
        leaves them "ambiguous", to be read back before anything is resent.
        """
        batch = ticket.handle
        if not isinstance(batch, _Batch):
            msg = "finish_items() takes the ticket begin_items() returned"
            raise InvalidArgumentError(msg)
        if batch.rows:
            if results is not None:
                outcomes = [_item_outcome(r) for r in results]
            else:
                outcome = (
                    (AMBIGUOUS, {"error": type(error).__name__, "detail": str(error)[:500]})
                    if isinstance(error, MarketplaceResponseError)
                    else _outcome(batch.operation, None, error)
                )
                outcomes = [outcome] * len(batch.rows)
            with write_tx(self.store.engine, "journaling a batch of marketplace writes") as conn:
                for (entry_id, stored), (state, recorded) in zip(
                    batch.rows, outcomes, strict=True
                ):
                    new = {**stored, "state": state, "response": json.dumps(recorded)}
                    new["mac"] = seal_values(self.store.signer, self.release_id, entry_id, new)
                    self.write_entry(conn, entry_id, stored, new)
        if batch.observe and self.observer is not None:
            self.observer(error is None, latency)

    def _enter(
        self,
        conn: Connection,
        adapter: MarketplaceAdapter,
        op: Operation,
        write: _Write,
        at: datetime,
    ) -> LedgerEntry | tuple[int, dict[str, Any]]:
        """The entry of this very write, to replay, or a new "sending" entry: (id, values).

        The write's latest entry is replayed when it succeeded under the same
        idempotency key and is still in place; otherwise a new entry is inserted
        and sealed.
        """
        if _replayable(op, write.idempotency_key):
            latest = self._latest(conn, adapter.identity, write.target)
            if (
                latest is not None
                and latest.idem_key == write.key
                and latest.state == SUCCEEDED
                and latest.comp_state in _IN_PLACE
            ):
                return latest
        table = self.store.tables.ledger
        stored: dict[str, Any] = {
            "scope": self.scope,
            "adapter": adapter.identity,
            "operation": op.name,
            "side_effect": op.side_effect.value,
            "target": write.target,
            "idem_key": write.key,
            "request": canonical_dumps(write.encoded),
            "inverse": (
                write.inverse.model_dump_json(by_alias=True) if write.inverse is not None else None
            ),
            "state": SENDING,
            "response": None,
            "comp_state": None,
            "comp_detail": None,
        }
        entry_id = int(
            conn.execute(
                insert(table)
                .values(release_id=self.release_id, created_at=at, updated_at=at, **stored)
                .returning(table.c.id)
            ).scalar_one()
        )
        stored["mac"] = seal_values(self.store.signer, self.release_id, entry_id, stored)
        conn.execute(update(table).where(table.c.id == entry_id).values(mac=stored["mac"]))
        return entry_id, stored

    def _latest(self, conn: Connection, identity: str, target: str) -> LedgerEntry | None:
        c = self.store.tables.ledger.c
        row = conn.execute(
            select(self.store.tables.ledger)
            .where(
                c.scope == self.scope, c.adapter == identity, c.target == target, c.state != FAILED
            )
            .order_by(c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        entry = LedgerEntry.from_row(row, self.store.signer)
        if entry.tampered is not None:  # a forged "already in place" must not skip a send
            raise RecordTamperedError(
                entry.tampered, table=LEDGER_TABLE, key=(entry.release_id, entry.id)
            )
        return entry

    def _write(self, entry_id: int, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Store ``new`` (sealed here) in place of ``old``, if the row still holds ``old``."""
        new = {**new, "mac": seal_values(self.store.signer, self.release_id, entry_id, new)}
        with write_tx(self.store.engine, "journaling a marketplace write") as conn:
            self.write_entry(conn, entry_id, old, new)

    def write_entry(
        self, conn: Connection, entry_id: int, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        """Compare-and-set one row on its seal: `RecordTamperedError` if it was altered."""
        table = self.store.tables.ledger
        changed = {k: v for k, v in new.items() if k in LEDGER.fields or k == "mac"}
        result = conn.execute(
            update(table)
            .where(
                table.c.id == entry_id,
                table.c.release_id == self.release_id,
                table.c.mac == old["mac"],
            )
            .values(updated_at=utc_now(self.store.clock), **changed)
        )
        if result.rowcount != 1:
            msg = (
                f"ledger entry {entry_id} of release {self.release_id} was changed by "
                "someone else while it was being recorded (its seal no longer matches); "
                "the change was not recorded. Find out who writes to sr_ledger"
            )
            raise RecordTamperedError(msg, table=LEDGER_TABLE, key=(self.release_id, entry_id))

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[LedgerEntry]:
        """The release's journaled writes, oldest first."""
        c = self.store.tables.ledger.c
        with read_tx(self.store.engine, "reading the side-effect ledger") as conn:
            rows = conn.execute(
                select(self.store.tables.ledger)
                .where(c.release_id == self.release_id)
                .order_by(c.id)
            )
            return [LedgerEntry.from_row(row, self.store.signer) for row in rows]

    def summary(self) -> dict[str, int]:
        """Counts by state (``succeeded``…) and by compensation state (``comp_done``…)."""
        counts: Counter[str] = Counter()
        for entry in self.entries():
            counts[entry.state] += 1
            if entry.comp_state is not None:
                counts["comp_" + entry.comp_state] += 1
        return dict(counts)

    # -- rollback -----------------------------------------------------------------------------

    @property
    def quiet(self) -> bool:
        """Whether this thread is compensating (its calls are neither journaled nor observed)."""
        return bool(getattr(self._quiet, "depth", 0))

    @contextlib.contextmanager
    def quieted(self) -> Iterator[None]:
        """Calls made inside (compensations, read-backs) are not journaled nor observed."""
        self._quiet.depth = getattr(self._quiet, "depth", 0) + 1
        try:
            yield
        finally:
            self._quiet.depth -= 1

    def compensate(
        self,
        adapters: Sequence[MarketplaceAdapter],
        on_step: Callable[[StepResult], None] | None = None,
    ) -> list[StepResult]:
        """Undo the release's writes newest-first, each at most once; resumable.

        Only the earliest write to each target is inverted (its inverse restores
        the value from before the release); later ones are marked superseded.
        Irreversible writes, and writes without an inverse, are reported as kept.
        A step that fails is reported, never raised; `StoreError` is raised only
        when the store is unreachable.
        """
        with self.quieted():
            return _compensate.compensate(self, adapters, on_step)

    def verify(
        self, adapters: Sequence[MarketplaceAdapter], *, sample: int | None = VERIFY_SAMPLE
    ) -> list[StepResult]:
        """Read compensated values back: one check per compensated write.

        Beyond ``sample`` writes (default 100; ``None``: all), an evenly spread
        sample is read, plus one summary check: reading back 5,000 prices would
        spend the read quota the restarted job needs for as long again.
        """
        with self.quieted():
            return _compensate.verify(self, adapters, sample=sample)

    def set_compensation(self, entry: LedgerEntry, state: str | None, detail: str) -> LedgerEntry:
        """Record a compensation state (before acting on it, and after); the entry now."""
        new = entry.changed(self.store.signer, comp_state=state, comp_detail=detail)
        with write_tx(self.store.engine, "journaling a compensation") as conn:
            self.write_entry(conn, entry.id, entry.stored, new.stored)
        return new


def _outcome(
    op: Operation, response: httpx.Response | None, error: BaseException | None
) -> tuple[str, dict[str, Any]]:
    if error is None and response is not None:
        return SUCCEEDED, encode_response(response)
    stored: dict[str, Any] = {"error": type(error).__name__, "detail": str(error)[:500]}
    if isinstance(error, MarketplaceHTTPError):
        stored["status"] = error.status
    if isinstance(error, AmbiguousWriteError) or (
        isinstance(error, MarketplaceTransportError) and op.resend_is_safe
    ):
        return AMBIGUOUS, stored
    if isinstance(error, MarketplaceError):
        return FAILED, stored
    return AMBIGUOUS, stored  # interrupted while sending: it may have landed


@dataclass(frozen=True)
class _Batch:
    """The ledger rows of one batch being sent (none: not journaled)."""

    operation: Operation
    rows: list[tuple[int, dict[str, Any]]]
    observe: bool = True


def _item_outcome(result: ItemResult) -> tuple[str, dict[str, Any]]:
    """The state and stored answer of one item of a batch."""
    try:
        body = json.loads(canonical_dumps(result.raw))
    except (TypeError, ValueError):
        body = None
    if len(json.dumps(body)) > MAX_RESPONSE_BYTES:
        body = None
    status = result.status if result.status is not None else (200 if result.ok else None)
    if result.ok:
        return SUCCEEDED, {"status": status, "body": body}
    return FAILED, {
        "error": result.code or "item failed",
        "detail": result.message[:500],
        "status": status,
        "body": body,
    }


def _replayed_item(key: str, stored: dict[str, Any] | None) -> ItemResult:
    """The recorded result of an item already in place."""
    stored = stored or {}
    status = stored.get("status")
    return ItemResult(
        key=key,
        ok=True,
        status=status if isinstance(status, int) else None,
        raw=stored.get("body"),
        replayed=True,
    )
