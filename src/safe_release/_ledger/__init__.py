"""The side-effect ledger: marketplace writes journaled, replayed and compensated.

`Journal` records every write a release's adapters send (before and after);
`Journal.compensate` undoes them newest-first through the same paced adapters,
each at most once across retries and crashes. `Inverse` is the undo call an
adapter captures with each write.
"""

from __future__ import annotations

from safe_release._effects import Inverse
from safe_release._ledger._entries import REPLAYED_HEADER, LedgerEntry
from safe_release._ledger._journal import Journal, Ticket

__all__ = [
    "REPLAYED_HEADER",
    "Inverse",
    "Journal",
    "LedgerEntry",
    "Ticket",
]
