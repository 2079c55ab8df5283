"""Walmart's token endpoint for the fake: apps, client credentials, access tokens.

Tokens are random (``secrets``), kept only here, and never written to a call
record, a repr or a log.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from safe_release.testing._gateway_core import SellerToken, form_fields
from safe_release.testing._walmart._wm_wire import GATEWAY, Reject

__all__ = ["TOKEN_LIFETIME", "AccessToken", "TokenServer", "unauthorized"]

TOKEN_LIFETIME = 900.0
_GRANTS = frozenset({"client_credentials", "refresh_token", "authorization_code"})


class AccessToken(SellerToken):
    """Who an access token speaks for, since when, and until when."""

    @property
    def expires(self) -> float:
        """When the token stops working (epoch seconds)."""
        return self.issued + TOKEN_LIFETIME


def unauthorized(description: str = "Unauthorized") -> Reject:
    """The gateway's 401 for a missing, unknown, expired or revoked token."""
    return Reject(401, "UNAUTHORIZED" + GATEWAY, description, field="UNAUTHORIZED")


def _bad_param(name: str, description: str, *, missing: bool = False) -> Reject:
    code = ("MISSING_REQUEST_PARAM" if missing else "INVALID_REQUEST_PARAM") + GATEWAY
    return Reject(400, code, description, field=name)


class TokenServer:
    """``POST /v3/token`` and the token checks of every other call."""

    def __init__(self) -> None:
        self.apps: dict[str, tuple[str, str]] = {}  # client_id -> (secret, seller_id)
        self._refresh: dict[str, str] = {}  # refresh token -> client_id
        self._codes: dict[str, str] = {}  # authorization code -> client_id
        self._tokens: dict[str, AccessToken] = {}
        self.issued = 0

    def new_app(self, seller_id: str) -> tuple[str, str, str]:
        """Register an app for ``seller_id``: client id, secret and a refresh token."""
        client_id = secrets.token_hex(8) + "-" + secrets.token_hex(4) + "-" + secrets.token_hex(6)
        self.apps[client_id] = (secrets.token_urlsafe(48), seller_id)
        refresh = "APX" + secrets.token_urlsafe(40)
        self._refresh[refresh] = client_id
        return client_id, self.apps[client_id][0], refresh

    def new_code(self, client_id: str) -> str:
        """A one-use authorization code for ``client_id`` (solution-provider flow)."""
        code = secrets.token_urlsafe(24)
        self._codes[code] = client_id
        return code

    def exchange(
        self, authorization: str | None, body: bytes, *, now: float, generation: int
    ) -> tuple[dict[str, object], str]:
        """The token document for a ``POST /v3/token``, and the client id; or a `Reject`."""
        client_id = self._client(authorization)
        form = form_fields(body)
        grant = form.get("grant_type", "")
        if not grant:
            raise _bad_param("grant_type", "grant_type is required.", missing=True)
        if grant not in _GRANTS:
            raise _bad_param("grant_type", f"grant_type {grant!r} is not supported.")
        document: dict[str, object] = {}
        if grant == "refresh_token" and self._refresh.get(form.get("refresh_token", "")) != (
            client_id
        ):
            raise _bad_param("refresh_token", "The refresh token is invalid or expired.")
        if grant == "authorization_code":
            if self._codes.pop(form.get("code", ""), None) != client_id:
                raise _bad_param("code", "The authorization code is invalid or used.")
            document["refresh_token"] = next(
                rt for rt, owner in self._refresh.items() if owner == client_id
            )
        access = "eyJraWQiOi" + secrets.token_urlsafe(64)
        seller = self.apps[client_id][1]
        self._tokens[access] = AccessToken(seller, client_id, now, generation)
        self.issued += 1
        token = {"access_token": access, "token_type": "Bearer", "expires_in": int(TOKEN_LIFETIME)}
        return {**token, **document}, client_id

    def _client(self, authorization: str | None) -> str:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise unauthorized("The token call needs Authorization: Basic <clientId:secret>.")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorized("The Basic credentials are not valid base64.") from None
        expected = self.apps.get(client_id, ("", ""))[0].encode()
        if not expected or not secrets.compare_digest(expected, secret.encode()):
            raise unauthorized("The client id or secret is wrong.")
        return client_id

    def check(self, token: str | None, *, now: float, generation: int) -> AccessToken:
        """The grant behind a ``WM_SEC.ACCESS_TOKEN`` header, or a 401 `Reject`."""
        found = self._tokens.get(token or "")
        if found is None or found.generation < generation or now >= found.expires:
            raise unauthorized()
        return found
