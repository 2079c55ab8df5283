"""Expand / migrate / contract: a rename in three revisions, the contract gated on retirement."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from safe_release.exceptions import ContractBlockedError, MigrationError
from safe_release.migrations import compat
from safe_release.migrations._phases import Phase, check_phases, revision_phase
from tests.test_migration_ops import IMPORTS, Erp, fixture_erp  # noqa: F401 - the fixture

if TYPE_CHECKING:
    import safe_release as sr

BASE = """
op.create_table("listings", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("title", sa.String(80)))
op.execute("INSERT INTO listings VALUES (1, 'Mug'), (2, NULL), (3, 'Tea \u00e9')")
"""


def rename_project(erp: Erp) -> None:
    """listings.title renamed to name: expand (add), migrate (copy), contract (drop)."""
    erp.project.add("a1", BASE, "op.drop_table('listings')")
    erp.project.add(
        "e1",
        'sr_op.add_column("listings", sa.Column("name", sa.String(80)))',
        "sr_op.undo()",
        imports=IMPORTS,
        extra='sr_phase = "expand"',
    )
    erp.project.add(
        "m1",
        'sr_op.backfill("listings", {"name": sa.column("title")})',
        "sr_op.undo()",
        imports=IMPORTS,
        extra='sr_phase = "migrate"',
    )
    erp.project.add(
        "c1",
        'sr_op.contract()\nsr_op.drop_column("listings", "title")',
        "sr_op.undo()",
        imports=IMPORTS,
        extra='sr_phase = "contract"\nsr_retires = ("erp-web", "1.0")',
    )


def retire(store: sr.Store) -> None:
    compat.record(store, "erp-web", "1.0", sa.MetaData())
    compat.retire(store, "erp-web", "1.0")


class TestExpandContract:
    def test_contract_refused_until_the_old_version_is_retired(
        self,
        erp: Erp,
        sqlite_store: sr.Store,
    ) -> None:
        """The contract revision raises ContractBlockedError; after retire() it runs."""
        rename_project(erp)
        erp.attributes["safe_release_store"] = sqlite_store
        erp.upgrade("a1")
        before = erp.rows("listings")
        with pytest.raises(ContractBlockedError, match="retire it first") as info:
            erp.upgrade()
        assert (info.value.app, info.value.version) == ("erp-web", "1.0")
        assert info.value.revision == "c1"
        erp.upgrade("m1")
        assert [r["name"] for r in erp.rows("listings")] == ["Mug", None, "Tea \u00e9"]
        retire(sqlite_store)
        erp.upgrade()
        assert [r["name"] for r in erp.rows("listings")] == ["Mug", None, "Tea \u00e9"]
        erp.downgrade("a1")
        assert erp.rows("listings") == before

    def test_contract_without_a_store_is_refused(
        self,
        erp: Erp,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """No store and no SAFE_RELEASE_URL: retirement cannot be proved, so refused."""
        monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
        rename_project(erp)
        with pytest.raises(ContractBlockedError, match="no store"):
            erp.upgrade()

    def test_skip_attribute_lets_a_scratch_replay_through(self, erp: Erp) -> None:
        """safe_release_skip_contract (for scratch-database checkers) bypasses the gate."""
        rename_project(erp)
        erp.attributes["safe_release_skip_contract"] = True
        erp.upgrade()
        assert "title" not in erp.columns("listings")

    def test_check_phases(self, erp: Erp, sqlite_store: sr.Store) -> None:
        """check_phases lists declared phases and refuses a blocked contract revision."""
        rename_project(erp)
        script = ScriptDirectory.from_config(erp.config())
        with pytest.raises(ContractBlockedError):
            check_phases(script, ["e1", "m1", "c1"], sqlite_store)
        retire(sqlite_store)
        assert check_phases(script, ["a1", "e1", "m1", "c1"], sqlite_store) == {
            "e1": Phase("expand"),
            "m1": Phase("migrate"),
            "c1": Phase("contract", ("erp-web", "1.0")),
        }


class TestRevisionPhase:
    @pytest.mark.parametrize(
        ("globals_", "match"),
        [
            ({"sr_phase": "shrink"}, "not one of expand, migrate, contract"),
            ({"sr_phase": "contract"}, "needs sr_retires"),
            ({"sr_phase": "contract", "sr_retires": ("app",)}, "needs sr_retires"),
            ({"sr_phase": "expand", "sr_retires": ("a", "1")}, "only a 'contract'"),
            ({"sr_retires": ("a", "1")}, "sr_phase is not 'contract'"),
        ],
    )
    def test_bad_declarations(self, globals_: dict[str, object], match: str) -> None:
        """Each bad declaration is a MigrationError saying what to fix."""
        module = types.SimpleNamespace(revision="x1", **globals_)
        with pytest.raises(MigrationError, match=match):
            revision_phase(module)

    def test_no_declaration(self) -> None:
        """A revision without sr_phase has no phase."""
        assert revision_phase(types.SimpleNamespace(revision="x1")) is None
