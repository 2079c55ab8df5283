"""Lazada prices and stock: ``/product/price_quantity/update`` with a per-SKU inverse.

`ProductCalls` is the part of `safe_release.adapters.lazada.LazadaAdapter` that
reads SKUs (``/product/item/get`` [U]) and sets their price, sale price and
quantity. The payload is Lazada's XML (never JSON: Lazada answers a JSON
payload ``E030 Empty Request``), built element by element with every text
escaped. At most 50 SKUs go in one call; more are split. Each SKU is one
`BatchItem` whose inverse puts back the values read before the change.

Lazada answers a success with ``data: {}`` and no per-SKU results, so a
success means every SKU of the call applied; a failure code (``501`` during a
campaign lock, ``4104`` …) fails every SKU of that call, each `ItemResult`
carrying the code. Throttling, expired tokens and outages raise as for any call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from safe_release._effects import Inverse
from safe_release.adapters import _lazada_wire as wire
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._lazada_ops import MAX_PRICE_SKUS, PRICE
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    RateLimitedError,
)

if TYPE_CHECKING:
    import httpx

    from safe_release.adapters._operation import Operation

__all__ = ["ProductCalls", "SkuState", "SkuUpdate"]

_READ = "product_item_get"
_FIELDS = (("price", "Price"), ("sale_price", "SalePrice"), ("quantity", "Quantity"))


@dataclass(frozen=True)
class SkuState:
    """A SKU as ``/product/item/get`` shows it: ids, price, sale price, quantity."""

    seller_sku: str
    item_id: str
    sku_id: str
    price: Decimal | None
    sale_price: Decimal | None
    quantity: int | None


@dataclass(frozen=True)
class SkuUpdate:
    """One SKU's new price, sale price and/or quantity (at least one of them).

    Prices are positive `Decimal` values (a float is refused); ``quantity`` is a
    whole number >= 0. Bad values raise `InvalidArgumentError`.
    """

    seller_sku: str
    price: Decimal | None = None
    sale_price: Decimal | None = None
    quantity: int | None = None

    def __post_init__(self) -> None:
        sku = self.seller_sku
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 200:  # noqa: PLR2004
            msg = f"seller_sku must be a SellerSku (a non-empty string), not {sku!r}"
            raise InvalidArgumentError(msg)
        if not self.fields:
            msg = f"SKU {sku}: give a price, a sale_price, a quantity or several"
            raise InvalidArgumentError(msg)
        for name in ("price", "sale_price"):
            value = getattr(self, name)
            if value is not None:
                wire.decimal_text(value, f"SKU {sku}: {name}")
        q = self.quantity
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or q < 0):
            msg = f"SKU {sku}: quantity must be a whole number >= 0, not {q!r}"
            raise InvalidArgumentError(msg)

    @classmethod
    def of(cls, value: object) -> SkuUpdate:
        """An update from a mapping of its fields (``seller_sku``, ``price`` …)."""
        if isinstance(value, SkuUpdate):
            return value
        if not isinstance(value, Mapping):
            msg = f"a change must be a SkuUpdate or a mapping, not {type(value).__name__}"
            raise InvalidArgumentError(msg)
        unknown = set(value) - {"seller_sku", "price", "sale_price", "quantity"}
        if unknown:
            msg = f"a SKU change has unknown fields {sorted(unknown)}"
            raise InvalidArgumentError(msg)
        return cls(**value)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields this update sets, in payload order."""
        return tuple(name for name, _ in _FIELDS if getattr(self, name) is not None)

    @property
    def key(self) -> str:
        """The ledger target: ``sku <SellerSku> <fields>``."""
        return f"sku {self.seller_sku} {','.join(self.fields)}"

    def undo(self, state: SkuState) -> SkuUpdate | None:
        """The update putting back ``state``'s values of this update's fields, if known.

        A field whose old value is unknown (no sale price before) is left out.
        """
        old = {name: getattr(state, name) for name in self.fields}
        old = {name: value for name, value in old.items() if value is not None}
        if not old:
            return None
        try:
            return SkuUpdate(self.seller_sku, **old)
        except InvalidArgumentError:
            return None  # an old value Lazada itself would refuse (a zero price)

    def entry(self, state: SkuState) -> dict[str, str]:
        """The ``<Sku>`` element's children for this update: element name -> text."""
        out = {"ItemId": state.item_id, "SkuId": state.sku_id, "SellerSku": self.seller_sku}
        for name, element in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[element] = str(value) if name == "quantity" else wire.decimal_text(value, name)
        return out

    def item(self, state: SkuState) -> BatchItem:
        """This update as a batch item, with the inverse restoring ``state``."""
        old = self.undo(state)
        inverse = None
        if old is not None:
            inverse = Inverse(
                operation=PRICE,
                params={"payload": payload([old.entry(state)])},
                description=f"lazada {' and '.join(old.fields)} of SKU {self.seller_sku}",
            )
        return BatchItem(key=self.key, payload=self.entry(state), inverse=inverse)


