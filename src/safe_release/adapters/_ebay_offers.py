"""eBay offers: reads, price and quantity revisions in bulk, and 250 revisions a day.

`OfferCalls` is the part of `safe_release.adapters.ebay.EbayAdapter` that reads
offers and revises their prices and quantities with ``bulkUpdatePriceQuantity``
(at most 25 offers a call, one `BatchItem` with its own inverse per offer). Each
revision first takes one of the offer's 250 revisions of the day from the
limiter, and gives it back when it was not used. Compensation, the ledger
target and the reconciling of a lost revision of one offer live here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release._effects import Inverse
from safe_release.adapters import _ebay_wire as wire
from safe_release.adapters._base import MarketplaceAdapter, response_json
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.adapters._ebay_ops import REVISIONS
from safe_release.adapters._ebay_wire import (
    BULK,
    MAX_BULK,
    bulk_body,
    bulk_results,
    failed_items,
    offer_state,
    offers_in,
)
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
    QuotaExhaustedError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from safe_release.adapters._operation import Operation
    from safe_release.adapters._quota import Spend

__all__ = ["OfferCalls", "OfferChange", "OfferUpdate"]

MAX_OFFERS_LIMIT = 200

_Chunk = list[tuple[int, BatchItem]]


@dataclass(frozen=True)
class OfferUpdate:
    """One offer's new price and/or available quantity (at least one of them).

    ``price`` is a positive `Decimal` (a float is refused: it cannot say 19.99
    exactly); ``currency`` defaults to the offer's own. ``quantity`` is a whole
    number >= 0. Bad values raise `InvalidArgumentError`.
    """

    offer_id: str
    price: Decimal | None = None
    quantity: int | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.offer_id, str) or not self.offer_id or " " in self.offer_id:
            msg = f"offer_id must be an eBay offer id (a string), not {self.offer_id!r}"
            raise InvalidArgumentError(msg)
        if self.price is None and self.quantity is None:
            msg = f"offer {self.offer_id}: give a price, a quantity or both"
            raise InvalidArgumentError(msg)
        if self.price is not None:
            wire.money(self.price, self.currency or "USD", what=f"offer {self.offer_id}: price")
        q = self.quantity
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or q < 0):
            msg = f"offer {self.offer_id}: quantity must be a whole number >= 0, not {q!r}"
            raise InvalidArgumentError(msg)

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> OfferUpdate:
        """An update from a mapping of its fields (or of eBay's ``OfferPriceQuantity``).

        Keys: ``offer_id``/``offerId``, ``price`` (a Decimal, or an eBay Amount),
        ``currency``, ``quantity``/``availableQuantity``.
        """
        if not isinstance(value, Mapping):
            msg = f"a change must be an OfferUpdate or a mapping, not {type(value).__name__}"
            raise InvalidArgumentError(msg)
        price, currency = value.get("price"), value.get("currency")
        if isinstance(price, Mapping):
            price, currency = wire.parse_money(price, "price", BULK)
        return cls(
            offer_id=value.get("offer_id", value.get("offerId")),
            price=price,
            quantity=value.get("quantity", value.get("availableQuantity")),
            currency=currency,
        )

    @property
    def fields(self) -> tuple[str, ...]:
        """``("price",)``, ``("quantity",)`` or both: what the update revises."""
        return tuple(
            f for f, v in (("price", self.price), ("quantity", self.quantity)) if v is not None
        )

    @property
    def key(self) -> str:
        """The ledger target: ``offer <id> <fields>``."""
        return f"offer {self.offer_id} {','.join(self.fields)}"

    def matches(self, state: Mapping[str, Any]) -> bool:
        """Whether an offer's state (`offer_state`) holds these values."""
        if self.price is not None and (
            state["price"] != self.price
            or (self.currency is not None and state["currency"] != self.currency)
        ):
            return False
        return self.quantity is None or state["quantity"] == self.quantity

    def entry(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The ``requests[]`` entry that sets these values (currency: the offer's own)."""
        offer: dict[str, Any] = {"offerId": self.offer_id}
        if self.price is not None:
            offer["price"] = wire.money(self.price, self.currency or state["currency"] or "USD")
        if self.quantity is not None:
            offer["availableQuantity"] = self.quantity
        return {"offers": [offer]}

    def item(self, state: Mapping[str, Any]) -> BatchItem:
        """This update as a batch item, with the inverse restoring ``state``'s values."""
        old = OfferUpdate.undo(self, state)
        inverse = None
        if old is not None:
            inverse = Inverse(
                operation=BULK,
                json={"requests": [old.entry(state)]},
                description=f"ebay {' and '.join(old.fields)} of offer {self.offer_id}",
            )
        return BatchItem(key=self.key, payload=self.entry(state), inverse=inverse)

    @staticmethod
    def undo(update: OfferUpdate, state: Mapping[str, Any]) -> OfferUpdate | None:
        """The update that puts ``state``'s values of ``update``'s fields back, if known."""
        price = state["price"] if update.price is not None else None
        quantity = state["quantity"] if update.quantity is not None else None
        if price is None and quantity is None:
            return None
        currency = state["currency"] if price is not None else None
        return OfferUpdate(update.offer_id, price=price, quantity=quantity, currency=currency)


class OfferChange(BaseModel):
    """A price or quantity revision of one offer, with the value it replaced."""

    model_config = ConfigDict(frozen=True)

    offer_id: str
    sku: str
    field: Literal["price", "quantity"]
    old: Decimal | int | None
    new: Decimal | int


class OfferCalls(MarketplaceAdapter):
    """Offer reads and revisions of `EbayAdapter` (a base of it, not used alone)."""

    marketplace_id: str

    # -- reads ---------------------------------------------------------------------------

    def get_inventory_item(self, sku: str) -> dict[str, Any]:
        """The inventory item ``sku`` (product, condition, availability)."""
        return wire.read(self, "getInventoryItem", path_params={"sku": sku})

    def get_offer(self, offer_id: str) -> dict[str, Any]:
        """One offer (``pricingSummary.price``, ``availableQuantity``, ``status`` …)."""
        return wire.read(self, "getOffer", path_params={"offerId": offer_id})

    async def aget_offer(self, offer_id: str) -> dict[str, Any]:
        """`get_offer`, awaited."""
        return await wire.aread(self, "getOffer", path_params={"offerId": offer_id})

    def get_offers(self, sku: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Every offer of ``sku`` (all pages; ``offset`` is a page index here)."""
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_OFFERS_LIMIT
        ):
            msg = f"get_offers: limit must be a whole number from 1 to 200, not {limit!r}"
            raise InvalidArgumentError(msg)
        out: list[dict[str, Any]] = []
        page = 0
        while True:
            body = wire.read(
                self, "getOffers", params={"sku": sku, "limit": limit, "offset": page}
            )
            offers = wire.records("getOffers", body, "offers")
            out.extend(offers)
            total = body.get("total")
            if not offers or body.get("next") is None or not isinstance(total, int):
                return out
            if len(out) >= total:
                return out
            page += 1

    # -- revisions -----------------------------------------------------------------------

    def bulk_update_price_quantity(
        self, changes: Sequence[OfferUpdate | Mapping[str, Any]]
    ) -> list[ItemResult]:
        """Set the price and/or quantity of offers; one `ItemResult` per change, in order.

        The current values are read first (each change's inverse). Changes go in
        calls of at most 25; an offer whose 250 revisions of the day are spent is
        refused here (``code="REVISION_LIMIT"``) and not sent.
        """
        return self._bulk(_updates(changes))[0]

    async def abulk_update_price_quantity(
        self, changes: Sequence[OfferUpdate | Mapping[str, Any]]
    ) -> list[ItemResult]:
        """`bulk_update_price_quantity`, awaited."""
        return (await self._abulk(_updates(changes)))[0]

    def update_price(
        self,
        price: Decimal,
        *,
        offer_id: str | None = None,
        sku: str | None = None,
        currency: str | None = None,
    ) -> OfferChange:
        """Set one offer's price (by ``offer_id``, or ``sku``'s one fixed-price offer)."""
        target = offer_id if offer_id is not None else self._offer_of(sku)
        update = OfferUpdate(offer_id=target, price=price, currency=currency)
        (result,), states = self._bulk([update])
        return self._change(update, result, states[target], "price")

    async def aupdate_price(
        self, price: Decimal, *, offer_id: str, currency: str | None = None
    ) -> OfferChange:
        """`update_price` by offer id, awaited."""
        update = OfferUpdate(offer_id=offer_id, price=price, currency=currency)
        (result,), states = await self._abulk([update])
        return self._change(update, result, states[offer_id], "price")

    def update_quantity(
        self, quantity: int, *, offer_id: str | None = None, sku: str | None = None
    ) -> OfferChange:
        """Set one offer's available quantity (by ``offer_id`` or ``sku``)."""
        target = offer_id if offer_id is not None else self._offer_of(sku)
        update = OfferUpdate(offer_id=target, quantity=quantity)
        (result,), states = self._bulk([update])
        return self._change(update, result, states[target], "quantity")

    def _bulk(
        self, updates: list[OfferUpdate]
    ) -> tuple[list[ItemResult], dict[str, dict[str, Any]]]:
        states = {u.offer_id: offer_state(self.get_offer(u.offer_id)) for u in updates}
        results, queue = self._admit_revisions(updates, states)
        for chunk in _chunks(queue):
            results.update(self._sent(chunk, self._send_bulk))
        return [results[i] for i in range(len(updates))], states

    async def _abulk(
        self, updates: list[OfferUpdate]
    ) -> tuple[list[ItemResult], dict[str, dict[str, Any]]]:
        states = {u.offer_id: offer_state(await self.aget_offer(u.offer_id)) for u in updates}
        results, queue = self._admit_revisions(updates, states)
        for chunk in _chunks(queue):
            items = [item for _, item in chunk]
            try:
                got = await self.acall_items(BULK, items, body=bulk_body, results=self._results)
            except BaseException:
                self._give_back([_offer_of(item) for item in items])
                raise
            results.update(self._settled(chunk, got))
        return [results[i] for i in range(len(updates))], states

    def _offer_of(self, sku: str | None) -> str:
        if not isinstance(sku, str) or not sku:
            msg = "give offer_id= or sku= (a non-empty string)"
            raise InvalidArgumentError(msg)
        offers = [
            o
            for o in self.get_offers(sku)
            if o.get("format", "FIXED_PRICE") == "FIXED_PRICE"
            and o.get("marketplaceId", self.marketplace_id) == self.marketplace_id
        ]
        if len(offers) != 1 or not isinstance(offers[0].get("offerId"), str):
            msg = (
                f"ebay: SKU {sku!r} has {len(offers)} fixed-price offer(s) in "
                f"{self.marketplace_id}, not one; pass offer_id= instead"
            )
            raise InvalidArgumentError(msg)
        return str(offers[0]["offerId"])

    def _change(
        self, update: OfferUpdate, result: ItemResult, state: dict[str, Any], field: str
    ) -> OfferChange:
        if not result.ok:
            msg = f"ebay {BULK} refused offer {update.offer_id}: {result.code}: {result.message}"
            if result.code == "REVISION_LIMIT":
                raise self._revision_error(update.offer_id, msg)
            raise MarketplaceHTTPError(
                msg,
                marketplace="ebay",
                operation=BULK,
                status=result.status or 400,
                code=result.code,
            )
        old = state[field]
        new = update.price if field == "price" else update.quantity
        assert new is not None  # noqa: S101 - the update sets this field
        return OfferChange(
            offer_id=update.offer_id,
            sku=state["sku"],
            field="price" if field == "price" else "quantity",
            old=old,
            new=new,
        )

    def _sent(
        self, chunk: _Chunk, send: Callable[[list[BatchItem]], list[ItemResult]]
    ) -> dict[int, ItemResult]:
        items = [item for _, item in chunk]
        try:
            got = send(items)
        except BaseException:
            self._give_back([_offer_of(item) for item in items])
            raise
        return self._settled(chunk, got)

    def _send_bulk(self, items: list[BatchItem]) -> list[ItemResult]:
        return self.call_items(BULK, items, body=bulk_body, results=self._results)

    def _results(self, response: httpx.Response, sent: Sequence[BatchItem]) -> list[ItemResult]:
        body = response_json("ebay", self.operation(BULK), response)
        return bulk_results(response.status_code, body, sent)

    # -- 250 revisions a day per offer ---------------------------------------------------

    def _revision_key(self, offer_id: str) -> str:
        return f"ebay|revisions|{offer_id}|{self.seller}|{self.app}"

    def _admit_revisions(
        self, updates: list[OfferUpdate], states: dict[str, dict[str, Any]]
    ) -> tuple[dict[int, ItemResult], _Chunk]:
        """Results for refused changes, and the items to send (each took one revision)."""
        results: dict[int, ItemResult] = {}
        queue: _Chunk = []
        for index, update in enumerate(updates):
            item = update.item(states[update.offer_id])
            spent = self._spend_revision(update.offer_id)
            if spent.granted:
                queue.append((index, item))
                continue
            results[index] = ItemResult(
                key=item.key,
                ok=False,
                code="REVISION_LIMIT",
                message=_revision_text(update.offer_id, spent),
            )
        return results, queue

    def _take_revisions(self, offer_ids: list[str]) -> list[str]:
        """One revision of each offer, or none and `QuotaExhaustedError`."""
        taken: list[str] = []
        for offer_id in offer_ids:
            spent = self._spend_revision(offer_id)
            if not spent.granted:
                self._give_back(taken)
                raise self._revision_error(offer_id, _revision_text(offer_id, spent))
            taken.append(offer_id)
        return taken

    def _spend_revision(self, offer_id: str) -> Spend:
        now = self.clock.time()
        reset = self.daily_reset(REVISIONS, now)
        return self.limiter.spend(self._revision_key(offer_id), REVISIONS, reset, now)

    def _give_back(self, offer_ids: Sequence[str]) -> None:
        now = self.clock.time()
        for offer_id in offer_ids:
            self.limiter.give_back(self._revision_key(offer_id), REVISIONS, 1, now)

    def _settled(self, chunk: _Chunk, got: list[ItemResult]) -> dict[int, ItemResult]:
        """Results by index; revisions not used (failed or replayed items) are given back."""
        pairs = list(zip(chunk, got, strict=True))
        self._give_back([_offer_of(item) for (_, item), r in pairs if not r.ok or r.replayed])
        return {index: result for (index, _), result in pairs}

    def _revision_error(self, offer_id: str, message: str) -> QuotaExhaustedError:
        now = self.clock.time()
        state = self.limiter.budget(
            self._revision_key(offer_id), REVISIONS, self.daily_reset(REVISIONS, now), now
        )
        return QuotaExhaustedError(
            message,
            marketplace="ebay",
            operation=BULK,
            quota=self._revision_key(offer_id),
            reset_at=datetime.fromtimestamp(state.reset_at, timezone.utc),
            retry_after=max(state.reset_at - now, 0.0),
        )

    # -- ledger, compensation, reconciling -------------------------------------------------

    def ledger_target(self, op: Operation, request: httpx.Request) -> str:
        """A price/quantity revision of one offer: ``offer <id> <fields>`` (as its batch item)."""
        if op.name != BULK:
            return super().ledger_target(op, request)
        try:
            offers = offers_in(json.loads(request.content))
        except (ValueError, MarketplaceError):
            offers = []
        if len(offers) != 1:
            return super().ledger_target(op, request)
        try:
            return OfferUpdate.of(offers[0]).key
        except InvalidArgumentError:
            return super().ledger_target(op, request)

    def compensating_call(self, inverse: Inverse) -> httpx.Response:
        """Send ``inverse``; a bulk revision first takes the offers' revisions of the day.

        Offers whose revisions are spent raise `QuotaExhaustedError` (nothing is
        sent); an item eBay refuses raises `MarketplaceHTTPError`. Either way the
        step is failed, not done, and ``recover()`` tries it again.
        """
        if inverse.operation != BULK:
            return super().compensating_call(inverse)
        taken = self._take_revisions(_offer_ids(inverse.body))
        try:
            response = super().compensating_call(inverse)
        except AmbiguousWriteError:
            raise  # it may have applied: the revision stays spent
        except BaseException:
            self._give_back(taken)
            raise
        failed = failed_items(response)
        if failed:
            self._give_back([offer_id for offer_id, *_ in failed])
            _, status, code, text = failed[0]
            msg = f"ebay {BULK} refused the compensating revision: {code}: {text}"
            raise MarketplaceHTTPError(
                msg, marketplace="ebay", operation=BULK, status=status, code=code
            )
        return response

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """A lost revision applied if every offer now holds its values (read back)."""
        if op.name != BULK:
            return super().reconcile(op, request)
        try:
            wanted = _wanted(request)
            for update in wanted:
                if not update.matches(offer_state(self.get_offer(update.offer_id))):
                    return False
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous
        return _revised(request, wanted)

    async def areconcile(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        """`reconcile`, reading the offers back with awaited calls."""
        if op.name != BULK:
            return await super().areconcile(op, request)
        try:
            wanted = _wanted(request)
            for update in wanted:
                if not update.matches(offer_state(await self.aget_offer(update.offer_id))):
                    return False
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None
        return _revised(request, wanted)


def _wanted(request: httpx.Request) -> list[OfferUpdate]:
    """The updates a bulk request sent."""
    return [OfferUpdate.of(o) for o in offers_in(json.loads(request.content))]


def _revised(request: httpx.Request, wanted: list[OfferUpdate]) -> httpx.Response | bool:
    """The answer of a bulk request whose offers all hold their new values (False: none sent)."""
    if not wanted:
        return False
    answer = {"responses": [{"statusCode": 200, "offerId": u.offer_id} for u in wanted]}
    return httpx.Response(200, json=answer, request=request, headers={RECONCILED_HEADER: "1"})


def _offer_of(item: BatchItem) -> str:
    """The offer id in a batch item's key (``offer <id> <fields>``)."""
    return item.key.split(" ")[1]


def _offer_ids(body: object) -> list[str]:
    try:
        offers = offers_in(body)
    except MarketplaceError:
        return []  # sent as it is: eBay judges it
    return [o["offerId"] for o in offers if isinstance(o.get("offerId"), str)]


def _revision_text(offer_id: str, spent: Spend) -> str:
    reset = datetime.fromtimestamp(spent.reset_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"offer {offer_id} was revised {spent.used} times today, eBay's limit is "
        f"{spent.limit}: not sent; the day resets at {reset}"
    )


def _updates(changes: object) -> list[OfferUpdate]:
    if isinstance(changes, (str, bytes, dict)) or not hasattr(changes, "__iter__"):
        msg = "changes must be a sequence of OfferUpdate (or mappings of its fields)"
        raise InvalidArgumentError(msg)
    updates = [c if isinstance(c, OfferUpdate) else OfferUpdate.of(c) for c in changes]
    if not updates:
        msg = "bulk_update_price_quantity needs at least one change; nothing was sent"
        raise InvalidArgumentError(msg)
    ids = [u.offer_id for u in updates]
    if len(set(ids)) != len(ids):
        msg = "each offer may appear once per bulk update: merge its price and quantity"
        raise InvalidArgumentError(msg)
    return updates


def _chunks(queue: _Chunk) -> Iterator[_Chunk]:
    for start in range(0, len(queue), MAX_BULK):
        yield queue[start : start + MAX_BULK]
