"""The side-effect ledger: marketplace writes journaled, replayed and compensated.

`Journal` records every write a release's adapters send (before and after);
`Journal.compensate` undoes them newest-first through the same paced adapters,
each at most once across retries and crashes. `Inverse` is the undo call an
adapter captures with each write.
"""

from __future__ import annotations

from safe_release._ledger._context import (
    active_journal,
    reset_active_journal,
    set_active_journal,
)
from safe_release._ledger._inverse import Inverse
from safe_release._ledger._journal import Journal, Ticket
from safe_release._ledger._records import REPLAYED_HEADER, LedgerEntry

__all__ = [
    "REPLAYED_HEADER",
    "Inverse",
    "Journal",
    "LedgerEntry",
    "Ticket",
    "active_journal",
    "reset_active_journal",
    "set_active_journal",
]
