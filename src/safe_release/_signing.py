"""Signed manifests and record MACs: the only python-jose import, HS256 only.

A manifest (a snapshot's row counts and content hash, a release's identity) is
signed as a compact JWS with HMAC-SHA256 under the store's signing key; a stored
record is authenticated by `Signer.mac`. Where the keys come from, and which
are refused, is `safe_release._keys`.

Every key is handed to python-jose as a ready key object, so jose cannot
reinterpret it (a key text starting with ``{`` would otherwise be parsed as a
JWK). Keys are never written to the store, a log, a message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
from typing import TYPE_CHECKING, Any

from jose import jws as _jws
from jose.backends.base import Key as _JoseKey
from jose.exceptions import JOSEError

from safe_release._keys import (
    ENV_KEY,
    ENV_KEY_FILE,
    ENV_KEY_FILE_UNSAFE_OK,
    ENV_PREVIOUS_KEYS,
    resolve_keys,
)
from safe_release.exceptions import CheckpointError, SnapshotTamperedError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from safe_release._secrets import Secret

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "ENV_KEY_FILE_UNSAFE_OK",
    "ENV_PREVIOUS_KEYS",
    "MAX_TOKEN_CHARS",
    "Signer",
]

MAX_TOKEN_CHARS = 16 * 1024 * 1024
"""The longest manifest signed or verified (about 12 MiB of JSON); longer is refused."""

_ALGORITHM = "HS256"
_MAX_HEADER_CHARS = 256  # ours is 36: {"alg":"HS256","typ":"JWT"}
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
_MAC_PURPOSE = b"safe_release/record-mac/v1"
_KID_PURPOSE = b"safe_release/key-id/v1"


class _RingKey(_JoseKey):  # type: ignore[misc] # jose is untyped
    """One HS256 key as jose uses it: never parsed as a JWK, PEM or key set."""

    __slots__ = ("kid", "mac_key", "secret")

    def __init__(self, text: str) -> None:
        self.secret = text.encode()
        self.kid = hmac.new(self.secret, _KID_PURPOSE, hashlib.sha256).hexdigest()[:12]
        self.mac_key = hmac.new(self.secret, _MAC_PURPOSE, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"<HS256 key {self.kid}>"

    def sign(self, msg: bytes) -> bytes:
        return hmac.new(self.secret, msg, hashlib.sha256).digest()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        return hmac.compare_digest(sig, self.sign(msg))


# -- tokens --------------------------------------------------------------------------------


def _well_formed(token: object) -> bool:
    """A compact JWS of bounded size whose header is one flat JSON object.

    Checked before jose decodes anything, so a huge or deeply nested token is
    refused as tampered instead of exhausting memory or the recursion limit.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        return False
    if not _COMPACT.fullmatch(token):
        return False
    head = token.partition(".")[0]
    if len(head) > _MAX_HEADER_CHARS:
        return False
    try:
        header = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return header.count(b"{") == 1 and b"[" not in header


def _tampered(what: str) -> SnapshotTamperedError:
    return SnapshotTamperedError(
        f"the {what}'s signed manifest does not verify: it was altered, or signed with "
        "another key; nothing was restored from it. Check who changed the store, or "
        "restore with the key that signed it (add it to the previous keys, see "
        "docs/security.md)"
    )