def payload(entries: Sequence[Mapping[str, str]]) -> str:
    """The XML ``payload`` of ``<Sku>`` elements (`SkuUpdate.entry`); every text is escaped."""
    skus = (
        "<Sku>" + "".join(f"<{k}>{wire.xml_text(v)}</{k}>" for k, v in entry.items()) + "</Sku>"
        for entry in entries
    )
    return "<Request><Product><Skus>" + "".join(skus) + "</Skus></Product></Request>"


def sku_states(body: dict[str, Any]) -> list[SkuState]:
    """The SKUs of a ``/product/item/get`` answer."""
    data = wire.SHAPES.field_object(body, "data", "", _READ)
    item_id = _id(data.get("item_id"), "data.item_id")
    out = []
    for where, sku in wire.SHAPES.objects(data, "skus", "data", _READ):
        seller = sku.get("SellerSku")
        if not isinstance(seller, str) or not seller:
            raise wire.SHAPES.wrong_shape(_READ, f"{where}.SellerSku", seller, "a SKU")
        quantity = sku.get("quantity")
        if isinstance(quantity, str) and quantity.isdigit():
            quantity = int(quantity)
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
        ):
            raise wire.SHAPES.wrong_shape(_READ, f"{where}.quantity", quantity, "a count")
        out.append(
            SkuState(
                seller_sku=seller,
                item_id=item_id,
                sku_id=_id(sku.get("SkuId"), f"{where}.SkuId"),
                price=_money(sku.get("price"), f"{where}.price"),
                sale_price=_money(sku.get("special_price"), f"{where}.special_price"),
                quantity=quantity,
            )
        )
    return out


