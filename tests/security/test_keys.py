"""Issue 11, item 5, L10 and L12: signing keys, key files, rotation and malformed manifests.

Each refusal is reproduced first against python-jose itself (what the SDK used to
hand a key to), then shown refused by `Signer`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from typing import TYPE_CHECKING, Any

import pytest
from jose import jws

import safe_release as sr
from safe_release._keys import (
    ENV_KEY,
    ENV_KEY_FILE,
    ENV_KEY_FILE_UNSAFE_OK,
    ENV_PREVIOUS_KEYS,
    _create_key_file,
)
from safe_release._signing import MAX_TOKEN_CHARS
from safe_release.adapters import Secret

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.conftest import Backend

OLD = "o" * 20 + os.urandom(16).hex()
NEW = "n" * 20 + os.urandom(16).hex()
JWK_EMPTY = '{"kty":"oct","k":"","use":"sig","kid":"rotation-2026"}'
JWK_REAL = json.dumps({"kty": "oct", "k": base64.urlsafe_b64encode(b"s" * 32).decode()})
HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(header: dict[str, Any] | bytes, payload: bytes, secret: bytes) -> str:
    """A compact JWS HMAC-SHA256-signed under ``secret``, whatever its header says."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    signing_input = f"{_b64(raw)}.{_b64(payload)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


@pytest.fixture(name="no_env_keys")
def fixture_no_env_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key in the environment: the key file under tmp_path is the source."""
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_PREVIOUS_KEYS, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE_UNSAFE_OK, raising=False)
    path = tmp_path / "conf" / "signing.key"
    monkeypatch.setenv(ENV_KEY_FILE, str(path))
    return path


def _write_key_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


class TestJoseHazards:
    def test_jose_reads_a_jwk_shaped_key_as_its_empty_k(self) -> None:
        """The reproduction: jose signs with the JWK text but verifies with its empty "k"."""
        own = jws.sign(b'{"rows":1}', JWK_EMPTY, algorithm="HS256")
        with pytest.raises(jws.JWSError):
            jws.verify(own, JWK_EMPTY, algorithms=["HS256"])  # every manifest failed
        forged = _token(HEADER, b'{"rows":0}', b"")
        assert jws.verify(forged, JWK_EMPTY, algorithms=["HS256"]) == b'{"rows":0}'

    def test_an_empty_key_forgery_never_verifies(self) -> None:
        """A token signed with an empty key is refused by every Signer."""
        forged = _token(HEADER, b'{"rows":0}', b"")
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(NEW).verify(forged)

    def test_pem_looking_text_is_never_handed_to_jose_as_a_key(self) -> None:
        """A key jose would reject as asymmetric (an ssh- substring) still signs as HS256."""
        key = "a" * 16 + "ssh-rsa" + "b" * 16  # jose: "an asymmetric key … should not be used"
        with pytest.raises(jws.JWSError):
            jws.sign(b"{}", key, algorithm="HS256")
        signer = sr.Signer(key)
        assert signer.verify(signer.sign({"a": 1})) == {"a": 1}

    def test_tokens_are_those_jose_makes_for_the_same_key(self) -> None:
        """Manifests (and the snapshot hash seed taken from one) are unchanged for a key."""
        payload = {"purpose": "safe_release table snapshot content hash"}
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        expected = jws.sign(body.encode(), NEW, algorithm="HS256")
        assert sr.Signer(NEW).sign(payload) == expected
        assert sr.Signer(NEW).signature(payload) == expected.rsplit(".", 1)[-1]


class TestRefusedKeys:
    @pytest.mark.parametrize(
        ("key", "match"),
        [
            (JWK_EMPTY, "JSON"),
            (JWK_REAL, "JSON"),
            ('  {"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}]}', "JSON"),
            ('["' + "x" * 40 + '"]', "JSON"),
            ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n", "PEM"),
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz8f0 user@host", "PEM or SSH"),
            ("", "empty"),
            ("x" * 31, "shorter than 32 bytes"),
        ],
    )
    def test_every_source_refuses_the_key(
        self, key: str, match: str, no_env_keys: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """JWK/JSON, PEM/SSH, empty and short keys: SigningKeyError, the key never shown."""
        attempts: list[tuple[str, sr.Signer]] = [
            ("signing_key=", sr.Signer(key)),
            ("signing_key=", sr.Signer(Secret(key))),
            ("previous=", sr.Signer(NEW, previous=[OLD, key])),
        ]
        for where, signer in attempts:
            with pytest.raises(sr.SigningKeyError, match=match) as info:
                signer.sign({})
            assert where in str(info.value)
            assert not key.strip() or key.strip() not in str(info.value)
        if key.strip():
            monkeypatch.setenv(ENV_KEY, key)
            with pytest.raises(sr.SigningKeyError, match=match):
                sr.Signer().sign({})
            monkeypatch.delenv(ENV_KEY)
        if key.strip() and "\n" not in key.strip() and " " not in key.strip():
            monkeypatch.setenv(ENV_PREVIOUS_KEYS, f"{OLD},{key}")
            with pytest.raises(sr.SigningKeyError, match=rf"{ENV_PREVIOUS_KEYS} \(key 2\)"):
                sr.Signer(NEW).sign({})
            monkeypatch.delenv(ENV_PREVIOUS_KEYS)
        _write_key_file(no_env_keys, key + "\n")
        with pytest.raises(sr.SigningKeyError, match="key file"):
            sr.Signer().sign({})

    @pytest.mark.parametrize("bad", [42, None, 4.5, object()])
    def test_a_previous_key_of_the_wrong_type_is_refused(self, bad: object) -> None:
        """previous= takes keys (str, bytes, Secret) or a list of them, nothing else."""
        with pytest.raises(sr.SigningKeyError, match="previous="):
            sr.Signer(NEW, previous=[bad]).sign({})  # type: ignore[list-item]
        if bad is not None:
            with pytest.raises(sr.SigningKeyError, match="previous="):
                sr.Signer(NEW, previous=bad).sign({})  # type: ignore[arg-type]

    def test_bytes_keys_are_their_hex(self) -> None:
        """A bytes key signs as its hex text (random bytes need no encoding)."""
        raw = os.urandom(32)
        token = sr.Signer(raw).sign({"a": 1})
        assert sr.Signer(raw.hex()).verify(token) == {"a": 1}
        with pytest.raises(sr.SigningKeyError, match="shorter"):
            sr.Signer(os.urandom(15)).sign({})


class TestAlgorithms:
    @pytest.mark.parametrize(
        "header",
        [
            {"alg": "none", "typ": "JWT"},
            {"alg": "HS512", "typ": "JWT"},
            {"alg": "HS384"},
            {"alg": "RS256", "typ": "JWT"},
            {"alg": "ES256"},
            {"typ": "JWT"},
            {"alg": ["HS256"]},
            {"alg": "HS256", "jwk": {"kty": "oct", "k": ""}},
        ],
    )
    def test_only_plain_hs256_is_accepted(self, header: dict[str, Any]) -> None:
        """alg=none, HS384/512, RS256, ES256, a missing or list alg, an embedded key: refused."""
        for secret in (NEW.encode(), b""):
            token = _token(header, b'{"rows":0}', secret)
            if header.get("alg") == "none":
                token = token.rsplit(".", 1)[0] + "."
            with pytest.raises(sr.SnapshotTamperedError):
                sr.Signer(NEW).verify(token)

    def test_a_kid_header_does_not_pick_the_key(self) -> None:
        """Extra header fields are ignored: the ring's keys alone decide."""
        token = _token({"alg": "HS256", "kid": "whatever"}, b'{"a":1}', NEW.encode())
        assert sr.Signer(NEW).verify(token) == {"a": 1}
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(OLD).verify(token)


class TestMalformedTokens:
    """L10: nothing a token holds raises anything but SnapshotTamperedError."""

    @pytest.mark.parametrize(
        "header",
        [
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
            b'{"alg":"HS256","x":' + b"[" * 60 + b"]" * 60 + b"}",
            b"\xff\xfe",
            b"null",
        ],
    )
    def test_deep_or_odd_headers(self, header: bytes) -> None:
        """A deeply nested, non-object or non-UTF-8 header is tampered, not a RecursionError."""
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(NEW).verify(_token(header, b"{}", NEW.encode()))

    @pytest.mark.parametrize(
        "payload",
        [
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
            b"[1]",
            b"\xff",
            b"1e999999",
        ],
    )
    def test_deep_or_odd_payloads_even_correctly_signed(self, payload: bytes) -> None:
        """A payload signed with the key itself but deep or not an object: tampered."""
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(NEW).verify(_token(HEADER, payload, NEW.encode()))

    @pytest.mark.parametrize(
        "token",
        [
            None,
            42,
            b"a.b.c",
            "",
            "a.b",
            "a.b.c.d",
            "a..",
            "é.b.c",
            "a b.c.d",
            "e30.e30.%%%",
            "A" * 300 + ".e30.sig",
        ],
    )
    def test_shapeless_tokens(self, token: object) -> None:
        """Not a compact JWS string (wrong type, segments, characters, header size): tampered."""
        with pytest.raises(sr.SnapshotTamperedError):
            sr.Signer(NEW).verify(token)  # type: ignore[arg-type]

    def test_huge_tokens_are_refused_before_decoding(self) -> None:
        """Longer than MAX_TOKEN_CHARS: tampered, and such a manifest is never signed."""
        signer = sr.Signer(NEW)
        head, _, sig = signer.sign({"a": 1}).split(".")
        with pytest.raises(sr.SnapshotTamperedError):
            signer.verify(f"{head}.{'A' * MAX_TOKEN_CHARS}.{sig}")
        with pytest.raises(sr.CheckpointError, match="over the limit") as info:
            signer.sign({"state": "x" * (MAX_TOKEN_CHARS * 3 // 4)})
        assert not isinstance(info.value, sr.SnapshotTamperedError)

    def test_a_stored_deep_manifest_fails_its_step(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A deep manifest written into sr_checkpoint: the restore fails typed, nothing runs."""
        monkeypatch.delenv(ENV_PREVIOUS_KEYS, raising=False)
        box = _Box()
        with sr.connect(backend.url, schema=backend.schema, signing_key=NEW) as store:
            parked = _park(store, box)
            deep = _token(b"[" * 200_000 + b"]" * 200_000, b"{}", NEW.encode())
            with store.engine.begin() as conn:
                conn.execute(store.tables.checkpoint.update().values(manifest=deep))
            _assert_refused(lambda: store.rollback(parked, checkpoint=[box.cp()]))
        assert box.restores == 0


class TestKeyFile:
    def test_created_owner_only_and_reused(self, no_env_keys: Path) -> None:
        """The first use creates the file 0600 (its new directory 0700); later uses read it."""
        token = sr.Signer().sign({"a": 1})
        assert stat.S_IMODE(no_env_keys.stat().st_mode) == 0o600
        assert stat.S_IMODE(no_env_keys.parent.stat().st_mode) == 0o700
        assert sr.Signer().verify(token) == {"a": 1}
        assert [p.name for p in no_env_keys.parent.iterdir()] == ["signing.key"]

    def test_a_second_creation_keeps_the_first_key(self, no_env_keys: Path) -> None:
        """Two processes creating the file at once: the first key made is kept whole."""
        _create_key_file(no_env_keys)
        first = no_env_keys.read_text()
        _create_key_file(no_env_keys)
        assert no_env_keys.read_text() == first
        assert len(first.strip()) == 64
        assert [p.name for p in no_env_keys.parent.iterdir()] == ["signing.key"]

    @pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o660, 0o644, 0o700, 0o610])
    @pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
    def test_group_or_world_access_is_refused(
        self, mode: int, no_env_keys: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Mode beyond 0600: refused with the chmod to run; the documented opt-out accepts it."""
        _write_key_file(no_env_keys, NEW + "\n", mode)
        if mode & 0o077:
            with pytest.raises(sr.SigningKeyError, match=f"chmod 600 {no_env_keys}") as info:
                sr.Signer().sign({})
            assert NEW not in str(info.value)
            assert ENV_KEY_FILE_UNSAFE_OK in str(info.value)
        monkeypatch.setenv(ENV_KEY_FILE_UNSAFE_OK, "1")
        assert sr.Signer().verify(sr.Signer(NEW).sign({"a": 1})) == {"a": 1}

    @pytest.mark.skipif(os.name == "nt", reason="POSIX owners")
    def test_a_file_of_another_user_is_refused(
        self, no_env_keys: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A key file owned by another user (anyone could have written it): refused."""
        _write_key_file(no_env_keys, NEW + "\n")
        me = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: me + 1)
        with pytest.raises(sr.SigningKeyError, match=rf"owned by another user \(uid {me}\)"):
            sr.Signer().sign({})
        monkeypatch.setenv(ENV_KEY_FILE_UNSAFE_OK, "true")
        sr.Signer().sign({})

    def test_a_symlink_is_refused(
        self, no_env_keys: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A symlinked key file (its target could be swapped): refused, unless opted out."""
        target = _write_key_file(no_env_keys.parent / "real.key", NEW + "\n")
        no_env_keys.symlink_to(target)
        with pytest.raises(sr.SigningKeyError, match="is a symlink"):
            sr.Signer().sign({})
        dangling = no_env_keys.parent / "dangling.key"
        dangling.symlink_to(no_env_keys.parent / "absent.key")
        monkeypatch.setenv(ENV_KEY_FILE, str(dangling))
        with pytest.raises(sr.SigningKeyError, match="is a symlink"):
            sr.Signer().sign({})  # not followed to create a key there either
        assert not (no_env_keys.parent / "absent.key").exists()
        monkeypatch.setenv(ENV_KEY_FILE, str(no_env_keys))
        monkeypatch.setenv(ENV_KEY_FILE_UNSAFE_OK, "1")
        assert sr.Signer().verify(sr.Signer(NEW).sign({"a": 1})) == {"a": 1}

    def test_not_a_regular_file(self, no_env_keys: Path) -> None:
        """A directory (or device) as the key file: refused, not read."""
        no_env_keys.mkdir(parents=True)
        no_env_keys.chmod(0o700)
        with pytest.raises(sr.SigningKeyError, match="not a regular file"):
            sr.Signer().sign({})

    @pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
    def test_empty_key_file(self, text: str, no_env_keys: Path) -> None:
        """A key file holding no key is refused, never used as an empty key."""
        _write_key_file(no_env_keys, text)
        with pytest.raises(sr.SigningKeyError, match="empty"):
            sr.Signer().sign({})

    def test_a_binary_key_file_is_refused(self, no_env_keys: Path) -> None:
        """A key file that is not UTF-8 text is refused (keys are text, one a line)."""
        _write_key_file(no_env_keys, "")
        no_env_keys.write_bytes(b"\xff" * 40)
        with pytest.raises(sr.SigningKeyError, match="not UTF-8"):
            sr.Signer().sign({})

    def test_a_huge_key_file_is_refused(self, no_env_keys: Path) -> None:
        """A key file of more than 64 KiB is not read whole."""
        _write_key_file(no_env_keys, (NEW + "\n") * 2000)
        with pytest.raises(sr.SigningKeyError, match="larger than"):
            sr.Signer().sign({})


class TestRotation:
    def test_sign_with_current_verify_with_previous(self) -> None:
        """After a rotation, old manifests and MACs verify; new ones are under the new key."""
        old = sr.Signer(OLD)
        old_token, old_mac = old.sign({"a": 1}), old.mac(b"record")
        ring = sr.Signer(NEW, previous=[OLD])
        assert ring.verify(old_token) == {"a": 1}
        assert ring.mac_matches(b"record", old_mac)
        assert not ring.mac_matches(b"other record", old_mac)
        with pytest.raises(sr.SnapshotTamperedError):
            old.verify(ring.sign({"a": 1}))
        assert not old.mac_matches(b"record", ring.mac(b"record"))
        assert ring.mac(b"record").split(":")[0] == ring.key_ids[0] != old.key_ids[0]
        assert ring.signed_with(old_token) == old.key_ids[0]
        assert ring.signed_with(ring.sign({})) == ring.key_ids[0]

    def test_dropping_the_old_key_refuses_its_records(self) -> None:
        """Once the previous key is dropped, what it signed no longer verifies."""
        old = sr.Signer(OLD)
        token, mac = old.sign({"a": 1}), old.mac(b"record")
        new = sr.Signer(NEW)
        with pytest.raises(sr.SnapshotTamperedError, match="previous keys"):
            new.verify(token)
        assert not new.mac_matches(b"record", mac)
        assert new.signed_with(token) is None

    def test_seed_survives_a_rotation(self) -> None:
        """signature(key_of=) recomputes a value under the key that signed a manifest."""
        purpose = {"purpose": "seed"}
        old = sr.Signer(OLD)
        manifest = old.sign({"seq": 1})
        ring = sr.Signer(NEW, previous=[OLD])
        assert ring.signature(purpose, key_of=manifest) == old.signature(purpose)
        assert ring.signature(purpose) == sr.Signer(NEW).signature(purpose)
        with pytest.raises(sr.SnapshotTamperedError):
            ring.signature(purpose, key_of=_token(HEADER, b"{}", b"x" * 32))

    def test_previous_keys_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """$SAFE_RELEASE_PREVIOUS_SIGNING_KEYS: comma or whitespace separated; previous= wins."""
        third = "t" * 40
        tokens = [sr.Signer(k).sign({"k": i}) for i, k in enumerate((OLD, third))]
        monkeypatch.setenv(ENV_PREVIOUS_KEYS, f" {OLD},\n {third}  ")
        ring = sr.Signer(NEW)
        assert [ring.verify(t) for t in tokens] == [{"k": 0}, {"k": 1}]
        assert len(ring.key_ids) == 3
        only_old = sr.Signer(NEW, previous=OLD)
        assert only_old.verify(tokens[0]) == {"k": 0}
        with pytest.raises(sr.SnapshotTamperedError):
            only_old.verify(tokens[1])
        monkeypatch.setenv(ENV_PREVIOUS_KEYS, " ")
        assert len(sr.Signer(NEW).key_ids) == 1

    def test_a_ring_file(self, no_env_keys: Path) -> None:
        """A key file's first key is current, its other lines previous (comments skipped)."""
        _write_key_file(no_env_keys, f"# rotated 2026-12-07\n{NEW}\n\n# before\n{OLD}\n{NEW}\n")
        ring = sr.Signer()
        assert ring.key_ids == (sr.Signer(NEW).key_ids[0], sr.Signer(OLD).key_ids[0])
        assert ring.verify(sr.Signer(OLD).sign({"a": 1})) == {"a": 1}
        assert sr.Signer(NEW).verify(ring.sign({"a": 1})) == {"a": 1}

    def test_repr_shows_ids_never_keys(self) -> None:
        """The repr names the current key's id and how many previous keys there are."""
        ring = sr.Signer(Secret(NEW), previous=[Secret(OLD), OLD.encode()])
        assert repr(ring) == "<Signer HS256 key=pending>"
        ring.sign({})
        assert repr(ring) == f"<Signer HS256 kid={ring.key_ids[0]} previous=2>"
        assert NEW not in repr(ring)
        assert OLD not in repr(ring)

    def test_a_store_rolls_back_what_it_recorded_before_a_rotation(
        self, backend: Backend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A release parked under the old key rolls back after the rotation; not after the drop."""
        monkeypatch.delenv(ENV_PREVIOUS_KEYS, raising=False)
        box, other = _Box(), _Box()
        with sr.connect(backend.url, schema=backend.schema, signing_key=OLD) as store:
            parked = _park(store, box)
            dropped = _park(store, other, scope="other")
        with sr.connect(backend.url, schema=backend.schema, signing_key=NEW) as store:
            _assert_refused(lambda: store.rollback(dropped, checkpoint=[other.cp()]))
            assert other.restores == 0
        monkeypatch.setenv(ENV_PREVIOUS_KEYS, OLD)
        with sr.connect(backend.url, schema=backend.schema, signing_key=NEW) as store:
            report = store.rollback(parked, checkpoint=[box.cp()])
        assert report.status is sr.ReleaseStatus.ROLLED_BACK
        assert (box.value, box.restores) == ("before", 1)


class _Box:
    """A value a custom checkpoint captures and restores."""

    def __init__(self) -> None:
        self.value = "before"
        self.restores = 0

    def put(self, value: Any) -> None:
        self.value = value
        self.restores += 1

    def fail(self, value: str) -> None:
        """The job changes the value, then fails."""
        self.value = value
        raise RuntimeError("boom")

    def cp(self) -> Any:
        return sr.checkpoint(lambda: self.value, self.put, name="box")


def _park(store: sr.Store, box: _Box, scope: str = "job") -> str:
    """A release whose job failed and waits in pending_rollback (its checkpoint signed)."""
    parked = sr.release(scope, store=store, checkpoint=[box.cp()], on_failure="manual")
    with pytest.raises(RuntimeError), parked:
        box.fail("after")
    return parked.id


def _assert_refused(rollback: Callable[[], sr.RollbackReport]) -> None:
    """The rollback is refused on a tamper error: raised, or a failed step of its report."""
    outcome: sr.RollbackReport | sr.SafeReleaseError
    try:
        outcome = rollback()
    except sr.SafeReleaseError as exc:
        outcome = exc
    if isinstance(outcome, sr.SafeReleaseError):
        assert type(outcome).__name__.endswith("TamperedError"), outcome
        return
    report = outcome
    assert report.status is sr.ReleaseStatus.ROLLBACK_FAILED
    assert report.failed
    assert all("TamperedError" in step.detail for step in report.failed)
