"""The Shopee Open Platform v2 adapter (product, order and logistics Shop APIs).

    from safe_release.adapters.shopee import ShopeeAdapter

    shopee = ShopeeAdapter(partner_id=2001887, partner_key=os.environ["SHOPEE_PARTNER_KEY"],
                           shop_id=600000, region="SG", token_store=my_store)
    shopee.update_price(800123456, {0: Decimal("19.90")})     # old prices read first

Every request is signed (lowercase hex HMAC-SHA256 under the partner key) as a
declared step of its operation, with a fresh timestamp on every attempt: Shop
APIs with the shop's access token, Public APIs (the auth calls) without.
Shopee's refresh token is single-use and rotating, so tokens live in the
user's `TokenStore` (``token_store=``) and are refreshed single-flight under
``refresh_lock=``; a refresh token that is lost or spent raises
`ReauthorizationRequired` naming the shop, never a loop. The partner key and
the tokens are `Secret`: never in logs, messages or reprs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from safe_release._public import present
from safe_release.adapters import (
    MemoryRefreshLock,
    RotatingTokens,
    StoredToken,
    Verdict,
)
from safe_release.adapters import _shopee_wire as wire
from safe_release.adapters._grants import auth_client, credential
from safe_release.adapters._shopee_auth import REFRESH_LIFETIME_S, PartnerAuth
from safe_release.adapters._shopee_ops import ENDPOINTS, PUBLIC, SHOP, SHOPEE_OPERATIONS
from safe_release.adapters._shopee_orders import SHIP, OrderCalls, Shipment, is_already_shipped
from safe_release.adapters._shopee_products import ModelChange, ProductCalls, check_id
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    ReauthorizationRequired,
)

if TYPE_CHECKING:
    import httpx

    from safe_release._effects import Inverse
    from safe_release._secrets import Secret
    from safe_release.adapters import RefreshLock, TokenStore
    from safe_release.adapters._operation import Operation

__all__ = ["Health", "ModelChange", "Shipment", "ShopeeAdapter"]

REGIONS = frozenset(
    {"SG", "MY", "TH", "VN", "PH", "ID", "TW", "BR", "MX", "CO", "CL", "PL", "ES", "AR"}
)
_KEY_TEXT = "partner_key= must be the app's partner key, a non-empty string (or Secret)"
_DAY = 86_400.0


class Health(BaseModel):
    """Whether the adapter can act for the shop, and how long its authorisation lasts.

    ``reauthorization_required``: the refresh token is lost or spent; the seller
    must open `ShopeeAdapter.authorization_url` again. ``refresh_days_left``:
    days until the refresh token lapses unused (30 days from the last refresh).
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    shop_id: int
    auth_ok: bool
    read_ok: bool
    reauthorization_required: bool
    token_expires_at: datetime | None
    refresh_expires_at: datetime | None
    refresh_days_left: float | None
    detail: str


