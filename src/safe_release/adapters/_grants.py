"""OAuth token grants, the same way for every marketplace: one POST, one answer, checked.

A marketplace describes its token endpoint once (`TokenEndpoint`: how messages
name it, what a refusal means, how long a token may live) and asks it for a
grant with a form whose secrets stay `Secret` until the request is built. The
request that carries them is dropped before anything is raised, and nothing
raised is chained to it: no frame or exception behind a failed grant holds a
credential in plain text.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from safe_release._secrets import Secret
from safe_release.adapters._auth import TokenGrant
from safe_release.adapters._deadline import send_within
from safe_release.adapters._shapes import kind, parse_json
from safe_release.exceptions import InvalidArgumentError, MarketplaceError, TokenRefreshError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["Answer", "TokenEndpoint", "auth_client", "credential", "exchange", "grant_problem"]

_MAX_TEXT = 300
_FORM_TYPE = "application/x-www-form-urlencoded"


def credential(value: str | Secret, message: str) -> Secret:
    """``value`` as a `Secret`; an empty or non-string one: `InvalidArgumentError(message)`."""
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(message)
    return Secret(value)


def auth_client(options: Mapping[str, Any]) -> httpx.Client:
    """The HTTP client for the token endpoint: the adapter's transport and timeout."""
    return httpx.Client(transport=options.get("transport"), timeout=options.get("timeout", 30.0))


@dataclass(frozen=True)
class Answer:
    """A copy of what a token endpoint answered: nothing in it refers to the request."""

    status: int
    content: bytes
    failure: str = ""  # why no answer came (then status is 0)

    def body(self) -> object:
        """The answer as JSON (None when it is not JSON)."""
        try:
            return parse_json(self.content)
        except ValueError:
            return None


def exchange(
    client: httpx.Client,
    url: str,
    seconds: float,
    *,
    form: Mapping[str, str | Secret],
    basic: tuple[str, Secret] | None = None,
    stamp: Callable[[httpx.Request], None] | None = None,
) -> Answer:
    """POST ``form`` (and HTTP Basic ``basic``); return a copy of the answer, never raising.

    Secrets are revealed only while the request is built, and this frame never
    ends in a traceback holding the request.
    """
    request = client.build_request("POST", url, content=_form(form), headers=_headers(basic))
    try:
        if stamp is not None:
            stamp(request)
        response = send_within(client, request, seconds)
    except httpx.TimeoutException:
        return Answer(0, b"", f"no complete answer within {seconds:.3g} s")
    except httpx.HTTPError as exc:
        return Answer(0, b"", f"{type(exc).__name__}: {str(exc)[:_MAX_TEXT]}")
    finally:
        del request
    return Answer(response.status_code, response.content)


def _form(fields: Mapping[str, str | Secret]) -> bytes:
    return urlencode(
        {k: v.reveal() if isinstance(v, Secret) else v for k, v in fields.items()}
    ).encode()


def _headers(basic: tuple[str, Secret] | None) -> dict[str, str]:
    headers = {"content-type": _FORM_TYPE}
    if basic is not None:
        pair = f"{basic[0]}:{basic[1].reveal()}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return headers


def grant_problem(body: object, *, rotates: bool = False) -> str:
    """What makes ``body`` no usable grant ("" when it is one).

    A grant is an object with a non-empty ``access_token`` and a positive, finite
    ``expires_in``; where the endpoint ``rotates`` refresh tokens, a
    ``refresh_token`` it carries must be a string.
    """
    if not isinstance(body, dict):
        if body is None:
            return "the body is not JSON"
        return f"the body is {kind(body)}, not a JSON object"
    token, lifetime, rotated = (
        body.get(k) for k in ("access_token", "expires_in", "refresh_token")
    )
    if not isinstance(token, str) or not token:
        return f"access_token is {kind(token)}, not a non-empty string"
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, (int, float))
        or not (lifetime > 0 and (isinstance(lifetime, int) or math.isfinite(lifetime)))
    ):
        return f"expires_in is {kind(lifetime)}, not a positive number of seconds"
    if rotates and rotated is not None and not isinstance(rotated, str):
        return f"refresh_token is {kind(rotated)}, not a string"
    return ""


@dataclass(frozen=True)
class TokenEndpoint:
    """One marketplace's token endpoint: what its messages call it and what it raises."""

    name: str
    """As a message names it: ``"Login with Amazon"``."""
    marketplace: str
    operation: str
    max_lifetime: float
    """A token's lifetime is capped here whatever the answer says."""
    refused: Callable[[int, object], MarketplaceError]
    """The error for a non-200 answer, from its status and JSON body (None: not JSON)."""
    failed: type[MarketplaceError] = TokenRefreshError
    """What no answer, or a 200 without a usable token, raises."""
    rotates: bool = False
    """Whether the endpoint may hand back a new refresh token."""

    def grant(
        self,
        client: httpx.Client,
        url: str,
        seconds: float,
        *,
        form: Mapping[str, str | Secret],
        basic: tuple[str, Secret] | None = None,
        stamp: Callable[[httpx.Request], None] | None = None,
        refresh_token: Secret | None = None,
    ) -> TokenGrant:
        """One grant, one attempt cut after ``seconds``; a failure raises a `MarketplaceError`.

        ``refresh_token`` is the one sent, where the endpoint ``rotates``: a
        different one in the answer is the rotated one.
        """
        answer = exchange(client, url, seconds, form=form, basic=basic, stamp=stamp)
        outcome = self._outcome(answer, refresh_token)
        del answer
        if isinstance(outcome, MarketplaceError):
            raise outcome
        return outcome

    def _outcome(self, answer: Answer, sent: Secret | None) -> TokenGrant | MarketplaceError:
        """The grant in ``answer``, or the error to raise (never raises itself)."""
        if answer.failure:
            return self._failed(f"{self.name} could not be reached ({answer.failure})")
        body = answer.body()
        if answer.status != 200:  # noqa: PLR2004
            return self.refused(answer.status, body)
        problem = grant_problem(body, rotates=self.rotates)
        if not isinstance(body, dict) or problem:
            return self._failed(
                f"{self.name} answered 200 without a usable access token ({problem})"
            )
        rotated = body.get("refresh_token") if self.rotates else None
        if (
            not isinstance(rotated, str)
            or not rotated
            or (sent is not None and rotated == sent.reveal())
        ):
            rotated = None
        return TokenGrant(
            access_token=Secret(body["access_token"]),
            expires_in=min(body["expires_in"], self.max_lifetime),
            refresh_token=None if rotated is None else Secret(rotated),
        )

    def _failed(self, what: str) -> MarketplaceError:
        msg = f"{what}; retry later"
        return self.failed(msg, marketplace=self.marketplace, operation=self.operation)
