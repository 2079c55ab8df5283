"""The linter's rules and its value objects: `Rule`, `Finding`, `LintReport`.

Rule ids are squawk's where the meaning is the same (PostgreSQL users know
them); ids of our own start with ``sr-``. Ids never change once released.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["RULES", "Finding", "LintReport", "Rule", "Suppressions"]

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One lint rule: its id, how bad it is, what breaks and what to do instead."""

    id: str
    severity: str
    """``error`` (breaks rollback or the running old code) or ``warning``."""
    explanation: str
    fix: str
    squawk: bool = False
    """True when the id is squawk's rule of the same meaning."""
    postgresql_only: bool = False
    """True when the hazard exists on PostgreSQL only (locks, NOT VALID, ENUM types)."""


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    return MappingProxyType({rule.id: rule for rule in rules})


RULES: Mapping[str, Rule] = _rules(
    Rule(
        "ban-drop-column",
        ERROR,
        "dropping a column loses its data on downgrade and breaks old code that reads it",
        "use sr_op.drop_column (archives the values; sr_op.undo() restores them) in a "
        "contract revision",
        squawk=True,
    ),
    Rule(
        "ban-drop-table",
        ERROR,
        "dropping a table loses its rows on downgrade and breaks old code that uses it",
        "use sr_op.drop_table (archives definition and rows) in a contract revision",
        squawk=True,
    ),
    Rule(
        "renaming-column",
        ERROR,
        "renaming a column breaks old code that still uses the old name",
        "expand/contract: add the new column and backfill, switch the code, then "
        "sr_op.rename_column or sr_op.drop_column in a contract revision",
        squawk=True,
    ),
    Rule(
        "renaming-table",
        ERROR,
        "renaming a table breaks old code that still uses the old name",
        "expand/contract: create the new table and copy, switch the code, then "
        "sr_op.rename_table or sr_op.drop_table in a contract revision",
        squawk=True,
    ),
    Rule(
        "changing-column-type",
        ERROR,
        "a type change can lose values on the way back and break old code's reads and writes",
        "use sr_op.alter_column_type (archives values the cast changes), or add a new "
        "column (expand/contract)",
        squawk=True,
    ),
    Rule(
        "adding-required-field",
        ERROR,
        "a NOT NULL column without a server default fails on existing rows and rejects "
        "old code's inserts",
        "add it nullable or with a server_default; tighten later with sr_op.set_not_null",
        squawk=True,
    ),
    Rule(
        "adding-not-nullable-field",
        ERROR,
        "SET NOT NULL fails on existing NULLs and rejects old code that writes NULL",
        "use sr_op.set_not_null(table, column, fill=...) once old code no longer writes NULL",
        squawk=True,
    ),
    Rule(
        "ban-drop-not-null",
        WARNING,
        "after DROP NOT NULL new rows may hold NULL, which old code and the downgrade's "
        "SET NOT NULL do not expect",
        "keep the column NOT NULL, or make the downgrade fill NULLs before SET NOT NULL",
        squawk=True,
    ),
    Rule(
        "disallowed-unique-constraint",
        WARNING,
        "a new UNIQUE constraint locks the table, fails on duplicate rows and rejects old "
        "code's duplicate writes",
        "deduplicate first; on PostgreSQL create a unique index CONCURRENTLY, then ADD "
        "CONSTRAINT ... USING INDEX",
        squawk=True,
    ),
    Rule(
        "constraint-missing-not-valid",
        WARNING,
        "a new CHECK constraint scans the table under a lock and fails on existing rows "
        "that violate it",
        "add it with postgresql_not_valid=True (NOT VALID), fix the rows, then VALIDATE "
        "CONSTRAINT",
        squawk=True,
        postgresql_only=True,
    ),
    Rule(
        "adding-foreign-key-constraint",
        WARNING,
        "a new foreign key locks both tables while it checks every existing row",
        "add it with postgresql_not_valid=True (NOT VALID), then VALIDATE CONSTRAINT",
        squawk=True,
        postgresql_only=True,
    ),
    Rule(
        "require-concurrent-index-creation",
        WARNING,
        "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds",
        "pass postgresql_concurrently=True inside op.get_context().autocommit_block()",
        squawk=True,
        postgresql_only=True,
    ),
    Rule(
        "require-concurrent-index-deletion",
        WARNING,
        "DROP INDEX without CONCURRENTLY blocks reads and writes of the table",
        "pass postgresql_concurrently=True inside op.get_context().autocommit_block()",
        squawk=True,
        postgresql_only=True,
    ),
    Rule(
        "ban-drop-constraint",
        WARNING,
        "once a constraint is dropped new rows may violate it, and the downgrade that "
        "re-creates it fails",
        "keep the constraint until old code is retired; make the downgrade clean up "
        "violating rows first",
        squawk=True,
    ),
    Rule(
        "sr-unique-index",
        WARNING,
        "a new unique index fails on duplicate rows and rejects old code's duplicate writes",
        "deduplicate first and make sure old code cannot write duplicates; on PostgreSQL "
        "build it CONCURRENTLY",
    ),
    Rule(
        "sr-enum-change",
        ERROR,
        "changing or dropping an enum type breaks old code that writes the old values and "
        "cannot be undone by a plain downgrade",
        "add values in an expand revision; remove them with sr_op.remove_enum_value "
        "(archives and rewrites the rows)",
    ),
    Rule(
        "sr-enum-not-dropped",
        ERROR,
        "the upgrade creates a PostgreSQL ENUM type the downgrade leaves behind, so the "
        "next upgrade fails with 'type already exists'",
        "drop the type in downgrade (sa.Enum(name=...).drop(op.get_bind())), or create "
        "it through sr_op.create_table/add_column and call sr_op.undo()",
        postgresql_only=True,
    ),
    Rule(
        "sr-contract-phase",
        WARNING,
        "the helper makes the downgrade lossless, but while the revision is deployed the "
        "old code still uses the dropped or renamed column, table or enum value",
        "put it in a revision with sr_phase = 'contract' and sr_retires = (app, version), "
        "so it runs only once that version is retired",
    ),
    Rule(
        "sr-empty-downgrade",
        ERROR,
        "the downgrade does nothing (or refuses), so rolling back leaves the new schema "
        "under the old code",
        "write the reverse operations, or use the sr_op helpers and call sr_op.undo() in "
        "downgrade",
    ),
    Rule(
        "sr-syntax-error",
        ERROR,
        "the revision file cannot be parsed, so nothing in it was checked",
        "fix the syntax error; run 'python -m py_compile FILE'",
    ),
)


