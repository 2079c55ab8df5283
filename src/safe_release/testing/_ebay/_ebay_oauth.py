"""eBay's OAuth token endpoint for the fake: apps, user consents, access tokens.

Tokens are random (``secrets``), kept only here, and never written to a call
record, a repr or a log. The endpoint has its own daily quotas per app
(refresh_token 50,000, client_credentials 1,000; WIRE.md 2.5), counted per token
issued [U], with the same 07:00Z reset as the API quotas.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass

from safe_release.testing._ebay import _ebay_errors as e
from safe_release.testing._ebay._ebay_quotas import Budget, next_reset
from safe_release.testing._ebay._ebay_routes import APP_SCOPES
from safe_release.testing._gateway_core import form_fields

__all__ = ["TOKEN_LIFETIME", "AccessToken", "OAuthServer"]

TOKEN_LIFETIME = 7200.0
REFRESH_LIFETIME = 47_304_000
GRANT_LIMITS = {"refresh_token": 50_000, "client_credentials": 1_000}
_INVALID_GRANT = (
    "the provided authorization refresh token is invalid or was issued to another client"
)
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class AccessToken:
    """Who an access token speaks for, with which scopes, since when."""

    kind: str  # "user" or "app"
    client_id: str
    user_id: str | None
    scopes: frozenset[str]
    issued: float
    generation: int


@dataclass(frozen=True)
class _Consent:
    user_id: str
    client_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's status, body and the app it authenticated (or "")."""

    status: int
    content: bytes
    client_id: str = ""
    user_id: str | None = None


class OAuthServer:
    """The token endpoint and the bearer-token checks of the API gateway."""

    def __init__(self) -> None:
        self.apps: dict[str, str] = {}  # client_id -> client_secret
        self._consents: dict[str, _Consent] = {}  # refresh token -> consent
        self._tokens: dict[str, AccessToken] = {}
        self._quota: dict[tuple[str, str], Budget] = {}
        self.grant_limits = dict(GRANT_LIMITS)
        self.issued = 0

    def new_app(self, ids: str) -> str:
        """Register an app named ``ids``; returns its client id."""
        client_id = f"FakeApp-PRD-{ids}"
        self.apps[client_id] = "PRD-" + secrets.token_hex(16)
        return client_id

    def consent(self, user_id: str, client_id: str, scopes: frozenset[str]) -> str:
        """``user_id`` consents to ``scopes`` for the app; returns a new refresh token."""
        token = "v^1.1#i^1#r^1#" + secrets.token_urlsafe(48)
        self._consents[token] = _Consent(user_id, client_id, scopes)
        return token

    def revoke(self, refresh_token: str) -> None:
        """The user withdraws consent: the refresh token gets ``invalid_grant``."""
        self._consents.pop(refresh_token, None)

    def grant_used(self, grant: str, client_id: str, now: float) -> int:
        """Tokens issued through ``grant`` to the app in the current window."""
        return self._grant_budget(grant, client_id, now).count

    def _grant_budget(self, grant: str, client_id: str, now: float) -> Budget:
        key = (grant, client_id)
        found = self._quota.get(key)
        if found is None:
            found = self._quota[key] = Budget(self.grant_limits[grant], 0, next_reset(now))
        found.limit = self.grant_limits[grant]
        return found.roll(now)

    def exchange(
        self,
        authorization: str | None,
        content_type: str,
        body: bytes,
        *,
        now: float,
        generation: int,
    ) -> TokenAnswer:
        """Answer ``POST /identity/v1/oauth2/token``."""
        if content_type.split(";", 1)[0].strip().lower() != _FORM:
            return TokenAnswer(
                400, e.oauth_body("invalid_request", f"Content-Type must be {_FORM}")
            )
        client_id = self._client(authorization)
        if client_id is None:
            return TokenAnswer(401, e.oauth_body("invalid_client", "client authentication failed"))
        form = form_fields(body)
        grant = form.get("grant_type", "")
        if grant not in GRANT_LIMITS:
            text = (
                f"the grant type {grant!r} is not supported" if grant else "grant_type is missing"
            )
            return TokenAnswer(400, e.oauth_body("unsupported_grant_type", text), client_id)
        return self._grant(form, client_id, now=now, generation=generation)

    def _grant(
        self, form: dict[str, str], client_id: str, *, now: float, generation: int
    ) -> TokenAnswer:
        """A token for a known grant type and an authenticated app, or why not."""
        grant = form["grant_type"]
        if grant == "refresh_token":
            consent = self._consents.get(form.get("refresh_token", ""))
            if consent is None or consent.client_id != client_id:
                return TokenAnswer(400, e.oauth_body("invalid_grant", _INVALID_GRANT), client_id)
            allowed, kind, user = consent.scopes, "user", consent.user_id
        else:
            allowed, kind, user = frozenset(APP_SCOPES), "app", None
        asked = frozenset(form["scope"].split()) if form.get("scope", "").strip() else allowed
        if not asked <= allowed:
            text = (
                "the requested scope is invalid, unknown, malformed, or exceeds the scope granted"
            )
            return TokenAnswer(400, e.oauth_body("invalid_scope", text), client_id, user)
        budget = self._grant_budget(grant, client_id, now)
        if budget.count >= budget.limit:
            content = json.dumps(e.too_many_requests().body()).encode()
            return TokenAnswer(429, content, client_id, user)
        budget.count += 1
        issued = AccessToken(kind, client_id, user, asked, now, generation)
        return TokenAnswer(200, self._issue(issued), client_id, user)

    def _issue(self, token: AccessToken) -> bytes:
        access = "v^1.1#i^1#p^3#" + secrets.token_urlsafe(48)
        self._tokens[access] = token
        self.issued += 1
        token_type = "User Access Token" if token.kind == "user" else "Application Access Token"
        payload = {
            "access_token": access,
            "expires_in": int(TOKEN_LIFETIME),
            "token_type": token_type,
        }
        return json.dumps(payload).encode()

    def _client(self, authorization: str | None) -> str | None:
        """The client id of a valid ``Basic`` header, else ``None``."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        expected = self.apps.get(client_id)
        if not sep or expected is None:
            return None
        return client_id if secrets.compare_digest(expected.encode(), secret.encode()) else None

    def check(
        self, authorization: str | None, *, now: float, generation: int
    ) -> AccessToken | None:
        """The live token behind an ``Authorization: Bearer`` header, else ``None``."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        found = self._tokens.get(value.strip())
        if found is None or found.generation < generation or now >= found.issued + TOKEN_LIFETIME:
            return None
        return found
