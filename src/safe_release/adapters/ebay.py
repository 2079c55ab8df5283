"""The eBay Sell APIs adapter (Inventory, Fulfillment, Analytics).

    from safe_release.adapters.ebay import EbayAdapter

    ebay = EbayAdapter(user_id="demo_seller", client_id="DemoApp-PRD-0123456789-abcdef01",
                       client_secret=os.environ["EBAY_CLIENT_SECRET"],
                       refresh_token=os.environ["EBAY_REFRESH_TOKEN"])
    change = ebay.update_price(Decimal("19.99"), offer_id="5005317010")   # change.old: replaced

User access tokens (2 h) come from the refresh-token grant, which eBay does not
rotate; `getRateLimits` uses an application token (client credentials). Tokens
go only into the ``Authorization`` header: never into logs, messages or reprs.
Every call spends the day's budget of its API (`Daily`), and price and quantity
revisions also spend the offer's 250 revisions a day: a call over either budget
is refused before it is sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, ConfigDict, field_validator

from safe_release._effects import Inverse
from safe_release._secrets import Secret
from safe_release.adapters import _ebay_wire as wire
from safe_release.adapters._auth import TokenGrant, TokenProvider
from safe_release.adapters._base import MarketplaceAdapter, response_json
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.adapters._ebay_ops import (
    API_SCOPE,
    APP_TOKEN_OPERATIONS,
    DEFAULT_SCOPES,
    EBAY_OPERATIONS,
    ENDPOINTS,
    REVISIONS,
    TOKEN_URLS,
)
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
    MarketplaceResponseError,
    QuotaExhaustedError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from safe_release.adapters._core import Verdict
    from safe_release.adapters._operation import Daily, Operation
    from safe_release.adapters._quota import BudgetState, Spend

__all__ = ["EbayAdapter", "Health", "OfferChange", "OfferUpdate", "ShippingFulfillmentRef"]

MAX_ORDER_IDS = 50
MAX_ORDER_LIMIT = 200
_STATUS_SETS = ({"NOT_STARTED", "IN_PROGRESS"}, {"FULFILLED", "IN_PROGRESS"})
_SHIP = "createShippingFulfillment"


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


class ShippingFulfillmentRef(BaseModel):
    """A created shipping fulfillment (eBay gives its id only in ``Location``)."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    fulfillment_id: str


