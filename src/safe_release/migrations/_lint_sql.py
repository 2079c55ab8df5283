"""Linting PostgreSQL migration SQL: a statement splitter and token-shape rules.

Not a SQL parser. The text is cut into tokens (respecting quotes, dollar
quoting and comments), split into statements at top-level ``;``, and each
statement is rendered as a *shape*: keywords upper-cased, quoted identifiers
as ``q_name``, string literals as ``''``, dollar-quoted bodies as ``$$``. The
rules are regular expressions over that shape, so nothing inside a string, a
comment or a function body is ever matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from safe_release.exceptions import InvalidArgumentError
from safe_release.migrations._lint_rules import (
    Finding,
    LintReport,
    Suppressions,
    sort_findings,
)

__all__ = ["SqlAnalysis", "SqlHit", "analyse_sql", "lint_sql"]

_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*")
_NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
_DOLLAR = re.compile(r"\$(?:[A-Za-z_][\w]*)?\$")
_RUNNING = re.compile(r"Running (?:upgrade|downgrade) .*?-> *(\S+)")
_SNIPPET = 100


@dataclass(frozen=True)
class Token:
    """One token: kind (word, qident, str, dollar, num, punct, comment), text, line."""

    kind: str
    text: str
    line: int


def _scan_quoted(text: str, start: int, quote: str, *, backslash: bool = False) -> int:
    """The index after the closing ``quote`` (doubled quotes escape; end of text if none)."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if backslash and char == "\\":
            i += 2
            continue
        if char == quote:
            if text.startswith(quote, i + 1):
                i += 2
                continue
            return i + 1
        i += 1
    return len(text)


def _scan_block_comment(text: str, start: int) -> int:
    """The index after a (possibly nested) ``/* ... */`` comment."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _scan_word(text: str, i: int) -> tuple[str, int]:
    """A word token, or a prefixed string literal (``E'..'``, ``B'..'``, ``X'..'``)."""
    match = _WORD.match(text, i)
    end = match.end() if match else i + 1
    word = text[i:end]
    if end < len(text) and text[end] == "'" and word.upper() in {"E", "B", "X", "N"}:
        return "str", _scan_quoted(text, end, "'", backslash=word.upper() == "E")
    return "word", end


def _scan_comment(text: str, i: int) -> tuple[str, int] | None:
    if text.startswith("--", i):
        end = text.find("\n", i)
        return "comment", len(text) if end < 0 else end
    if text.startswith("/*", i):
        return "comment", _scan_block_comment(text, i)
    return None


def _scan_one(text: str, i: int) -> tuple[str, int]:
    """The kind and end index of the token starting at ``i``."""
    char = text[i]
    if comment := _scan_comment(text, i):
        return comment
    if char in {"'", '"'}:
        return "str" if char == "'" else "qident", _scan_quoted(text, i, char)
    if char == "$" and (match := _DOLLAR.match(text, i)):
        close = text.find(match.group(), match.end())
        return "dollar", len(text) if close < 0 else close + len(match.group())
    if _WORD.match(text, i):
        return _scan_word(text, i)
    if match := _NUMBER.match(text, i):
        return "num", match.end()
    return "punct", i + 1


def tokenize_sql(text: str) -> list[Token]:
    """Every token of ``text`` except whitespace, with its 1-based line."""
    tokens: list[Token] = []
    i, line = 0, 1
    while i < len(text):
        if text[i].isspace():
            line += text[i] == "\n"
            i += 1
            continue
        kind, end = _scan_one(text, i)
        tokens.append(Token(kind, text[i:end], line))
        line += text.count("\n", i, end)
        i = end
    return tokens


@dataclass
class Statement:
    """One statement: its tokens (comments left out), and the revision it belongs to."""

    tokens: list[Token]
    revision: str | None

    @property
    def line(self) -> int:
        """The line the statement starts on."""
        return self.tokens[0].line

    @property
    def last_line(self) -> int:
        """The line the statement ends on."""
        return self.tokens[-1].line

    @property
    def shape(self) -> str:
        """The statement as matched by the rules (see the module docstring)."""
        return " ".join(_render(token) for token in self.tokens)

    @property
    def snippet(self) -> str:
        """The statement, whitespace collapsed, cut to a readable length."""
        text = " ".join(token.text for token in self.tokens)
        for spaced, tight in ((" ,", ","), (" .", "."), (". ", "."), ("( ", "("), (" )", ")")):
            text = text.replace(spaced, tight)
        text = re.sub(r"\s+", " ", text)
        return text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "..."


def _render(token: Token) -> str:
    if token.kind == "word":
        return token.text.upper()
    if token.kind == "qident":
        return "q_" + re.sub(r"\W", "_", token.text.strip('"'))
    return {"str": "''", "dollar": "$$", "num": "0"}.get(token.kind, token.text)


def split_statements(tokens: list[Token]) -> list[Statement]:
    """The tokens cut at top-level semicolons, comments left out."""
    statements: list[Statement] = []
    current = Statement([], None)
    revision: str | None = None
    for token in tokens:
        if token.kind == "comment":
            if match := _RUNNING.search(token.text):
                revision = match.group(1)
        elif token.text == ";":
            if current.tokens:
                statements.append(current)
            current = Statement([], revision)
        else:
            if not current.tokens:
                current.revision = revision
            current.tokens.append(token)
    if current.tokens:
        statements.append(current)
    return statements


NAME = r"(?:\w+ \. )*\w+"


def name_of(shape: str) -> str:
    """A (last-part) object name from its shape: ``PUBLIC . q_Orders`` -> ``Orders``."""
    part = shape.rsplit(" . ", maxsplit=1)[-1]
    return part[2:] if part.startswith("q_") else part.lower()


def split_actions(actions: str) -> list[str]:
    """The comma-separated actions of an ALTER TABLE, commas inside parentheses kept."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(actions):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(actions[start:i].strip())
            start = i + 1
    parts.append(actions[start:].strip())
    return [part for part in parts if part]