def _id(value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    raise wire.SHAPES.wrong_shape(_READ, where, value, "an id")


def _money(value: object, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise wire.SHAPES.wrong_shape(_READ, where, value, "a decimal string")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise wire.SHAPES.wrong_shape(_READ, where, value, "a decimal string") from None
    if not amount.is_finite() or amount < 0:
        raise wire.SHAPES.wrong_shape(_READ, where, value, "a price")
    return amount if amount > 0 else None


def _updates(changes: object) -> list[SkuUpdate]:
    if isinstance(changes, (str, bytes, Mapping)) or not isinstance(changes, Sequence):
        msg = "changes must be a sequence of SkuUpdate (or mappings of its fields)"
        raise InvalidArgumentError(msg)
    updates = [SkuUpdate.of(c) for c in changes]
    if not updates:
        msg = "update_price_quantity needs at least one change; nothing was sent"
        raise InvalidArgumentError(msg)
    skus = [u.seller_sku for u in updates]
    if len(set(skus)) != len(skus):
        msg = "each SKU may appear once per update: merge its price and quantity"
        raise InvalidArgumentError(msg)
    return updates


def _body(items: Sequence[BatchItem]) -> dict[str, str]:
    return {"payload": payload([item.payload for item in items])}


def _refused(error: MarketplaceError) -> bool:
    """A business refusal of the whole call (not throttling, auth or an unknown outcome)."""
    return (
        isinstance(error, MarketplaceHTTPError)
        and not isinstance(error, (RateLimitedError, MarketplaceAuthError))
        and error.status < 500  # noqa: PLR2004
    )


def _failed(items: Sequence[BatchItem], error: MarketplaceHTTPError) -> list[ItemResult]:
    return [
        ItemResult(key=i.key, ok=False, status=error.status, code=error.code, message=str(error))
        for i in items
    ]


class ProductCalls(MarketplaceAdapter):
    """SKU reads and price/quantity updates of `LazadaAdapter` (a base of it, not used alone)."""

    def get_item(
        self, *, item_id: str | int | None = None, seller_sku: str | None = None
    ) -> list[SkuState]:
        """The SKUs of one product, named by ``item_id`` or one of its ``seller_sku`` [U]."""
        return sku_states(wire.read(self, _READ, _item_params(item_id, seller_sku)))

    async def aget_item(
        self, *, item_id: str | int | None = None, seller_sku: str | None = None
    ) -> list[SkuState]:
        """`get_item`, awaited."""
        return sku_states(await wire.aread(self, _READ, _item_params(item_id, seller_sku)))

    def update_price_quantity(
        self, changes: Sequence[SkuUpdate | Mapping[str, Any]]
    ) -> list[ItemResult]:
        """Set SKUs' price, sale price and/or quantity; one `ItemResult` per change, in order.

        The current values are read first (each change's inverse); changes go in
        calls of at most 50 SKUs. A call Lazada refuses fails all its SKUs.
        """
        updates = _updates(changes)
        states = {u.seller_sku: self._state(u.seller_sku) for u in updates}
        out: list[ItemResult] = []
        for start in range(0, len(updates), MAX_PRICE_SKUS):
            chunk = [u.item(states[u.seller_sku]) for u in updates[start : start + MAX_PRICE_SKUS]]
            try:
                out += self.call_items(PRICE, chunk, body=_body, results=self._results)
            except MarketplaceHTTPError as exc:
                if not _refused(exc):
                    raise
                out += _failed(chunk, exc)
        return out

    async def aupdate_price_quantity(
        self, changes: Sequence[SkuUpdate | Mapping[str, Any]]
    ) -> list[ItemResult]:
        """`update_price_quantity`, awaited."""
        updates = _updates(changes)
        states = {u.seller_sku: await self._astate(u.seller_sku) for u in updates}
        out: list[ItemResult] = []
        for start in range(0, len(updates), MAX_PRICE_SKUS):
            chunk = [u.item(states[u.seller_sku]) for u in updates[start : start + MAX_PRICE_SKUS]]
            try:
                out += await self.acall_items(PRICE, chunk, body=_body, results=self._results)
            except MarketplaceHTTPError as exc:
                if not _refused(exc):
                    raise
                out += _failed(chunk, exc)
        return out

    def _state(self, seller_sku: str) -> SkuState:
        return _pick(seller_sku, self.get_item(seller_sku=seller_sku))

    async def _astate(self, seller_sku: str) -> SkuState:
        return _pick(seller_sku, await self.aget_item(seller_sku=seller_sku))

    def _results(self, response: httpx.Response, sent: Sequence[BatchItem]) -> list[ItemResult]:
        body = wire.body_of(self.operation(PRICE), response)
        return [
            ItemResult(key=item.key, ok=True, status=200, raw=body.get("data")) for item in sent
        ]

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """An update whose outcome is unknown applied if every SKU now holds its values."""
        if op.name != PRICE:
            return super().reconcile(op, request)
        try:
            wanted = _wanted(request)
            return bool(wanted) and all(
                _holds(values, self._state(sku)) for sku, values in wanted.items()
            )
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous

    async def areconcile(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        """`reconcile`, reading the SKUs back with awaited calls."""
        if op.name != PRICE:
            return await super().areconcile(op, request)
        try:
            wanted = _wanted(request)
            for sku, values in wanted.items():
                if not _holds(values, await self._astate(sku)):
                    return False
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None
        return bool(wanted)

    def ledger_target(self, op: Operation, request: httpx.Request) -> str:
        """A price/quantity update of one SKU: ``sku <SellerSku> <fields>`` (its batch item)."""
        if op.name != PRICE:
            return super().ledger_target(op, request)
        form = dict(parse_qsl(request.content.decode("utf-8", "replace")))
        keys = _keys(form.get("payload", ""))
        return keys[0] if len(keys) == 1 else super().ledger_target(op, request)


def _item_params(item_id: str | int | None, seller_sku: str | None) -> dict[str, str]:
    if (item_id is None) == (seller_sku is None):
        msg = "get_item: give exactly one of item_id= or seller_sku="
        raise InvalidArgumentError(msg)
    if item_id is not None:
        text = str(item_id)
        if isinstance(item_id, bool) or not text.isdigit():
            msg = f"item_id= must be a Lazada item id (digits), not {item_id!r}"
            raise InvalidArgumentError(msg)
        return {"item_id": text}
    if not isinstance(seller_sku, str) or not seller_sku:
        msg = f"seller_sku= must be a non-empty string, not {seller_sku!r}"
        raise InvalidArgumentError(msg)
    return {"seller_sku": seller_sku}


def _pick(seller_sku: str, states: list[SkuState]) -> SkuState:
    for state in states:
        if state.seller_sku == seller_sku:
            return state
    msg = f"lazada {_READ} did not list SKU {seller_sku!r} in its product"
    raise MarketplaceHTTPError(msg, marketplace="lazada", operation=_READ, status=200, code="208")


def _wanted(request: httpx.Request) -> dict[str, dict[str, str]]:
    """SellerSku -> {field: text} of the SKUs an update request sets."""
    form = dict(parse_qsl(request.content.decode("utf-8", "replace")))
    root = ET.fromstring(form["payload"])  # noqa: S314 - our own payload
    out = {}
    for sku in root.iter("Sku"):
        values = {name: sku.findtext(element) for name, element in _FIELDS}
        out[sku.findtext("SellerSku") or ""] = {k: v for k, v in values.items() if v is not None}
    return out


def _holds(values: dict[str, str], state: SkuState) -> bool:
    """Whether ``state`` holds the ``values`` an update sent."""
    for name, text in values.items():
        now = getattr(state, name)
        if now is None or (Decimal(text) if name != "quantity" else int(text)) != now:
            return False
    return True


def _keys(xml: str) -> list[str]:
    """The ledger keys of a payload's SKUs (by the elements it sets); [] if unreadable."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - our own payload
    except ET.ParseError:
        return []
    keys = []
    for sku in root.iter("Sku"):
        seller = sku.findtext("SellerSku") or ""
        fields = [name for name, element in _FIELDS if sku.find(element) is not None]
        keys.append(f"sku {seller} {','.join(fields)}")
    return keys
