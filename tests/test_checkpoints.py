"""CheckpointSet records, config/custom/alembic checkpoints, retention."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import safe_release as sr
from safe_release._checkpoints import (
    AlembicCheckpoint,
    Checkpointable,
    CheckpointContext,
    CheckpointSet,
    alembic_checkpoint,
    checkpoint,
    prune_checkpoints,
    table_checkpoint,
)
from tests.sealing import reseal

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic import JsonValue


def rid() -> str:
    """A made-up release id."""
    return uuid.uuid4().hex


class Box:
    """A value a custom checkpoint captures and restores."""

    def __init__(self, value: JsonValue) -> None:
        self.value = value
        self.restores = 0

    def put(self, value: JsonValue) -> None:
        self.value = value
        self.restores += 1

    def cp(self, name: str = "box") -> Checkpointable:
        return checkpoint(lambda: self.value, self.put, name=name)


@pytest.fixture(name="cfg")
def fixture_cfg(store: sr.Store) -> sr.ConfigStore[Any]:
    """A config with one version."""
    cfg = store.config("pricing")
    cfg.publish({"floor": 1}, author="t")
    return cfg


class TestConfigCheckpoint:
    def test_config_is_checkpointable(self, cfg: sr.ConfigStore[Any]) -> None:
        """A ConfigStore satisfies the protocol with kind 'config'."""
        assert isinstance(cfg, Checkpointable)
        assert (cfg.kind, cfg.describe()) == ("config", "config pricing")

    def test_restore_rolls_forward_once(self, store: sr.Store, cfg: sr.ConfigStore[Any]) -> None:
        """Restore publishes the captured content as a new head, audited; twice is a no-op."""
        c = CheckpointContext(store, rid(), 1)
        state = cfg.capture(c)
        cfg.publish({"floor": 0}, author="bug")
        assert "rolled back to v1" in cfg.restore(state, c)
        head = cfg.current()
        assert (head.version, head.content, head.author) == (3, {"floor": 1}, "safe_release")
        assert c.release_id in head.message
        assert "already carries" in cfg.restore(state, c)
        assert cfg.verify(state, c)[0]

    def test_prune_keeps_checkpointed_version(
        self, store: sr.Store, cfg: sr.ConfigStore[Any]
    ) -> None:
        """Config prune never deletes a version a live checkpoint refers to; pruned ones may go."""
        release = rid()
        CheckpointSet(store, release, "s").capture([cfg])
        for n in range(2, 9):
            cfg.publish({"floor": n}, author="t")
        assert 1 not in cfg.prune(keep=3)
        with store.engine.begin() as conn:
            conn.execute(store.tables.checkpoint.update().values(status="pruned"))
        reseal(store)
        assert 1 in cfg.prune(keep=3)


class TestCheckpointSet:
    def test_capture_records_signed_rows(self, store: sr.Store, cfg: sr.ConfigStore[Any]) -> None:
        """Each item gets a captured row with a manifest signed over the release and state."""
        box, release = Box([1, 2]), rid()
        cps = CheckpointSet(store, release, "price-sync")
        cps.capture([cfg, box.cp()])
        recs = cps.records()
        assert [(r.seq, r.kind, r.name, r.status) for r in recs] == [
            (1, "config", "config pricing", "captured"),
            (2, "custom", "box", "captured"),
        ]
        with store.engine.connect() as conn:
            manifest = conn.execute(
                sa.select(store.tables.checkpoint.c.manifest).where(
                    store.tables.checkpoint.c.seq == 2
                )
            ).scalar_one()
        payload = store.signer.verify(manifest)
        assert payload == {
            "release_id": release,
            "seq": 2,
            "kind": "custom",
            "name": "box",
            "state": {"value": [1, 2]},
        }

    def test_restore_newest_first_and_idempotent(self, store: sr.Store) -> None:
        """Restore runs newest first, records each step, and skips restored ones next time."""
        order: list[str] = []
        a = checkpoint(lambda: 1, lambda _v: order.append("a"), name="a")
        b = checkpoint(lambda: 2, lambda _v: order.append("b"), name="b")
        cps = CheckpointSet(store, rid(), "s")
        cps.capture([a, b])
        seen: list[sr.StepResult] = []
        steps = cps.restore([a, b], on_step=seen.append)
        assert order == ["b", "a"]
        assert [s.ok for s in steps] == [True, True]
        assert seen == steps
        assert {r.status for r in cps.records()} == {"restored"}
        assert cps.restore([a, b]) == []

    def test_failed_capture_discards_and_raises(self, store: sr.Store) -> None:
        """A capture failure discards what was taken, marks it, and raises CheckpointError."""
        box = Box(1)

        def boom() -> JsonValue:
            msg = "erp down"
            raise RuntimeError(msg)

        cps = CheckpointSet(store, rid(), "s")
        with pytest.raises(sr.CheckpointError, match="erp down") as info:
            cps.capture([box.cp(), checkpoint(boom, box.put, name="bad")])
        assert isinstance(info.value.__cause__, RuntimeError)
        assert [r.status for r in cps.records()] == ["discarded", "discarded"]  # both kept

    def test_tampered_record_is_a_failed_step(self, store: sr.Store) -> None:
        """A row whose state was edited fails its seal: refused, not restored."""
        box = Box("good")
        cps = CheckpointSet(store, rid(), "s")
        cps.capture([box.cp()])
        with store.engine.begin() as conn:
            conn.execute(
                store.tables.checkpoint.update().values(state=json.dumps({"value": "evil"}))
            )
        [step] = cps.restore([box.cp()])
        assert not step.ok
        assert "RecordTamperedError" in step.detail
        assert box.restores == 0

    def test_resealed_state_still_needs_its_manifest(self, store: sr.Store) -> None:
        """Re-sealing an edited record by force does not launder its state: manifest refuses."""
        box = Box("good")
        release = rid()
        cps = CheckpointSet(store, release, "s")
        cps.capture([box.cp()])
        with store.engine.begin() as conn:
            conn.execute(
                store.tables.checkpoint.update().values(state=json.dumps({"value": "evil"}))
            )
        sr.resign_release(store, release, force=True)
        [step] = cps.restore([box.cp()])
        assert not step.ok
        assert "SnapshotTamperedError" in step.detail
        assert box.restores == 0

    def test_snapshot_of_another_release_refused(self, store: sr.Store) -> None:
        """A row copied from another release fails: the manifest names the other release."""
        box = Box(1)
        first, second = rid(), rid()
        CheckpointSet(store, first, "s").capture([box.cp()])
        t = store.tables.checkpoint
        with store.engine.begin() as conn:
            conn.execute(t.update().where(t.c.release_id == first).values(release_id=second))
        [step] = CheckpointSet(store, second, "s").restore([box.cp()])
        assert not step.ok
        assert "RecordTamperedError" in step.detail
        sr.resign_release(store, second, force=True)  # a person trusted the row: still refused
        [step] = CheckpointSet(store, second, "s").restore([box.cp()])
        assert not step.ok
        assert "another release" in step.detail

    def test_missing_live_object(self, store: sr.Store) -> None:
        """A custom checkpoint without its live object is a failed step saying what to pass."""
        cps = CheckpointSet(store, rid(), "s")
        cps.capture([Box(1).cp()])
        [step] = cps.restore([])
        assert not step.ok
        assert "CheckpointNotFoundError" in step.detail
        assert cps.records()[0].status == "failed"

    def test_rebuild_config_and_table(self, store: sr.Store, cfg: sr.ConfigStore[Any]) -> None:
        """Without live objects, the store's own config and tables are rebuilt and verified."""
        md = sa.MetaData(schema=store.schema)
        t = sa.Table(
            "stock",
            md,
            sa.Column("sku", sa.String(10), primary_key=True),
            sa.Column("qty", sa.Integer),
        )
        md.create_all(store.engine)
        with store.engine.begin() as conn:
            conn.execute(t.insert(), [{"sku": "A", "qty": 1}])
        cps = CheckpointSet(store, rid(), "s")
        cps.capture([cfg, table_checkpoint(store.engine, t)])
        cfg.publish({"floor": 9}, author="bug")
        with store.engine.begin() as conn:
            conn.execute(t.update().values(qty=0))
        steps = cps.restore([])
        assert [s.ok for s in steps] == [True, True], steps
        assert cfg.current().content == {"floor": 1}
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(t.c.qty)).scalar_one() == 1
        checks = cps.verify([])
        assert [c.ok for c in checks] == [True, True]
        assert checks[0].name == "restored config pricing"


