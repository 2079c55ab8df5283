"""`Inverse`: the call that puts a marketplace write back, captured before sending it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["Inverse"]


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
