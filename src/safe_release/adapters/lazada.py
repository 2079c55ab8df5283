"""The Lazada Open Platform (LazOP) adapter: prices and stock, orders, pack and ready-to-ship.

    from safe_release.adapters.lazada import LazadaAdapter

    lazada = LazadaAdapter(app_key="123456", app_secret=os.environ["LAZADA_APP_SECRET"],
                           seller_id="1001", country="sg", token_store=my_token_store)
    lazada.update_price_quantity([{"seller_sku": "Apple-SG-64G", "price": Decimal("1099.00")}])

Every request is signed (HMAC-SHA256 with the app secret over the API path and
the sorted parameters, with a fresh timestamp on every attempt). Lazada answers
HTTP 200 to everything, so answers are judged by their bodies: ``ApiCallLimit``
pauses the API's bucket for the ban it names, ``IllegalAccessToken`` refreshes
once, ``998`` (a campaign shutdown) is an outage. The tokens live in the
user's token store (never in safe_release's tables); the app secret and tokens
are `Secret` and never logged, shown or put in a message.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release._public import present
from safe_release._secrets import Secret
from safe_release.adapters import _lazada_wire as wire
from safe_release.adapters._auth import TokenGrant
from safe_release.adapters._core import Verdict
from safe_release.adapters._grants import auth_client, credential
from safe_release.adapters._lazada_auth import TokenCall, authorization_url
from safe_release.adapters._lazada_ops import LAZADA_OPERATIONS, SIGNING
from safe_release.adapters._lazada_orders import Order, OrderCalls
from safe_release.adapters._lazada_products import ProductCalls, SkuState, SkuUpdate
from safe_release.adapters._refresh_lock import MemoryRefreshLock
from safe_release.adapters._rotating import RotatingTokens
from safe_release.adapters._token_store import StoredToken
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    ReauthorizationRequired,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from safe_release.adapters._operation import Operation
    from safe_release.adapters._refresh_lock import RefreshLock
    from safe_release.adapters._token_store import TokenStore

__all__ = ["Health", "LazadaAdapter", "Order", "SkuState", "SkuUpdate"]

_CREDENTIALS = "app_secret= must be a non-empty string (or Secret)"
_SYSTEM = frozenset({"app_key", "timestamp", "sign_method", "sign", "access_token"})
_DAY = 86_400.0
_VERDICTS = {
    wire.Kind.OK: Verdict.OK,
    wire.Kind.THROTTLED: Verdict.THROTTLED,
    wire.Kind.AUTH_EXPIRED: Verdict.AUTH_EXPIRED,
    wire.Kind.OUTAGE: Verdict.OUTAGE,
    wire.Kind.SKEWED: Verdict.SKEWED,
    wire.Kind.SERVER: Verdict.SERVER,
    wire.Kind.FAILED: Verdict.FAILED,
}


class Health(BaseModel):
    """Whether the adapter can act for the seller, and how long the authorisation lasts."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    auth_ok: bool
    read_ok: bool
    token_expires_at: datetime | None
    reauthorize_by: datetime | None
    days_until_reauthorization: float | None
    needs_reauthorization: bool
    authorization_url: str | None
    detail: str