class TestRetention:
    def test_prune_keeps_last_three_releases(self, store: sr.Store, clock: Any) -> None:
        """Table snapshots of older releases are dropped and marked pruned; the last 3 stay."""
        md = sa.MetaData(schema=store.schema)
        t = sa.Table("stock", md, sa.Column("sku", sa.String(10), primary_key=True))
        md.create_all(store.engine)
        cp = table_checkpoint(store.engine, t)
        sets = []
        for _ in range(5):
            clock.advance(60)
            cps = CheckpointSet(store, rid(), "scope")
            cps.capture([cp])
            sets.append(cps)
        with pytest.raises(sr.InvalidArgumentError, match="always kept"):
            prune_checkpoints(store, keep=2)
        assert prune_checkpoints(store) == 2
        assert [s.records()[0].status for s in sets] == ["pruned"] * 2 + ["captured"] * 3
        assert len(_snapshots(store)) == 3
        assert prune_checkpoints(store) == 0


def _snapshots(store: sr.Store) -> list[str]:
    """Snapshot tables (PostgreSQL) or snapshot files beside the database (SQLite)."""
    if store.dialect == "sqlite":
        db = Path(str(store.engine.url.database))
        return [p.name for p in db.parent.glob(f"{db.name}.sr-snap-*")]
    names = sa.inspect(store.engine).get_table_names(schema=store.schema)
    return [n for n in names if n.startswith("sr_snap_")]