class Health(BaseModel):
    """Whether the adapter can act for the seller right now."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    auth_ok: bool
    read_ok: bool
    token_expires_at: datetime | None
    scopes: tuple[str, ...]
    detail: str

    @field_validator("scopes", mode="before")
    @classmethod
    def _tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


class EbayAdapter(MarketplaceAdapter):
    """Paced, budgeted eBay Sell API calls for one seller (user), one app, one environment."""

    marketplace = "ebay"
    operations = EBAY_OPERATIONS

    def __init__(
        self,
        *,
        user_id: str,
        client_id: str,
        client_secret: str | Secret,
        refresh_token: str | Secret,
        environment: str = "production",
        marketplace_id: str = "EBAY_US",
        scopes: Sequence[str] = DEFAULT_SCOPES,
        base_url: str | None = None,
        token_url: str | None = None,
        **options: Any,
    ) -> None:
        if environment not in ENDPOINTS:
            msg = f"environment= must be one of {sorted(ENDPOINTS)}, not {environment!r}"
            raise InvalidArgumentError(msg)
        if not isinstance(client_id, str) or not client_id:
            msg = "client_id= must be the eBay app's client id (App ID), a non-empty string"
            raise InvalidArgumentError(msg)
        scopes = _scopes(scopes)
        app = "app-" + hashlib.sha256(client_id.encode()).hexdigest()[:12]
        super().__init__(
            base_url=base_url or ENDPOINTS[environment],
            seller=user_id,
            app=app,
            region=environment,
            **options,
        )
        self.user_id, self.marketplace_id, self.scopes = user_id, marketplace_id, scopes
        self._auth_client = httpx.Client(
            transport=options.get("transport"), timeout=options.get("timeout", 30.0)
        )
        secret, refresh = _secret(client_secret), _secret(refresh_token)
        url = token_url or TOKEN_URLS[environment]

        def grant(form: dict[str, str | Secret]) -> TokenGrant:
            return wire.token_grant(
                self._auth_client,
                url,
                client_id=client_id,
                client_secret=secret,
                form=form,
                seconds=self.attempt_seconds(),
            )

        user_form: dict[str, str | Secret] = {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }
        app_form: dict[str, str | Secret] = {
            "grant_type": "client_credentials",
            "scope": API_SCOPE,
        }

        def user_grant() -> TokenGrant:
            return grant(user_form)

        def app_grant() -> TokenGrant:
            return grant(app_form)

        self._refresh_grant = user_grant
        self.tokens = TokenProvider(user_grant, clock=self.clock, marketplace="ebay")
        self.app_tokens = TokenProvider(app_grant, clock=self.clock, marketplace="ebay")

    # -- hooks -----------------------------------------------------------------------

    def _provider(self, request: httpx.Request) -> TokenProvider:
        app_paths = {EBAY_OPERATIONS[name].path for name in APP_TOKEN_OPERATIONS}
        return self.app_tokens if request.url.path in app_paths else self.tokens

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """A valid bearer token (the app's for getRateLimits, else the user's)."""
        provider = self._provider(request)
        if isinstance(stale, Secret):
            provider.invalidate(stale)
        token = provider.token()
        request.headers["authorization"] = f"Bearer {token.reveal()}"
        return token

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        provider = self._provider(request)
        if isinstance(stale, Secret):
            provider.invalidate(stale)
        token = await provider.atoken()
        request.headers["authorization"] = f"Bearer {token.reveal()}"
        return token

    def classify(self, response: httpx.Response) -> Verdict:
        """429 errorId 2001: the day's budget is spent; 403 1100 on Inventory: refresh once."""
        return wire.classify(response)

    def error_for(self, op: Operation, response: httpx.Response) -> MarketplaceError:
        """Typed errors from eBay's ``errors[]`` bodies (``code`` is the errorId)."""
        return wire.ebay_error(op, response)

    def daily_reset(self, daily: Daily, now: float) -> float:
        """The next 07:00 UTC: eBay's day ends at midnight US Pacific (summer time) [U]."""
        del daily
        return wire.next_reset(now)

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

    def _take_revisions(self, offer_ids: list[str]) -> list[str]:
        """One revision of each offer, or none and `QuotaExhaustedError`."""
        taken: list[str] = []
        for offer_id in offer_ids:
            spent = self._spend_revision(offer_id)
            if not spent.granted:
                self._give_back(taken)
                msg = _revision_text(offer_id, spent)
                raise self._revision_error(offer_id, msg)
            taken.append(offer_id)
        return taken

    # -- offers ------------------------------------------------------------------------

    def get_inventory_item(self, sku: str) -> dict[str, Any]:
        """The inventory item ``sku`` (product, condition, availability)."""
        return self._json("getInventoryItem", path_params={"sku": sku})

    def get_offer(self, offer_id: str) -> dict[str, Any]:
        """One offer (``pricingSummary.price``, ``availableQuantity``, ``status`` …)."""
        return self._json("getOffer", path_params={"offerId": offer_id})

    async def aget_offer(self, offer_id: str) -> dict[str, Any]:
        """`get_offer`, awaited."""
        response = await self.acall("getOffer", path_params={"offerId": offer_id})
        return self._object("getOffer", response)

    def get_offers(self, sku: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Every offer of ``sku`` (all pages; ``offset`` is a page index here)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:  # noqa: PLR2004
            msg = f"get_offers: limit must be a whole number from 1 to 200, not {limit!r}"
            raise InvalidArgumentError(msg)
        out: list[dict[str, Any]] = []
        page = 0
        while True:
            body = self._json("getOffers", params={"sku": sku, "limit": limit, "offset": page})
            offers = _records("getOffers", body, "offers")
            out.extend(offers)
            total = body.get("total")
            if not offers or body.get("next") is None or not isinstance(total, int):
                return out
            if len(out) >= total:
                return out
            page += 1

    def bulk_update_price_quantity(
        self, changes: Sequence[OfferUpdate | Mapping[str, Any]]
    ) -> list[ItemResult]:
        """Set the price and/or quantity of offers; one `ItemResult` per change, in order.

        The current values are read first (each change's inverse). Changes go in
        calls of at most 25; an offer whose 250 revisions of the day are spent is
        refused here (``code="REVISION_LIMIT"``) and not sent.
        """
        return self._bulk(_updates(changes))[0]

    def _bulk(
        self, updates: list[OfferUpdate]
    ) -> tuple[list[ItemResult], dict[str, dict[str, Any]]]:
        states = {u.offer_id: offer_state(self.get_offer(u.offer_id)) for u in updates}
        results, queue = self._admit_revisions(updates, states)
        for chunk in _chunks(queue):
            results.update(self._sent(chunk, self._send_bulk))
        return [results[i] for i in range(len(updates))], states

    async def abulk_update_price_quantity(
        self, changes: Sequence[OfferUpdate | Mapping[str, Any]]
    ) -> list[ItemResult]:
        """`bulk_update_price_quantity`, awaited."""
        return (await self._abulk(_updates(changes)))[0]

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

    # -- revisions (250 a day per listing) -----------------------------------------------

    def _revision_key(self, offer_id: str) -> str:
        return f"ebay|revisions|{offer_id}|{self.seller}|{self.app}"

    def _admit_revisions(
        self, updates: list[OfferUpdate], states: dict[str, dict[str, Any]]
    ) -> tuple[dict[int, ItemResult], list[tuple[int, BatchItem]]]:
        """Results for refused changes, and the items to send (each took one revision)."""
        results: dict[int, ItemResult] = {}
        queue: list[tuple[int, BatchItem]] = []
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

    def _spend_revision(self, offer_id: str) -> Spend:
        now = self.clock.time()
        reset = self.daily_reset(REVISIONS, now)
        return self.limiter.spend(self._revision_key(offer_id), REVISIONS, reset, now)

    def _give_back(self, offer_ids: Sequence[str]) -> None:
        now = self.clock.time()
        for offer_id in offer_ids:
            self.limiter.give_back(self._revision_key(offer_id), REVISIONS, 1, now)

    def _settled(
        self, chunk: list[tuple[int, BatchItem]], got: list[ItemResult]
    ) -> dict[int, ItemResult]:
        """Results by index; revisions not used (failed or replayed items) are given back."""
        self._give_back(
            [
                _offer_of(item)
                for (_, item), r in zip(chunk, got, strict=True)
                if not r.ok or r.replayed
            ]
        )
        return {index: result for (index, _), result in zip(chunk, got, strict=True)}

    def _sent(self, chunk: list[tuple[int, BatchItem]], send: Any) -> dict[int, ItemResult]:
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

    # -- orders and fulfillments ------------------------------------------------------------

    def iter_orders(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        fulfillment_statuses: Sequence[str] = (),
        order_ids: Sequence[str] = (),
        limit: int = 50,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Orders matching the filters (record-offset paging), or exactly ``order_ids``."""
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_ORDER_LIMIT
        ):
            msg = f"iter_orders: limit must be a whole number from 1 to 200, not {limit!r}"
            raise InvalidArgumentError(msg)
        if order_ids:
            yield from self._orders_by_id(order_ids)
            return
        criteria = [
            _range("creationdate", created_from, created_to),
            _range("lastmodifieddate", modified_from, modified_to),
            _statuses(fulfillment_statuses),
        ]
        params: dict[str, Any] = {"filter": ",".join(c for c in criteria if c) or None}
        offset, pages = 0, 0
        while True:
            body = self._json("getOrders", params={**params, "limit": limit, "offset": offset})
            orders = _records("getOrders", body, "orders")
            yield from orders
            offset, pages = offset + len(orders), pages + 1
            total = body.get("total")
            if not orders or body.get("next") is None or (max_pages and pages >= max_pages):
                return
            if isinstance(total, int) and offset >= total:
                return

    def get_orders(self, **kwargs: Any) -> list[dict[str, Any]]:
        """`iter_orders` as a list."""
        return list(self.iter_orders(**kwargs))

    def _orders_by_id(self, order_ids: Sequence[str]) -> Iterator[dict[str, Any]]:
        ids = [order_ids] if isinstance(order_ids, str) else list(order_ids)
        if len(ids) > MAX_ORDER_IDS or not all(isinstance(i, str) and i for i in ids):
            msg = f"iter_orders: order_ids takes 1 to {MAX_ORDER_IDS} order ids (strings)"
            raise InvalidArgumentError(msg)
        body = self._json("getOrders", params={"orderIds": ",".join(ids)})
        yield from _records("getOrders", body, "orders")

    def get_order(self, order_id: str) -> dict[str, Any]:
        """One order, with its cancel requests (getOrders leaves them empty)."""
        return self._json("getOrder", path_params={"orderId": order_id})

    def get_shipping_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """The order's shipping fulfillments (``shipmentTrackingNumber``, ``lineItems`` …)."""
        body = self._json("getShippingFulfillments", path_params={"orderId": order_id})
        return _records("getShippingFulfillments", body, "fulfillments")

    def create_shipping_fulfillment(
        self,
        order_id: str,
        *,
        line_items: Mapping[str, int],
        tracking_number: str,
        carrier: str,
        shipped_date: datetime | None = None,
    ) -> ShippingFulfillmentRef:
        """Mark line items shipped with tracking (irreversible; never resent blindly).

        After a lost answer the order's fulfillments are read: one with this
        tracking number and these line items means it was created.
        """
        body: dict[str, Any] = {
            "lineItems": _line_items(line_items),
            "shippingCarrierCode": _text_arg("carrier", carrier),
            "trackingNumber": _text_arg("tracking_number", tracking_number),
        }
        if shipped_date is not None:
            body["shippedDate"] = _timestamp(shipped_date)
        response = self.call(_SHIP, path_params={"orderId": order_id}, json=body)
        found = wire.fulfillment_id(response.headers.get("location"), order_id)
        if found is None:
            msg = (
                f"ebay {_SHIP} answered HTTP {response.status_code} without a usable Location "
                "header: the fulfillment WAS created but its id is unknown; do not send it "
                "again, find it with get_shipping_fulfillments"
            )
            raise MarketplaceResponseError(msg, marketplace="ebay", operation=_SHIP)
        return ShippingFulfillmentRef(order_id=order_id, fulfillment_id=found)

    # -- reconciling, quotas, health ---------------------------------------------------------

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """Read back a lost revision (the offers) or fulfillment (the order's fulfillments)."""
        try:
            if op.name == BULK:
                return self._reconcile_bulk(request)
            if op.name == _SHIP:
                return self._reconcile_fulfillment(request)
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous
        return None

    def _reconcile_bulk(self, request: httpx.Request) -> httpx.Response | bool:
        wanted = [OfferUpdate.of(o) for o in offers_in(json.loads(request.content))]
        if not wanted:
            return False
        for update in wanted:
            state = offer_state(self.get_offer(update.offer_id))
            if not update.matches(state):
                return False
        answer = {"responses": [{"statusCode": 200, "offerId": u.offer_id} for u in wanted]}
        return httpx.Response(200, json=answer, request=request, headers={RECONCILED_HEADER: "1"})

    def _reconcile_fulfillment(self, request: httpx.Request) -> httpx.Response | bool:
        body = json.loads(request.content)
        # the raw (still percent-encoded) path: an order id may itself hold a '/'
        order_id = unquote(request.url.raw_path.decode("ascii").split("?", 1)[0].split("/")[-2])
        lines = {(str(i["lineItemId"]), int(i["quantity"])) for i in body["lineItems"]}
        for record in self.get_shipping_fulfillments(order_id):
            got = {
                (str(i.get("lineItemId")), int(i.get("quantity", 0)))
                for i in record.get("lineItems") or []
            }
            if record.get("shipmentTrackingNumber") == body["trackingNumber"] and got == lines:
                location = f"{request.url.path}/{record['fulfillmentId']}"
                return httpx.Response(
                    201, request=request, headers={"location": location, RECONCILED_HEADER: "1"}
                )
        return False

    def sync_rate_limits(self) -> list[BudgetState]:
        """Seed the day's budgets from getRateLimits (app) and getUserRateLimits (user)."""
        states = []
        pers: tuple[tuple[str, Literal["app", "user"]], ...] = (
            ("getRateLimits", "app"),
            ("getUserRateLimits", "user"),
        )
        for operation, per in pers:
            reports = wire.rate_limits(self.call(operation), operation)
            tightest: dict[str, wire.RateReport] = {}
            for report in reports:
                daily = _daily_of(report)
                if daily is not None and (
                    daily.resource not in tightest
                    or report.remaining < tightest[daily.resource].remaining
                ):
                    tightest[daily.resource] = report
            for resource, report in sorted(tightest.items()):
                states.append(self._sync(resource, per, report))
        return states

    def _sync(
        self, resource: str, per: Literal["app", "user"], report: wire.RateReport
    ) -> BudgetState:
        op, daily = next(
            (o, d)
            for o in EBAY_OPERATIONS.values()
            for d in o.daily
            if d.resource == resource and d.per == per
        )
        key, now = self.daily_key(op, daily), self.clock.time()
        self.limiter.sync_budget(
            key, daily, limit=report.limit, remaining=report.remaining,
            reset_at=report.reset_at, now=now,
        )  # fmt: skip
        return self.limiter.budget(key, daily, report.reset_at, now)

    def health(self) -> Health:
        """A real refresh round trip, the token's validity and scopes, and getUserRateLimits."""
        try:
            self._refresh_grant()  # a real round trip; the live token stays in use
            self.tokens.token()
        except MarketplaceError as exc:
            return self._health(auth_ok=False, read_ok=False, detail=str(exc))
        try:
            reports = wire.rate_limits(self.call("getUserRateLimits"), "getUserRateLimits")
        except MarketplaceError as exc:
            return self._health(auth_ok=True, read_ok=False, detail=str(exc))
        low = sorted({r.api for r in reports if r.limit and r.remaining == 0})
        detail = "ok" if not low else "daily budget spent: " + ", ".join(low)
        return self._health(auth_ok=True, read_ok=True, detail=detail)

    def _health(self, *, auth_ok: bool, read_ok: bool, detail: str) -> Health:
        expires = self.tokens.expires_at if auth_ok else None
        return Health(
            ok=auth_ok and read_ok,
            auth_ok=auth_ok,
            read_ok=read_ok,
            token_expires_at=None
            if expires is None
            else datetime.fromtimestamp(expires, timezone.utc),
            scopes=self.scopes,
            detail=detail,
        )

    def close(self) -> None:
        """Close the HTTP clients."""
        super().close()
        self._auth_client.close()

    async def aclose(self) -> None:
        """Close the HTTP clients (async and sync)."""
        await super().aclose()
        self._auth_client.close()

    def _json(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return self._object(operation, self.call(operation, **kwargs))

    def _object(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        body = response_json("ebay", self.operation(operation), response)
        return wire.as_object(body, "the body", operation)


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
    return (
        f"offer {offer_id} was revised {spent.used} times today, eBay's limit is "
        f"{spent.limit}: not sent; the day resets at {_iso(spent.reset_at)}"
    )


def _records(operation: str, body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    records = wire.field_list(body, name, "", operation)
    return [wire.as_object(r, f"{name}[{i}]", operation) for i, r in enumerate(records)]


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


def _chunks(queue: list[tuple[int, BatchItem]]) -> Iterator[list[tuple[int, BatchItem]]]:
    for start in range(0, len(queue), MAX_BULK):
        yield queue[start : start + MAX_BULK]


def _daily_of(report: wire.RateReport) -> Daily | None:
    for op in EBAY_OPERATIONS.values():
        daily = op.daily[0]
        if daily.resource in (report.resource, report.api):
            return daily
    return None


def _range(name: str, start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return ""
    left = "" if start is None else _timestamp(start)
    right = "" if end is None else _timestamp(end)
    return f"{name}:[{left}..{right}]"


def _statuses(statuses: Sequence[str]) -> str:
    if not statuses:
        return ""
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    if wanted not in _STATUS_SETS:
        msg = (
            "fulfillment_statuses must be {NOT_STARTED, IN_PROGRESS} or "
            f"{{FULFILLED, IN_PROGRESS}} (eBay supports only these), not {sorted(wanted)}"
        )
        raise InvalidArgumentError(msg)
    order = ("NOT_STARTED", "FULFILLED", "IN_PROGRESS")
    return "orderfulfillmentstatus:{" + "|".join(s for s in order if s in wanted) + "}"


def _timestamp(when: datetime) -> str:
    if not isinstance(when, datetime) or when.tzinfo is None:
        msg = f"dates must be timezone-aware datetimes, not {when!r}"
        raise InvalidArgumentError(msg)
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _line_items(line_items: Mapping[str, int]) -> list[dict[str, Any]]:
    if not hasattr(line_items, "items") or not line_items:
        msg = "line_items must map each lineItemId to the quantity shipped (at least one)"
        raise InvalidArgumentError(msg)
    out = []
    for line, quantity in line_items.items():
        if (
            not isinstance(line, str)
            or not line
            or isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or quantity < 1
        ):
            msg = f"line_items: {line!r} -> {quantity!r} is not a lineItemId -> quantity >= 1"
            raise InvalidArgumentError(msg)
        out.append({"lineItemId": line, "quantity": quantity})
    return out


def _text_arg(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{name}= must be a non-empty string"
        raise InvalidArgumentError(msg)
    return value


def _scopes(scopes: object) -> tuple[str, ...]:
    if isinstance(scopes, str):
        scopes = (scopes,)
    out = tuple(scopes) if isinstance(scopes, (list, tuple)) else ()
    if not out or not all(isinstance(s, str) and s.startswith("https://") for s in out):
        msg = "scopes= must be eBay OAuth scope URLs (https://api.ebay.com/oauth/api_scope/…)"
        raise InvalidArgumentError(msg)
    return out


def _secret(value: str | Secret) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value:
        msg = "client_secret= and refresh_token= must be non-empty strings (or Secret)"
        raise InvalidArgumentError(msg)
    return Secret(value)
