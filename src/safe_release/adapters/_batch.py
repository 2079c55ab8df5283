"""Batch writes with a result per item: eBay's 207 Multi-Status, Walmart's feeds.

A batch call sends several independent changes in one request and gets an answer
per item: some apply, some fail. Each item is a `BatchItem` with the inverse that
undoes it alone, and comes back as an `ItemResult`. Inside a release each item is
its own ledger entry, so a rollback compensates exactly the items that applied,
and an item that failed is never sent again by resending the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safe_release._effects import Inverse
from safe_release.exceptions import InvalidArgumentError, MarketplaceResponseError

__all__ = ["BatchItem", "BatchTicket", "ItemResult", "check_items", "check_results"]

_KEY_MAX = 400


@dataclass(frozen=True)
class BatchItem:
    """One change inside a batch call.

    ``key`` names what it changes (``"offer 5005317010 price"``): the ledger
    target, so it must be the same text a single write of the same value uses.
    ``payload`` is the item's part of the request body; ``inverse`` the call that
    undoes this item alone; ``idempotency_key`` as for `MarketplaceAdapter.call`.
    """

    key: str
    payload: Any
    inverse: Inverse | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """What the marketplace answered for one item of a batch.

    ``status`` is the item's own status where the marketplace gives one (eBay's
    per-item ``statusCode``), ``code`` and ``message`` its error, ``raw`` the
    item's entry in the answer. ``replayed``: the item was already in place from
    an earlier run of the same release, and was not sent again.
    """

    key: str
    ok: bool
    status: int | None = None
    code: str | None = None
    message: str = ""
    raw: Any = None
    replayed: bool = False


@dataclass(frozen=True)
class BatchTicket:
    """A journaled batch: the journal's handle, and the items already in place.

    ``replayed`` maps the index of each item the journal found in place (by its
    position in the batch) to its recorded result; the others are to be sent.
    """

    handle: Any = None
    replayed: Mapping[int, ItemResult] = field(default_factory=dict)


def check_items(marketplace: str, operation: str, items: object) -> list[BatchItem]:
    """The batch as a list; an empty batch, a non-item or a repeated key is refused."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        msg = (
            f"{marketplace} {operation}: items must be a sequence of BatchItem, not {items!r:.60}"
        )
        raise InvalidArgumentError(msg)
    out = list(items)
    if not out:
        msg = f"{marketplace} {operation}: a batch needs at least one item; nothing was sent"
        raise InvalidArgumentError(msg)
    seen: set[str] = set()
    for index, item in enumerate(out):
        if not isinstance(item, BatchItem):
            msg = (
                f"{marketplace} {operation}: item {index} must be a BatchItem, "
                f"not {type(item).__name__}"
            )
            raise InvalidArgumentError(msg)
        if not isinstance(item.key, str) or not item.key or len(item.key) > _KEY_MAX:
            msg = (
                f"{marketplace} {operation}: item {index} needs a key of 1 to {_KEY_MAX} "
                "characters naming what it changes"
            )
            raise InvalidArgumentError(msg)
        if item.key in seen:
            msg = (
                f"{marketplace} {operation}: two items of one batch change {item.key!r}; "
                "send them in separate calls (the marketplace would reject or race them)"
            )
            raise InvalidArgumentError(msg)
        if item.inverse is not None and not isinstance(item.inverse, Inverse):
            msg = f"{marketplace} {operation}: item {index}'s inverse must be an Inverse"
            raise InvalidArgumentError(msg)
        seen.add(item.key)
    return out


def check_results(
    marketplace: str, operation: str, sent: Sequence[BatchItem], results: object
) -> list[ItemResult]:
    """``results`` checked against the items sent: one `ItemResult` each, same keys, in order.

    Anything else is `MarketplaceResponseError`: the answer cannot say which
    items applied, so none of them may be taken as failed (or resent).
    """
    if isinstance(results, (str, bytes)) or not isinstance(results, Sequence):
        got: list[Any] = []
    else:
        got = list(results)
    keys = [r.key if isinstance(r, ItemResult) else None for r in got]
    if keys != [item.key for item in sent]:
        msg = (
            f"{marketplace} {operation}: the answer does not give one result per item sent "
            f"({len(got)} result(s) for {len(sent)} item(s)); which items applied is unknown, "
            "so none is resent: check the marketplace before sending them again"
        )
        raise MarketplaceResponseError(msg, marketplace=marketplace, operation=operation)
    return got
