"""Batch writes with a result per item: ``call_items`` and the ledger's per-item entries.

A small marketplace in the test answers a batch price endpoint the way eBay's
``bulkUpdatePriceQuantity`` does: 200 when every item applied, 207 with a status
per item otherwise. Every test runs on both store backends and the fake clock.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest

from safe_release._ledger import Journal
from safe_release.adapters import (
    BatchItem,
    Inverse,
    ItemResult,
    MarketplaceAdapter,
    Operation,
    SideEffect,
)
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceResponseError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import safe_release as sr
    from safe_release.testing import FakeClock


class Shop:
    """Prices by id; ``POST /prices`` sets several, ``GET /prices/{id}`` reads one."""

    def __init__(self) -> None:
        self.prices = {"A": "1.00", "B": "2.00", "C": "3.00", "D": "4.00"}
        self.batches: list[list[str]] = []
        self.refuse: set[str] = set()
        self.status_next: list[int] = []
        self.lose_next = 0
        self.body_next: list[Any] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            item = request.url.path.rsplit("/", 1)[-1]
            return httpx.Response(200, json={"id": item, "price": self.prices[item]})
        if self.status_next:
            return httpx.Response(self.status_next.pop(0), json={"errors": []})
        body = json.loads(request.content)
        ids = [entry["id"] for entry in body["requests"]]
        self.batches.append(ids)
        out = []
        for entry in body["requests"]:
            if entry["id"] in self.refuse or entry["id"] not in self.prices:
                out.append({"id": entry["id"], "statusCode": 400, "errorId": 25709})
            else:
                self.prices[entry["id"]] = entry["price"]
                out.append({"id": entry["id"], "statusCode": 200})
        if self.lose_next:
            self.lose_next -= 1
            msg = "answer lost"
            raise httpx.ReadTimeout(msg, request=request)
        if self.body_next:
            return httpx.Response(200, json=self.body_next.pop(0))
        status = 200 if all(r["statusCode"] == 200 for r in out) else 207
        return httpx.Response(status, json={"responses": out})


class ShopAdapter(MarketplaceAdapter):
    """An adapter for `Shop`: bulk price writes, reversible per item."""

    marketplace = "shop"
    operations: ClassVar[dict[str, Operation]] = {
        op.name: op
        for op in (
            Operation.declare(
                "setPrices",
                "POST",
                "/prices",
                rate=10,
                burst=10,
                side_effect=SideEffect.REVERSIBLE,
                idempotent=True,
            ),
            Operation.declare(
                "addPrices",
                "POST",
                "/prices",
                rate=10,
                burst=10,
                side_effect=SideEffect.REVERSIBLE,
                idempotent=False,
            ),
            Operation.declare("getPrice", "GET", "/prices/{id}", rate=10, burst=10),
        )
    }

    def set_prices(
        self, prices: dict[str, str], *, op: str = "setPrices", keyed: bool = False
    ) -> list[ItemResult]:
        items = [
            BatchItem(
                key=f"price {item}",
                payload={"id": item, "price": price},
                inverse=Inverse(
                    operation="setPrices",
                    json={"requests": [{"id": item, "price": self.old[item]}]},
                    description=f"shop price of {item}",
                ),
                idempotency_key=f"{item}={price}" if keyed else None,
            )
            for item, price in prices.items()
        ]
        return self.call_items(op, items, body=_body, results=_results)

    old: ClassVar[dict[str, str]] = {}


def _body(items: Sequence[BatchItem]) -> dict[str, Any]:
    return {"requests": [item.payload for item in items]}


def _results(response: httpx.Response, items: Sequence[BatchItem]) -> list[ItemResult]:
    entries = response.json()["responses"]
    return [
        ItemResult(
            key=item.key,
            ok=entry["statusCode"] == 200,
            status=entry["statusCode"],
            code=None if entry["statusCode"] == 200 else str(entry.get("errorId")),
            raw=entry,
        )
        for item, entry in zip(items, entries, strict=False)
    ]


@pytest.fixture(name="shop")
def fixture_shop() -> Shop:
    return Shop()


@pytest.fixture(name="adapter")
def fixture_adapter(shop: Shop, clock: FakeClock) -> ShopAdapter:
    adapter = ShopAdapter(
        base_url="https://shop.test",
        seller="s1",
        app="a1",
        transport=httpx.MockTransport(shop.handle),
        clock=clock,
    )
    adapter.old.update(shop.prices)
    return adapter


def _journal(store: sr.Store, release_id: str = "rel-1") -> Journal:
    return Journal(store, release_id=release_id, scope="shop")


def test_results_come_back_per_item_in_order_without_a_journal(
    adapter: ShopAdapter, shop: Shop
) -> None:
    shop.refuse = {"B"}
    results = adapter.set_prices({"A": "9.00", "B": "9.00", "C": "9.00"})
    assert [(r.key, r.ok, r.status) for r in results] == [
        ("price A", True, 200),
        ("price B", False, 400),
        ("price C", True, 200),
    ]
    assert results[1].code == "25709"
    assert shop.prices == {"A": "9.00", "B": "2.00", "C": "9.00", "D": "4.00"}


def test_each_item_is_its_own_ledger_entry_and_only_applied_ones_are_undone(
    adapter: ShopAdapter, shop: Shop, store: sr.Store
) -> None:
    journal = _journal(store)
    adapter.bind_journal(journal)
    shop.refuse = {"B"}
    adapter.set_prices({"A": "9.00", "B": "9.00", "C": "9.00"})
    entries = journal.entries()
    assert [(e.target, e.state) for e in entries] == [
        ("price A", "succeeded"),
        ("price B", "failed"),
        ("price C", "succeeded"),
    ]
    assert entries[1].response is not None
    assert entries[1].response["error"] == "25709"
    assert all(e.tampered is None for e in entries)
    shop.batches.clear()
    steps = journal.compensate([adapter])
    assert [s.name for s in steps] == ["shop price of C", "shop price of A"]
    assert all(s.ok for s in steps)
    assert shop.batches == [["C"], ["A"]]  # newest first, the failed item never touched
    assert shop.prices == {"A": "1.00", "B": "2.00", "C": "3.00", "D": "4.00"}
    assert journal.compensate([adapter])  # reported again, sent at most once
    assert shop.batches == [["C"], ["A"]]


def test_a_failed_item_is_never_resent_by_resending_the_batch(
    adapter: ShopAdapter, shop: Shop, store: sr.Store
) -> None:
    adapter.bind_journal(_journal(store))
    shop.status_next = [429, 503]  # not executed, then an idempotent batch's 5xx
    shop.refuse = {"B"}
    adapter.set_prices({"A": "9.00", "B": "9.00"})
    assert shop.batches == [["A", "B"]]  # the throttled and failed sends never got there


def test_items_in_place_are_not_sent_again_by_a_rerun(
    adapter: ShopAdapter, shop: Shop, store: sr.Store
) -> None:
    adapter.bind_journal(_journal(store))
    shop.refuse = {"B"}
    first = adapter.set_prices({"A": "9.00", "B": "9.00"}, keyed=True)
    assert [r.ok for r in first] == [True, False]
    shop.refuse = set()
    adapter.bind_journal(_journal(store))  # the same release, after a restart
    again = adapter.set_prices({"A": "9.00", "B": "9.00", "C": "8.00"}, keyed=True)
    assert shop.batches[-1] == ["B", "C"]
    assert [(r.key, r.ok, r.replayed) for r in again] == [
        ("price A", True, True),
        ("price B", True, False),
        ("price C", True, False),
    ]
    assert again[0].status == 200
    shop.batches.clear()
    adapter.bind_journal(_journal(store))
    adapter.set_prices({"A": "9.00"}, keyed=True)
    assert shop.batches == []  # every item in place: nothing sent at all


def test_an_answer_that_does_not_say_which_items_applied_leaves_them_ambiguous(
    adapter: ShopAdapter, shop: Shop, store: sr.Store
) -> None:
    journal = _journal(store)
    adapter.bind_journal(journal)
    shop.body_next = [{"responses": [{"id": "A", "statusCode": 200}]}]  # one answer for two
    with pytest.raises(MarketplaceResponseError, match="which items applied is unknown"):
        adapter.set_prices({"A": "9.00", "B": "9.00"})
    assert [e.state for e in journal.entries()] == ["ambiguous", "ambiguous"]
    assert shop.batches == [["A", "B"]]


def test_a_lost_answer_to_a_non_idempotent_batch_is_ambiguous_and_not_resent(
    adapter: ShopAdapter, shop: Shop, store: sr.Store
) -> None:
    journal = _journal(store)
    adapter.bind_journal(journal)
    shop.lose_next = 1
    with pytest.raises(AmbiguousWriteError):
        adapter.set_prices({"A": "9.00", "B": "9.00"}, op="addPrices")
    assert shop.batches == [["A", "B"]]
    assert [e.state for e in journal.entries()] == ["ambiguous", "ambiguous"]


def test_async_batches_journal_per_item_too(
    adapter: ShopAdapter, shop: Shop, store: sr.Store
) -> None:
    journal = _journal(store)
    adapter.bind_journal(journal)
    shop.refuse = {"A"}
    items = [BatchItem(key=f"price {i}", payload={"id": i, "price": "7.00"}) for i in ("A", "D")]

    async def main() -> list[ItemResult]:
        try:
            return await adapter.acall_items("setPrices", items, body=_body, results=_results)
        finally:
            await adapter.aclose()

    results = asyncio.run(main())
    assert [r.ok for r in results] == [False, True]
    assert [(e.target, e.state) for e in journal.entries()] == [
        ("price A", "failed"),
        ("price D", "succeeded"),
    ]


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([], "at least one item"),
        ("AB", "sequence of BatchItem"),
        ([{"id": "A"}], "must be a BatchItem"),
        ([BatchItem(key="", payload={})], "needs a key"),
        ([BatchItem(key="k", payload={}), BatchItem(key="k", payload={})], "two items"),
    ],
)
def test_bad_batches_are_refused_before_sending(
    adapter: ShopAdapter, shop: Shop, items: Any, match: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        adapter.call_items("setPrices", items, body=_body, results=_results)
    assert shop.batches == []
