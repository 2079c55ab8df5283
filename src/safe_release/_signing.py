"""Signed manifests and record MACs: the only python-jose import, HS256 only.

A manifest (a snapshot's row counts and content hash, a release's identity) is
signed as a compact JWS with HMAC-SHA256 under the store's signing key; a stored
record is authenticated by `Signer.mac`. The current key comes from
``signing_key=`` on `connect`, else ``$SAFE_RELEASE_SIGNING_KEY``, else the first
line of a key file (``$SAFE_RELEASE_KEY_FILE``, default
``~/.config/safe_release/signing.key``) created with mode 0600 on first use. The
previous keys of a rotation (they verify, never sign) come from ``previous=``,
else ``$SAFE_RELEASE_PREVIOUS_SIGNING_KEYS``, else the key file's other lines.

Every key is checked (at least 32 bytes; never a JWK, JSON, PEM or SSH key) and
handed to python-jose as a ready key object, so jose cannot reinterpret it (a
key text starting with ``{`` would otherwise be parsed as a JWK). A key file is
refused when it is a symlink, not a regular file, owned by another user, or
readable or writable by group or others, unless
``$SAFE_RELEASE_KEY_FILE_UNSAFE_OK=1``. Keys are never written to the store, a
log, a message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from jose import jws as _jws
from jose.backends.base import Key as _JoseKey
from jose.exceptions import JOSEError

from safe_release.exceptions import CheckpointError, SigningKeyError, SnapshotTamperedError

if TYPE_CHECKING:
    from safe_release.adapters._auth import Secret

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "ENV_KEY_FILE_UNSAFE_OK",
    "ENV_PREVIOUS_KEYS",
    "MAX_TOKEN_CHARS",
    "Signer",
]

ENV_KEY = "SAFE_RELEASE_SIGNING_KEY"
ENV_KEY_FILE = "SAFE_RELEASE_KEY_FILE"
ENV_PREVIOUS_KEYS = "SAFE_RELEASE_PREVIOUS_SIGNING_KEYS"
ENV_KEY_FILE_UNSAFE_OK = "SAFE_RELEASE_KEY_FILE_UNSAFE_OK"
MAX_TOKEN_CHARS = 16 * 1024 * 1024
"""The longest manifest signed or verified (about 12 MiB of JSON); longer is refused."""

_ALGORITHM = "HS256"
_MIN_KEY_BYTES = 32
_MAX_KEY_FILE_BYTES = 64 * 1024
_MAX_HEADER_CHARS = 256  # ours is 36: {"alg":"HS256","typ":"JWT"}
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
_ASYMMETRIC = ("-----BEGIN", "ssh-", "ecdsa-sha2-")
_NEW_KEY_HINT = "python -c 'import secrets; print(secrets.token_hex(32))'"
_MAC_PURPOSE = b"safe_release/record-mac/v1"
_KID_PURPOSE = b"safe_release/key-id/v1"


@runtime_checkable
class _Revealing(Protocol):
    """A `Secret` (matched by shape: the adapters layer sits above this module)."""

    def reveal(self) -> str: ...


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


# -- where keys come from, and what is refused ------------------------------------------


def _refuse(where: str, why: str, fix: str) -> SigningKeyError:
    return SigningKeyError(f"the signing key from {where} {why}; {fix}")


def _checked(key: str, where: str) -> str:
    """``key`` if it is usable as an HS256 secret, else `SigningKeyError` (never showing it)."""
    head = key.lstrip()
    if head.startswith(("{", "[")):
        raise _refuse(
            where,
            "is JSON (a JWK or key set?)",
            "give the secret itself, a random text of at least 32 bytes, e.g. " + _NEW_KEY_HINT,
        )
    if head.startswith(_ASYMMETRIC) or "-----BEGIN" in key:
        raise _refuse(
            where,
            "looks like a PEM or SSH key",
            "HS256 needs a random shared secret, not an asymmetric key or "
            "certificate; generate one with " + _NEW_KEY_HINT,
        )
    if len(key.encode()) < _MIN_KEY_BYTES:
        what = "is empty" if not key else f"is shorter than {_MIN_KEY_BYTES} bytes"
        raise _refuse(where, what, "use a random key of at least 32 bytes, e.g. " + _NEW_KEY_HINT)
    return key


def _text(key: object, where: str) -> str:
    if isinstance(key, _Revealing):
        key = key.reveal()
    if isinstance(key, bytes):
        return _checked(key.hex(), where)
    if isinstance(key, str):
        return _checked(key, where)
    msg = f"{where} must be a str, bytes or Secret, not {type(key).__name__}"
    raise SigningKeyError(msg)


def _given_previous(previous: object) -> list[str]:
    if isinstance(previous, (str, bytes, _Revealing)):
        previous = [previous]
    if not isinstance(previous, Iterable):
        msg = f"previous= takes a key or a list of keys, not {type(previous).__name__}"
        raise SigningKeyError(msg)
    return [_text(k, f"previous= (key {i})") for i, k in enumerate(previous, 1)]


def _env_previous() -> list[str] | None:
    value = os.environ.get(ENV_PREVIOUS_KEYS)
    if value is None or not value.strip():
        return None
    keys = re.split(r"[\s,]+", value.strip())
    return [_checked(k, f"${ENV_PREVIOUS_KEYS} (key {i})") for i, k in enumerate(keys, 1)]


def _default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "safe_release" / "signing.key"


def _unsafe_ok() -> bool:
    return os.environ.get(ENV_KEY_FILE_UNSAFE_OK, "").strip().lower() in {"1", "true", "yes"}


def _file_refused(path: Path, why: str, fix: str) -> SigningKeyError:
    return SigningKeyError(
        f"the signing key file {path} {why}; {fix}, or set {ENV_KEY_FILE_UNSAFE_OK}=1 to "
        "accept it (see docs/security.md)"
    )


def _check_file(path: Path, st: os.stat_result) -> None:
    """Refuse a key file others could read, replace or write (owner and mode: POSIX only)."""
    if not stat.S_ISREG(st.st_mode):
        raise _file_refused(path, "is not a regular file", "point $" + ENV_KEY_FILE + " at a file")
    if os.name == "nt":
        return
    if st.st_uid != os.getuid():
        raise _file_refused(
            path,
            f"is owned by another user (uid {st.st_uid})",
            f"run `chown {os.getuid()} {path}` and `chmod 600 {path}`",
        )
    if st.st_mode & 0o077:
        raise _file_refused(
            path,
            f"has mode {stat.S_IMODE(st.st_mode):04o}, so group or others can read or write it",
            f"run `chmod 600 {path}`",
        )


def _read_key_file(path: Path) -> str:
    unsafe_ok = _unsafe_ok()
    if not unsafe_ok and path.is_symlink():
        raise _file_refused(path, "is a symlink", "point $" + ENV_KEY_FILE + " at the file itself")
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if not unsafe_ok:  # never blocks on a FIFO: anything but a regular file is refused
        flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a symlink since the check above
            raise _file_refused(
                path, "is a symlink", "point $" + ENV_KEY_FILE + " at the file itself"
            ) from None
        raise
    try:
        if not unsafe_ok:
            _check_file(path, os.fstat(fd))
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(_MAX_KEY_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise _file_refused(
            path,
            f"is larger than {_MAX_KEY_FILE_BYTES} bytes",
            "keep only the keys in it, one a line",
        )
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise _file_refused(
            path, "is not UTF-8 text", "write the keys as text, one a line"
        ) from None


def _create_key_file(path: Path) -> None:
    """A new random key, published whole (a racing process keeps the first one made)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: theirs is used
        except OSError:  # no hard links on this file system
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
                out.write(Path(tmp).read_text())
    finally:
        Path(tmp).unlink(missing_ok=True)


