"""Config content hashes over RFC 8785 (JCS), and the versions hashed before it.

Content a reader sees as equal — ``{"x": 1}`` and ``{"x": 1.0}``, keys in any order
— hashes alike; versions stored before store revision 0006 keep their "legacy" hash,
which stays verifiable, and a rollback to one of them keeps it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
import rfc8785
import sqlalchemy as sa
from alembic import command

import safe_release as sr
from safe_release._json import canonical_dumps, content_hash_of, verify_content_hash
from safe_release._store import _migrate


class TestNewVersions:
    def test_equal_content_hashes_alike(self, store: sr.Store) -> None:
        one = store.config("a").publish({"x": 1, "y": [1.50, "é"]}, author="t")
        two = store.config("b").publish({"y": [1.5, "é"], "x": 1.0}, author="t")
        assert (one.hash_kind, two.hash_kind) == ("jcs", "jcs")
        assert one.content_hash == two.content_hash
        want = hashlib.sha256(rfc8785.dumps({"x": 1, "y": [1.5, "é"]})).hexdigest()
        assert one.content_hash == want
        assert store.config("a").get(1).content_hash == want  # as stored

    def test_an_integer_rfc8785_cannot_encode_keeps_every_digit(self, store: sr.Store) -> None:
        """2**62 is outside I-JSON: the version is hashed the legacy way, exactly."""
        version = store.config("ids").publish({"id": 2**62}, author="t")
        assert version.hash_kind == "legacy"
        assert version.content_hash == hashlib.sha256(b'{"id":4611686018427387904}').hexdigest()
        assert store.config("ids").get(1).content == {"id": 2**62}

    def test_every_hash_verifies_by_its_kind(self) -> None:
        content = {"x": 1.0}
        digest, kind = content_hash_of(content)
        assert verify_content_hash(content, digest, kind)
        assert not verify_content_hash({"x": 2}, digest, kind)
        legacy = hashlib.sha256(canonical_dumps(content).encode()).hexdigest()
        assert verify_content_hash(content, legacy, "legacy")
        assert not verify_content_hash(content, legacy, "jcs")


class TestVersionsStoredBefore:
    def _downgraded_with_a_version(self, store: sr.Store) -> str:
        """The store at revision 0005 holding v1 of ``pricing``; its (legacy) hash."""
        content = {"floor": 1.0}
        legacy = hashlib.sha256(canonical_dumps(content).encode()).hexdigest()
        t = store.tables
        with store.engine.begin() as conn:
            command.downgrade(_migrate._config(conn, store.schema), "0005")
            now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            version = sa.table(
                t.config_version.name,
                *(sa.column(c.name) for c in t.config_version.c if c.name != "hash_kind"),
                schema=store.schema,
            )
            conn.execute(
                sa.insert(version).values(
                    name="pricing",
                    version=1,
                    content=json.dumps(content),
                    content_hash=legacy,
                    size=15,
                    author="old",
                    message="before 0006",
                    created_at=now,
                )
            )
            conn.execute(
                sa.insert(t.config).values(
                    name="pricing", head=1, latest=1, last_good=None, updated_at=now
                )
            )
        assert store.current_revision() == "0005"
        return legacy

    def test_they_keep_their_hash_and_it_verifies(self, store: sr.Store) -> None:
        legacy = self._downgraded_with_a_version(store)
        store.upgrade()
        old = store.config("pricing").get(1)
        assert (old.hash_kind, old.content_hash) == ("legacy", legacy)
        assert verify_content_hash(old.content, old.content_hash, old.hash_kind)

    def test_a_rollback_to_one_keeps_its_hash(self, store: sr.Store) -> None:
        legacy = self._downgraded_with_a_version(store)
        store.upgrade()
        cfg = store.config("pricing")
        cfg.publish({"floor": 2}, author="t")
        back = cfg.rollback(to=1, author="t")
        assert (back.hash_kind, back.content_hash) == ("legacy", legacy)
        assert cfg.diff(1, back.version).changes == ()

    def test_its_checkpoint_restores(self, store: sr.Store) -> None:
        """A release that checkpointed a legacy head puts it back after a failure."""
        self._downgraded_with_a_version(store)
        store.upgrade()
        cfg = store.config("pricing")
        with pytest.raises(ZeroDivisionError), sr.release("p", store=store, checkpoint=[cfg]):  # noqa: PT012 - the release is the block
            cfg.publish({"floor": 0}, author="bad deploy")
            _ = 1 / 0
        assert cfg.current().content == {"floor": 1.0}
        assert cfg.current().hash_kind == "legacy"
