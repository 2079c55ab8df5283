"""Rows of the SDK's tables rewritten by someone without the signing key: nothing acts on them.

The attacker of issue 11 can write the ``sr_*`` tables but cannot read the
signing key. Each test parks or runs a real release, rewrites a row the way
that attacker would, and shows the rollback, recover and CLI refuse it on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import safe_release as sr
from safe_release.cli._app import cli
from safe_release.exceptions import RecordTamperedError, UnsignedRecordError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safe_release.adapters.amazon import AmazonAdapter
    from safe_release.testing import FakeAmazon
    from tests.conftest import Backend

OLD, NEW = Decimal("19.99"), Decimal("11.00")


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


@pytest.fixture(name="fake")
def fixture_fake(fake_amazon: FakeAmazon) -> FakeAmazon:
    for sku in ("SKU-1", "SKU-2"):
        fake_amazon.add_listing(sku, price=OLD, quantity=5)
    return fake_amazon


def _park(store: sr.Store, adapter: AmazonAdapter, price: Decimal = NEW) -> str:
    """A release that set SKU-1 to ``price`` and failed, parked in pending_rollback."""
    with (  # noqa: PT012 - the body is under test
        pytest.raises(Boom),
        sr.release("price-sync", store=store, adapters=[adapter], on_failure="manual") as rel,
    ):
        adapter.update_price("SKU-1", price)
        raise Boom
    return rel.id


def _quantity(adapter: AmazonAdapter, quantity: int, key: str) -> Any:
    """Set SKU-1's quantity under the caller's idempotency key (a replayable write)."""
    body = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }
    return adapter.call(
        "patchListingsItem",
        json=body,
        idempotency_key=key,
        path_params={"sellerId": adapter.seller_id, "sku": "SKU-1"},
        params={"marketplaceIds": adapter.marketplace_id},
    )


def _set(store: sr.Store, table: sa.Table, where: Any, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.update(table).where(where).values(**values))


def _one(store: sr.Store, table: sa.Table, where: Any) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table).where(where)).one()


class TestLedger:
    def test_rewritten_inverse_is_not_sent(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """H1: an inverse rewritten to SKU-2 at 0.01 is refused; nothing is sent for it."""
        rid = _park(store, amazon_adapter)
        t = store.tables.ledger
        row = _one(store, t, t.c.release_id == rid)
        forged = row.inverse.replace("SKU-1", "SKU-2").replace(str(OLD), "0.01")
        assert forged != row.inverse
        _set(store, t, t.c.id == row.id, inverse=forged)
        writes = len(fake.writes("patchListingsItem"))
        report = store.rollback(rid, adapters=[amazon_adapter])
        assert report.status is sr.ReleaseStatus.ROLLBACK_FAILED
        [step] = report.failed
        assert step.detail.startswith("RecordTamperedError"), step
        assert len(fake.writes("patchListingsItem")) == writes  # nothing sent at all
        assert fake.price("SKU-2") == OLD
        assert fake.price("SKU-1") == NEW  # left as the job left it, for a person to decide

    @pytest.mark.parametrize(
        "column",
        [
            "state",
            "comp_state",
            "side_effect",
            "operation",
            "target",
            "idem_key",
            "request",
            "response",
        ],
    )
    def test_any_rewritten_decision_column_is_refused(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter, column: str
    ) -> None:
        """Every column that gates or shapes a send is sealed: each rewrite is refused."""
        rid = _park(store, amazon_adapter)
        t = store.tables.ledger
        row = _one(store, t, t.c.release_id == rid)
        value = {
            "state": "failed",
            "comp_state": "done",
            "side_effect": "irreversible",
            "operation": "x",
            "target": "elsewhere",
            "idem_key": "k",
            "request": "{}",
            "response": "{}",
        }[column]
        _set(store, t, t.c.id == row.id, **{column: value})
        report = store.rollback(rid, adapters=[amazon_adapter])
        assert [s.detail.split(":")[0] for s in report.failed] == ["RecordTamperedError"]
        fake.assert_no_duplicate_writes()

    def test_row_moved_to_another_release_is_refused(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """A validly sealed row copied into another release does not verify there."""
        first = _park(store, amazon_adapter)
        store.rollback(first, adapters=[amazon_adapter])
        second = _park(store, amazon_adapter, Decimal("12.00"))
        t = store.tables.ledger
        theirs = _one(store, t, t.c.release_id == first)
        _set(store, t, t.c.release_id == second, inverse=theirs.inverse, mac=theirs.mac)
        report = store.rollback(second, adapters=[amazon_adapter])
        assert report.failed[0].detail.startswith("RecordTamperedError")
        fake.assert_no_duplicate_writes()

    def test_forged_replay_does_not_skip_a_send(
        self, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """A row forged to say a write is already in place stops the job, sends nothing."""
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom),
            sr.release("stock", store=store, adapters=[amazon_adapter]),
        ):
            _quantity(amazon_adapter, 3, "q-1")
            raise Boom
        t = store.tables.ledger
        _set(store, t, sa.true(), idem_key="q-2")  # forged: "q-2 is already in place"
        sent = len(fake.writes("patchListingsItem"))
        with (
            pytest.raises(RecordTamperedError),
            sr.release("stock", store=store, adapters=[amazon_adapter], on_failure="manual"),
        ):
            _quantity(amazon_adapter, 3, "q-2")
        assert len(fake.writes("patchListingsItem")) == sent


class TestCheckpoints:
    @pytest.fixture(name="prices")
    def fixture_prices(self, store: sr.Store) -> Iterator[sa.Table]:
        md = sa.MetaData(schema=store.schema)
        table = sa.Table(
            "erp_prices",
            md,
            sa.Column("sku", sa.String(20), primary_key=True),
            sa.Column("price", sa.Numeric(10, 2)),
        )
        md.create_all(store.engine)
        with store.engine.begin() as conn:
            conn.execute(sa.insert(table), [{"sku": "SKU-1", "price": OLD}])
        yield table
        md.drop_all(store.engine)

    def _parked(self, store: sr.Store, prices: sa.Table) -> str:
        cp = sr.table_checkpoint(store.engine, prices)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom),
            sr.release("price-sync", store=store, checkpoint=[cp], on_failure="manual") as rel,
        ):
            _set(store, prices, prices.c.sku == "SKU-1", price=NEW)
            raise Boom
        return rel.id

    def test_injected_where_never_runs(self, store: sr.Store, prices: sa.Table) -> None:
        """M1: a `where` rewritten to SQL that reads another table is never executed."""
        rid = self._parked(store, prices)
        t = store.tables.checkpoint
        row = _one(store, t, (t.c.release_id == rid) & (t.c.kind == "table"))
        state = json.loads(row.state)
        state["where"] = "sku IS NOT NULL AND (SELECT count(*) FROM no_such_secrets_xyz) > 0"
        _set(
            store,
            t,
            (t.c.release_id == rid) & (t.c.seq == row.seq),
            state=json.dumps(state),
            status="restored",
        )
        report = store.rollback(rid)
        text = report.model_dump_json()
        assert "no_such_secrets_xyz" not in text.replace(row.name, "")
        assert any(s.detail.startswith("RecordTamperedError") for s in report.failed)
        assert any(not c.ok and c.detail.startswith("RecordTamperedError") for c in report.checks)

    def test_status_set_to_discarded_is_not_skipped_silently(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """M2: a checkpoint marked discarded by hand: the rollback fails and says why."""
        rid = self._parked(store, prices)
        t = store.tables.checkpoint
        _set(store, t, t.c.release_id == rid, status="discarded")
        report = store.rollback(rid)
        assert report.status is sr.ReleaseStatus.ROLLBACK_FAILED
        assert report.failed[0].detail.startswith("RecordTamperedError")
        record = sr.connect(store.engine, schema=store.schema).release_record(rid)
        assert record.status is sr.ReleaseStatus.ROLLBACK_FAILED

    def test_prune_does_not_drop_what_a_forged_record_names(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """A pruned checkpoint's state pointing at an ERP table: the table is not dropped."""
        cp = sr.table_checkpoint(store.engine, prices)
        ids = []
        for _ in range(4):
            with sr.release("price-sync", store=store, checkpoint=[cp]) as rel:
                ids.append(rel.id)
        t = store.tables.checkpoint
        for rid in ids:  # whichever of them is the oldest (the fake clock stands still)
            row = _one(store, t, t.c.release_id == rid)
            state = json.loads(row.state) | {"snapshot": "erp_prices"}
            _set(store, t, t.c.release_id == rid, state=json.dumps(state))
        assert store.prune_checkpoints(keep=3) == 0
        assert _one(store, prices, prices.c.sku == "SKU-1").price == OLD

    def test_untouched_release_still_rolls_back(self, store: sr.Store, prices: sa.Table) -> None:
        """The seals cost nothing to an honest rollback: rows back, verified."""
        rid = self._parked(store, prices)
        report = store.rollback(rid)
        assert report.status is sr.ReleaseStatus.ROLLED_BACK
        assert report.verification is sr.Verification.VERIFIED
        assert _one(store, prices, prices.c.sku == "SKU-1").price == OLD