ENV_PY = """
from alembic import context
from sqlalchemy import create_engine
config = context.config
conn = config.attributes.get("connection")
if conn is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=conn)
    with context.begin_transaction():
        context.run_migrations()
"""

REV = """
from alembic import op
import sqlalchemy as sa
revision = "{rev}"
down_revision = {down}
def upgrade():
    op.create_table("t_{rev}", sa.Column("id", sa.Integer, primary_key=True))
def downgrade():
    op.drop_table("t_{rev}")
"""


def _capture_prices() -> dict[str, int]:
    return {"n": 1}


class TestCustomCheckpoint:
    def test_name_defaults_to_the_capture_function(self) -> None:
        """Without name=, a named function's qualified name identifies the checkpoint."""
        cp = checkpoint(_capture_prices, lambda _v: None)
        assert cp.describe() == f"{__name__}._capture_prices"

    def test_a_lambda_needs_a_name(self) -> None:
        """A lambda has no stable name: name= is required, with a typed error."""
        with pytest.raises(sr.InvalidArgumentError, match="name="):
            checkpoint(lambda: 1, lambda _v: None)


def _alembic_project(root: Path) -> tuple[Config, sa.Engine]:
    """A tiny Alembic project (r1 <- r2) on an SQLite file, upgraded to r1."""
    (root / "mig" / "versions").mkdir(parents=True)
    (root / "mig" / "env.py").write_text(textwrap.dedent(ENV_PY))
    (root / "mig" / "script.py.mako").write_text("")
    for rev, down in (("r1", "None"), ("r2", '"r1"')):
        (root / "mig" / "versions" / f"{rev}.py").write_text(REV.format(rev=rev, down=down))
    url = f"sqlite:///{root / 'erp.db'}"
    config = Config()
    config.set_main_option("script_location", str(root / "mig"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "r1")
    return config, sa.create_engine(url)


def _verify(store: sr.Store, root: Path, *revisions: str, dialect: str = "sqlite") -> None:
    """Record revisions as verified with their files' current hashes."""
    from safe_release.migrations.compat import record_verified, revision_file_sha256  # noqa: PLC0415

    record_verified(
        store,
        {r: revision_file_sha256(root / "mig" / "versions" / f"{r}.py") for r in revisions},
        dialect,
    )


def _capture_then_upgrade(
    store: sr.Store,
    project: tuple[Config, sa.Engine],
    **kw: Any,
) -> tuple[AlembicCheckpoint, CheckpointContext, dict[str, Any]]:
    """Capture the project's revision (r1, unless moved), then upgrade to r2."""
    config, engine = project
    cp = alembic_checkpoint(config, engine=engine, **kw)
    c = CheckpointContext(store, rid(), 1)
    state = cp.capture(c)
    command.upgrade(config, "r2")
    return cp, c, state


class TestAlembicCheckpoint:
    @pytest.fixture(name="project")
    def fixture_project(self, tmp_path: Path) -> Iterator[tuple[Config, sa.Engine]]:
        """The r1 <- r2 project at r1, and its engine (disposed afterwards)."""
        config, engine = _alembic_project(tmp_path)
        yield config, engine
        engine.dispose()

    def test_missing_ini_is_a_typed_error(self, tmp_path: Path) -> None:
        """A path with no alembic.ini: InvalidArgumentError naming what to give."""
        with pytest.raises(sr.InvalidArgumentError, match=r"alembic\.ini"):
            alembic_checkpoint(tmp_path / "nope.ini")

    def test_restore_downgrades(
        self, tmp_path: Path, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]
    ) -> None:
        """The revision is recorded and restored by downgrading through verified revisions."""
        _verify(sqlite_store, tmp_path, "r1", "r2")
        cp, c, state = _capture_then_upgrade(sqlite_store, project)
        assert state == {"heads": ["r1"]}
        assert cp.restore(state, c) == "downgraded from r2 to r1"
        assert cp.verify(state, c) == (True, "at r1")
        assert "t_r2" not in sa.inspect(project[1]).get_table_names()
        assert cp.restore(state, c) == "already at r1"

    def test_unverified_revision_is_refused(
        self, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]
    ) -> None:
        """A downgrade through a revision never verified is refused, database untouched."""
        engine = project[1]
        cp, c, state = _capture_then_upgrade(sqlite_store, project)
        with pytest.raises(
            sr.UnverifiedRevisionError, match="safe-release migrations check"
        ) as info:
            cp.restore(state, c)
        assert info.value.revisions == ("r2",)
        assert isinstance(info.value, sr.CheckpointError)
        assert "require_verified=False" in str(info.value)
        assert cp.heads() == ["r2"]
        assert "t_r2" in sa.inspect(engine).get_table_names()

    def test_changed_file_is_unverified_again(
        self, tmp_path: Path, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]
    ) -> None:
        """Editing a revision file after verification makes it unverified."""
        _verify(sqlite_store, tmp_path, "r1", "r2")
        cp, c, state = _capture_then_upgrade(sqlite_store, project)
        with (tmp_path / "mig" / "versions" / "r2.py").open("a") as f:
            f.write("# edited after the check\n")
        with pytest.raises(sr.UnverifiedRevisionError, match="file changed") as info:
            cp.restore(state, c)
        assert info.value.revisions == ("r2",)
        assert cp.heads() == ["r2"]

    def test_verified_on_another_dialect_only(
        self, tmp_path: Path, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]
    ) -> None:
        """A verification on PostgreSQL does not cover an SQLite database."""
        _verify(sqlite_store, tmp_path, "r1", "r2", dialect="postgresql")
        cp, c, state = _capture_then_upgrade(sqlite_store, project)
        with pytest.raises(sr.UnverifiedRevisionError, match="not verified on sqlite"):
            cp.restore(state, c)

    def test_down_to_base_checks_every_revision(
        self, tmp_path: Path, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]
    ) -> None:
        """Restoring to base passes every revision; each one must be verified."""
        command.downgrade(project[0], "base")
        _verify(sqlite_store, tmp_path, "r2")
        cp, c, state = _capture_then_upgrade(sqlite_store, project)
        assert state == {"heads": []}
        with pytest.raises(sr.UnverifiedRevisionError) as info:
            cp.restore(state, c)
        assert info.value.revisions == ("r1",)
        _verify(sqlite_store, tmp_path, "r1")
        assert cp.restore(state, c) == "downgraded from r2 to base"

    def test_opt_out(self, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]) -> None:
        """require_verified=False downgrades without looking at verifications."""
        cp, c, state = _capture_then_upgrade(sqlite_store, project, require_verified=False)
        assert cp.restore(state, c) == "downgraded from r2 to r1"

    def test_refusal_fails_the_rollback_step(
        self, tmp_path: Path, sqlite_store: sr.Store, project: tuple[Config, sa.Engine]
    ) -> None:
        """In a release the refusal is a failed step; recover() finishes once verified."""
        config, engine = project
        cp = alembic_checkpoint(config, engine=engine)

        def job() -> None:
            with sr.release("migrate", store=sqlite_store, checkpoint=[cp]):
                command.upgrade(config, "r2")
                raise RuntimeError("boom")

        with pytest.raises(sr.RollbackFailedError) as info:
            job()
        report = info.value.report
        assert report is not None
        assert [s.ok for s in report.failed] == [False]
        assert "UnverifiedRevisionError" in report.failed[0].detail
        assert "safe-release migrations check" in report.failed[0].detail
        assert cp.heads() == ["r2"]
        _verify(sqlite_store, tmp_path, "r2")
        [recovered] = sqlite_store.recover(checkpoint=[cp])
        assert recovered.status == "rolled_back"
        assert cp.heads() == ["r1"]
