"""LazadaAdapter: signing vectors, body verdicts, prices, orders, pack/RTS, tokens, releases."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from safe_release._ledger import Journal
from safe_release._release import release
from safe_release._report import ReleaseStatus
from safe_release._secrets import Secret
from safe_release.adapters import MemoryTokenStore, StoredToken, StoreRefreshLock, Verdict
from safe_release.adapters import _lazada_wire as wire
from safe_release.adapters import lazada as lazada_module
from safe_release.adapters._lazada_auth import parse_grant
from safe_release.adapters._lazada_ops import LAZADA_OPERATIONS
from safe_release.adapters._lazada_products import payload
from safe_release.adapters.lazada import LazadaAdapter, Order, SkuState, SkuUpdate
from safe_release.exceptions import (
    AmbiguousWriteError,
    CircuitOpenError,
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    RateLimitedError,
    ReauthorizationRequired,
)
from safe_release.testing import FakeClock, FakeLazada

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import safe_release as sr

SECRET = "helloworld"  # noqa: S105 - the official test vector's secret
SYSTEM = {"app_key": "123456", "access_token": "test", "timestamp": "1517820392000"}
SYSTEM |= {"sign_method": "sha256"}
OLD, NEW = Decimal("10.00"), Decimal("12.50")


# -- helpers ---------------------------------------------------------------------------------


def token_store(fake: FakeLazada) -> MemoryTokenStore:
    """A store holding the fake's current token pair."""
    c = fake.credentials
    pair = StoredToken(
        access_token=Secret(c.access_token),
        access_expires_at=c.access_expires_at,
        refresh_token=Secret(c.refresh_token),
        refresh_expires_at=c.refresh_expires_at,
    )
    return MemoryTokenStore({f"lazada|{c.country}|{c.seller_id}|{c.app_key}": pair})


def make_lazada(fake: FakeLazada, **options: Any) -> LazadaAdapter:
    """A LazadaAdapter for the fake's seller."""
    c = fake.credentials
    options.setdefault("transport", fake.transport)
    options.setdefault("token_store", token_store(fake))
    options.setdefault("clock", fake.clock)
    return LazadaAdapter(
        app_key=c.app_key,
        app_secret=c.app_secret,
        seller_id=c.seller_id,
        country=c.country,
        redirect_uri="https://example.com/lazada/callback",
        **options,
    )


def calls(fake: FakeLazada, operation: str) -> list[Any]:
    return [call for call in fake.calls if call.operation == operation]


def answer(body: Any, path: str = "/rest/orders/get") -> httpx.Response:
    """A 200 answer to a GET of ``path`` (JSON, or raw bytes)."""
    request = httpx.Request("GET", "https://api.lazada.sg" + path)
    if isinstance(body, bytes):
        return httpx.Response(200, content=body, request=request)
    return httpx.Response(200, json=body, request=request)


def failure(code: str, message: str = "m", kind: str = "ISV") -> dict[str, str]:
    return {"type": kind, "code": code, "message": message, "request_id": "r1"}


class Spy(httpx.BaseTransport):
    """The fake's transport; ``change`` rewrites answers, ``after`` runs after each."""

    def __init__(self, fake: FakeLazada) -> None:
        self.fake = fake
        self.change: Callable[[httpx.Request, httpx.Response], httpx.Response] = _same
        self.after: Callable[[httpx.Request], None] = _nothing

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.transport.handle_request(request)
        self.after(request)
        return self.change(request, response)