_ADD_CONSTRAINT = re.compile(r"^ADD (?:CONSTRAINT \w+ )?(UNIQUE|CHECK|FOREIGN KEY)\b")
_ADD_COLUMN = re.compile(
    r"^ADD (?:COLUMN )?(?:IF NOT EXISTS )?(?!CONSTRAINT\b|PRIMARY\b"
    r"|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)\w+ (.*)$"
)
_ALTER_COLUMN = re.compile(
    r"^ALTER (?:COLUMN )?\w+ (SET DATA TYPE|TYPE|SET NOT NULL"
    r"|DROP NOT NULL)\b"
)
_ALTER_RULES = {
    "SET DATA TYPE": "changing-column-type",
    "TYPE": "changing-column-type",
    "SET NOT NULL": "adding-not-nullable-field",
    "DROP NOT NULL": "ban-drop-not-null",
}


def _constraint_rule(kind: str, action: str) -> str | None:
    if kind == "UNIQUE":
        return None if " USING INDEX " in f" {action} " else "disallowed-unique-constraint"
    if " NOT VALID" in f" {action}":
        return None
    return "constraint-missing-not-valid" if kind == "CHECK" else "adding-foreign-key-constraint"


def _add_column_rules(rest: str) -> list[str]:
    rules = []
    if " NOT NULL" in f" {rest}" and "DEFAULT" not in rest and "GENERATED" not in rest:
        rules.append("adding-required-field")
    if re.search(r"\bREFERENCES\b", rest) and "NOT VALID" not in rest:
        rules.append("adding-foreign-key-constraint")
    return rules


def _action_rules(action: str) -> list[str]:
    """The rules one ALTER TABLE action breaks."""
    if match := _ADD_CONSTRAINT.match(action):
        rule = _constraint_rule(match.group(1), action)
        return [rule] if rule else []
    if match := _ADD_COLUMN.match(action):
        return _add_column_rules(match.group(1))
    if match := _ALTER_COLUMN.match(action):
        return [_ALTER_RULES[match.group(1)]]
    return _drop_rename_rules(action)


def _drop_rename_rules(action: str) -> list[str]:
    if action.startswith("DROP CONSTRAINT"):
        return ["ban-drop-constraint"]
    if action.startswith("DROP "):
        return ["ban-drop-column"]
    if re.match(r"^RENAME (?:COLUMN )?\w+ TO\b", action):
        return ["renaming-column"]
    if action.startswith("RENAME TO"):
        return ["renaming-table"]
    return []


@dataclass(frozen=True)
class SqlHit:
    """One rule broken by one statement."""

    rule: str
    statement: Statement


@dataclass
class SqlAnalysis:
    """What a SQL text does: the rules it breaks and the objects it creates or drops."""

    hits: list[SqlHit] = field(default_factory=list)
    created_tables: set[str] = field(default_factory=set)
    created_enums: dict[str, int] = field(default_factory=dict)
    """Enum type name -> line of its CREATE TYPE."""
    dropped_enums: set[str] = field(default_factory=set)


_ALTER_TABLE = re.compile(rf"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?({NAME}) (.*)$")
_CREATE_TABLE = re.compile(
    rf"^CREATE (?:(?:GLOBAL |LOCAL )?(?:TEMP|TEMPORARY|UNLOGGED) )?"
    rf"TABLE (?:IF NOT EXISTS )?({NAME})"
)
_CREATE_INDEX = re.compile(rf"^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?.*?\bON (?:ONLY )?({NAME})")
_DROP_INDEX = re.compile(r"^DROP INDEX (?!CONCURRENTLY\b)")
_DROP_TABLE = re.compile(rf"^DROP TABLE (?:IF EXISTS )?({NAME}(?: , {NAME})*)")
_CREATE_ENUM = re.compile(rf"^CREATE TYPE ({NAME}) AS ENUM\b")
_DROP_TYPE = re.compile(rf"^DROP TYPE (?:IF EXISTS )?({NAME}(?: , {NAME})*)")
_ALTER_TYPE = re.compile(rf"^ALTER TYPE ({NAME}) (ADD VALUE|RENAME VALUE|DROP VALUE|RENAME TO)")


