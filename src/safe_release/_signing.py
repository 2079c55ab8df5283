"""Signed manifests: the only python-jose import, with the algorithm always explicit.

A manifest (a snapshot's row counts and content hash, a release's identity) is
signed as a compact JWS with HMAC-SHA256 under the store's signing key. The key
comes from ``signing_key=`` on `connect`, else ``$SAFE_RELEASE_SIGNING_KEY``,
else a key file (``$SAFE_RELEASE_KEY_FILE``, default
``~/.config/safe_release/signing.key``) created with mode 0600 on first use. The
key is never written to the store, a log, a message or a repr.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jose import jws as _jws
from jose.exceptions import JOSEError

from safe_release.exceptions import SigningKeyError, SnapshotTamperedError

if TYPE_CHECKING:
    from safe_release.adapters._auth import Secret

__all__ = ["ENV_KEY", "ENV_KEY_FILE", "Signer"]

ENV_KEY = "SAFE_RELEASE_SIGNING_KEY"
ENV_KEY_FILE = "SAFE_RELEASE_KEY_FILE"
_ALGORITHM = "HS256"
_MIN_KEY_BYTES = 32


def _default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "safe_release" / "signing.key"


def _checked(key: str, where: str) -> str:
    if len(key.encode()) < _MIN_KEY_BYTES:
        msg = (
            f"the signing key from {where} is shorter than {_MIN_KEY_BYTES} bytes; use a "
            "random key of at least 32 bytes (e.g. python -c 'import secrets; "
            "print(secrets.token_hex(32))')"
        )
        raise SigningKeyError(msg)
    return key


def _key_from_file(path: Path) -> str:
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
        return _checked(path.read_text().strip(), f"the key file {path.name}")
    except FileExistsError:  # another process created it first: read theirs
        return _checked(path.read_text().strip(), f"the key file {path.name}")
    except OSError as exc:
        msg = (
            f"cannot read or create the signing key file ({exc.strerror}); set "
            f"${ENV_KEY} or ${ENV_KEY_FILE}, or pass signing_key= to connect()"
        )
        raise SigningKeyError(msg) from None


_MAC_PURPOSE = b"safe_release/record-mac/v1"
_KID_PURPOSE = b"safe_release/key-id/v1"


def _key_id(key: str) -> str:
    """A short public name of a key (which key of a ring signed a record)."""
    return hmac.new(key.encode(), _KID_PURPOSE, hashlib.sha256).hexdigest()[:12]


def _record_mac(key: str, message: bytes) -> str:
    derived = hmac.new(key.encode(), _MAC_PURPOSE, hashlib.sha256).digest()
    return hmac.new(derived, message, hashlib.sha256).hexdigest()


class Signer:
    """Signs and verifies manifests with the store's key (resolved on first use)."""

    def __init__(self, key: str | bytes | Secret | None = None) -> None:
        self._given = key
        self._key: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Signer {_ALGORITHM} key={'resolved' if self._key else 'pending'}>"

    def __reduce__(self) -> Any:
        msg = "a Signer holds a secret key and cannot be pickled"
        raise TypeError(msg)

    def _secret(self) -> str:
        with self._lock:
            if self._key is None:
                self._key = self._resolve()
            return self._key

    def _resolve(self) -> str:
        from safe_release.adapters._auth import Secret  # noqa: PLC0415 - import cycle

        given = self._given
        if isinstance(given, Secret):
            return _checked(given.reveal(), "signing_key=")
        if isinstance(given, bytes):
            return _checked(given.hex(), "signing_key=")
        if isinstance(given, str):
            return _checked(given, "signing_key=")
        if given is not None:
            msg = f"signing_key= must be a str, bytes or Secret, not {type(given).__name__}"
            raise SigningKeyError(msg)
        env = os.environ.get(ENV_KEY)
        if env:
            return _checked(env, f"${ENV_KEY}")
        path = os.environ.get(ENV_KEY_FILE)
        return _key_from_file(Path(path) if path else _default_key_file())

    def _ring(self) -> list[str]:
        """Every key a record may be signed with: the current one first."""
        return [self._secret()]

    def mac(self, message: bytes) -> str:
        """``<key id>:<hex HMAC-SHA256>`` of ``message`` under the current key.

        The MAC key is derived from the signing key for this one purpose, so a
        record MAC can never be replayed as a manifest signature or the reverse.
        """
        key = self._ring()[0]
        return f"{_key_id(key)}:{_record_mac(key, message)}"

    def mac_matches(self, message: bytes, mac: object) -> bool:
        """Whether ``mac`` is a record MAC of ``message`` under a key of the ring."""
        if not isinstance(mac, str) or mac.count(":") != 1:
            return False
        kid, digest = mac.split(":")
        for key in self._ring():
            if hmac.compare_digest(_key_id(key), kid):
                return hmac.compare_digest(_record_mac(key, message), digest)
        return False

    def sign(self, payload: dict[str, Any]) -> str:
        """A compact JWS over the canonical JSON of ``payload``."""
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        token: str = _jws.sign(body.encode(), self._secret(), algorithm=_ALGORITHM)
        return token

    def verify(self, token: str, *, what: str = "snapshot") -> dict[str, Any]:
        """The payload of ``token``; `SnapshotTamperedError` if it does not verify."""
        try:
            raw = _jws.verify(token, self._secret(), algorithms=[_ALGORITHM])
            payload = json.loads(raw)
        except (JOSEError, ValueError, TypeError, AttributeError):
            msg = (
                f"the {what}'s signed manifest does not verify: it was altered, or signed "
                "with another key; nothing was restored from it. Check who changed the "
                "store, or restore with the key that signed it"
            )
            raise SnapshotTamperedError(msg) from None
        if not isinstance(payload, dict):
            msg = f"the {what}'s signed manifest is not an object; nothing was restored"
            raise SnapshotTamperedError(msg)
        return payload
