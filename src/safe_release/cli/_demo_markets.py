"""The demo's marketplaces: FakeAmazon, FakeEbay and FakeWalmart on loopback, and adapters.

Each fake is served on 127.0.0.1 and its adapter talks to it over real HTTP, as
it would to the marketplace. The fakes' quotas are raised for the demo (the real
ones would make it minutes long: Walmart allows 100 price updates an hour), and
the adapters are told the same limits.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safe_release._clock import SystemClock
from safe_release.adapters import Limit
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.adapters.ebay import EbayAdapter
from safe_release.adapters.walmart import WalmartAdapter
from safe_release.testing import FakeAmazon, FakeEbay, FakeWalmart

if TYPE_CHECKING:
    from collections.abc import Iterator
    from decimal import Decimal

    from safe_release.adapters import MarketplaceAdapter

__all__ = ["Markets", "open_markets"]

_RATE, _BURST = 100.0, 20  # the demo's quotas: a fast demo
_AMAZON_OPS = ("getListingsItem", "patchListingsItem")
_EBAY_OPS = ("getOffer", "bulkUpdatePriceQuantity")
_WALMART_OPS = ("getItem", "updatePrice")
_TIMEOUT = 5.0


@dataclass
class Markets:
    """The three fakes, their adapters, and the eBay offer of each SKU."""

    fake_amazon: FakeAmazon
    fake_ebay: FakeEbay
    fake_walmart: FakeWalmart
    amazon: AmazonAdapter
    ebay: EbayAdapter
    walmart: WalmartAdapter
    urls: dict[str, str]
    offers: dict[str, str] = field(default_factory=dict)

    @property
    def adapters(self) -> list[MarketplaceAdapter]:
        """Every adapter, for ``release(adapters=…)``."""
        return [self.amazon, self.ebay, self.walmart]

    def list_item(self, sku: str, price: Decimal) -> None:
        """List ``sku`` at ``price`` on every marketplace."""
        self.fake_amazon.add_listing(sku, price=price)
        self.offers[sku] = self.fake_ebay.add_offer(sku, price=price, quantity=25)
        self.fake_walmart.add_item(sku, price=price, quantity=25)

    def push(self, sku: str, price: Decimal) -> None:
        """Set ``sku``'s price on every marketplace (each write journaled with its inverse)."""
        self.amazon.update_price(sku, price)
        self.ebay.update_price(price, offer_id=self.offers[sku])
        self.walmart.update_price(sku, price)

    def prices(self) -> dict[str, dict[str, Decimal]]:
        """Each marketplace's prices by SKU, read from the fakes."""
        by_offer = self.fake_ebay.prices
        return {
            "Amazon": dict(self.fake_amazon.prices),
            "eBay": {sku: by_offer[offer] for sku, offer in self.offers.items()},
            "Walmart": dict(self.fake_walmart.prices),
        }

    def reset_calls(self) -> None:
        """Forget the calls so far (duplicates are checked from here on)."""
        for fake in (self.fake_amazon, self.fake_ebay, self.fake_walmart):
            fake.reset_calls()

    def assert_no_duplicate_writes(self) -> None:
        """No write reached any marketplace twice."""
        for fake in (self.fake_amazon, self.fake_ebay, self.fake_walmart):
            fake.assert_no_duplicate_writes()


@contextmanager
def open_markets() -> Iterator[Markets]:
    """Serve the three fakes on 127.0.0.1 and open an adapter to each."""
    clock = SystemClock()
    with ExitStack() as stack:
        amazon_fake, ebay_fake = FakeAmazon(clock=clock), FakeEbay(clock=clock)
        walmart_fake = FakeWalmart(clock=clock)
        urls = {
            "FakeAmazon": stack.enter_context(amazon_fake.serve()),
            "FakeEbay": stack.enter_context(ebay_fake.serve()),
            "FakeWalmart": stack.enter_context(walmart_fake.serve()),
        }
        for op in _AMAZON_OPS:
            amazon_fake.set_limit(op, rate=_RATE, burst=_BURST)
        for op in _WALMART_OPS:
            walmart_fake.set_bucket(op, capacity=_BURST, per_seconds=_BURST / _RATE)
        amazon_creds, ebay_creds = amazon_fake.credentials, ebay_fake.credentials
        walmart_creds = walmart_fake.credentials
        amazon = AmazonAdapter(
            seller_id=amazon_creds.seller_id,
            client_id=amazon_creds.client_id,
            client_secret=amazon_creds.client_secret,
            refresh_token=amazon_creds.refresh_token,
            marketplace_id=amazon_creds.marketplace_id,
            base_url=urls["FakeAmazon"],
            token_url=urls["FakeAmazon"] + "/auth/o2/token",
            timeout=_TIMEOUT,
            limits={op: Limit(_RATE, _BURST) for op in _AMAZON_OPS},
        )
        ebay = EbayAdapter(
            user_id=ebay_creds.user_id,
            client_id=ebay_creds.client_id,
            client_secret=ebay_creds.client_secret,
            refresh_token=ebay_creds.refresh_token,
            scopes=ebay_creds.scopes,
            base_url=urls["FakeEbay"],
            token_url=urls["FakeEbay"] + "/identity/v1/oauth2/token",
            timeout=_TIMEOUT,
            limits={op: Limit(_RATE, _BURST) for op in _EBAY_OPS},
        )
        walmart = WalmartAdapter(
            client_id=walmart_creds.client_id,
            client_secret=walmart_creds.client_secret,
            seller_id=walmart_creds.seller_id,
            base_url=urls["FakeWalmart"],
            timeout=_TIMEOUT,
            limits={op: Limit(_RATE, _BURST) for op in _WALMART_OPS},
        )
        for adapter in (amazon, ebay, walmart):
            stack.callback(adapter.close)
        yield Markets(amazon_fake, ebay_fake, walmart_fake, amazon, ebay, walmart, urls)