def _same(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    del request
    return response


def _nothing(request: httpx.Request) -> None:
    del request


class Crash(BaseException):
    """A process dying mid-call."""


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


@pytest.fixture(name="fake")
def fixture_fake(clock: FakeClock) -> FakeLazada:
    """FakeLazada with three SKUs of one item at OLD, quantity 5."""
    fake = FakeLazada(clock=clock)
    for n in (1, 2, 3):
        fake.add_sku(f"SKU-{n}", item_id=100, sku_id=n, price=OLD, quantity=5)
    return fake


@pytest.fixture(name="lazada")
def fixture_lazada(fake: FakeLazada) -> Iterator[LazadaAdapter]:
    adapter = make_lazada(fake)
    yield adapter
    adapter.close()


# -- wire ------------------------------------------------------------------------------------


class TestSigning:
    def test_the_official_vector(self) -> None:
        params = {**SYSTEM, "order_id": "1234"}
        assert wire.string_to_sign("/order/get", params) == (
            "/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256"
            "timestamp1517820392000"
        )
        assert wire.sign(SECRET, "/order/get", params) == (
            "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
        )

    def test_the_price_update_vector(self) -> None:
        xml = (
            "<Request><Product><Skus><Sku><ItemId>234234234</ItemId><SkuId>234</SkuId>"
            "<SellerSku>Apple-SG-Glod-64G</SellerSku><Price>1099.00</Price>"
            "<SalePrice>900.00</SalePrice><Quantity>20</Quantity></Sku></Skus></Product>"
            "</Request>"
        )
        params = {**SYSTEM, "payload": xml}
        assert wire.sign(SECRET, "/product/price_quantity/update", params) == (
            "A00ED3A01E76BEB5333C080AD750246AA55D5719B5F463EBB499103471C39411"
        )

    def test_the_rts_and_refresh_vectors(self) -> None:
        rts = {**SYSTEM, "readyToShipReq": '{"packages":[{"package_id":"FP038524014"}]}'}
        assert wire.sign(SECRET, "/order/package/rts", rts) == (
            "D2D17306AAAF25AE9C3FE4C29F6BA2AA49EB6C1CEAF18FC913AD1E62ABA5D329"
        )
        refresh = {k: v for k, v in SYSTEM.items() if k != "access_token"}
        refresh["refresh_token"] = "500016000300bwa2WteaQyfwBMnPxurcA0mXGhQdTt18356663CfcDTYpWoi"  # noqa: S105
        assert wire.sign(SECRET, "/auth/token/refresh", refresh) == (
            "C108E127E2A0E5DBDAC5A4A4A89561589247CCBFE131064C219B85CE4E3E5D3A"
        )

    def test_sign_and_empty_values_are_left_out(self) -> None:
        params = {**SYSTEM, "order_id": "1234", "sign": "X", "empty": ""}
        assert wire.sign(SECRET, "/order/get", params).startswith("4190D323")

    def test_sent_requests_carry_no_empty_value(self, lazada: LazadaAdapter) -> None:
        """A None or empty business parameter is never sent (nor signed)."""
        op = LAZADA_OPERATIONS["orders_get"]
        request = lazada.build_request(op, params={"created_after": "x", "status": "", "a": None})
        assert dict(request.url.params) == {"created_after": "x"}
        with pytest.raises(InvalidArgumentError, match="set by the adapter"):
            lazada.build_request(op, params={"access_token": "t"})


class TestEnvelope:
    @pytest.mark.parametrize(
        ("body", "kind"),
        [
            ({"code": "0", "data": {}}, wire.Kind.OK),
            (failure("IllegalAccessToken"), wire.Kind.AUTH_EXPIRED),
            (failure("ApiCallLimit", "this ban will last 1 seconds."), wire.Kind.THROTTLED),
            (failure("901", "E901", "ISP"), wire.Kind.THROTTLED),
            (failure("998", "disabled", "ISP"), wire.Kind.OUTAGE),
            (failure("ServiceTimeout", "t", "SYSTEM"), wire.Kind.SERVER),
            (failure("6", "E006", "ISP"), wire.Kind.SERVER),
            (failure("1000", "internal", "ISP"), wire.Kind.SERVER),
            (failure("Whatever", "x", "SYSTEM"), wire.Kind.SERVER),
            (failure("InvalidTimestamp"), wire.Kind.SKEWED),
            (failure("IncompleteSignature", "timestamp is stale"), wire.Kind.SKEWED),
            (failure("IncompleteSignature", "does not conform"), wire.Kind.FAILED),
            (failure("501", "E501", "ISP"), wire.Kind.FAILED),
            ({"request_id": "r"}, wire.Kind.FAILED),  # neither code nor data
            (b"<html>502</html>", wire.Kind.SERVER),
        ],
    )
    def test_kinds(self, body: Any, kind: str) -> None:
        assert wire.envelope_kind(answer(body)) == kind

    def test_verdicts(self, lazada: LazadaAdapter) -> None:
        assert lazada.classify(answer(failure("IllegalAccessToken"))) is Verdict.AUTH_EXPIRED
        assert lazada.classify(answer(failure("ApiCallLimit"))) is Verdict.THROTTLED
        assert lazada.classify(answer({"code": "0", "data": []})) is Verdict.OK

    @pytest.mark.parametrize(
        ("message", "seconds"),
        [
            ("Api access frequency exceeds the limit. this ban will last 5 seconds.", 5.0),
            ("this ban will last 1 second", 1.0),
            ("this ban will last soon seconds.", 0.2),
            ("this ban will last 0 seconds.", 0.2),
            ("this ban will last 999999 seconds.", wire.MAX_BAN_S),
            ("", 0.2),
        ],
    )
    def test_ban_lengths_are_bounded(self, message: str, seconds: float) -> None:
        assert wire.ban_seconds(answer(failure("ApiCallLimit", message)), 0.2) == seconds

    def test_retry_after_uses_the_declared_interval_for_garbage(
        self, lazada: LazadaAdapter
    ) -> None:
        garbage = answer(failure("ApiCallLimit", "ban will last ? seconds"), "/rest/orders/get")
        assert lazada.retry_after(garbage) == pytest.approx(0.1)  # 10/s declared [U]

    def test_typed_errors(self) -> None:
        op = LAZADA_OPERATIONS["orders_get"]
        error = wire.lazada_error(op, answer(failure("17", "E017: Invalid Date Format", "ISP")))
        assert type(error) is MarketplaceHTTPError
        assert (error.code, error.request_id) == ("17", "r1")
        assert "E017" in str(error)
        throttled = wire.lazada_error(op, answer(failure("ApiCallLimit", "ban will last 3 s")))
        assert isinstance(throttled, RateLimitedError)
        auth = wire.lazada_error(op, answer(failure("IllegalAccessToken")))
        assert isinstance(auth, MarketplaceAuthError)
        assert isinstance(wire.lazada_error(op, answer(b"<html/>")), MarketplaceResponseError)

    @pytest.mark.parametrize(
        "body", [b"not json", b"[1, 2]", b'{"request_id": "r"}', b'"text"', b"[" * 100_000]
    )
    def test_unusable_bodies(self, body: bytes) -> None:
        op = LAZADA_OPERATIONS["orders_get"]
        with pytest.raises(MarketplaceResponseError):
            wire.body_of(op, answer(body))

    @pytest.mark.parametrize(
        "raw",
        ["2018-02-09T22:44:30+08:00", "2018-02-09 22:44:30 +0800", "2018-02-09 22:44:30+08:00"],
    )
    def test_both_date_forms(self, raw: str) -> None:
        when = wire.parse_time(raw, "created_at", "orders_get")
        assert when == datetime(2018, 2, 9, 14, 44, 30, tzinfo=timezone.utc)

    @pytest.mark.parametrize("raw", ["2018-02-09 22:44:30", "yesterday", 5, None])
    def test_bad_dates(self, raw: object) -> None:
        with pytest.raises(MarketplaceResponseError, match="created_at"):
            wire.parse_time(raw, "created_at", "orders_get")


class TestTokenAnswers:
    def test_a_good_answer_with_string_numbers(self) -> None:
        body = {"code": "0", "access_token": "a", "refresh_token": "r", "expires_in": "10"}
        grant = parse_grant(200, {**body, "refresh_expires_in": "20"}, "token_refresh")
        assert (grant.expires_in, grant.refresh_expires_in) == (10.0, 20.0)
        assert "a" not in repr(grant.access_token)

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ({"code": "0", "access_token": "a", "expires_in": 10}, MarketplaceResponseError),
            (
                {"code": "0", "access_token": "a", "expires_in": 10, "refresh_token": ""},
                MarketplaceResponseError,
            ),
            ({"code": "0", "refresh_token": "r", "expires_in": 10}, MarketplaceResponseError),
            (failure("IllegalRefreshToken"), MarketplaceAuthError),
            (failure("ApiCallLimit"), RateLimitedError),
            (failure("15", "x", "ISP"), MarketplaceHTTPError),
            (None, MarketplaceResponseError),
            ([], MarketplaceResponseError),
        ],
    )
    def test_refused_and_unusable(self, body: object, error: type[Exception]) -> None:
        with pytest.raises(error) as info:
            parse_grant(200, body, "token_refresh")
        assert "refresh_token=" not in str(info.value)

    def test_authorization_url(self, lazada: LazadaAdapter, fake: FakeLazada) -> None:
        url = httpx.URL(lazada.authorization_url(state="s1"))
        assert str(url).startswith("https://auth.lazada.com/oauth/authorize?")
        assert dict(url.params) == {
            "response_type": "code",
            "force_auth": "true",
            "redirect_uri": "https://example.com/lazada/callback",
            "client_id": fake.credentials.app_key,
            "state": "s1",
        }


