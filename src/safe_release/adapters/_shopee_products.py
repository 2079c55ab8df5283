"""Shopee prices and stock: per-model writes with the old values read first.

`ProductCalls` is the part of `safe_release.adapters.shopee.ShopeeAdapter` that
sets models' prices (``update_price``) and seller stock (``update_stock``): one
item per call, at most 50 models, one `BatchItem` per model with the inverse
that puts that model's old value back. The old values come from
``get_item_base_info`` (an item without models: model 0) and
``get_model_list`` [U: spec D, beyond WIRE.md]. Shopee answers per model
(``success_list``/``failure_list``) inside a successful envelope: each model is
its own `ItemResult`, and inside a release its own ledger entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from safe_release._effects import Inverse
from safe_release.adapters import _shopee_wire as wire
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._shopee_ops import MAX_MODELS
from safe_release.exceptions import InvalidArgumentError, MarketplaceHTTPError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from safe_release.adapters._operation import Operation

__all__ = ["ModelChange", "ProductCalls"]

Field = Literal["price", "stock"]
_OPERATION: dict[Field, str] = {"price": "update_price", "stock": "update_stock"}
_MAX_ID = 2**63 - 1


class ModelChange(BaseModel):
    """What one model's price or stock write did, with the value it replaced.

    ``ok`` False: Shopee refused this model (``code`` is its ``failed_reason``)
    and nothing changed for it. ``replayed``: it was already in place from an
    earlier run of the same release and was not sent again.
    """

    model_config = ConfigDict(frozen=True, protected_namespaces=())  # model_id is a field

    item_id: int
    model_id: int
    field: Field
    old: Decimal | int | None
    new: Decimal | int
    ok: bool
    code: str | None = None
    message: str = ""
    replayed: bool = False


def check_id(value: object, what: str, *, zero: bool = False) -> int:
    """``value`` as a Shopee id (a whole number; model 0 allowed where ``zero``)."""
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_ID:
        msg = f"shopee: {what} must be a whole number >= {low}, not {value!r}"
        raise InvalidArgumentError(msg)
    return value


def _values(field: Field, values: object) -> dict[int, Any]:
    """``{model_id: value}`` checked: 1 to 50 models, prices Decimal, stock whole >= 0."""
    if not isinstance(values, Mapping) or not values:
        msg = (
            f"shopee update_{field}: give {{model_id: new {field}}} for 1 to {MAX_MODELS} "
            "models of one item (model 0 for an item without models)"
        )
        raise InvalidArgumentError(msg)
    if len(values) > MAX_MODELS:
        msg = (
            f"shopee update_{field}: {len(values)} models in one call, Shopee's limit is "
            f"{MAX_MODELS}; split the call"
        )
        raise InvalidArgumentError(msg)
    out: dict[int, Any] = {}
    for model_id, value in values.items():
        check_id(model_id, "model_id", zero=True)
        if field == "stock" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            msg = f"shopee update_stock: model {model_id}'s stock must be a whole number >= 0"
            raise InvalidArgumentError(msg)
        if field == "price" and (
            not isinstance(value, Decimal) or not value.is_finite() or value <= 0
        ):
            msg = (
                f"shopee update_price: model {model_id}'s price must be a positive, finite "
                f"Decimal (never a float), not {value!r}"
            )
            raise InvalidArgumentError(msg)
        out[model_id] = value
    return out


def _entry(field: Field, model_id: int, value: Any, region: str) -> dict[str, Any]:
    if field == "price":
        return {"model_id": model_id, "original_price": wire.wire_price(value, region)}
    return {"model_id": model_id, "seller_stock": [{"stock": value}]}


def model_key(item_id: int, model_id: int, field: Field) -> str:
    """The ledger target of one model's write: ``item <id> model <id> <field>``."""
    return f"item {item_id} model {model_id} {field}"


def _list_name(field: Field) -> str:
    return "price_list" if field == "price" else "stock_list"


