"""``resign_release``: seal a release's records again once a person has checked them.

Records written before records were sealed (safe_release before revision 0005
of its store) carry no seal; rollback and recover refuse them. After a person
has looked at such a release (``safe-release releases show ID``) and found it
as it should be, this seals its rows with the current signing key. A row whose
seal does not verify (altered after it was sealed, or sealed with a key the
store no longer has) is re-sealed only with ``force=True``: that is a human
decision that the row, as it now is, is to be trusted.

A checkpoint's state keeps its own signed manifest: re-sealing the record does
not make an altered state restorable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from safe_release._release._release_rows import event
from safe_release._sealing import CHECKPOINTS, LEDGER, RELEASES, SealedTable
from safe_release._store import write_tx
from safe_release.exceptions import RecordTamperedError, ReleaseNotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Column, Connection, Table

    from safe_release._store import StoreCore

__all__ = ["ResignResult", "resign_release"]


class ResignResult(dict[str, int]):
    """Rows sealed per table (``sr_release``, ``sr_checkpoint``, ``sr_ledger``)."""

    @property
    def total(self) -> int:
        """Rows sealed in all."""
        return sum(self.values())


def resign_release(store: StoreCore, release_id: str, *, force: bool = False) -> ResignResult:
    """Seal the unsealed records of one release (and, with ``force``, altered ones).

    All of the release's rows are sealed in one transaction, or none:
    without ``force``, a row whose seal does not verify raises
    `RecordTamperedError` before anything is written. Returns how many rows of
    each table were sealed (rows that already verify are left as they are).
    """
    t = store.tables
    sets: list[tuple[SealedTable, Table, Column[Any], Any]] = [
        (RELEASES, t.release, t.release.c.id, t.release.c.id),
        (CHECKPOINTS, t.checkpoint, t.checkpoint.c.release_id, t.checkpoint.c.seq),
        (LEDGER, t.ledger, t.ledger.c.release_id, t.ledger.c.id),
    ]
    result = ResignResult()
    with write_tx(store.engine, "sealing a release's records") as conn:
        found = False
        for sealed, table, owner, order in sets:
            result[sealed.table], seen = _seal_rows(
                conn, store, release_id, force=force, table=(sealed, table, owner, order)
            )
            found = found or seen
        if not found:
            msg = (
                f"no release {release_id!r} is recorded in this store; list them with "
                "'safe-release releases list'"
            )
            raise ReleaseNotFoundError(msg, release_id=release_id)
        event(conn, store, release_id, "resealed", {"rows": dict(result), "force": force})
    return result


def _seal_rows(
    conn: Connection,
    store: StoreCore,
    release_id: str,
    *,
    force: bool,
    table: tuple[SealedTable, Table, Column[Any], Any],
) -> tuple[int, bool]:
    sealed, t, owner, order = table
    rows = conn.execute(
        select(t).where(owner == release_id).order_by(order).with_for_update()
    ).all()
    count = 0
    for row in rows:
        key = (release_id,) if sealed is RELEASES else (release_id, row._mapping[order.name])  # noqa: SLF001
        values = sealed.values(row)
        if values["mac"] is not None and sealed.matches(store.signer, key, values, values["mac"]):
            continue
        if values["mac"] is not None and not force:
            msg = (
                f"a {sealed.table} row of release {release_id} ({key[-1]}) was altered "
                "after it was sealed, or sealed with another key; nothing was re-sealed. "
                "Restore it from a backup, or check it and run again with --force "
                "(force=True)"
            )
            raise RecordTamperedError(msg, table=sealed.table, key=key)
        mac = sealed.seal(store.signer, key, values)
        where = (
            [owner == release_id]
            if sealed is RELEASES
            else [owner == release_id, order == key[-1]]
        )
        conn.execute(update(t).where(*where).values(mac=mac))
        count += 1
    return count, bool(rows)
