"""Ledger rows: what is stored for one write, and how requests and answers are encoded.

A stored request is method, path, query and JSON body: never a header, so an
access token put on the request by ``authorize`` cannot reach the store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx

from safe_release._effects import Inverse
from safe_release._json import canonical_dumps
from safe_release._sealing import LEDGER
from safe_release._store import TARGET_LENGTH
from safe_release.exceptions import InvalidArgumentError, RecordTamperedError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Row

    from safe_release._signing import Signer


__all__ = [
    "MAX_RESPONSE_BYTES",
    "REPLAYED_HEADER",
    "LedgerEntry",
    "encode_request",
    "encode_response",
    "idem_key",
    "replayed_response",
    "target_text",
]

MAX_RESPONSE_BYTES = 64 * 1024
REPLAYED_HEADER = "x-safe-release-replayed"
LEDGER_TABLE = LEDGER.table
_KEY_LENGTH = 64


def seal_values(signer: Signer, release_id: str, entry_id: int, values: Mapping[str, Any]) -> str:
    """The seal of ledger row ``entry_id`` holding the stored ``values``."""
    return LEDGER.seal(signer, (release_id, entry_id), values)


@dataclass(frozen=True)
class LedgerEntry:
    """One journaled write (a row of ``sr_ledger``).

    ``tampered`` says why the row does not verify with the store's key (then the
    decoded fields are not to be trusted, and nothing is sent from it).
    """

    id: int
    release_id: str
    adapter: str
    operation: str
    side_effect: str
    target: str
    idem_key: str
    request: dict[str, Any]
    inverse: Inverse | None
    state: str
    response: dict[str, Any] | None
    comp_state: str | None
    comp_detail: str | None
    tampered: str | None = None
    stored: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The sealed columns exactly as stored, and the row's ``mac``."""

    @classmethod
    def from_row(cls, row: Row[Any], signer: Signer) -> LedgerEntry:
        """Decode a selected row, checking its seal (a failure sets ``tampered``)."""
        stored = LEDGER.values(row)
        try:
            LEDGER.check(
                signer,
                (row.release_id, row.id),
                stored,
                what=f"ledger entry {row.id} of release {row.release_id}",
                release_id=row.release_id,
            )
            return cls._decoded(row, stored, None)
        except RecordTamperedError as exc:
            tampered = str(exc)
        try:
            return cls._decoded(row, stored, tampered)
        except (ValueError, TypeError):  # altered beyond decoding: keep what names it
            return cls(
                row.id,
                row.release_id,
                str(row.adapter),
                str(row.operation),
                "",
                str(row.target),
                "",
                {},
                None,
                str(row.state),
                None,
                None,
                None,
                tampered,
                stored,
            )

    @classmethod
    def _decoded(cls, row: Row[Any], stored: dict[str, Any], tampered: str | None) -> LedgerEntry:
        inverse = Inverse.model_validate_json(row.inverse) if row.inverse else None
        return cls(
            row.id,
            row.release_id,
            row.adapter,
            row.operation,
            row.side_effect,
            row.target,
            row.idem_key,
            json.loads(row.request),
            inverse,
            row.state,
            json.loads(row.response) if row.response else None,
            row.comp_state,
            row.comp_detail,
            tampered,
            stored,
        )

    def changed(self, signer: Signer, **values: Any) -> LedgerEntry:
        """This entry with stored ``values`` changed and sealed again (not yet written)."""
        stored = {**self.stored, **values}
        stored["mac"] = seal_values(signer, self.release_id, self.id, stored)
        decoded = {k: v for k, v in values.items() if k in {"state", "comp_state", "comp_detail"}}
        if "response" in values:
            decoded["response"] = json.loads(values["response"]) if values["response"] else None
        return dataclasses.replace(self, stored=stored, **decoded)

    @property
    def name(self) -> str:
        """``amazon patchListingsItem SKU-1``: the marketplace, operation and its object.

        The object is the last path parameter; for a path that names none (eBay's
        bulk updates, Walmart's price PUT) it is the entry's target, unless that is
        only the default method and path (``ebay bulkUpdatePriceQuantity offer 7
        price``).
        """
        marketplace = self.adapter.split("|", 1)[0]
        values = list(self.request.get("path_params", {}).values())
        if values:
            what = str(values[-1])
        else:
            default = f"{self.request.get('method', '')} "
            what = "" if self.target.startswith(default) else self.target
        return " ".join(p for p in (marketplace, self.operation, what) if p)


def encode_request(request: httpx.Request, path_params: Mapping[str, str]) -> dict[str, Any]:
    """Method, path, query, path parameters and body of ``request``: no header, no host."""
    content = request.content
    try:
        body: Any = json.loads(content) if content else None
    except ValueError:
        body = content.decode("utf-8", "replace")
    return {
        "method": request.method,
        "path": unquote(request.url.path),
        "query": _redacted_query(request.url),
        "path_params": dict(path_params),
        "json": body,
    }


_SECRET_PARAM = re.compile(r"token|secret|sign|pass|key$|signature", re.IGNORECASE)


def _redacted_query(url: httpx.URL) -> str:
    """The query with secret-looking parameters masked (Shopee and Lazada sign in it)."""
    params: list[tuple[str, str | int | float | bool | None]] = [
        (k, "***" if _SECRET_PARAM.search(k) else v) for k, v in url.params.multi_items()
    ]
    return str(httpx.QueryParams(params))


def idem_key(given: str | None, identity: str, operation: str, request: dict[str, Any]) -> str:
    """The key given (checked), else SHA-256 of who sends what where."""
    if given is not None:
        if not isinstance(given, str) or not given or len(given) > _KEY_LENGTH:
            msg = (
                f"idempotency_key= must be a non-empty string of at most {_KEY_LENGTH} "
                f"characters, not {given!r}; nothing was sent"
            )
            raise InvalidArgumentError(msg)
        return given
    parts = [identity, operation, request["path"], request["query"], request["json"]]
    return hashlib.sha256(canonical_dumps(parts).encode()).hexdigest()


def target_text(target: str) -> str:
    """``target`` as stored: long ones shortened to a prefix and their hash."""
    if len(target) <= TARGET_LENGTH:
        return target
    digest = hashlib.sha256(target.encode()).hexdigest()
    return target[: TARGET_LENGTH - 65] + "#" + digest


def encode_response(response: httpx.Response) -> dict[str, Any]:
    """Status and body (JSON, else text); a body over 64 KiB is left out."""
    out: dict[str, Any] = {"status": response.status_code, "body": None}
    content = response.content
    if len(content) > MAX_RESPONSE_BYTES:
        out["truncated"] = True
        return out
    try:
        out["body"] = json.loads(content) if content else None
    except ValueError:
        out["text"] = content.decode("utf-8", "replace")
    return out


def replayed_response(stored: dict[str, Any] | None, request: httpx.Request) -> httpx.Response:
    """The recorded answer of a write already in place, marked as replayed."""
    stored = stored or {"status": 200, "body": None}
    headers = {REPLAYED_HEADER: "1"}
    if stored.get("body") is not None:
        return httpx.Response(
            stored["status"], json=stored["body"], request=request, headers=headers
        )
    text = stored.get("text")
    return httpx.Response(stored["status"], text=text or "", request=request, headers=headers)