@dataclass(frozen=True)
class Finding:
    """One problem found in one revision file (or SQL text)."""

    rule: str
    severity: str
    path: str
    line: int
    revision: str | None
    message: str
    fix: str

    @classmethod
    def of(cls, rule_id: str, path: str, line: int, revision: str | None, detail: str) -> Finding:
        """A finding of ``rule_id``; ``detail`` says where (``drop_column orders.note``)."""
        rule = RULES[rule_id]
        message = f"{detail}: {rule.explanation}" if detail else rule.explanation
        return cls(rule_id, rule.severity, path, line, revision, message, rule.fix)

    def as_dict(self) -> dict[str, object]:
        """The finding as JSON-ready data (stable keys)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "revision": self.revision,
            "message": self.message,
            "fix": self.fix,
        }

    def format_text(self) -> str:
        """``path:line: rule-id [severity] message (fix: ...)``."""
        return (
            f"{self.path}:{self.line}: {self.rule} [{self.severity}] {self.message} "
            f"(fix: {self.fix})"
        )


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings in file order, then line order."""
    return tuple(sorted(findings, key=lambda f: (f.path, f.line, f.rule)))


@dataclass(frozen=True)
class LintReport:
    """Every finding of one lint run, the number of files read and of findings suppressed."""

    findings: tuple[Finding, ...]
    files: int
    suppressed: int

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return not any(f.severity == ERROR for f in self.findings)

    def count(self, severity: str) -> int:
        """How many findings have ``severity``."""
        return sum(f.severity == severity for f in self.findings)

    def merged(self, other: LintReport) -> LintReport:
        """This report and ``other`` as one."""
        return LintReport(
            sort_findings(self.findings + other.findings),
            self.files + other.files,
            self.suppressed + other.suppressed,
        )

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data (stable keys)."""
        return {
            "ok": self.ok,
            "files": self.files,
            "suppressed": self.suppressed,
            "errors": self.count(ERROR),
            "warnings": self.count(WARNING),
            "findings": [f.as_dict() for f in self.findings],
        }

    def format_text(self) -> str:
        """One line per finding, then a summary line."""
        lines = [f.format_text() for f in self.findings]
        lines.append(self._summary())
        return "\n".join(lines)

    def _summary(self) -> str:
        files = _plural(self.files, "file")
        tail = f", {self.suppressed} suppressed" if self.suppressed else ""
        if not self.findings:
            return f"no findings in {files}{tail}"
        return (
            f"{_plural(len(self.findings), 'finding')} ({_plural(self.count(ERROR), 'error')}"
            f", {_plural(self.count(WARNING), 'warning')}) in {files}{tail}"
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


IGNORE = re.compile(r"safe-release:\s*ignore\[([^\]]*)\]")


def ignored_ids(comment: str) -> set[str]:
    """The rule ids a ``safe-release: ignore[a, b]`` comment names."""
    ids: set[str] = set()
    for match in IGNORE.finditer(comment):
        ids.update(part.strip() for part in match.group(1).split(",") if part.strip())
    return ids


class Suppressions:
    """Which rule ids an inline comment suppresses on which line."""

    def __init__(self, by_line: Mapping[int, set[str]] | None = None) -> None:
        self.by_line: dict[int, set[str]] = dict(by_line or {})

    @classmethod
    def from_python(cls, source: str) -> Suppressions:
        """The ``# safe-release: ignore[...]`` comments of Python source."""
        by_line: dict[int, set[str]] = {}
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        for token in tokens:
            if token.type == tokenize.COMMENT and (ids := ignored_ids(token.string)):
                by_line.setdefault(token.start[0], set()).update(ids)
        return cls(by_line)

    def add(self, line: int, comment: str) -> None:
        """Record the ids a comment on ``line`` names."""
        if ids := ignored_ids(comment):
            self.by_line.setdefault(line, set()).update(ids)

    def covers(self, rule_id: str, first: int, last: int) -> bool:
        """True when a comment on ``first - 1`` … ``last`` names ``rule_id``."""
        return any(rule_id in self.by_line.get(line, ()) for line in range(first - 1, last + 1))
