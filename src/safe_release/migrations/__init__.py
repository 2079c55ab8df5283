"""Reversible migrations: lossless operations, a round-trip checker, a linter, the rollback floor.

- `safe_release.migrations.ops` (``from safe_release.migrations import ops as sr_op``):
  helpers for a revision's lossy operations that archive what they remove, and
  ``sr_op.undo()`` for its downgrade.
- `check`: every revision of an Alembic project up, down and up again on a
  scratch database, comparing schema and per-column data.
- `lint`: rules (squawk's names where they mean the same) over revision files
  and offline SQL.
- `safe_release.migrations.compat`: the recorded schema of each released
  application version and the oldest one still safe to roll back to.
- `plan`: one report per deploy; `upgrade`: ``alembic upgrade`` that refuses
  a contract revision while the application version needing the old shape is live.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from safe_release._public import present as _present
from safe_release.migrations._check import CheckReport, assert_reversible, check
from safe_release.migrations._compat_store import revision_file_sha256 as revision_file_sha256
from safe_release.migrations._compat_store import verified_revisions as verified_revisions
from safe_release.migrations._plan import DeployPlan, PendingRevision, plan, upgrade
from safe_release.migrations._walk import CheckFinding

if TYPE_CHECKING:  # imported on first use (`__getattr__`); typed for users' checkers
    from safe_release.migrations._lint import Finding, LintReport, lint, lint_sql
    from safe_release.migrations._lint_rules import RULES

__all__ = [
    "RULES",
    "CheckFinding",
    "CheckReport",
    "DeployPlan",
    "Finding",
    "LintReport",
    "PendingRevision",
    "assert_reversible",
    "check",
    "lint",
    "lint_sql",
    "plan",
    "upgrade",
]

_LAZY = {
    "Finding": "_lint",
    "LintReport": "_lint",
    "lint": "_lint",
    "lint_sql": "_lint",
    "RULES": "_lint_rules",
}


def __getattr__(name: str) -> Any:
    """The linter's names, imported on first use."""
    if name in _LAZY:
        found = getattr(import_module(f"safe_release.migrations.{_LAZY[name]}"), name)
        _present(__name__, [name], {name: found})
        return found
    msg = f"module 'safe_release.migrations' has no attribute {name!r}"
    raise AttributeError(msg)


_present(__name__, [n for n in __all__ if n not in _LAZY], globals())
