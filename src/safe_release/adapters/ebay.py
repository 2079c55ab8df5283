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
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from safe_release._public import present
from safe_release.adapters import _ebay_wire as wire
from safe_release.adapters._auth import TokenGrant, TokenProvider, atoken_for, token_for
from safe_release.adapters._ebay_offers import OfferCalls, OfferChange, OfferUpdate
from safe_release.adapters._ebay_ops import (
    API_SCOPE,
    APP_TOKEN_OPERATIONS,
    DEFAULT_SCOPES,
    EBAY_OPERATIONS,
    ENDPOINTS,
    TOKEN_URLS,
)
from safe_release.adapters._ebay_orders import OrderCalls, ShippingFulfillmentRef
from safe_release.adapters._grants import auth_client, credential
from safe_release.exceptions import InvalidArgumentError, MarketplaceError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from safe_release._secrets import Secret
    from safe_release.adapters._core import Verdict
    from safe_release.adapters._operation import Daily, Operation
    from safe_release.adapters._quota import BudgetState

__all__ = ["EbayAdapter", "Health", "OfferChange", "OfferUpdate", "ShippingFulfillmentRef"]

_CREDENTIALS = "client_secret= and refresh_token= must be non-empty strings (or Secret)"


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


class EbayAdapter(OfferCalls, OrderCalls):
    """Paced, budgeted eBay Sell API calls for one seller (user), one app, one environment.

    Offers, prices and quantities come from `OfferCalls` (``_ebay_offers``),
    orders and shipping fulfillments from `OrderCalls` (``_ebay_orders``); this
    class holds the construction, OAuth, eBay's verdicts and errors, the daily
    budgets and health.
    """

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
        self._auth_client = auth_client(options)
        secret = credential(client_secret, _CREDENTIALS)
        refresh = credential(refresh_token, _CREDENTIALS)
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
        token = token_for(provider, stale)
        request.headers["authorization"] = f"Bearer {token.reveal()}"
        return token

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        provider = self._provider(request)
        token = await atoken_for(provider, stale)
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

    # -- budgets, health, lifecycle ----------------------------------------------------------

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
        """The health, its detail saying the token's expiry and scopes when it works."""
        expires = self.tokens.expires_at if auth_ok else None
        at = None if expires is None else datetime.fromtimestamp(expires, timezone.utc)
        if at is not None:
            scopes = ", ".join(s.rsplit("/", 1)[-1] for s in self.scopes) or "none"
            when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            detail = f"{detail}; token valid until {when}; scopes: {scopes}"
        return Health(
            ok=auth_ok and read_ok,
            auth_ok=auth_ok,
            read_ok=read_ok,
            token_expires_at=at,
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


def _daily_of(report: wire.RateReport) -> Daily | None:
    for op in EBAY_OPERATIONS.values():
        daily = op.daily[0]
        if daily.resource in (report.resource, report.api):
            return daily
    return None


def _scopes(scopes: object) -> tuple[str, ...]:
    if isinstance(scopes, str):
        scopes = (scopes,)
    out = tuple(scopes) if isinstance(scopes, (list, tuple)) else ()
    if not out or not all(isinstance(s, str) and s.startswith("https://") for s in out):
        msg = "scopes= must be eBay OAuth scope URLs (https://api.ebay.com/oauth/api_scope/…)"
        raise InvalidArgumentError(msg)
    return out


present(__name__, __all__, globals())