def _state(info: dict[str, Any], where: str, operation: str) -> dict[str, Any]:
    """``{"price": Decimal | None, "stock": int | None}`` of a price_info/stock_info_v2 entry."""
    price = None
    prices = wire.field_list(info, "price_info", where, operation)
    if prices:
        first = wire.as_object(prices[0], f"{where}.price_info[0]", operation)
        price = wire.price_number(
            first.get("original_price"), f"{where}.price_info[0].original_price", operation
        )
    stock = None
    stocks = wire.field_object(info, "stock_info_v2", where, operation)
    rows = list(wire.objects(stocks, "seller_stock", f"{where}.stock_info_v2", operation))
    if rows:
        stock = sum(
            wire.stock_number(row.get("stock"), f"{p}.stock", operation) for p, row in rows
        )
    return {"price": price, "stock": stock}


def item_states(base: dict[str, Any], item_id: int) -> tuple[bool, dict[int, dict[str, Any]]]:
    """Whether the item has models, and model 0's state if it has none."""
    op = "get_item_base_info"
    for where, entry in wire.objects(base, "item_list", "response", op):
        if entry.get("item_id") == item_id:
            has_model = entry.get("has_model")
            if not isinstance(has_model, bool):
                raise wire.wrong_shape(op, f"{where}.has_model", has_model, "true/false")
            return has_model, {} if has_model else {0: _state(entry, where, op)}
    msg = f"shopee: item {item_id} is not in this shop (get_item_base_info did not list it)"
    raise MarketplaceHTTPError(
        msg, marketplace="shopee", operation=op, status=200, code="error_item_not_found"
    )