class Signer:
    """Signs with the store's current key; verifies with it and the previous keys.

    ``key``: the current key (else ``$SAFE_RELEASE_SIGNING_KEY``, else the key
    file). ``previous``: the keys of earlier rotations, which still verify (else
    ``$SAFE_RELEASE_PREVIOUS_SIGNING_KEYS``, comma or space separated, else the
    key file's other lines). Keys are resolved and checked on first use.
    """

    def __init__(
        self,
        key: str | bytes | Secret | None = None,
        *,
        previous: str | bytes | Secret | Iterable[str | bytes | Secret] | None = None,
    ) -> None:
        self._given = key
        self._previous = previous
        self._keys: list[_RingKey] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        keys = self._keys
        if keys is None:
            return f"<Signer {_ALGORITHM} key=pending>"
        return f"<Signer {_ALGORITHM} kid={keys[0].kid} previous={len(keys) - 1}>"

    def __reduce__(self) -> Any:
        msg = "a Signer holds a secret key and cannot be pickled"
        raise TypeError(msg)

    def _ring(self) -> list[_RingKey]:
        """Every key a record may be signed with: the current one first."""
        with self._lock:
            if self._keys is None:
                texts = resolve_keys(self._given, self._previous)
                unique = [k for i, k in enumerate(texts) if k not in texts[:i]]
                self._keys = [_RingKey(k) for k in unique]
            return self._keys

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The public ids of the ring's keys, the current key first (no secret in them)."""
        return tuple(k.kid for k in self._ring())

    def mac(self, message: bytes) -> str:
        """``<key id>:<hex HMAC-SHA256>`` of ``message`` under the current key.

        The MAC key is derived from the signing key for this one purpose, so a
        record MAC can never be replayed as a manifest signature or the reverse.
        """
        key = self._ring()[0]
        return f"{key.kid}:{hmac.new(key.mac_key, message, hashlib.sha256).hexdigest()}"

    def mac_matches(self, message: bytes, mac: object) -> bool:
        """Whether ``mac`` is a record MAC of ``message`` under a key of the ring."""
        if not isinstance(mac, str) or mac.count(":") != 1:
            return False
        kid, digest = mac.split(":")
        for key in self._ring():
            if hmac.compare_digest(key.kid, kid):
                expected = hmac.new(key.mac_key, message, hashlib.sha256).hexdigest()
                return hmac.compare_digest(expected, digest)
        return False

    def sign(self, payload: dict[str, Any]) -> str:
        """A compact JWS over the canonical JSON of ``payload``, with the current key.

        `CheckpointError` when the token would be longer than `MAX_TOKEN_CHARS`
        (it could never be verified).
        """
        return self._sign(payload, self._ring()[0])

    def signature(self, payload: dict[str, Any], *, key_of: str | None = None) -> str:
        """The signature part of `sign`'s token: a secret only the key's holder can compute.

        With ``key_of`` (a token of this ring), under the key that signed that
        token, so a value derived at signing time is found again after a rotation;
        `SnapshotTamperedError` if no key of the ring signed it.
        """
        key = self._ring()[0] if key_of is None else self._signer_of(key_of, "manifest")
        return self._sign(payload, key).rsplit(".", 1)[-1]

    def signed_with(self, token: str) -> str | None:
        """The id of the ring key whose signature ``token`` carries, or None."""
        try:
            return self._signer_of(token, "manifest").kid
        except SnapshotTamperedError:
            return None

    def verify(self, token: str, *, what: str = "snapshot") -> dict[str, Any]:
        """The payload of ``token``; `SnapshotTamperedError` if no key of the ring signed it."""
        keys = self._ring()
        if not _well_formed(token):
            raise _tampered(what)
        try:
            raw = _jws.verify(token, keys, algorithms=[_ALGORITHM])
            payload = json.loads(raw)
        except (JOSEError, ValueError, TypeError, RecursionError):
            raise _tampered(what) from None
        if not isinstance(payload, dict):
            msg = f"the {what}'s signed manifest is not an object; nothing was restored"
            raise SnapshotTamperedError(msg)
        return payload

    def _signer_of(self, token: str, what: str) -> _RingKey:
        keys = self._ring()
        if _well_formed(token):
            for key in keys:
                try:
                    _jws.verify(token, key, algorithms=[_ALGORITHM])
                except JOSEError:
                    continue
                return key
        raise _tampered(what)

    @staticmethod
    def _sign(payload: dict[str, Any], key: _RingKey) -> str:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        token: str = _jws.sign(body.encode(), key, algorithm=_ALGORITHM)
        if len(token) > MAX_TOKEN_CHARS:
            msg = (
                f"a signed manifest would be {len(token):,} characters, over the limit of "
                f"{MAX_TOKEN_CHARS:,}: a checkpoint's state must stay small; keep large "
                "data elsewhere and return a reference to it from capture()"
            )
            raise CheckpointError(msg)
        return token
