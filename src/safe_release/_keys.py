"""Where the signing keys come from, and which are refused.

The current key comes from ``signing_key=`` on `connect`, else
``$SAFE_RELEASE_SIGNING_KEY``, else the first line of a key file
(``$SAFE_RELEASE_KEY_FILE``, default ``~/.config/safe_release/signing.key``)
created with mode 0600 on first use. The previous keys of a rotation (they
verify, never sign) come from ``previous=``, else
``$SAFE_RELEASE_PREVIOUS_SIGNING_KEYS``, else the key file's other lines.

Every key is checked: at least 32 bytes, never a JWK, JSON, PEM or SSH key. A
key file is refused when it is a symlink, not a regular file, owned by another
user, or readable or writable by group or others, unless
``$SAFE_RELEASE_KEY_FILE_UNSAFE_OK=1``. Keys are never written to the store, a
log, a message or a repr.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from safe_release.exceptions import SigningKeyError

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "ENV_KEY_FILE_UNSAFE_OK",
    "ENV_PREVIOUS_KEYS",
    "default_key_file",
    "resolve_keys",
]

ENV_KEY = "SAFE_RELEASE_SIGNING_KEY"
ENV_KEY_FILE = "SAFE_RELEASE_KEY_FILE"
ENV_PREVIOUS_KEYS = "SAFE_RELEASE_PREVIOUS_SIGNING_KEYS"
ENV_KEY_FILE_UNSAFE_OK = "SAFE_RELEASE_KEY_FILE_UNSAFE_OK"

_MIN_KEY_BYTES = 32
_MAX_KEY_FILE_BYTES = 64 * 1024
_ASYMMETRIC = ("-----BEGIN", "ssh-", "ecdsa-sha2-")
_NEW_KEY_HINT = "python -c 'import secrets; print(secrets.token_hex(32))'"


@runtime_checkable
class _Revealing(Protocol):
    """A `Secret` (matched by shape: the adapters layer sits above this module)."""

    def reveal(self) -> str: ...


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


def default_key_file() -> Path:
    """Where the signing key file is when ``$SAFE_RELEASE_KEY_FILE`` names none."""
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


def resolve_keys(given: object, previous: object) -> list[str]:
    """The ring's key texts, checked: the current key first, then the previous ones.

    ``given`` and ``previous`` are what the caller passed (None: look further).
    """
    from_file: list[str] = []
    if given is not None:
        current = _text(given, "signing_key=")
    elif env := os.environ.get(ENV_KEY):
        current = _checked(env, f"${ENV_KEY}")
    else:
        path = os.environ.get(ENV_KEY_FILE)
        current, *from_file = _keys_from_file(Path(path) if path else default_key_file())
    if previous is not None:
        return [current, *_given_previous(previous)]
    env_previous = _env_previous()
    return [current, *(from_file if env_previous is None else env_previous)]
