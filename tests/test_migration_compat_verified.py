"""compat: verified revisions, and the revisions an alembic_checkpoint restore passes."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic import command

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, alembic_checkpoint
from safe_release.migrations import compat
from tests.alembic_util import AlembicProject

if TYPE_CHECKING:
    from pathlib import Path

SHA_A = "a" * 64
SHA_B = "b" * 64


class TestVerifiedRevisions:
    def test_record_and_read_per_dialect(self, store: sr.Store) -> None:
        """Verifications are kept per dialect; recording again replaces the hash."""
        compat.record_verified(store, {"r1": SHA_A, "r2": SHA_A}, "sqlite")
        compat.record_verified(store, {"r1": SHA_B}, "postgresql")
        compat.record_verified(store, {"r2": SHA_B}, "sqlite")
        assert compat.verified_revisions(store, "sqlite") == {"r1": SHA_A, "r2": SHA_B}
        assert compat.verified_revisions(store, "postgresql") == {"r1": SHA_B}
        assert compat.verified_revisions(store, "mysql") == {}

    def test_nothing_to_record(self, store: sr.Store) -> None:
        """An empty mapping records nothing."""
        compat.record_verified(store, {}, "sqlite")
        assert compat.verified_revisions(store, "sqlite") == {}

    def test_file_hash(self, tmp_path: Path) -> None:
        """revision_file_sha256 hashes the file's bytes."""
        path = tmp_path / "r1.py"
        path.write_bytes(b"revision = 'r1'\n")
        assert (
            compat.revision_file_sha256(path) == hashlib.sha256(b"revision = 'r1'\n").hexdigest()
        )
        assert compat.revision_file_sha256(str(path)) == compat.revision_file_sha256(path)

    @pytest.mark.parametrize(
        ("revisions", "dialect", "match"),
        [
            ({"r1": "not-a-hash"}, "sqlite", "SHA-256"),
            ({"r1": SHA_A.upper()}, "sqlite", "SHA-256"),
            ({"": SHA_A}, "sqlite", "revision id"),
            ({"r1": SHA_A}, "SQLite!", "dialect"),
        ],
    )
    def test_bad_input(
        self, sqlite_store: sr.Store, revisions: dict[str, str], dialect: str, match: str
    ) -> None:
        """Bad hashes, ids or dialect names: InvalidArgumentError saying what to pass."""
        with pytest.raises(sr.InvalidArgumentError, match=match):
            compat.record_verified(sqlite_store, revisions, dialect)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A revision file that cannot be read is a typed error naming it."""
        with pytest.raises(sr.InvalidArgumentError, match=r"gone\.py"):
            compat.revision_file_sha256(tmp_path / "gone.py")


def _table(name: str) -> tuple[str, str]:
    return (
        f"op.create_table({name!r}, sa.Column('id', sa.Integer, primary_key=True))",
        f"op.drop_table({name!r})",
    )


class TestDowngradePath:
    @pytest.fixture(name="project")
    def fixture_project(self, tmp_path: Path) -> AlembicProject:
        """r1, two branches a1 and b1 from it, merged by m."""
        project = AlembicProject(tmp_path / "erp")
        project.add("r1", *_table("t_r1"), down=None)
        project.add("a1", *_table("t_a1"), down="r1")
        project.add("b1", *_table("t_b1"), down="r1")
        project.add("m", "pass", "pass", down=("a1", "b1"))
        return project

    def _verify(self, store: sr.Store, project: AlembicProject, *revs: str) -> None:
        compat.record_verified(
            store,
            {r: compat.revision_file_sha256(project.versions / f"{r}.py") for r in revs},
            "sqlite",
        )

    def test_merge_passes_both_branches(
        self, tmp_path: Path, sqlite_store: sr.Store, project: AlembicProject
    ) -> None:
        """Restoring below a merge passes the merge and both branches."""
        config = project.config(f"sqlite:///{tmp_path / 'erp.db'}")
        command.upgrade(config, "r1")
        cp = alembic_checkpoint(config)
        ctx = CheckpointContext(sqlite_store, "rel", 1)
        state = cp.capture(ctx)
        command.upgrade(config, "heads")
        with pytest.raises(sr.UnverifiedRevisionError) as info:
            cp.restore(state, ctx)
        assert sorted(info.value.revisions) == ["a1", "b1", "m"]
        self._verify(sqlite_store, project, "m", "a1")
        with pytest.raises(sr.UnverifiedRevisionError) as info:
            cp.restore(state, ctx)
        assert info.value.revisions == ("b1",)
        self._verify(sqlite_store, project, "b1")
        assert cp.restore(state, ctx) == "downgraded from m to r1"
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version", "t_r1"}
        engine.dispose()

    def test_unknown_database_revision(
        self, tmp_path: Path, sqlite_store: sr.Store, project: AlembicProject
    ) -> None:
        """A database at a revision the project lacks: CheckpointError, nothing run."""
        url = f"sqlite:///{tmp_path / 'erp.db'}"
        config = project.config(url)
        command.upgrade(config, "r1")
        cp = alembic_checkpoint(config)
        ctx = CheckpointContext(sqlite_store, "rel", 1)
        state = cp.capture(ctx)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'zz'"))
        engine.dispose()
        with pytest.raises(sr.CheckpointError, match="cannot tell which revisions"):
            cp.restore(state, ctx)
        assert cp.heads() == ["zz"]