def _is_ours(table: str) -> bool:
    """SDK tables and Alembic's version table are not the user's schema."""
    return table.startswith("sr_") or table == "alembic_version"


class _Analyser:
    def __init__(self, created_tables: set[str]) -> None:
        self.result = SqlAnalysis(created_tables=set(created_tables))
        self.revision: str | None = None

    def hit(self, rules: list[str], statement: Statement) -> None:
        self.result.hits.extend(SqlHit(rule, statement) for rule in rules)

    def statement(self, statement: Statement) -> None:
        if statement.revision != self.revision:
            # A table or type is new only within the revision that creates it.
            self.revision = statement.revision
            self.result.created_tables.clear()
            self.result.created_enums.clear()
        shape = statement.shape
        for handler in (
            self.alter_table,
            self.create_table,
            self.create_index,
            self.drop_table,
            self.types,
        ):
            if handler(shape, statement):
                return
        if _DROP_INDEX.match(shape):
            self.hit(["require-concurrent-index-deletion"], statement)

    def alter_table(self, shape: str, statement: Statement) -> bool:
        if not (match := _ALTER_TABLE.match(shape)):
            return False
        table = name_of(match.group(1))
        if not (_is_ours(table) or table in self.result.created_tables):
            for action in split_actions(match.group(2)):
                self.hit(_action_rules(action), statement)
        return True

    def create_table(self, shape: str, _statement: Statement) -> bool:
        if match := _CREATE_TABLE.match(shape):
            self.result.created_tables.add(name_of(match.group(1)))
        return match is not None

    def create_index(self, shape: str, statement: Statement) -> bool:
        if not (match := _CREATE_INDEX.match(shape)):
            return False
        table = name_of(match.group(3))
        if not (_is_ours(table) or table in self.result.created_tables):
            rules = [] if match.group(2) else ["require-concurrent-index-creation"]
            self.hit(rules + (["sr-unique-index"] if match.group(1) else []), statement)
        return True

    def drop_table(self, shape: str, statement: Statement) -> bool:
        if not (match := _DROP_TABLE.match(shape)):
            return False
        tables = [name_of(part) for part in match.group(1).split(" , ")]
        if not all(_is_ours(table) for table in tables):
            self.hit(["ban-drop-table"], statement)
        return True

    def types(self, shape: str, statement: Statement) -> bool:
        if match := _CREATE_ENUM.match(shape):
            self.result.created_enums.setdefault(name_of(match.group(1)), statement.line)
        elif match := _DROP_TYPE.match(shape):
            self.result.dropped_enums.update(name_of(p) for p in match.group(1).split(" , "))
            self.hit(["sr-enum-change"], statement)
        elif (match := _ALTER_TYPE.match(shape)) and name_of(
            match.group(1)
        ) not in self.result.created_enums:
            self.hit(["sr-enum-change"], statement)
        return match is not None


def analyse_sql(text: str, *, created_tables: set[str] | None = None) -> SqlAnalysis:
    """The rules ``text`` breaks; tables in ``created_tables`` are new (empty) ones."""
    analyser = _Analyser(created_tables or set())
    for statement in split_statements(tokenize_sql(text)):
        analyser.statement(statement)
    return analyser.result


def lint_sql(sql: str, *, path: str = "<sql>") -> LintReport:
    """Lint PostgreSQL migration SQL, such as ``alembic upgrade head --sql`` output.

    Findings carry the revision named by Alembic's ``-- Running upgrade a -> b``
    comments. A ``-- safe-release: ignore[rule-id]`` comment inside a statement
    or on the line above it suppresses that rule for the statement.
    """
    if not isinstance(sql, str):
        msg = f"lint_sql() takes SQL text, not {type(sql).__name__}"
        raise InvalidArgumentError(msg)
    tokens = tokenize_sql(sql)
    suppressions = Suppressions()
    for token in tokens:
        if token.kind == "comment":
            suppressions.add(token.line, token.text)
    analyser = _Analyser(set())
    for statement in split_statements(tokens):
        analyser.statement(statement)
    findings, suppressed = [], 0
    for hit in analyser.result.hits:
        statement = hit.statement
        if suppressions.covers(hit.rule, statement.line, statement.last_line):
            suppressed += 1
            continue
        findings.append(
            Finding.of(hit.rule, path, statement.line, statement.revision, statement.snippet)
        )
    return LintReport(sort_findings(findings), 1, suppressed)