class ShopeeAdapter(ProductCalls, OrderCalls):
    """Paced, signed Shopee v2 Shop API calls for one shop of one partner app.

    Prices and stock come from `ProductCalls` (``_shopee_products``), orders and
    shipping from `OrderCalls` (``_shopee_orders``); this class holds the
    construction, signing, tokens, Shopee's verdicts and errors, and health.
    """

    marketplace = "shopee"
    operations = SHOPEE_OPERATIONS

    def __init__(
        self,
        *,
        partner_id: int,
        partner_key: str | Secret,
        shop_id: int,
        token_store: TokenStore,
        refresh_lock: RefreshLock | None = None,
        region: str = "SG",
        environment: str = "production",
        redirect_url: str | None = None,
        base_url: str | None = None,
        **options: Any,
    ) -> None:
        if environment not in ENDPOINTS:
            msg = f"environment= must be one of {sorted(ENDPOINTS)}, not {environment!r}"
            raise InvalidArgumentError(msg)
        if region not in REGIONS:
            msg = f"region= must be one of Shopee's regions {sorted(REGIONS)}, not {region!r}"
            raise InvalidArgumentError(msg)
        self.partner_id = check_id(partner_id, "partner_id")
        self.shop_id = check_id(shop_id, "shop_id")
        self.shop_region = region
        self.redirect_url = redirect_url
        host = base_url or ENDPOINTS[environment]
        super().__init__(
            base_url=host, seller=str(shop_id), app=f"partner-{partner_id}", region=region,
            **options,
        )  # fmt: skip
        self._partner_key = credential(partner_key, _KEY_TEXT)
        self._auth_client = auth_client(options)
        self._auth = PartnerAuth(
            partner_id=self.partner_id,
            partner_key=self._partner_key,
            shop_id=self.shop_id,
            base_url=host.rstrip("/"),
            client=self._auth_client,
            now=self.shopee_time,
            seconds=self.attempt_seconds,
            on_skew=self.correct_skew,
        )
        self.token_store = token_store
        self.tokens = RotatingTokens(
            f"shopee|{self.partner_id}|{self.shop_id}",
            token_store,
            self._auth.refresh,
            lock=refresh_lock if refresh_lock is not None else MemoryRefreshLock(),
            clock=self.clock,
            authorization_url=self.authorization_url,
            marketplace="shopee",
            shop=str(self.shop_id),
        )

    def __repr__(self) -> str:
        return f"<ShopeeAdapter shop={self.shop_id} partner={self.partner_id} {self.shop_region}>"

    # -- time, consent, tokens ---------------------------------------------------------

    def shopee_time(self) -> float:
        """Shopee's clock as far as we know: ours plus the correction from a skew answer."""
        return self.clock.time() + self.time_offset

    def authorization_url(self, redirect_url: str | None = None) -> str:
        """The signed consent link (``/api/v2/shop/auth_partner``) for the seller to open.

        ``redirect_url`` (default: the adapter's ``redirect_url=``) receives
        ``?code=…&shop_id=…``; pass that code to `exchange_code`. The link's
        timestamp is checked by Shopee: build it when it is about to be opened.
        """
        redirect = redirect_url if redirect_url is not None else self.redirect_url
        if redirect is None:
            msg = "shopee: give redirect_url= (here or to ShopeeAdapter) for the consent link"
            raise InvalidArgumentError(msg)
        return self._auth.authorization_url(redirect)

    def exchange_code(self, code: str) -> None:
        """Turn a consent redirect's one-use ``code`` into tokens, saved in the token store.

        This is the (re-)authorisation: it replaces any pair the store held.
        """
        grant = self._auth.exchange_code(code)
        now = self.clock.time()
        assert grant.refresh_token is not None  # noqa: S101 - grant_of requires one
        self.token_store.save(
            self.tokens.key,
            StoredToken(
                access_token=grant.access_token,
                access_expires_at=now + grant.expires_in,
                refresh_token=grant.refresh_token,
                refresh_expires_at=now + REFRESH_LIFETIME_S,
            ),
        )

    # -- hooks -------------------------------------------------------------------------

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """The shop's access token (a Shop API), refreshed once after an expired-token answer."""
        if stale is not None:
            self.tokens.invalidate(stale)
        token = self.tokens.token()
        self._common(request, token)
        return token

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        if stale is not None:
            self.tokens.invalidate(stale)
        token = await self.tokens.atoken()
        self._common(request, token)
        return token

    def _common(self, request: httpx.Request, token: Secret) -> None:
        request.url = request.url.copy_merge_params(
            {
                "partner_id": self.partner_id,
                "shop_id": self.shop_id,
                "access_token": token.reveal(),
            }
        )

    def sign(self, request: httpx.Request, scheme: str, token: object) -> None:
        """Stamp ``timestamp`` (Shopee's time) and ``sign`` on the query, on every attempt."""
        timestamp = int(self.shopee_time())
        path = request.url.path
        if scheme == SHOP:
            access = request.url.params.get("access_token", "")
            base = wire.base_string(self.partner_id, path, timestamp, access, self.shop_id)
        elif scheme == PUBLIC:
            base = wire.base_string(self.partner_id, path, timestamp)
        else:
            msg = f"shopee: unknown signing scheme {scheme!r}"
            raise InvalidArgumentError(msg)
        del token
        request.url = request.url.copy_merge_params(
            {"timestamp": timestamp, "sign": wire.sign_hex(self._partner_key, base)}
        )

    def classify(self, response: httpx.Response) -> Verdict:
        """From the body: expired token, skew, throttling, server errors; a repeat ship is done."""
        if _path(response) == SHOPEE_OPERATIONS[SHIP].path and is_already_shipped(response):
            return Verdict.OK
        return wire.classify(response, Verdict.SKEWED)

    def error_for(self, op: Operation, response: httpx.Response) -> MarketplaceError:
        """Typed errors from Shopee's envelope (``code`` is ``error`` as Shopee sent it)."""
        return wire.shopee_error(op, response)

    def ledger_target(self, op: Operation, request: httpx.Request) -> str:
        """One model's price or stock write: ``item <id> model <id> <field>``."""
        return self.product_target(op, request) or super().ledger_target(op, request)

    def compensating_call(self, inverse: Inverse) -> httpx.Response:
        """Send ``inverse``; a model Shopee refuses in ``failure_list`` fails the step."""
        response = super().compensating_call(inverse)
        op = self.operation(inverse.operation)
        if op.name in {"update_price", "update_stock"}:
            self.check_compensation(op, response)
        return response

    # -- health and lifecycle -----------------------------------------------------------

    def health(self) -> Health:
        """The token (refreshed if due), a get_shop_info round trip, and days left to refresh."""
        try:
            self.tokens.token()
        except ReauthorizationRequired as exc:
            return self._health(auth_ok=False, read_ok=False, reauthorize=True, detail=str(exc))
        except MarketplaceError as exc:
            return self._health(auth_ok=False, read_ok=False, reauthorize=False, detail=str(exc))
        try:
            self.call("get_shop_info")
        except ReauthorizationRequired as exc:
            return self._health(auth_ok=False, read_ok=False, reauthorize=True, detail=str(exc))
        except MarketplaceError as exc:
            return self._health(auth_ok=True, read_ok=False, reauthorize=False, detail=str(exc))
        return self._health(auth_ok=True, read_ok=True, reauthorize=False, detail="ok")

    def _health(self, *, auth_ok: bool, read_ok: bool, reauthorize: bool, detail: str) -> Health:
        expires = self.tokens.expires_at if auth_ok else None
        lapse = self.tokens.refresh_expires_at
        days = None if lapse is None else max(lapse - self.clock.time(), 0.0) / _DAY
        if reauthorize:
            detail = f"shop {self.shop_id} needs re-authorising: {detail}"
        elif days is not None:
            detail = f"{detail}; refresh token lapses in {days:.1f} days unless used"
        return Health(
            ok=auth_ok and read_ok,
            shop_id=self.shop_id,
            auth_ok=auth_ok,
            read_ok=read_ok,
            reauthorization_required=reauthorize,
            token_expires_at=_utc(expires),
            refresh_expires_at=_utc(lapse),
            refresh_days_left=days,
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


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


def _path(response: httpx.Response) -> str:
    try:
        return response.request.url.path
    except RuntimeError:  # a response built without its request
        return ""


present(__name__, __all__, globals())
