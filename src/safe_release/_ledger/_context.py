"""The journal of the release running in this context (thread or task)."""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safe_release._ledger._journal import Journal

__all__ = ["active_journal", "reset_active_journal", "set_active_journal"]

_ACTIVE: ContextVar[Journal | None] = ContextVar("safe_release_journal", default=None)


def active_journal() -> Journal | None:
    """The journal writes are recorded in here, if a release is running."""
    return _ACTIVE.get()


def set_active_journal(journal: Journal | None) -> Token[Journal | None]:
    """Make ``journal`` the active one; `reset_active_journal` with the token undoes it."""
    return _ACTIVE.set(journal)


def reset_active_journal(token: Token[Journal | None]) -> None:
    """Restore the journal active before `set_active_journal` returned ``token``."""
    _ACTIVE.reset(token)