def _keys_from_file(path: Path) -> list[str]:
    """The file's keys, one a line (``#`` comments and blank lines skipped): current first."""
    try:
        if not (path.is_symlink() or path.exists()):
            _create_key_file(path)
        text = _read_key_file(path)
    except OSError as exc:
        msg = (
            f"cannot read or create the signing key file {path} ({exc.strerror}); set "
            f"${ENV_KEY} or ${ENV_KEY_FILE}, or pass signing_key= to connect()"
        )
        raise SigningKeyError(msg) from None
    lines = [ln.strip() for ln in text.splitlines()]
    keys = [ln for ln in lines if ln and not ln.startswith("#")]
    where = f"the key file {path}"
    if not keys:
        raise _refuse(
            where,
            "is empty",
            "write a random key of at least 32 bytes on its first line, e.g. " + _NEW_KEY_HINT,
        )
    return [_checked(k, f"{where} (key {i})") for i, k in enumerate(keys, 1)]


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
                texts = self._resolve()
                unique = [k for i, k in enumerate(texts) if k not in texts[:i]]
                self._keys = [_RingKey(k) for k in unique]
            return self._keys

    def _resolve(self) -> list[str]:
        from_file: list[str] = []
        if self._given is not None:
            current = _text(self._given, "signing_key=")
        elif env := os.environ.get(ENV_KEY):
            current = _checked(env, f"${ENV_KEY}")
        else:
            path = os.environ.get(ENV_KEY_FILE)
            current, *from_file = _keys_from_file(Path(path) if path else _default_key_file())
        if self._previous is not None:
            return [current, *_given_previous(self._previous)]
        env_previous = _env_previous()
        return [current, *(from_file if env_previous is None else env_previous)]

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