@pytest.mark.usefixtures("fake")
class TestReleaseRows:
    def test_status_rewritten_to_hide_from_recover(
        self, store: sr.Store, amazon_adapter: AmazonAdapter
    ) -> None:
        """A rolling_back release rewritten to succeeded is still found, and refused."""
        rid = _park(store, amazon_adapter)
        t = store.tables.release
        _set(store, t, t.c.id == rid, status="succeeded")
        with pytest.raises(RecordTamperedError) as info:
            store.recover(adapters=[amazon_adapter])
        assert rid in str(info.value)
        assert store.release_record(rid).tampered is not None

    def test_a_row_altered_while_the_release_runs_is_not_sealed_over(
        self, store: sr.Store
    ) -> None:
        """The success write does not bless a row changed under it: it stays unverified."""
        with sr.release("price-sync", store=store) as rel:
            t = store.tables.release
            _set(store, t, t.c.id == rel.id, owner="someone else")
        assert store.release_record(rel.id).tampered is not None

    def test_rewritten_scope_is_refused_by_rollback(
        self, store: sr.Store, amazon_adapter: AmazonAdapter
    ) -> None:
        """The release row's scope edited: rollback refuses it before taking any lock."""
        rid = _park(store, amazon_adapter)
        t = store.tables.release
        _set(store, t, t.c.id == rid, scope="elsewhere")
        with pytest.raises(RecordTamperedError):
            store.rollback(rid, adapters=[amazon_adapter])


