"""Signed manifests: the key's sources, what is refused, and that the key never leaks."""

from __future__ import annotations

import base64
import json
import os
import pickle
import stat
from typing import TYPE_CHECKING

import pytest
from jose import jws

import safe_release as sr
from safe_release._signing import ENV_KEY, ENV_KEY_FILE
from safe_release.adapters import Secret

if TYPE_CHECKING:
    from pathlib import Path

KEY = "k" * 40


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TestKeySources:
    def test_argument_env_then_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """signing_key= first, then the variable, then a key file created with mode 0600."""
        payload = {"a": 1}
        token = sr.Signer(KEY).sign(payload)
        assert sr.Signer(Secret(KEY)).verify(token) == payload
        monkeypatch.setenv(ENV_KEY, KEY)
        assert sr.Signer().verify(token) == payload
        monkeypatch.delenv(ENV_KEY)
        key_file = tmp_path / "conf" / "signing.key"
        monkeypatch.setenv(ENV_KEY_FILE, str(key_file))
        signer = sr.Signer()
        other = signer.sign(payload)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert sr.Signer().verify(other) == payload  # the same file: the same key
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer().verify(token)  # signed with another key

    @pytest.mark.parametrize("bad", ["short", b"", 42])
    def test_weak_or_wrong_keys_are_refused(self, bad: object) -> None:
        """Keys under 32 bytes, or not text/bytes/Secret: SigningKeyError saying what to do."""
        with pytest.raises(sr.SigningKeyError, match="signing_key"):
            sr.Signer(bad).sign({})  # type: ignore[arg-type]


class TestVerify:
    @pytest.mark.parametrize("alg", ["none", "HS384", "HS512"])
    def test_only_hs256_is_accepted(self, alg: str) -> None:
        """Another algorithm (alg=none included) is refused, never trusted."""
        if alg == "none":
            token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'a': 1})}."
        else:
            token = jws.sign({"a": 1}, KEY, algorithm=alg)
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(KEY).verify(token)

    def test_altered_payload_is_refused(self) -> None:
        """A payload edited after signing does not verify."""
        head, _, sig = sr.Signer(KEY).sign({"rows": 10}).split(".")
        with pytest.raises(sr.SnapshotTamperedError, match="altered"):
            sr.Signer(KEY).verify(f"{head}.{_b64({'rows': 11})}.{sig}")
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(KEY).verify("not a token")


class TestNoLeak:
    def test_key_is_never_shown_stored_or_pickled(self, tmp_path: Path) -> None:
        """The key appears in no repr and no stored row; a Signer cannot be pickled."""
        key = os.urandom(24).hex()
        with sr.connect(f"sqlite:///{tmp_path / 's.db'}", signing_key=key) as store:
            cp = sr.checkpoint(lambda: {"n": 1}, lambda _v: None, name="n")
            with sr.release("job", store=store, checkpoint=[cp]):
                pass
            assert key not in repr(store.signer)
            assert key not in repr(store)
            with pytest.raises(TypeError):
                pickle.dumps(store.signer)
        for path in tmp_path.glob("s.db*"):
            assert key.encode() not in path.read_bytes()
