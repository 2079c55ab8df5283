"""Login with Amazon for the fake: apps, seller authorizations, access tokens.

Tokens are random (``secrets``), kept only here, and never written to a call
record, a repr or a log.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from safe_release.testing._amazon import _bodies as b
from safe_release.testing._gateway_core import SellerToken, form_fields

__all__ = ["TOKEN_LIFETIME", "AccessToken", "LwaServer"]

TOKEN_LIFETIME = 3600.0


AccessToken = SellerToken


@dataclass(frozen=True)
class _Grant:
    seller_id: str
    client_id: str


class LwaServer:
    """The token endpoint and the token checks of the SP-API gateway."""

    def __init__(self) -> None:
        self.apps: dict[str, str] = {}  # client_id -> client_secret
        self._grants: dict[str, _Grant] = {}  # refresh token -> grant
        self._tokens: dict[str, AccessToken] = {}
        self.issued = 0

    def new_app(self) -> tuple[str, str]:
        """Register an app; returns its client id and secret."""
        client_id = "amzn1.application-oa2-client." + secrets.token_hex(16)
        self.apps[client_id] = "amzn1.oa2-cs.v1." + secrets.token_hex(32)
        return client_id, self.apps[client_id]

    def rotate_secret(self, client_id: str) -> str:
        """A new client secret; the old one gets ``invalid_client`` from now on."""
        self.apps[client_id] = "amzn1.oa2-cs.v1." + secrets.token_hex(32)
        return self.apps[client_id]

    def authorize(self, seller_id: str, client_id: str) -> str:
        """The seller authorizes the app; returns a new refresh token."""
        token = "Atzr|" + secrets.token_urlsafe(48)
        self._grants[token] = _Grant(seller_id, client_id)
        return token

    def deauthorize(self, refresh_token: str) -> None:
        """The seller revokes the app: the refresh token gets ``invalid_grant``."""
        self._grants.pop(refresh_token, None)

    def exchange(self, body: bytes, *, now: float, generation: int) -> tuple[int, bytes, str]:
        """Answer ``POST /auth/o2/token``: status, body and the client id (or "")."""
        form = form_fields(body)
        client_id = form.get("client_id", "")
        missing = [
            name for name in ("grant_type", "client_id", "client_secret") if not form.get(name)
        ]
        if missing:
            description = f"The request is missing a required parameter : {missing[0]}"
            return 400, b.lwa_body("invalid_request", description), client_id
        if form["grant_type"] != "refresh_token":
            description = "The authorization grant type is not supported by the server."
            return 400, b.lwa_body("unsupported_grant_type", description), client_id
        expected = self.apps.get(client_id, "").encode()
        if not secrets.compare_digest(expected, form["client_secret"].encode()):
            return 401, b.lwa_body("invalid_client", b.INVALID_CLIENT), client_id
        grant = self._grants.get(form.get("refresh_token", ""))
        if grant is None or grant.client_id != client_id:
            return 400, b.lwa_body("invalid_grant", b.INVALID_GRANT), client_id
        access = "Atza|" + secrets.token_urlsafe(48)
        self._tokens[access] = AccessToken(grant.seller_id, client_id, now, generation)
        self.issued += 1
        payload = {
            "access_token": access,
            "refresh_token": form["refresh_token"],
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME),
        }
        return 200, json.dumps(payload).encode(), client_id

    def check(self, token: str | None, *, now: float, generation: int) -> AccessToken:
        """The grant behind an ``x-amz-access-token`` header, or a 403 `Reject`."""
        if token is None:
            raise b.missing_token()
        found = self._tokens.get(token)
        if found is None or found.generation < generation:
            raise b.unauthorized(b.DETAILS_INVALID)
        if now >= found.issued + TOKEN_LIFETIME:
            raise b.unauthorized(b.DETAILS_EXPIRED)
        return found