def model_states(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Each model's state from get_model_list's ``response``."""
    op = "get_model_list"
    out = {}
    for where, entry in wire.objects(body, "model", "response", op):
        model_id = entry.get("model_id")
        if isinstance(model_id, bool) or not isinstance(model_id, int):
            raise wire.wrong_shape(op, f"{where}.model_id", model_id, "a model id")
        out[model_id] = _state(entry, where, op)
    return out


class _Plan:
    """One call's items, built from the values asked for and the old ones read."""

    def __init__(
        self,
        field: Field,
        item_id: int,
        values: dict[int, Any],
        states: dict[int, dict[str, Any]],
        region: str,
    ) -> None:
        self.field, self.item_id, self.values, self.states = field, item_id, values, states
        unknown = sorted(set(values) - set(states))
        if unknown:
            msg = (
                f"shopee update_{field}: item {item_id} has no model(s) {unknown} "
                f"(it has {sorted(states) or 'none'}; model 0 is an item without models); "
                "nothing was sent"
            )
            raise InvalidArgumentError(msg)
        self.items = [self._item(m, v, region) for m, v in values.items()]

    def _item(self, model_id: int, value: Any, region: str) -> BatchItem:
        old = self.states[model_id][self.field]
        inverse = None
        if old is not None and (self.field == "stock" or old > 0):
            inverse = Inverse(
                operation=_OPERATION[self.field],
                json=self.body([_entry(self.field, model_id, old, region)]),
                description=f"shopee {self.field} of item {self.item_id} model {model_id}",
            )
        return BatchItem(
            key=model_key(self.item_id, model_id, self.field),
            payload=_entry(self.field, model_id, value, region),
            inverse=inverse,
        )

    def body(self, entries: list[Any]) -> dict[str, Any]:
        return {"item_id": self.item_id, _list_name(self.field): entries}

    def batch_body(self, items: Sequence[BatchItem]) -> dict[str, Any]:
        return self.body([item.payload for item in items])

    def changes(self, results: list[ItemResult]) -> list[ModelChange]:
        return [
            ModelChange(
                item_id=self.item_id,
                model_id=model_id,
                field=self.field,
                old=self.states[model_id][self.field],
                new=value,
                ok=result.ok,
                code=result.code,
                message=result.message,
                replayed=result.replayed,
            )
            for (model_id, value), result in zip(self.values.items(), results, strict=True)
        ]


def item_results(
    op: Operation, response: httpx.Response, sent: Sequence[BatchItem]
) -> list[ItemResult]:
    """One result per model sent, from ``success_list`` and ``failure_list``.

    A model in neither list makes the whole answer unreadable
    (`MarketplaceResponseError`): which models applied is then unknown.
    """
    body = wire.payload(op, response)
    done, failed = _listed(op.name, body)
    out = []
    for item in sent:
        model_id = item.payload["model_id"]
        if model_id in failed:
            reason = failed[model_id]
            out.append(ItemResult(key=item.key, ok=False, code=reason, message=reason, raw=reason))
        elif model_id in done:
            out.append(ItemResult(key=item.key, ok=True, raw=done[model_id]))
        else:
            raise wire.wrong_shape(
                op.name, "response.success_list", body.get("success_list"),
                f"a list naming model {model_id}",
            )  # fmt: skip
    return out


def _listed(operation: str, body: dict[str, Any]) -> tuple[dict[int, Any], dict[int, str]]:
    done: dict[int, Any] = {}
    for where, entry in wire.objects(body, "success_list", "response", operation):
        done[_model_id(entry, where, operation)] = entry
    failed: dict[int, str] = {}
    for where, entry in wire.objects(body, "failure_list", "response", operation):
        reason = entry.get("failed_reason")
        failed[_model_id(entry, where, operation)] = (
            reason if isinstance(reason, str) and reason else "failed"
        )
    return done, failed


def _model_id(entry: dict[str, Any], where: str, operation: str) -> int:
    value = entry.get("model_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise wire.wrong_shape(operation, f"{where}.model_id", value, "a model id")
    return value


class ProductCalls(MarketplaceAdapter):
    """Price and stock reads and writes of `ShopeeAdapter` (a base of it, not used alone)."""

    shop_region: str

    # -- reads -------------------------------------------------------------------------

    def get_item_base_info(self, item_ids: Sequence[int]) -> dict[str, Any]:
        """The items' ``response`` (``item_list[]``: status, price and stock) [U]."""
        params = {"item_id_list": _item_list(item_ids)}
        return self._payload("get_item_base_info", self.call("get_item_base_info", params=params))

    async def aget_item_base_info(self, item_ids: Sequence[int]) -> dict[str, Any]:
        """`get_item_base_info`, awaited."""
        params = {"item_id_list": _item_list(item_ids)}
        response = await self.acall("get_item_base_info", params=params)
        return self._payload("get_item_base_info", response)

    def get_model_list(self, item_id: int) -> dict[str, Any]:
        """The item's models (``response.model[]``: price and stock per model) [U]."""
        params = {"item_id": check_id(item_id, "item_id")}
        return self._payload("get_model_list", self.call("get_model_list", params=params))

    async def aget_model_list(self, item_id: int) -> dict[str, Any]:
        """`get_model_list`, awaited."""
        params = {"item_id": check_id(item_id, "item_id")}
        return self._payload("get_model_list", await self.acall("get_model_list", params=params))

    def _payload(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        return wire.payload(self.operation(operation), response)

    def model_values(self, item_id: int) -> dict[int, dict[str, Any]]:
        """``{model_id: {"price": Decimal, "stock": int}}`` now (model 0: no models)."""
        has_model, states = item_states(self.get_item_base_info([item_id]), item_id)
        return model_states(self.get_model_list(item_id)) if has_model else states

    async def amodel_values(self, item_id: int) -> dict[int, dict[str, Any]]:
        """`model_values`, awaited."""
        has_model, states = item_states(await self.aget_item_base_info([item_id]), item_id)
        return model_states(await self.aget_model_list(item_id)) if has_model else states

    # -- writes ------------------------------------------------------------------------

    def update_price(self, item_id: int, prices: Mapping[int, Decimal]) -> list[ModelChange]:
        """Set the original price of 1 to 50 models of one item; one `ModelChange` each.

        ``prices`` maps model id (0 for an item without models) to a positive
        Decimal with the region's precision (two decimal places in SG, MY, BR,
        MX, PL, ES and AR, whole numbers elsewhere), refused before sending if
        finer. The old prices are read first: each model's inverse.
        """
        return self._write("price", item_id, prices)

    async def aupdate_price(
        self, item_id: int, prices: Mapping[int, Decimal]
    ) -> list[ModelChange]:
        """`update_price`, awaited."""
        return await self._awrite("price", item_id, prices)

    def update_stock(self, item_id: int, stock: Mapping[int, int]) -> list[ModelChange]:
        """Set the seller stock of 1 to 50 models of one item; one `ModelChange` each.

        Only ``seller_stock`` changes (Shopee's rule: the new total must stay
        at or above the stock reserved for promotions). Old stock is read first.
        """
        return self._write("stock", item_id, stock)

    async def aupdate_stock(self, item_id: int, stock: Mapping[int, int]) -> list[ModelChange]:
        """`update_stock`, awaited."""
        return await self._awrite("stock", item_id, stock)

    def _checked(self, field: Field, item_id: int, values: object) -> dict[int, Any]:
        check_id(item_id, "item_id")
        checked = _values(field, values)
        if field == "price":
            for value in checked.values():
                wire.wire_price(value, self.shop_region)
        return checked

    def _write(self, field: Field, item_id: int, values: object) -> list[ModelChange]:
        checked = self._checked(field, item_id, values)
        plan = _Plan(field, item_id, checked, self.model_values(item_id), self.shop_region)
        results = self.call_items(
            _OPERATION[field], plan.items, body=plan.batch_body, results=self._results(field)
        )
        return plan.changes(results)

    async def _awrite(self, field: Field, item_id: int, values: object) -> list[ModelChange]:
        checked = self._checked(field, item_id, values)
        states = await self.amodel_values(item_id)
        plan = _Plan(field, item_id, checked, states, self.shop_region)
        results = await self.acall_items(
            _OPERATION[field], plan.items, body=plan.batch_body, results=self._results(field)
        )
        return plan.changes(results)

    def _results(self, field: Field) -> Any:
        op = self.operation(_OPERATION[field])

        def read(response: httpx.Response, sent: Sequence[BatchItem]) -> list[ItemResult]:
            return item_results(op, response, sent)

        return read

    # -- ledger and compensation -------------------------------------------------------

    def product_target(self, op: Operation, request: httpx.Request) -> str | None:
        """``item <id> model <id> <field>`` for a one-model price or stock write, else None."""
        field: Field | None = {"update_price": "price", "update_stock": "stock"}.get(op.name)  # type: ignore[assignment]
        if field is None:
            return None
        try:
            body = json.loads(request.content)
            (entry,) = body[_list_name(field)]
            return model_key(body["item_id"], entry["model_id"], field)
        except (ValueError, KeyError, TypeError):
            return None

    def check_compensation(self, op: Operation, response: httpx.Response) -> None:
        """A compensating write Shopee refused for its model raises (the step is not done)."""
        body = wire.payload(op, response)
        _, failed = _listed(op.name, body)
        if failed:
            model_id, reason = next(iter(failed.items()))
            msg = f"shopee {op.name} refused the compensating write of model {model_id}: {reason}"
            raise MarketplaceHTTPError(
                msg, marketplace="shopee", operation=op.name, status=200, code=reason
            )


def _item_list(item_ids: object) -> str:
    if isinstance(item_ids, (str, bytes)) or not hasattr(item_ids, "__iter__"):
        msg = "shopee get_item_base_info: item_ids must be a sequence of item ids"
        raise InvalidArgumentError(msg)
    ids = [check_id(i, "item_id") for i in item_ids]
    if not 1 <= len(ids) <= MAX_MODELS:
        msg = f"shopee get_item_base_info: give 1 to {MAX_MODELS} item ids, not {len(ids)}"
        raise InvalidArgumentError(msg)
    return ",".join(map(str, ids))
