"""The sample Alembic projects under tests/alembic_projects, checked on SQLite and PostgreSQL.

- lossless_drop: orders.note dropped through sr_op, restored by undo(): passes.
- lossy_downgrade: the autogenerate-style downgrade re-adds the column empty: caught.
- branches: two branches off a1 and their merge: every revision walked, passes.
- expand_contract: a rename as expand / migrate / contract through sr_op: passes (the
  contract gate guards deploys, not the scratch replay) and the runner refuses it live.
- enum_change: an ENUM label removed through sr_op and restored by undo(): passes.
- bad_env: an env.py that ignores the scratch connection: refused, nothing migrated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import safe_release as sr
from safe_release.migrations import CheckReport, check, compat, upgrade

PROJECTS = Path(__file__).resolve().parent / "alembic_projects"


def run(name: str, scratch: str | None) -> CheckReport:
    """Check one sample project."""
    return check(PROJECTS / name / "alembic.ini", url=scratch, rows_per_table=100)


def errors(report: CheckReport) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, revision, table, column) of the error findings."""
    return [
        (f.kind, f.revision, f.table, f.column) for f in report.findings if f.severity == "error"
    ]


class TestSampleProjects:
    @pytest.mark.parametrize(
        "name", ["lossless_drop", "branches", "expand_contract", "enum_change"]
    )
    def test_reversible_projects_pass(self, name: str, scratch: str | None) -> None:
        """Every revision of a reversible sample project is verified."""
        report = run(name, scratch)
        assert report.ok, report.format_text()
        assert report.verified == report.revisions

    def test_the_lossy_downgrade_is_caught(self, scratch: str | None) -> None:
        """The empty re-added column fails the check at a2, naming orders.note."""
        report = run("lossy_downgrade", scratch)
        assert errors(report) == [("data", "a2", "orders", "note")]

    def test_the_merge_comes_after_both_branches(self, scratch: str | None) -> None:
        """Branches are walked in an order Alembic can apply; the merge last."""
        report = run("branches", scratch)
        assert report.checked[0] == "a1"
        assert report.checked[-1] == "m1"
        assert set(report.checked[1:3]) == {"b1", "c1"}

    def test_a_misconfigured_env_py_cannot_pass(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """bad_env migrates its own URL: refused before anything runs there."""
        production = tmp_path / "production.db"
        monkeypatch.setenv("SAMPLE_PRODUCTION_URL", f"sqlite:///{production}")
        with pytest.raises(sr.MigrationEnvironmentError, match="scratch"):
            run("bad_env", None)
        engine = sa.create_engine(f"sqlite:///{production}")
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()


class TestContractRunner:
    def test_the_contract_revision_waits_for_retirement(self, tmp_path: Path) -> None:
        """upgrade() runs expand and migrate, refuses contract until erp-web 2.0 retires."""
        ini = PROJECTS / "expand_contract" / "alembic.ini"
        erp = f"sqlite:///{tmp_path / 'erp.db'}"
        with sr.connect(f"sqlite:///{tmp_path / 'store.db'}") as store:
            compat.record(store, "erp-web", "2.0", sa.MetaData())
            assert upgrade(ini, "a3", store=store, url=erp) == ["a1", "a2", "a3"]
            with pytest.raises(sr.ContractBlockedError) as caught:
                upgrade(ini, store=store, url=erp)
            assert (caught.value.app, caught.value.version) == ("erp-web", "2.0")
            compat.retire(store, "erp-web", "2.0")
            assert upgrade(ini, store=store, url=erp) == ["a4"]
