"""Compensation: undo a release's marketplace writes newest-first, each at most once.

Planning marks, in one transaction, what will never be sent (kept, superseded,
not applied); then each inverse is journaled ``sending`` before it is sent and
``done`` / ``failed`` / ``ambiguous`` after. An entry found ``sending`` or
``ambiguous`` (a crash, a lost answer) is read back with ``adapter.reconcile``
before anything is resent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from safe_release._effects import SideEffect
from safe_release._report import StepResult
from safe_release._store import write_tx
from safe_release.exceptions import AmbiguousWriteError, InvalidArgumentError, MarketplaceError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from safe_release._ledger._entries import LedgerEntry
    from safe_release._ledger._journal import Journal
    from safe_release.adapters import MarketplaceAdapter

__all__ = ["compensate", "verify"]

DONE, FAILED, AMBIGUOUS, SENDING = "done", "failed", "ambiguous", "sending"
KEPT, SUPERSEDED, NOT_APPLIED = "kept", "superseded", "not_applied"
_MAY_HAVE_APPLIED = ("succeeded", "sending", "ambiguous")
_FINAL_SILENT = (SUPERSEDED, NOT_APPLIED)


def compensate(
    journal: Journal,
    adapters: Sequence[MarketplaceAdapter],
    on_step: Callable[[StepResult], None] | None,
) -> list[StepResult]:
    """See `Journal.compensate`."""
    entries = _plan(journal)
    by_identity = {adapter.identity: adapter for adapter in adapters}
    steps: list[StepResult] = []
    for entry in reversed(entries):
        step = _step(journal, entry, by_identity.get(entry.adapter))
        if step is None:
            continue
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return steps


def _plan(journal: Journal) -> list[LedgerEntry]:
    """Mark writes that will never be sent; the entries as they now are, oldest first.

    A tampered entry is neither marked nor sent (`_step` reports it); it still
    counts as the earliest write to its target, so that a later write to the same
    target is not promoted to restore a value the tampered one may have captured.
    """
    entries = journal.entries()
    earliest: dict[tuple[str, str], int] = {}
    for entry in entries:
        if entry.state in _MAY_HAVE_APPLIED or entry.tampered is not None:
            earliest.setdefault((entry.adapter, entry.target), entry.id)
    marks = {
        entry.id: mark
        for entry in entries
        if entry.comp_state is None
        and entry.tampered is None
        and (mark := _mark(entry, earliest)) is not None
    }
    if not marks:
        return entries
    planned = []
    with write_tx(journal.store.engine, "planning a compensation") as conn:
        for entry in entries:
            if entry.id in marks:
                state, detail = marks[entry.id]
                new = entry.changed(journal.store.signer, comp_state=state, comp_detail=detail)
                journal.write_entry(conn, entry.id, entry.stored, new.stored)
                entry = new  # noqa: PLW2901 - the entry as now stored
            planned.append(entry)
    return planned


def _mark(entry: LedgerEntry, earliest: dict[tuple[str, str], int]) -> tuple[str, str] | None:
    """What happens to a pending entry without sending anything; None: it needs a send."""
    if entry.state not in _MAY_HAVE_APPLIED:
        return NOT_APPLIED, "the write failed: nothing to undo"
    if entry.side_effect == SideEffect.IRREVERSIBLE.value:
        return KEPT, f"{entry.operation} cannot be undone (irreversible); it was kept"
    if (
        entry.side_effect != SideEffect.COMPENSABLE.value
        and earliest[(entry.adapter, entry.target)] != entry.id
    ):
        return SUPERSEDED, "an earlier write to the same target restores its value"
    if entry.inverse is None:
        return KEPT, "no inverse was captured (no earlier value was known); it was kept"
    return None


def _step(
    journal: Journal, entry: LedgerEntry, adapter: MarketplaceAdapter | None
) -> StepResult | None:
    if entry.tampered is not None:
        return StepResult(
            kind="compensation",
            name=f"ledger entry {entry.id} ({entry.target})",
            ok=False,
            detail=f"RecordTamperedError: {entry.tampered}",
        )
    if entry.comp_state in _FINAL_SILENT:
        return None
    if entry.comp_state == KEPT:
        return StepResult(kind="kept", name=entry.name, ok=True, detail=entry.comp_detail or "")
    if entry.comp_state == DONE:
        return _result(entry, ok=True, detail=entry.comp_detail or "compensated")
    if adapter is None:
        return _result(
            entry,
            ok=False,
            detail=(
                f"no adapter for {entry.adapter} was given: pass it (adapters=[…]) to "
                "recover() or rollback() to compensate this write"
            ),
        )
    return _send(journal, entry, adapter)


def _send(journal: Journal, entry: LedgerEntry, adapter: MarketplaceAdapter) -> StepResult:
    """Reconcile an interrupted compensation, else journal "sending" and send the inverse."""
    inverse = entry.inverse
    assert inverse is not None  # noqa: S101 - planning kept the ones without
    try:
        op, request = adapter.inverse_request(inverse)
    except (MarketplaceError, InvalidArgumentError) as exc:
        return _record(journal, entry, FAILED, f"the inverse cannot be built: {exc}")
    if entry.comp_state in (SENDING, AMBIGUOUS):
        outcome = _reconcile(adapter, op, request)
        if outcome is None:
            return _record(
                journal,
                entry,
                AMBIGUOUS,
                (
                    "the compensation may or may not have been applied and the marketplace "
                    "could not confirm either way; it was not resent: check the value, then "
                    "run recover() again"
                ),
            )
        if outcome:
            return _record(journal, entry, DONE, "compensated (confirmed by reading back)")
    entry = journal.set_compensation(entry, SENDING, "sending the inverse")
    try:
        response = adapter.compensating_call(inverse)
    except AmbiguousWriteError as exc:
        return _record(journal, entry, AMBIGUOUS, str(exc))
    except MarketplaceError as exc:
        return _record(journal, entry, FAILED, f"{exc}; recover() will try again")
    return _record(journal, entry, DONE, f"compensated: HTTP {response.status_code}")


def _reconcile(adapter: MarketplaceAdapter, op: object, request: httpx.Request) -> bool | None:
    try:
        outcome = adapter.reconcile(op, request)  # type: ignore[arg-type]
    except MarketplaceError:
        return None
    if isinstance(outcome, httpx.Response):
        return True
    return outcome


def _record(journal: Journal, entry: LedgerEntry, state: str, detail: str) -> StepResult:
    journal.set_compensation(entry, state, detail)
    return _result(entry, ok=state == DONE, detail=detail)


def _result(entry: LedgerEntry, *, ok: bool, detail: str) -> StepResult:
    name = entry.inverse.description if entry.inverse and entry.inverse.description else entry.name
    return StepResult(kind="compensation", name=name, ok=ok, detail=detail)


def verify(
    journal: Journal, adapters: Sequence[MarketplaceAdapter], *, sample: int | None
) -> list[StepResult]:
    """See `Journal.verify`."""
    by_identity = {adapter.identity: adapter for adapter in adapters}
    done = [
        e
        for e in reversed(journal.entries())
        if e.comp_state == DONE and e.inverse and e.tampered is None
    ]
    picked = (
        done
        if sample is None or len(done) <= sample
        else [done[i * len(done) // sample] for i in range(sample)]
    )
    checks = [_read_back(entry, by_identity.get(entry.adapter)) for entry in picked]
    if len(picked) < len(done):
        checks.append(
            StepResult(
                kind="check",
                name="restored marketplace values (sample)",
                ok=all(c.ok for c in checks),
                detail=f"read back {len(picked)} of {len(done)} compensated writes, evenly "
                "spread, to spare the read quota the restarted job needs",
            )
        )
    return checks


def _read_back(entry: LedgerEntry, adapter: MarketplaceAdapter | None) -> StepResult:
    name = f"restored {entry.name}"
    if adapter is None:
        return StepResult(
            kind="check",
            name=name,
            ok=False,
            detail=f"no adapter for {entry.adapter} to read it back",
        )
    try:
        op, request = adapter.inverse_request(entry.inverse)  # type: ignore[arg-type]
    except (MarketplaceError, InvalidArgumentError):
        outcome = None
    else:
        outcome = _reconcile(adapter, op, request)
    detail = {
        True: "the value is back",
        False: "the value is not the restored one",
        None: "the marketplace could not be read back",
    }[outcome]
    return StepResult(kind="check", name=name, ok=outcome is True, detail=detail)
