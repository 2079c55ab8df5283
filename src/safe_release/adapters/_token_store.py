"""Where a shop's token pair lives: the user's `TokenStore`, never safe_release's tables."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from safe_release._secrets import Secret
from safe_release.exceptions import InvalidArgumentError, StoreError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["FileTokenStore", "MemoryTokenStore", "StoredToken", "TokenStore", "check_key"]

MAX_KEY = 400


def check_key(key: object, what: str = "key") -> str:
    """``key`` if it is a usable token key (1-400 characters), else `InvalidArgumentError`."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        msg = f"{what} must be a non-empty string of at most {MAX_KEY} characters, not {key!r}"
        raise InvalidArgumentError(msg)
    return key


@dataclass(frozen=True, repr=False)
class StoredToken:
    """One shop's token pair as a `TokenStore` keeps it.

    Times are wall-clock seconds since the epoch; ``refresh_expires_at`` is None
    when the marketplace does not say. The repr shows the expiry times only.
    """

    access_token: Secret
    access_expires_at: float
    refresh_token: Secret
    refresh_expires_at: float | None = None

    def __post_init__(self) -> None:
        for name in ("access_token", "refresh_token"):
            if not isinstance(getattr(self, name), Secret):
                msg = f"StoredToken({name}=…) must be a Secret; wrap the string: Secret(value)"
                raise InvalidArgumentError(msg)
        for name in ("access_expires_at", "refresh_expires_at"):
            value = getattr(self, name)
            if value is None and name == "refresh_expires_at":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                msg = f"StoredToken({name}=…) must be epoch seconds, not {type(value).__name__}"
                raise InvalidArgumentError(msg)
            object.__setattr__(self, name, float(value))

    def __repr__(self) -> str:
        return (
            f"StoredToken(access_token=Secret('***'), access_expires_at={self.access_expires_at}, "
            f"refresh_token=Secret('***'), refresh_expires_at={self.refresh_expires_at})"
        )


@runtime_checkable
class TokenStore(Protocol):
    """Where the user keeps token pairs (a vault, an encrypted column …), by key.

    `RotatingTokens` reads it before every refresh and saves each new pair
    through it before the new access token is used. safe_release never writes
    secrets to its own tables. Both methods may be called from several threads.
    """

    def load(self, key: str) -> StoredToken | None:
        """The pair saved under ``key``, or None."""
        ...

    def save(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` under ``key`` durably (replacing the pair there); raise if not."""
        ...


class MemoryTokenStore:
    """A `TokenStore` in a dict: for tests and one-process demos (lost on exit)."""

    def __init__(self, tokens: Mapping[str, StoredToken] | None = None) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, StoredToken] = {}
        for key, token in (tokens or {}).items():
            self.save(key, token)

    def load(self, key: str) -> StoredToken | None:
        """The pair saved under ``key``, or None."""
        with self._lock:
            return self._tokens.get(check_key(key))

    def save(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` under ``key``."""
        if not isinstance(token, StoredToken):
            msg = f"MemoryTokenStore.save needs a StoredToken, not {type(token).__name__}"
            raise InvalidArgumentError(msg)
        with self._lock:
            self._tokens[check_key(key)] = token

    def __repr__(self) -> str:
        with self._lock:
            return f"<MemoryTokenStore {len(self._tokens)} key(s)>"


class FileTokenStore:
    """A `TokenStore` in one JSON file, for demos and small installs: NOT a vault.

    The tokens are written in clear text to ``path`` (mode 0600), replaced
    atomically (a temporary file renamed over it, after ``fsync``); processes on
    one machine sharing the file take turns through an exclusive lock on
    ``path`` + ``.lock``. Keep the file on a local, private disk; use a secrets
    manager behind your own `TokenStore` in production.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            msg = f"FileTokenStore(path=…) must be a file path, not {path!r}"
            raise InvalidArgumentError(msg)
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._threads:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                msg = f"cannot open the token file's lock {self._lock_path} ({exc.strerror})"
                raise StoreError(msg) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            msg = f"cannot read the token file {self.path} ({exc.strerror})"
            raise StoreError(msg) from exc
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            msg = (
                f"the token file {self.path} is not a JSON object of token pairs; restore it "
                "from a backup or authorise the shops again"
            )
            raise StoreError(msg) from None
        return data

    def load(self, key: str) -> StoredToken | None:
        """The pair saved under ``key``, or None."""
        check_key(key)
        with self._locked():
            entry = self._read().get(key)
        if entry is None:
            return None
        try:
            return StoredToken(
                access_token=Secret(entry["access_token"]),
                access_expires_at=entry["access_expires_at"],
                refresh_token=Secret(entry["refresh_token"]),
                refresh_expires_at=entry.get("refresh_expires_at"),
            )
        except (KeyError, TypeError, ValueError, InvalidArgumentError):
            msg = f"the token file {self.path} holds a malformed entry for {key!r}"
            raise StoreError(msg) from None

    def save(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` under ``key``: the whole file is rewritten atomically."""
        check_key(key)
        if not isinstance(token, StoredToken):
            msg = f"FileTokenStore.save needs a StoredToken, not {type(token).__name__}"
            raise InvalidArgumentError(msg)
        with self._locked():
            data = self._read()
            data[key] = {
                "access_token": token.access_token.reveal(),
                "access_expires_at": token.access_expires_at,
                "refresh_token": token.refresh_token.reveal(),
                "refresh_expires_at": token.refresh_expires_at,
            }
            self._write(json.dumps(data, indent=1, sort_keys=True))

    def _write(self, text: str) -> None:
        folder = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        except OSError as exc:
            msg = f"cannot write the token file in {folder} ({exc.strerror})"
            raise StoreError(msg) from exc
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            Path(tmp).replace(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            msg = f"cannot write the token file {self.path} ({exc.strerror})"
            raise StoreError(msg) from exc

    def __repr__(self) -> str:
        return f"<FileTokenStore {str(self.path)!r}>"
