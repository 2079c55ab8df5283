"""The side-effect ledger: journaling, replay and compensation against FakeAmazon.

Every test runs on both store backends (SQLite file, PostgreSQL) and the fake
clock; FakeAmazon is the marketplace.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select, update

from safe_release._ledger import REPLAYED_HEADER, Journal
from safe_release.adapters import (
    Inverse,
    active_journal,
    reset_active_journal,
    set_active_journal,
)
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.exceptions import MarketplaceHTTPError, RollbackTriggered
from tests.sealing import reseal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import safe_release as sr
    from safe_release.testing import FakeAmazon, FakeClock

OLD, NEW = Decimal("19.99"), Decimal("24.50")


class Spy(httpx.BaseTransport):
    """The fake's transport, running ``before``/``after`` hooks around each request."""

    def __init__(self, fake: FakeAmazon) -> None:
        self.fake = fake
        self.before: Callable[[httpx.Request], None] = _nothing
        self.after: Callable[[httpx.Request], None] = _nothing
        self.reject: Callable[[httpx.Request], int | None] = _nothing

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.before(request)
        status = self.reject(request)
        if status is not None:
            return httpx.Response(
                status,
                request=request,
                json={"errors": [{"code": "InvalidInput", "message": "rejected by the test"}]},
            )
        response = self.fake.transport.handle_request(request)
        self.after(request)
        return response


def _nothing(request: httpx.Request) -> None:
    del request


class Crash(BaseException):
    """A process dying mid-call (not an Exception: nothing catches it on the way up)."""


def make_adapter(fake: FakeAmazon, clock: FakeClock, **options: Any) -> AmazonAdapter:
    creds = fake.credentials
    options.setdefault("transport", fake.transport)
    return AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        marketplace_id=creds.marketplace_id,
        clock=clock,
        **options,
    )


def quantity_patch(adapter: AmazonAdapter, sku: str, quantity: int) -> dict[str, Any]:
    """call() arguments setting ``sku``'s quantity, with no inverse."""
    return {
        "path_params": {"sellerId": adapter.seller_id, "sku": sku},
        "params": {"marketplaceIds": adapter.marketplace_id},
        "json": {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                }
            ],
        },
    }


def rows(store: sr.Store) -> list[dict[str, Any]]:
    table = store.tables.ledger
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]


def patches(fake: FakeAmazon) -> list[tuple[str, Any]]:
    """(sku, value) of every patch the fake applied, in order."""
    out = []
    for call in fake.writes("patchListingsItem"):
        value = call.json["patches"][0]["value"][0]
        out.append(
            (
                call.path.rsplit("/", 1)[-1],
                value.get(
                    "quantity",
                    value.get("our_price", [{}])[0].get("schedule", [{}])[0].get("value_with_tax"),
                ),
            )
        )
    return out


@pytest.fixture(name="fake")
def fixture_fake(fake_amazon: FakeAmazon) -> FakeAmazon:
    """FakeAmazon with three listings and one unshipped order."""
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        fake_amazon.add_listing(sku, price=OLD, quantity=5)
    return fake_amazon


@pytest.fixture(name="spy")
def fixture_spy(fake: FakeAmazon) -> Spy:
    return Spy(fake)


@pytest.fixture(name="journal")
def fixture_journal(store: sr.Store) -> Journal:
    return Journal(store, release_id="rel-1", scope="prices")


@pytest.fixture(name="adapter")
def fixture_adapter(
    fake: FakeAmazon, fake_clock: FakeClock, spy: Spy, journal: Journal
) -> Iterator[AmazonAdapter]:
    adapter = make_adapter(fake, fake_clock, transport=spy, async_transport=fake.async_transport)
    adapter.bind_journal(journal)
    yield adapter
    adapter.close()