class LazadaAdapter(ProductCalls, OrderCalls):
    """Paced, signed Lazada Open Platform calls for one seller of one app in one country.

    SKU reads and price/quantity updates come from `ProductCalls`
    (``_lazada_products``), orders, pack and ready-to-ship from `OrderCalls`
    (``_lazada_orders``); this class holds construction, signing, tokens,
    Lazada's verdicts and errors, and health.
    """

    marketplace = "lazada"
    operations = LAZADA_OPERATIONS

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str | Secret,
        seller_id: str,
        token_store: TokenStore,
        refresh_lock: RefreshLock | None = None,
        country: str = "sg",
        redirect_uri: str | None = None,
        base_url: str | None = None,
        auth_url: str | None = None,
        **options: Any,
    ) -> None:
        if country not in wire.HOSTS:
            msg = f"country= must be one of {sorted(wire.HOSTS)}, not {country!r}"
            raise InvalidArgumentError(msg)
        if not isinstance(app_key, str) or not app_key.strip():
            msg = "app_key= must be the Lazada app's key, a non-empty string"
            raise InvalidArgumentError(msg)
        app = "app-" + hashlib.sha256(app_key.encode()).hexdigest()[:12]
        url = base_url or wire.HOSTS[country]
        super().__init__(base_url=url, seller=seller_id, app=app, region=country, **options)
        self.app_key, self.country, self.redirect_uri = app_key, country, redirect_uri
        self._secret = credential(app_secret, _CREDENTIALS)
        self._prefix = httpx.URL(url).path.rstrip("/")
        self._auth_client = auth_client(options)
        self._token_call = TokenCall(
            self._auth_client, auth_url or wire.AUTH_URL, app_key, self._secret, self.clock
        )
        self.token_store = token_store
        self.token_key = f"lazada|{country}|{seller_id}|{app_key}"
        self.tokens = RotatingTokens(
            self.token_key,
            token_store,
            self._refresh,
            lock=refresh_lock if refresh_lock is not None else MemoryRefreshLock(),
            clock=self.clock,
            authorization_url=self._consent_url,
            marketplace="lazada",
            shop=f"{country}:{seller_id}",
        )

    # -- tokens --------------------------------------------------------------------------

    def _refresh(self, refresh_token: Secret) -> TokenGrant:
        """One refresh at the auth host (`RotatingTokens` saves the pair before use)."""
        grant = self._token_call.refresh(refresh_token, self.attempt_seconds(), self.time_offset)
        return TokenGrant(
            grant.access_token,
            grant.expires_in,
            grant.refresh_token,
            refresh_expires_in=grant.refresh_expires_in,
        )

    def create_token(self, code: str) -> StoredToken:
        """Exchange a consent callback's ``code`` (single use) for a pair, saved in the store.

        This is how a shop is authorised again after `ReauthorizationRequired`.
        """
        now = self.clock.time()
        grant = self._token_call.create(code, self.attempt_seconds(), self.time_offset)
        pair = StoredToken(
            access_token=grant.access_token,
            access_expires_at=now + grant.expires_in,
            refresh_token=grant.refresh_token,
            refresh_expires_at=now + grant.refresh_expires_in,
        )
        self.token_store.save(self.token_key, pair)
        return pair

    def _consent_url(self) -> str:
        return "" if self.redirect_uri is None else self.authorization_url()

    def authorization_url(self, *, state: str | None = None) -> str:
        """The consent link to send the seller to (first authorisation, or again)."""
        if self.redirect_uri is None:
            msg = "authorization_url() needs the app's registered redirect_uri= at construction"
            raise InvalidArgumentError(msg)
        return authorization_url(self.app_key, self.redirect_uri, state)

    # -- requests and signing --------------------------------------------------------------

    def build_request(
        self,
        op: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Request:
        """Business parameters in the query (GET) or a form body (POST); empty ones dropped.

        ``json`` is a mapping of more business parameters (batch bodies); every
        value is sent as text: structured ones are already XML or JSON strings.
        """
        if json is not None and not isinstance(json, dict):
            msg = f"lazada {op.name}: business parameters must be a mapping of strings"
            raise InvalidArgumentError(msg)
        fields = {**(params or {}), **(json or {})}
        values = {k: str(v) for k, v in fields.items() if v is not None and str(v) != ""}
        if set(values) & _SYSTEM:
            msg = f"lazada {op.name}: {sorted(set(values) & _SYSTEM)} are set by the adapter"
            raise InvalidArgumentError(msg)
        if op.method == "GET":
            return super().build_request(op, path_params=path_params, params=values)
        request = super().build_request(op, path_params=path_params)
        content = urlencode(values).encode()
        headers = dict(request.headers) | {"content-type": "application/x-www-form-urlencoded"}
        headers.pop("content-length", None)
        return self._client.build_request(op.method, request.url, content=content, headers=headers)

    def _stamp(self, request: httpx.Request, token: Secret | None) -> None:
        """Set the system parameters and ``sign`` on ``request`` (a fresh timestamp)."""
        query = {k: v for k, v in request.url.params.items() if k not in _SYSTEM}
        system = {
            "app_key": self.app_key,
            "sign_method": "sha256",
            "timestamp": wire.timestamp_ms(self.clock.time() + self.time_offset),
        }
        if token is not None:
            system["access_token"] = token.reveal()
        signed = {**query, **system}
        form: dict[str, str] = {}
        if request.method != "GET":
            form = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
        path = request.url.path.removeprefix(self._prefix) or "/"
        signed["sign"] = wire.sign(self._secret.reveal(), path, {**form, **signed})
        request.url = request.url.copy_with(query=urlencode(signed).encode())

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """A valid access token (put in the query when the request is signed)."""
        del request
        if isinstance(stale, Secret):
            self.tokens.invalidate(stale)
        return self.tokens.token()

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        del request
        if isinstance(stale, Secret):
            self.tokens.invalidate(stale)
        return await self.tokens.atoken()

    def sign(self, request: httpx.Request, scheme: str, token: object) -> None:
        """Lazada's ``lazop`` signature: system parameters, a fresh timestamp, then ``sign``."""
        if scheme != SIGNING:
            msg = f"lazada: unknown signing scheme {scheme!r}"
            raise InvalidArgumentError(msg)
        self._stamp(request, token if isinstance(token, Secret) else None)

    # -- verdicts and errors -----------------------------------------------------------------

    def classify(self, response: httpx.Response) -> Verdict:
        """Lazada's verdict from the body: every answer is HTTP 200 (see `_lazada_wire`)."""
        return _VERDICTS[wire.envelope_kind(response)]

    def retry_after(self, response: httpx.Response) -> float | None:
        """An ``ApiCallLimit`` ban: N of "this ban will last N seconds" (bounded)."""
        if wire.envelope_kind(response) != wire.Kind.THROTTLED:
            return super().retry_after(response)
        interval = 1.0
        for op in self.operations.values():
            if response.request.url.path.endswith(op.path):
                interval = 1.0 / self.limit(op).rate
        return wire.ban_seconds(response, interval)

    def error_for(self, op: Operation, response: httpx.Response) -> MarketplaceError:
        """Typed errors from Lazada's ``{type, code, message}`` envelope."""
        return wire.lazada_error(op, response)

    # -- health and lifecycle ------------------------------------------------------------------

    def health(self) -> Health:
        """Token validity, days until the seller must authorise again, and a ``/seller/get`` read.

        A refresh does not move the refresh deadline: only a new consent does.
        """
        try:
            self.tokens.token()
        except ReauthorizationRequired as exc:
            return self._health(auth_ok=False, read_ok=False, detail=str(exc), reauthorize=True)
        except MarketplaceError as exc:
            return self._health(auth_ok=False, read_ok=False, detail=str(exc))
        try:
            wire.read(self, "seller_get", {})
        except MarketplaceError as exc:
            return self._health(auth_ok=True, read_ok=False, detail=str(exc))
        return self._health(auth_ok=True, read_ok=True, detail="ok")

    def _health(
        self, *, auth_ok: bool, read_ok: bool, detail: str, reauthorize: bool = False
    ) -> Health:
        now = self.clock.time()
        expires = self.tokens.expires_at if auth_ok else None
        deadline = self.tokens.refresh_expires_at
        days = None if deadline is None else max(deadline - now, 0.0) / _DAY
        needs = reauthorize or (days is not None and days <= 0)
        if needs:
            detail = f"{detail}; the shop {self.seller} must authorise the app again"
        elif days is not None:
            detail = f"{detail}; the seller must authorise again within {days:.1f} days"
        return Health(
            ok=auth_ok and read_ok,
            auth_ok=auth_ok,
            read_ok=read_ok,
            token_expires_at=None if expires is None else wire.utc(expires),
            reauthorize_by=None if deadline is None else wire.utc(deadline),
            days_until_reauthorization=days,
            needs_reauthorization=needs,
            authorization_url=(self._consent_url() or None) if needs else None,
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


present(__name__, __all__, globals())
