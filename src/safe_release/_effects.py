"""The vocabulary of marketplace side effects, shared by the adapters and the ledger.

`SideEffect`: what a call changes at the marketplace and whether a rollback can undo
it; `Inverse`: the call that puts a write back, captured before sending it. On the
ground floor: the adapters declare and send them, the ledger records and replays them.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["Inverse", "SideEffect"]


class SideEffect(str, Enum):
    """What a call changes at the marketplace, and whether a rollback can undo it."""

    IDEMPOTENT = "idempotent"
    """Reads, and writes that are safe to repeat (a full replace of the same value)."""
    REVERSIBLE = "reversible"
    """An inverse call exists (set the old price back)."""
    COMPENSABLE = "compensable"
    """Another call undoes it (cancel the inbound plan that was created)."""
    IRREVERSIBLE = "irreversible"
    """Cannot be undone (confirm shipment, upload tracking, cancel an order)."""


class Inverse(BaseModel):
    """The call that undoes one write: the same adapter, another (or the same) operation.

    For a price change it is the same ``patchListingsItem`` with the old price;
    for a created plan, the cancel call. ``description`` names it in reports.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    operation: str
    path_params: dict[str, str] = {}
    params: dict[str, JsonValue] = {}
    body: JsonValue = Field(default=None, alias="json")
    """The request body (``json=`` when building one, like `MarketplaceAdapter.call`)."""
    description: str = ""