class TestJournaling:
    def test_journaled_sending_before_and_succeeded_after(
        self, store: sr.Store, adapter: AmazonAdapter, spy: Spy
    ) -> None:
        """The row says "sending" while the request is on the wire, "succeeded" after."""
        seen: list[str] = []
        spy.before = lambda request: seen.extend(
            r["state"] for r in rows(store) if request.method == "PATCH"
        )
        adapter.update_price("SKU-1", NEW)
        assert seen == ["sending"]
        (row,) = rows(store)
        assert (row["state"], row["operation"], row["side_effect"]) == (
            "succeeded",
            "patchListingsItem",
            "reversible",
        )
        assert row["adapter"] == adapter.identity
        assert json.loads(row["response"])["body"]["status"] == "ACCEPTED"
        inverse = Inverse.model_validate_json(row["inverse"])
        assert inverse.body["patches"][0]["value"][0]["our_price"][0]["schedule"][0] == {
            "value_with_tax": 19.99
        }
        assert inverse.body["patches"][0]["value"][0]["currency"] == "USD"

    def test_reads_are_not_journaled(self, store: sr.Store, adapter: AmazonAdapter) -> None:
        """get_listing and get_orders leave the ledger empty."""
        adapter.get_listing("SKU-1")
        assert rows(store) == []

    def test_throttled_write_is_journaled_once(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A 429 then a success: one row, one applied write."""
        fake.drain("patchListingsItem")
        adapter.update_price("SKU-1", NEW)
        assert next(c.status for c in fake.calls if c.operation == "patchListingsItem") == 429
        assert [r["state"] for r in rows(store)] == ["succeeded"]
        assert len(fake.writes("patchListingsItem")) == 1

    def test_server_error_write_is_journaled_once(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter, spy: Spy
    ) -> None:
        """A 503 not applied: reconciled by reading back, resent, still one row."""
        answered: list[int] = []

        def once(request: httpx.Request) -> int | None:
            if request.method == "PATCH" and not answered:
                answered.append(503)
                return 503
            return None

        spy.reject = once
        adapter.update_price("SKU-1", NEW)
        assert answered == [503]
        assert [r["state"] for r in rows(store)] == ["succeeded"]
        assert len(fake.writes("patchListingsItem")) == 1

    def test_refused_connection_write_is_journaled_once(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter, spy: Spy
    ) -> None:
        """A refused connection (never delivered): resent, still one row."""
        failed: list[int] = []

        def once(request: httpx.Request) -> None:
            if request.method == "PATCH" and not failed:
                failed.append(1)
                raise httpx.ConnectError("refused", request=request)

        spy.before = once
        adapter.update_price("SKU-1", NEW)
        assert failed == [1]
        assert [r["state"] for r in rows(store)] == ["succeeded"]
        assert fake.price("SKU-1") == NEW

    def test_failed_write_is_journaled_failed(
        self, store: sr.Store, adapter: AmazonAdapter
    ) -> None:
        """A 404 write: the row says failed with the status, and the error is raised."""
        with pytest.raises(MarketplaceHTTPError):
            adapter.call("patchListingsItem", **quantity_patch(adapter, "NOPE", 1))
        (row,) = rows(store)
        assert row["state"] == "failed"
        assert json.loads(row["response"])["status"] == 404

    def test_explicit_idempotency_key(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A given key is stored as is; the same key again is not resent."""
        body = {"marketplaceId": adapter.marketplace_id}
        order = fake.add_order(items=[("SKU-1", 1)])
        package = {
            "packageReferenceId": "1",
            "carrierCode": "UPS",
            "trackingNumber": "1Z1",
            "shipDate": "2026-01-01T10:00:00Z",
            "orderItems": [{"orderItemId": order.items[0].order_item_id, "quantity": 1}],
        }
        for tracking in ("1Z1", "1Z2"):
            adapter.call(
                "confirmShipment",
                path_params={"orderId": order.order_id},
                json={**body, "packageDetail": {**package, "trackingNumber": tracking}},
                idempotency_key=f"ship-{order.order_id}",
            )
        assert [r["idem_key"] for r in rows(store)] == [f"ship-{order.order_id}"]
        assert len(fake.writes("confirmShipment")) == 1

    def test_no_secret_in_the_ledger(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """No access token, refresh token or client secret in any stored column."""
        adapter.update_price("SKU-1", NEW)
        adapter.update_quantity("SKU-2", 9)
        dump = json.dumps(rows(store), default=str)
        secrets = [
            *fake._lwa._tokens,
            fake.credentials.refresh_token,
            fake.credentials.client_secret,
        ]
        assert secrets
        assert not [s for s in secrets if s in dump]
        assert "x-amz-access-token" not in dump

    def test_async_calls_are_journaled(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """acall journals its write like call."""
        body = {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
                }
            ],
        }
        where = {
            "path_params": {"sellerId": adapter.seller_id, "sku": "SKU-1"},
            "params": {"marketplaceIds": adapter.marketplace_id},
        }
        asyncio.run(adapter.acall("patchListingsItem", **where, json=body, idempotency_key="q3"))
        again = asyncio.run(
            adapter.acall("patchListingsItem", **where, json=body, idempotency_key="q3")
        )
        assert again.headers[REPLAYED_HEADER] == "1"
        assert [r["state"] for r in rows(store)] == ["succeeded"]
        assert fake.quantity("SKU-1") == 3

    def test_secret_query_parameters_are_not_stored(
        self, store: sr.Store, adapter: AmazonAdapter
    ) -> None:
        """Query parameters that look like credentials (Shopee, Lazada sign in the query)."""
        where = {
            "path_params": {"sellerId": adapter.seller_id, "sku": "SKU-1"},
            "params": {
                "marketplaceIds": adapter.marketplace_id,
                "access_token": "tok-123",
                "sign": "abc9",
            },
        }
        body = {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}],
                }
            ],
        }
        adapter.call("patchListingsItem", **where, json=body)
        stored = json.dumps(rows(store), default=str)
        assert "tok-123" not in stored
        assert "abc9" not in stored
        assert "marketplaceIds" in stored

    def test_reversible_writes_with_default_keys_are_sent_again(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A price set again under the default key is resent (someone may have changed it)."""
        adapter.update_price("SKU-1", NEW)
        fake.add_listing("SKU-1", price=OLD)  # changed in Seller Central meanwhile
        adapter.update_price("SKU-1", NEW)
        assert fake.price("SKU-1") == NEW
        assert [r["state"] for r in rows(store)] == ["succeeded", "succeeded"]

    def test_active_journal_catches_unbound_adapters(
        self, store: sr.Store, fake: FakeAmazon, fake_clock: FakeClock, journal: Journal
    ) -> None:
        """An unbound adapter journals while a journal is active, and not after."""
        with make_adapter(fake, fake_clock) as adapter:
            token = set_active_journal(journal)
            try:
                assert active_journal() is journal
                adapter.update_price("SKU-1", NEW)
            finally:
                reset_active_journal(token)
            adapter.update_price("SKU-2", NEW)
        assert active_journal() is None
        assert [r["target"].split()[1].rsplit("/", 1)[-1] for r in rows(store)] == ["SKU-1"]

    def test_observer_sees_every_call(self, adapter: AmazonAdapter, journal: Journal) -> None:
        """update_price reports its read and its write, both ok."""
        seen: list[tuple[bool, float]] = []
        journal.observer = lambda ok, latency: seen.append((ok, latency))
        adapter.update_price("SKU-1", NEW)
        assert seen == [(True, 0.0), (True, 0.0)]

    def test_observer_may_trigger_a_rollback(
        self, store: sr.Store, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """RollbackTriggered from the observer propagates after the row is finished."""

        def trip(ok: bool, latency: float) -> None:
            del ok, latency
            raise RollbackTriggered("error rate over 5 %", trigger="ErrorRate")

        with pytest.raises(MarketplaceHTTPError):
            adapter.get_listing("NOPE")  # a read: no row; the observer is not reached yet
        journal.observer = trip
        with pytest.raises(RollbackTriggered):
            adapter.call("patchListingsItem", **quantity_patch(adapter, "SKU-1", 1))
        assert [r["state"] for r in rows(store)] == ["succeeded"]


class TestCompensation:
    def test_restores_prices_newest_first(
        self, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """Three price changes go back in reverse order, once each."""
        for sku in ("SKU-1", "SKU-2", "SKU-3"):
            adapter.update_price(sku, NEW)
        steps = journal.compensate([adapter])
        assert [(s.kind, s.ok) for s in steps] == [("compensation", True)] * 3
        assert [s.name for s in steps] == [
            "amazon price of SKU-3",
            "amazon price of SKU-2",
            "amazon price of SKU-1",
        ]
        assert patches(fake)[3:] == [("SKU-3", 19.99), ("SKU-2", 19.99), ("SKU-1", 19.99)]
        assert set(fake.prices.values()) == {OLD}
        fake.assert_no_duplicate_writes()
        assert journal.summary() == {"succeeded": 3, "comp_done": 3}

    def test_only_the_earliest_write_per_target_is_inverted(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """Two price changes and a quantity change on one SKU: two compensations."""
        adapter.update_price("SKU-1", NEW)
        adapter.update_quantity("SKU-1", 50)
        adapter.update_price("SKU-1", Decimal("30.00"))
        steps = journal.compensate([adapter])
        assert [s.name for s in steps] == ["amazon quantity of SKU-1", "amazon price of SKU-1"]
        assert (fake.price("SKU-1"), fake.quantity("SKU-1")) == (OLD, 5)
        assert [r["comp_state"] for r in rows(store)] == ["done", "done", "superseded"]

    def test_irreversible_writes_are_kept(
        self, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """confirmShipment is reported as kept and not touched."""
        order = fake.add_order(items=[("SKU-1", 1)])
        adapter.confirm_shipment(
            order.order_id,
            {
                "packageReferenceId": "1",
                "carrierCode": "UPS",
                "trackingNumber": "1Z9",
                "shipDate": "2026-01-01T10:00:00Z",
                "orderItems": [{"orderItemId": order.items[0].order_item_id, "quantity": 1}],
            },
        )
        adapter.update_price("SKU-1", NEW)
        steps = journal.compensate([adapter])
        assert [(s.kind, s.ok) for s in steps] == [("compensation", True), ("kept", True)]
        assert steps[1].name == f"amazon confirmShipment {order.order_id}"
        assert "irreversible" in steps[1].detail
        assert len(fake.shipments) == 1

    def test_a_write_without_inverse_is_kept(
        self, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """A raw call without inverse= cannot be undone: kept."""
        adapter.call("patchListingsItem", **quantity_patch(adapter, "SKU-1", 1))
        (step,) = journal.compensate([adapter])
        assert (step.kind, step.ok) == ("kept", True)
        assert "no inverse" in step.detail

    def test_second_compensate_sends_nothing(
        self, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """Compensating twice: the second run reports the same steps and sends nothing."""
        adapter.update_price("SKU-1", NEW)
        first = journal.compensate([adapter])
        sent = len(fake.calls)
        second = journal.compensate([adapter])
        assert len(fake.calls) == sent
        assert [(s.name, s.ok) for s in second] == [(s.name, s.ok) for s in first]

    def test_missing_adapter_is_a_failed_step_left_pending(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """No adapter given: a failed step naming what to do; later, with it, done."""
        adapter.update_price("SKU-1", NEW)
        (step,) = journal.compensate([])
        assert not step.ok
        assert "adapters=" in step.detail
        assert rows(store)[0]["comp_state"] is None
        (step,) = journal.compensate([adapter])
        assert step.ok
        assert fake.price("SKU-1") == OLD

    def test_a_failing_compensation_is_a_step_not_an_exception(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal, spy: Spy
    ) -> None:
        """A 400 answer: failed step, comp_state failed; the next run sends it again."""
        adapter.update_price("SKU-1", NEW)
        spy.reject = lambda request: 400 if request.method == "PATCH" else None
        (step,) = journal.compensate([adapter])
        assert (step.kind, step.ok) == ("compensation", False)
        assert "rejected by the test" in step.detail
        assert rows(store)[0]["comp_state"] == "failed"
        spy.reject = _nothing
        (step,) = journal.compensate([adapter])
        assert step.ok
        assert fake.price("SKU-1") == OLD

    def test_crash_after_the_inverse_landed_is_not_resent(
        self,
        store: sr.Store,
        fake: FakeAmazon,
        fake_clock: FakeClock,
        adapter: AmazonAdapter,
        spy: Spy,
    ) -> None:
        """Crash after the fake applied the compensation: a re-opened journal reconciles."""
        adapter.update_price("SKU-1", NEW)
        adapter.update_price("SKU-2", NEW)

        def crash(request: httpx.Request) -> None:
            if request.method == "PATCH":
                raise Crash

        spy.after = crash
        with pytest.raises(Crash):
            Journal(store, release_id="rel-1", scope="prices").compensate([adapter])
        assert [r["comp_state"] for r in rows(store)] == [None, "sending"]
        with make_adapter(fake, fake_clock) as fresh:
            steps = Journal(store, release_id="rel-1", scope="prices").compensate([fresh])
        assert [(s.name, s.ok) for s in steps] == [
            ("amazon price of SKU-2", True),
            ("amazon price of SKU-1", True),
        ]
        assert "reading back" in steps[0].detail
        assert set(fake.prices.values()) == {OLD}
        fake.assert_no_duplicate_writes()

    def test_crash_before_the_inverse_was_sent_sends_it(
        self, store: sr.Store, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """A row left "sending" whose inverse never left: reconciled as not applied, sent."""
        adapter.update_price("SKU-1", NEW)
        table = store.tables.ledger
        with store.engine.begin() as conn:
            conn.execute(update(table).values(comp_state="sending"))
        reseal(store)  # the state a crash leaves, as the SDK would have sealed it
        (step,) = journal.compensate([adapter])
        assert step.ok
        assert fake.price("SKU-1") == OLD
        fake.assert_no_duplicate_writes()

    def test_verify_reads_back_compensated_values(
        self, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """After compensation the check passes; a later change makes it fail."""
        adapter.update_price("SKU-1", NEW)
        journal.compensate([adapter])
        (check,) = journal.verify([adapter])
        assert (check.kind, check.name, check.ok) == (
            "check",
            "restored amazon patchListingsItem SKU-1",
            True,
        )
        adapter.bind_journal(None)
        adapter.update_price("SKU-1", Decimal("1.00"))
        assert not journal.verify([adapter])[0].ok

    def test_verify_samples_many_compensations(
        self, fake: FakeAmazon, adapter: AmazonAdapter, journal: Journal
    ) -> None:
        """Beyond the sample size, an even spread is read back plus one summary check."""
        for i in range(30):
            fake.add_listing(f"S-{i}", price=OLD)
            adapter.update_price(f"S-{i}", NEW)
        journal.compensate([adapter])
        fake.reset_calls()
        checks = journal.verify([adapter], sample=5)
        assert len(checks) == 6
        assert len({c.name for c in checks[:5]}) == 5
        assert checks[-1].name == "restored marketplace values (sample)"
        assert checks[-1].ok
        assert "read back 5 of 30" in checks[-1].detail
        assert len(fake.calls) == 5
        assert len(journal.verify([adapter], sample=None)) == 30


class TestReplay:
    def test_replay_after_rollback(
        self, store: sr.Store, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """The same job again: compensated prices resent; shipment and kept writes not."""
        order = fake.add_order(items=[("SKU-1", 1)])
        package = {
            "packageReferenceId": "1",
            "carrierCode": "UPS",
            "trackingNumber": "1Z9",
            "shipDate": "2026-01-01T10:00:00Z",
            "orderItems": [{"orderItemId": order.items[0].order_item_id, "quantity": 1}],
        }
        raw = {
            "path_params": {"sellerId": fake.credentials.seller_id, "sku": "SKU-3"},
            "params": {"marketplaceIds": fake.credentials.marketplace_id},
            "idempotency_key": "sku3-out-of-stock",
            "json": {
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
                    }
                ],
            },
        }

        def job(release_id: str) -> list[str | None]:
            with make_adapter(fake, fake_clock) as adapter:
                adapter.bind_journal(Journal(store, release_id=release_id, scope="prices"))
                answers = [adapter.call("patchListingsItem", **raw).headers.get(REPLAYED_HEADER)]
                adapter.confirm_shipment(order.order_id, package)
                adapter.update_price("SKU-1", NEW)
                assert adapter.journal is not None
                adapter.journal.compensate([adapter])
            return answers

        job("rel-1")
        assert job("rel-2") == ["1"]
        assert len(fake.writes("confirmShipment")) == 1
        assert [sku for sku, _ in patches(fake)] == ["SKU-3", "SKU-1", "SKU-1", "SKU-1", "SKU-1"]
        assert fake.price("SKU-1") == OLD
