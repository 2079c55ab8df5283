"""Record seals: a MAC over every stored row that decides what a rollback does.

A rollback acts on rows of the SDK's own tables: the release (its scope and
status), its checkpoints (what to restore, and whether that is still to do) and
its ledger (which marketplace writes to undo, with which inverse). Anyone who
can write those tables could otherwise decide what a rollback restores or
sends. Each such row therefore carries a ``mac`` column: HMAC-SHA256, under a
key derived from the store's signing key (`Signer.mac`), over a canonical
encoding of the table name, the row's identity (release id and sequence or
entry id) and every field a rollback reads. A row edited by hand, swapped into
another release, or moved to another sequence number no longer verifies, and
nothing is restored or sent from it.

Timestamps are not sealed: they feed reports (time to restore), not actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safe_release._json import canonical_dumps
from safe_release.exceptions import RecordTamperedError, UnsignedRecordError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from safe_release._signing import Signer

__all__ = ["CHECKPOINTS", "LEDGER", "RELEASES", "RESIGN_COMMAND", "SealedTable"]

SEAL_VERSION = 1
RESIGN_COMMAND = "safe-release releases resign"


@dataclass(frozen=True)
class SealedTable:
    """One table whose rows are sealed: its name and the sealed columns, in order."""

    table: str
    fields: tuple[str, ...]

    def _message(self, key: Sequence[object], values: Mapping[str, Any]) -> bytes:
        body = [
            SEAL_VERSION,
            self.table,
            list(key),
            [[name, values[name]] for name in self.fields],
        ]
        return canonical_dumps(body).encode("utf-8", "surrogatepass")

    def seal(self, signer: Signer, key: Sequence[object], values: Mapping[str, Any]) -> str:
        """The MAC of one row: ``values`` must hold every sealed column (None allowed)."""
        return signer.mac(self._message(key, values))

    def matches(
        self, signer: Signer, key: Sequence[object], values: Mapping[str, Any], mac: object
    ) -> bool:
        """Whether ``mac`` is the seal of the row as it is."""
        return signer.mac_matches(self._message(key, values), mac)

    def check(
        self,
        signer: Signer,
        key: Sequence[object],
        values: Mapping[str, Any],
        *,
        what: str,
        release_id: str,
    ) -> None:
        """Raise `RecordTamperedError` (`UnsignedRecordError` if unsealed) unless it verifies.

        ``values`` holds the sealed columns and ``mac``.
        """
        mac = values.get("mac")
        if mac is None:
            msg = (
                f"{what} was recorded before records were sealed, so nothing proves it was "
                f"not altered; nothing was sent or restored from it. Check the release's "
                f"records ('safe-release releases show {release_id}'), then seal them with "
                f"'{RESIGN_COMMAND} {release_id}' and run the rollback again"
            )
            raise UnsignedRecordError(msg, table=self.table, key=tuple(key))
        if not self.matches(signer, key, values, mac):
            msg = (
                f"{what} does not verify with the store's signing key: it was altered, "
                f"copied from another release, or sealed with another key; nothing was sent "
                f"or restored from it. Find out who changed table {self.table} and restore "
                "the row from a backup (or, once a person has checked it, re-seal it with "
                f"'{RESIGN_COMMAND} {release_id} --force'); then run the rollback again"
            )
            raise RecordTamperedError(msg, table=self.table, key=tuple(key))

    def values(self, row: Any) -> dict[str, Any]:
        """The sealed columns and ``mac`` of a selected row."""
        mapping = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
        return {name: mapping[name] for name in (*self.fields, "mac")}


RELEASES = SealedTable(
    "sr_release",
    ("name", "scope", "status", "verification", "on_failure", "owner", "error", "report"),
)
"""``sr_release`` rows, keyed by ``(id,)``."""

CHECKPOINTS = SealedTable(
    "sr_checkpoint", ("scope", "kind", "name", "state", "manifest", "status", "detail")
)
"""``sr_checkpoint`` rows, keyed by ``(release_id, seq)``."""

LEDGER = SealedTable(
    "sr_ledger",
    (
        "scope",
        "adapter",
        "operation",
        "side_effect",
        "target",
        "idem_key",
        "request",
        "inverse",
        "state",
        "response",
        "comp_state",
        "comp_detail",
    ),
)
"""``sr_ledger`` rows, keyed by ``(release_id, id)``."""