class TestUnsealedRows:
    def test_rows_from_before_sealing_are_refused_then_resigned(
        self, backend: Backend, store: sr.Store, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """Unsealed rows (an older version) are refused until a person re-seals them."""
        rid = _park(store, amazon_adapter)
        for table in (store.tables.release, store.tables.ledger):
            _set(store, table, sa.true(), mac=None)
        with pytest.raises(UnsignedRecordError, match="releases resign"):
            store.rollback(rid, adapters=[amazon_adapter])
        env = {"SAFE_RELEASE_URL": backend.url}
        args = ["--schema", backend.schema] if backend.schema else []
        result = CliRunner().invoke(cli, [*args, "releases", "resign", rid, "--yes"], env=env)
        assert result.exit_code == 0, result.output
        assert "sealed 2 record(s)" in result.output
        report = store.rollback(rid, adapters=[amazon_adapter])
        assert report.status is sr.ReleaseStatus.ROLLED_BACK
        assert fake.price("SKU-1") == OLD
        fake.assert_no_duplicate_writes()

    @pytest.mark.usefixtures("fake")
    def test_resign_refuses_altered_rows_without_force(
        self, store: sr.Store, amazon_adapter: AmazonAdapter
    ) -> None:
        """A row altered after sealing is not re-sealed unless forced; nothing is written."""
        rid = _park(store, amazon_adapter)
        t = store.tables.ledger
        _set(store, t, t.c.release_id == rid, target="elsewhere")
        with pytest.raises(RecordTamperedError, match="--force"):
            sr.resign_release(store, rid)
        assert sr.resign_release(store, rid, force=True).total == 1


@pytest.mark.usefixtures("fake")
class TestRotation:
    def test_records_of_the_previous_key_still_roll_back(
        self, backend: Backend, amazon_adapter: AmazonAdapter
    ) -> None:
        """After a rotation, records sealed with the previous key verify; unknown keys do not."""
        old, new = "o" * 40, "n" * 40
        with sr.connect(backend.url, schema=backend.schema, signing_key=old) as before:
            rid = _park(before, amazon_adapter)
        with (
            sr.connect(backend.url, schema=backend.schema, signing_key=new) as stranger,
            pytest.raises(RecordTamperedError),
        ):
            stranger.rollback(rid, adapters=[amazon_adapter])
        with sr.connect(
            backend.url, schema=backend.schema, signing_key=new, previous_signing_keys=[old]
        ) as rotated:
            report = rotated.rollback(rid, adapters=[amazon_adapter])
        assert report.status is sr.ReleaseStatus.ROLLED_BACK

    def test_table_checkpoint_of_the_previous_key_restores(self, backend: Backend) -> None:
        """A table snapshot captured before a rotation is restored after it (its row hashes)."""
        old, new = "o" * 40, "n" * 40
        with sr.connect(backend.url, schema=backend.schema, signing_key=old) as before:
            md = sa.MetaData(schema=before.schema)
            prices = sa.Table(
                "erp_prices",
                md,
                sa.Column("sku", sa.String(20), primary_key=True),
                sa.Column("price", sa.Numeric(10, 2)),
            )
            md.create_all(before.engine)
            with before.engine.begin() as conn:
                conn.execute(sa.insert(prices), [{"sku": "SKU-1", "price": OLD}])
            cp = sr.table_checkpoint(before.engine, prices)
            with (  # noqa: PT012 - the body is under test
                pytest.raises(Boom),
                sr.release(
                    "price-sync", store=before, checkpoint=[cp], on_failure="manual"
                ) as rel,
            ):
                _set(before, prices, prices.c.sku == "SKU-1", price=NEW)
                raise Boom
        with sr.connect(
            backend.url, schema=backend.schema, signing_key=new, previous_signing_keys=[old]
        ) as rotated:
            report = rotated.rollback(rel.id)
            assert report.status is sr.ReleaseStatus.ROLLED_BACK, report.failed
            assert report.verification is sr.Verification.VERIFIED
            assert _one(rotated, prices, prices.c.sku == "SKU-1").price == OLD
            md.drop_all(rotated.engine)


class _NulCapture:
    """A checkpoint whose capture fails with a NUL byte in its message."""

    kind = "custom"

    def describe(self) -> str:
        return "nul"

    def capture(self, ctx: object) -> dict[str, Any]:
        del ctx
        raise ValueError("bad \x00 capture")

    def restore(self, state: object, ctx: object) -> str:
        del state, ctx
        return "restored"


class TestFailedCapture:
    def test_a_capture_error_the_database_cannot_store_never_leaves_it_running(
        self, store: sr.Store
    ) -> None:
        """L11: an error text PostgreSQL refuses (NUL) still ends the release, scope freed."""
        with (
            pytest.raises(sr.CheckpointError),
            sr.release("job", store=store, checkpoint=[_NulCapture()]),
        ):
            pass  # pragma: no cover - the capture fails first
        assert [r.status.value for r in store.releases()] == ["rolled_back"]
        with sr.release("job", store=store):
            pass


class TestReportsOnATerminal:
    def test_control_sequences_in_a_report_are_shown_escaped(
        self, backend: Backend, store: sr.Store
    ) -> None:
        """A release name and error with terminal escapes: 'releases show' prints them inert."""
        with pytest.raises(RuntimeError), sr.release("x\x1b]0;owned\x07", store=store) as rel:
            raise RuntimeError("boom\r\x1b[2K")
        env = {"SAFE_RELEASE_URL": backend.url}
        args = ["--schema", backend.schema] if backend.schema else []
        result = CliRunner().invoke(cli, [*args, "releases", "show", rel.id], env=env)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output
        assert "\r" not in result.output
        assert "\\x1b" in result.output