# -- prices and stock --------------------------------------------------------------------------


class TestPrices:
    def test_updates_read_old_values_first(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        results = lazada.update_price_quantity(
            [SkuUpdate("SKU-1", price=NEW), {"seller_sku": "SKU-2", "quantity": 9}]
        )
        assert [(r.key, r.ok) for r in results] == [
            ("sku SKU-1 price", True),
            ("sku SKU-2 quantity", True),
        ]
        assert (fake.price("SKU-1"), fake.quantity("SKU-2")) == (NEW, 9)
        assert len(calls(fake, "product_item_get")) == 2
        (write,) = calls(fake, "price_quantity_update")
        assert write.method == "POST"

    def test_the_payload_is_escaped_xml(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        fake.add_sku("A&B<1>", item_id=200, sku_id=7, price=OLD, quantity=1)
        (result,) = lazada.update_price_quantity([SkuUpdate("A&B<1>", sale_price=Decimal(9))])
        assert result.ok
        assert fake.sale_price("A&B<1>") == Decimal(9)
        state = SkuState("a<b", "1", "2", None, None, None)
        xml = payload([SkuUpdate("a<b", price=Decimal("1.50"), quantity=0).entry(state)])
        assert "<SellerSku>a&lt;b</SellerSku><Price>1.50</Price><Quantity>0</Quantity>" in xml

    def test_more_than_50_skus_are_split(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        for n in range(4, 56):
            fake.add_sku(f"SKU-{n}", item_id=300 + n, sku_id=n, price=OLD, quantity=1)
        updates = [SkuUpdate(f"SKU-{n}", quantity=2) for n in range(1, 56)]
        results = lazada.update_price_quantity(updates)
        assert len(results) == 55
        assert all(r.ok for r in results)
        assert len(calls(fake, "price_quantity_update")) == 2

    def test_a_refused_call_fails_its_skus(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        """No per-SKU result exists: a 501 (campaign lock) fails every SKU of the call."""
        fake.faults.campaign_lock(["SKU-2"])
        results = lazada.update_price_quantity(
            [SkuUpdate("SKU-1", price=NEW), SkuUpdate("SKU-2", price=NEW)]
        )
        assert [(r.ok, r.code) for r in results] == [(False, "501"), (False, "501")]
        assert fake.price("SKU-1") == OLD

    @pytest.mark.parametrize(
        "changes",
        [
            [],
            "SKU-1",
            [{"seller_sku": "SKU-1"}],
            [{"seller_sku": "SKU-1", "price": 1.5}],
            [{"seller_sku": "SKU-1", "quantity": -1}],
            [{"seller_sku": "SKU-1", "price": Decimal(1), "colour": "red"}],
            [SkuUpdate("SKU-1", price=NEW), SkuUpdate("SKU-1", quantity=1)],
            [{"seller_sku": "", "price": Decimal(1)}],
        ],
    )
    def test_bad_changes(self, fake: FakeLazada, lazada: LazadaAdapter, changes: Any) -> None:
        with pytest.raises(InvalidArgumentError):
            lazada.update_price_quantity(changes)
        assert not calls(fake, "price_quantity_update")

    def test_ledger_target_is_the_item_key(self, lazada: LazadaAdapter) -> None:
        op = LAZADA_OPERATIONS["price_quantity_update"]
        state = SkuState("SKU-1", "100", "1", OLD, None, 5)
        xml = payload([SkuUpdate("SKU-1", price=NEW, quantity=1).entry(state)])
        request = lazada.build_request(op, params={"payload": xml})
        assert lazada.ledger_target(op, request) == "sku SKU-1 price,quantity"

    def test_async(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        async def main() -> list[Any]:
            return await lazada.aupdate_price_quantity([SkuUpdate("SKU-3", quantity=0)])

        (result,) = asyncio.run(main())
        assert result.ok
        assert fake.quantity("SKU-3") == 0


# -- orders, pack, ready-to-ship ---------------------------------------------------------------


def _orders(fake: FakeLazada, count: int) -> list[int]:
    start = fake.clock.time()
    return [
        fake.add_order(lines=[("SKU-1", 2)], created=start - 3600 * (n + 1)) for n in range(count)
    ]


class TestOrders:
    def test_offset_paging(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        ids = _orders(fake, 5)
        since = datetime.fromtimestamp(fake.clock.time(), timezone.utc) - timedelta(days=1)
        orders = lazada.get_orders(created_after=since, limit=2)
        assert sorted(int(o.order_id) for o in orders) == sorted(ids)
        assert all(isinstance(o, Order) and o.created_at.tzinfo for o in orders)
        assert len(calls(fake, "orders_get")) == 3
        pages = list(lazada.iter_orders(update_after=since, limit=2, max_pages=1))
        assert len(pages) == 2

    def test_numbers_as_strings(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        _orders(fake, 1)
        fake.faults.numbers_as_strings = True
        since = datetime.fromtimestamp(fake.clock.time(), timezone.utc) - timedelta(days=1)
        (order,) = lazada.get_orders(created_after=since)
        assert order.items_count == 2

    @pytest.mark.parametrize(
        "kwargs",
        [
            {},
            {"created_after": datetime(2025, 1, 1)},  # noqa: DTZ001 - naive on purpose
            {"created_after": datetime(2025, 1, 1, tzinfo=timezone.utc), "limit": 101},
            {"created_after": datetime(2025, 1, 1, tzinfo=timezone.utc), "status": "nope"},
            {"created_after": datetime(2025, 1, 1, tzinfo=timezone.utc), "sort_by": "x"},
        ],
    )
    def test_bad_arguments(self, fake: FakeLazada, lazada: LazadaAdapter, kwargs: Any) -> None:
        with pytest.raises(InvalidArgumentError):
            lazada.get_orders(**kwargs)
        assert not calls(fake, "orders_get")

    def test_async_reads(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        (order_id,) = _orders(fake, 1)
        since = datetime.fromtimestamp(fake.clock.time(), timezone.utc) - timedelta(days=1)

        async def main() -> tuple[list[Order], list[dict[str, Any]]]:
            return (
                await lazada.aget_orders(created_after=since),
                await lazada.aget_order_items(order_id),
            )

        orders, items = asyncio.run(main())
        assert [o.order_id for o in orders] == [str(order_id)]
        assert [i["status"] for i in items] == ["pending", "pending"]


def _item_ids(fake: FakeLazada, order_id: int) -> list[int]:
    return [item.order_item_id for item in fake.items(order_id)]


class TestPackAndShip:
    def test_pack_then_ready_to_ship(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        (order_id,) = _orders(fake, 1)
        items = _item_ids(fake, order_id)
        results = lazada.pack({order_id: items})
        assert [r.ok for r in results] == [True, True]
        packages = {r.raw["package_id"] for r in results}
        assert len(packages) == 1
        shipped = lazada.ready_to_ship(sorted(packages))
        assert [r.ok for r in shipped] == [True]
        assert {i.status for i in fake.items(order_id)} == {"ready_to_ship"}

    def test_per_item_failures_beside_success(
        self, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        (order_id,) = _orders(fake, 1)
        first, second = _item_ids(fake, order_id)
        fake.faults.fail_item(second, code="700024", retry=True)
        results = lazada.pack({order_id: [first, second]})
        assert [(r.ok, r.code) for r in results] == [(True, None), (False, "700024")]
        assert results[1].raw["retry"] is True

    def test_at_most_20_orders_a_call(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        ids = _orders(fake, 21)
        results = lazada.pack({o: _item_ids(fake, o) for o in ids})
        assert len(results) == 42
        assert all(r.ok for r in results)
        assert len(calls(fake, "fulfill_pack")) == 2

    def test_a_lost_pack_is_read_back_not_resent(
        self, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        (order_id,) = _orders(fake, 1)
        fake.faults.ambiguous_next("fulfill_pack")
        results = lazada.pack({order_id: _item_ids(fake, order_id)})
        assert [r.ok for r in results] == [True, True]
        assert all(r.raw["package_id"] for r in results)
        assert len(calls(fake, "fulfill_pack")) == 1
        fake.assert_no_duplicate_writes()

    def test_a_service_timeout_on_pack_is_reconciled(
        self, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        (order_id,) = _orders(fake, 1)
        fake.faults.service_timeout_next("fulfill_pack")
        results = lazada.pack({order_id: _item_ids(fake, order_id)})
        assert all(r.ok for r in results)
        assert len(calls(fake, "fulfill_pack")) == 1

    def test_a_lost_rts_is_ambiguous(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        (order_id,) = _orders(fake, 1)
        (package,) = {
            r.raw["package_id"] for r in lazada.pack({order_id: _item_ids(fake, order_id)})
        }
        fake.faults.ambiguous_next("package_rts")
        with pytest.raises(AmbiguousWriteError):
            lazada.ready_to_ship([package])
        assert len(calls(fake, "package_rts")) == 1

    @pytest.mark.parametrize("orders", [{}, {"x": [1]}, {1: []}, {1: "12"}, {1: [True]}, [1, 2]])
    def test_bad_pack_arguments(self, lazada: LazadaAdapter, orders: Any) -> None:
        with pytest.raises(InvalidArgumentError):
            lazada.pack(orders)

    def test_bad_pack_options(self, lazada: LazadaAdapter) -> None:
        with pytest.raises(InvalidArgumentError, match="shipment_provider_code"):
            lazada.pack({1: [2]}, shipping_allocate_type="NTFS")
        with pytest.raises(InvalidArgumentError, match="delivery_type"):
            lazada.pack({1: [2]}, delivery_type="teleport")
        with pytest.raises(InvalidArgumentError):
            lazada.ready_to_ship("FP1")
        with pytest.raises(InvalidArgumentError):
            lazada.ready_to_ship([])

    def test_async_pack_and_rts(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        (order_id,) = _orders(fake, 1)

        async def main() -> list[Any]:
            packed = await lazada.apack({order_id: _item_ids(fake, order_id)})
            return await lazada.aready_to_ship(sorted({r.raw["package_id"] for r in packed}))

        assert [r.ok for r in asyncio.run(main())] == [True]


# -- throttling, outages, bad answers ----------------------------------------------------------


class TestBodySignals:
    def test_api_call_limit_waits_the_ban(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        fake.set_qps("product_item_get", 1)
        fake.faults.ban_seconds = 2
        started = fake.clock.time()
        for _ in range(3):
            lazada.get_item(item_id=100)
        assert len(calls(fake, "product_item_get")) <= 6  # each call throttled at most once
        assert fake.clock.time() - started >= 2.0

    def test_a_garbage_ban_is_bounded(self, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        fake.set_qps("product_item_get", 1)
        fake.faults.ban_text = "many many"
        started = fake.clock.time()
        for _ in range(3):
            lazada.get_item(item_id=100)
        assert fake.clock.time() - started < 30

    def test_a_non_json_answer_is_typed(self, fake: FakeLazada) -> None:
        spy = Spy(fake)

        def garbage(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            del response
            return httpx.Response(200, content=b"<html>oops</html>", request=request)

        spy.change = garbage
        with make_lazada(fake, transport=spy) as adapter, pytest.raises(MarketplaceError):
            adapter.get_item(item_id=100)

    def test_neither_code_nor_data(self, fake: FakeLazada) -> None:
        spy = Spy(fake)

        def empty(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            del response
            return httpx.Response(200, json={"request_id": "r"}, request=request)

        spy.change = empty
        with make_lazada(fake, transport=spy) as adapter, pytest.raises(MarketplaceError):
            adapter.get_item(item_id=100)

    def test_a_rejected_valid_signature_is_typed_not_looped(
        self, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        fake.faults.reject_valid_signatures(times=1)
        with pytest.raises(MarketplaceAuthError, match="IncompleteSignature"):
            lazada.get_item(item_id=100)
        assert len(calls(fake, "product_item_get")) == 1
        assert lazada.get_item(item_id=100)

    def test_a_skewed_clock_is_corrected_once(self, fake: FakeLazada) -> None:
        """A timestamp 3 h off: the offset comes from the answer's Date, one resend."""
        clock = FakeClock(start=fake.clock.time() - 3 * 3600)
        with make_lazada(fake, clock=clock) as adapter:
            assert adapter.get_item(item_id=100)
            assert adapter.time_offset == pytest.approx(3 * 3600, abs=1)
        assert len(calls(fake, "product_item_get")) == 2

    def test_a_campaign_shutdown_opens_the_breaker(
        self, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        now = fake.clock.time()
        fake.faults.campaign_shutdown(now, now + 3600)
        with pytest.raises(CircuitOpenError) as info:
            lazada.get_item(item_id=100)
        assert isinstance(info.value.__cause__, MarketplaceHTTPError)
        assert info.value.__cause__.code == "998"
        with pytest.raises(CircuitOpenError):
            lazada.get_item(item_id=100)
        assert len(calls(fake, "product_item_get")) == 1

    def test_no_secret_in_reprs_or_messages(
        self, fake: FakeLazada, lazada: LazadaAdapter, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level("DEBUG")
        lazada.get_item(item_id=100)
        c = fake.credentials
        shown = repr(lazada) + repr(lazada.tokens) + caplog.text + repr(lazada.health())
        for secret in (c.app_secret, c.access_token, c.refresh_token):
            assert secret not in shown

    def test_public_objects_show_the_public_module(self) -> None:
        for name in lazada_module.__all__:
            assert getattr(lazada_module, name).__module__ == "safe_release.adapters.lazada"


# -- tokens and health -------------------------------------------------------------------------


class TestTokens:
    def test_the_stored_token_is_used_as_it_is(
        self, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        issued = fake.tokens_issued
        lazada.get_item(item_id=100)
        assert fake.tokens_issued == issued

    def test_a_refresh_is_saved_before_use(
        self, fake: FakeLazada, lazada: LazadaAdapter, clock: FakeClock
    ) -> None:
        clock.advance(31 * 86_400)
        lazada.get_item(item_id=100)
        saved = lazada.token_store.load(lazada.token_key)
        assert saved is not None
        assert saved.refresh_token.reveal() != fake.credentials.refresh_token
        assert saved.refresh_expires_at == fake.credentials.refresh_expires_at  # not extended

    def test_a_lost_refresh_answer_needs_reauthorization_never_a_loop(
        self, fake: FakeLazada, lazada: LazadaAdapter, clock: FakeClock
    ) -> None:
        clock.advance(31 * 86_400)
        fake.faults.lose_refresh_answer()
        with pytest.raises(ReauthorizationRequired) as info:
            lazada.get_item(item_id=100)
        assert info.value.authorization_url.startswith("https://auth.lazada.com/oauth/")
        issued = fake.tokens_issued
        for _ in range(3):
            with pytest.raises(ReauthorizationRequired):
                lazada.get_item(item_id=100)
        assert fake.tokens_issued == issued  # the spent token was never sent again
        health = lazada.health()
        assert health.needs_reauthorization
        assert health.authorization_url is not None
        lazada.create_token(fake.authorization_code())
        assert lazada.get_item(item_id=100)
        assert lazada.health().ok

    def test_a_spent_refresh_token_needs_reauthorization(
        self, fake: FakeLazada, clock: FakeClock
    ) -> None:
        """Two stores holding one pair: the second refresh is IllegalRefreshToken, once."""
        clock.advance(31 * 86_400)
        with make_lazada(fake) as first, make_lazada(fake) as second:
            first.get_item(item_id=100)
            refreshes = len(calls(fake, "token_refresh"))
            with pytest.raises(ReauthorizationRequired):
                second.get_item(item_id=100)
            with pytest.raises(ReauthorizationRequired):
                second.get_item(item_id=100)
            assert len(calls(fake, "token_refresh")) == refreshes + 1

    def test_workers_sharing_a_store_refresh_once(
        self, store: sr.Store, fake: FakeLazada, clock: FakeClock
    ) -> None:
        """Two adapters (two workers) on one token store and one StoreRefreshLock."""
        tokens, lock = token_store(fake), StoreRefreshLock(store)
        clock.advance(31 * 86_400)
        with (
            make_lazada(fake, token_store=tokens, refresh_lock=lock) as first,
            make_lazada(fake, token_store=tokens, refresh_lock=lock) as second,
        ):
            first.get_item(item_id=100)
            second.get_item(item_id=100)
        assert len(calls(fake, "token_refresh")) == 1

    def test_a_refresh_answer_without_a_refresh_token(
        self, fake: FakeLazada, clock: FakeClock
    ) -> None:
        spy = Spy(fake)

        def drop(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if not request.url.path.endswith("/auth/token/refresh"):
                return response
            body = response.json()
            body.pop("refresh_token", None)
            return httpx.Response(200, json=body, request=request)

        spy.change = drop
        clock.advance(31 * 86_400)
        with make_lazada(fake, transport=spy) as adapter:
            for _ in range(2):
                with pytest.raises(ReauthorizationRequired):
                    adapter.get_item(item_id=100)
        assert len(calls(fake, "token_refresh")) == 1

    def test_an_expired_access_token_refreshes_once(
        self, fake: FakeLazada, lazada: LazadaAdapter, clock: FakeClock
    ) -> None:
        lazada.get_item(item_id=100)
        issued = fake.tokens_issued
        clock.advance(31 * 86_400)
        lazada.get_item(item_id=100)
        assert fake.tokens_issued == issued + 1

    def test_health_reports_the_refresh_deadline(
        self, lazada: LazadaAdapter, clock: FakeClock
    ) -> None:
        health = lazada.health()
        assert health.ok
        assert health.days_until_reauthorization == pytest.approx(180.0)
        assert not health.needs_reauthorization
        clock.advance(31 * 86_400)
        health = lazada.health()  # a refresh happened: the deadline did not move
        assert health.ok
        assert health.days_until_reauthorization == pytest.approx(149.0)


# -- releases ----------------------------------------------------------------------------------


class TestRelease:
    def test_a_failing_release_undoes_each_sku(
        self, store: sr.Store, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            release("lazada-prices", store=store, adapters=[lazada]),
        ):
            results = lazada.update_price_quantity(
                [SkuUpdate("SKU-1", price=NEW), SkuUpdate("SKU-2", price=NEW, quantity=9)]
            )
            assert all(r.ok for r in results)
            raise Boom
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert report.status is ReleaseStatus.ROLLED_BACK
        steps = [s.name for s in report.restored if s.kind == "compensation"]
        assert steps == [
            "lazada price and quantity of SKU SKU-2",
            "lazada price of SKU SKU-1",
        ]
        assert set(fake.prices.values()) == {OLD}
        assert fake.quantity("SKU-2") == 5
        inverses = calls(fake, "price_quantity_update")[1:]
        assert len(inverses) == 2

    def test_async_release(self, store: sr.Store, fake: FakeLazada, lazada: LazadaAdapter) -> None:
        async def main() -> None:
            async with release("lazada-prices", store=store, adapters=[lazada]):
                await lazada.aupdate_price_quantity([SkuUpdate("SKU-1", price=NEW)])
                assert fake.price("SKU-1") == NEW
                raise Boom

        with pytest.raises(Boom):
            asyncio.run(main())
        assert fake.price("SKU-1") == OLD

    def test_crash_during_compensation_is_finished_once(
        self, store: sr.Store, fake: FakeLazada
    ) -> None:
        spy = Spy(fake)
        journal = Journal(store, release_id="rel-1", scope="prices")
        with make_lazada(fake, transport=spy) as adapter:
            adapter.bind_journal(journal)
            adapter.update_price_quantity([SkuUpdate(s, price=NEW) for s in ("SKU-1", "SKU-2")])

            def crash(request: httpx.Request) -> None:
                if request.url.path.endswith("/price_quantity/update"):
                    raise Crash

            spy.after = crash
            with pytest.raises(Crash):
                Journal(store, release_id="rel-1", scope="prices").compensate([adapter])
        with make_lazada(fake) as fresh:
            steps = Journal(store, release_id="rel-1", scope="prices").compensate([fresh])
            again = Journal(store, release_id="rel-1", scope="prices").compensate([fresh])
        assert [s.ok for s in steps] == [True, True], [s.detail for s in steps]
        assert "reading back" in steps[0].detail
        assert [(s.name, s.ok) for s in again] == [(s.name, s.ok) for s in steps]
        assert set(fake.prices.values()) == {OLD}
        assert len(calls(fake, "price_quantity_update")) == 1 + 2

    def test_the_journal_holds_no_signature_or_token(
        self, store: sr.Store, fake: FakeLazada, lazada: LazadaAdapter
    ) -> None:
        journal = Journal(store, release_id="rel-2", scope="prices")
        lazada.bind_journal(journal)
        lazada.update_price_quantity([SkuUpdate("SKU-1", price=NEW)])
        table = store.tables.ledger
        with store.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(table.select())]
        text = json.dumps(rows, default=str)
        assert fake.credentials.access_token not in text
        assert "sign=" not in text.replace("sign=***", "")
