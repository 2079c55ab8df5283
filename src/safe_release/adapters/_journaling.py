"""What an adapter needs of the side-effect ledger: a journal to record its writes in.

The ledger's `Journal` implements `WriteJournal`. A release makes its journal the
active one for the thread or task (`set_active_journal`); an adapter records each
write in `active_journal()`, unless it was bound to a journal of its own. The
interface lives here, beside the adapters that call it, so that the ledger depends
on the adapters and not the other way round.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    import httpx

    from safe_release._effects import Inverse
    from safe_release.adapters._base import MarketplaceAdapter
    from safe_release.adapters._batch import BatchItem, BatchTicket, ItemResult
    from safe_release.adapters._operation import Operation

__all__ = ["WriteJournal", "active_journal", "reset_active_journal", "set_active_journal"]


class WriteJournal(Protocol):
    """Records an adapter's writes before and after sending them (the ledger's `Journal`)."""

    def begin(
        self,
        adapter: MarketplaceAdapter,
        op: Operation,
        request: httpx.Request,
        *,
        path_params: Mapping[str, str],
        idempotency_key: str | None = None,
        inverse: Inverse | None = None,
    ) -> Any:
        """Journal a write as being sent (or find it already in place); its ticket."""

    def run(self, ticket: Any, send: Callable[[list[float]], httpx.Response]) -> httpx.Response:
        """Send (unless the ticket holds a replayed answer) and record the outcome."""

    async def arun(
        self,
        ticket: Any,
        send: Callable[[list[float]], Awaitable[httpx.Response]],
    ) -> httpx.Response:
        """`run` for asyncio code."""

    def begin_items(
        self,
        adapter: MarketplaceAdapter,
        op: Operation,
        request: httpx.Request,
        items: Sequence[BatchItem],
        *,
        path_params: Mapping[str, str],
    ) -> BatchTicket:
        """Journal each item of a batch as being sent (or find it already in place).

        ``request`` is the batch with every item in it (its method, path and query
        are recorded with each item's payload).
        """

    def finish_items(
        self,
        ticket: BatchTicket,
        results: Sequence[ItemResult] | None,
        *,
        error: BaseException | None = None,
        latency: float = 0.0,
    ) -> None:
        """Record each sent item's result (``results``, in the order sent), or ``error``."""


_ACTIVE: ContextVar[WriteJournal | None] = ContextVar("safe_release_journal", default=None)


def active_journal() -> WriteJournal | None:
    """The journal writes are recorded in here, if a release is running."""
    return _ACTIVE.get()


def set_active_journal(journal: WriteJournal | None) -> Token[WriteJournal | None]:
    """Make ``journal`` the active one; `reset_active_journal` with the token undoes it."""
    return _ACTIVE.set(journal)


def reset_active_journal(token: Token[WriteJournal | None]) -> None:
    """Restore the journal active before `set_active_journal` returned ``token``."""
    _ACTIVE.reset(token)
