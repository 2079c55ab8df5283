r"""What the ``safe-release`` command prints: tables, JSON documents, errors.

Human output goes to stdout: drawn with rich (tables, colour, progress) when
stdout is a terminal, else as plain aligned columns that scripts can parse (see
`_terminal`). ``--json`` prints exactly one JSON document on stdout, never drawn.
Errors go to stderr as ``error: <message>`` (exit code 1, or 2 for a usage error
or an input file the CLI refuses to parse).

Text that came from the store or from a user (names, authors, messages, error
texts, step details) can hold terminal control sequences. Everything printed for
humans goes through `visible` / `visible_lines`, which show control, format and
bidi characters as escapes (``\x1b``, ``\r``, ``\u202e``) instead of letting the
terminal act on them; ``--json`` output is exact JSON whose strings carry the same
characters as ``\u`` escapes.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import click

from safe_release.cli import _terminal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TypeAlias

    from pydantic import BaseModel

    import safe_release as sr

    Listing: TypeAlias = Sequence[tuple[sr.ConfigVersion, sr.RolloutState | None]]

__all__ = [
    "CliError",
    "InputError",
    "Pointers",
    "Table",
    "dump",
    "echo",
    "emit_json",
    "fields",
    "history_json",
    "history_table",
    "json_option",
    "list_json",
    "list_table",
    "percent",
    "show_version",
    "table",
    "visible",
    "visible_lines",
    "when",
]

_HASH_PREFIX = 12
_MESSAGE_WIDTH = 48

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
)


class CliError(click.ClickException):
    """A failure reported as ``error: <message>`` on stderr with exit code 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the message (control characters escaped) without a traceback."""
        label = click.style("error:", fg="red", bold=True)
        message = visible_lines(self.format_message())
        click.echo(f"{label} {message}", file=file, err=file is None)


class InputError(CliError):
    """An input file the CLI refuses to parse (too large, too deep, ambiguous): exit code 2."""

    exit_code = 2


# -- terminal safety ---------------------------------------------------------------

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_JOINERS = frozenset({"\u200c", "\u200d"})  # parts of scripts and emoji, not controls
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
_LINE_BREAKS = frozenset({"\n", "\t"})
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@functools.lru_cache(maxsize=4096)
def _shown(char: str) -> str:
    """``char`` itself, or its escape when a terminal would act on it."""
    if char in _JOINERS or unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:  # noqa: PLR2004 - the \xNN range
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"  # noqa: PLR2004


@functools.lru_cache(maxsize=4096)
def _json_shown(char: str) -> str:
    r"""``char`` itself, or its JSON ``\u`` escape (a surrogate pair beyond the BMP)."""
    if char in _JOINERS or unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    return json.dumps(char)[1:-1] if ord(char) > 0xFFFF else f"\\u{ord(char):04x}"  # noqa: PLR2004


def visible(text: str) -> str:
    r"""``text`` for one line of a terminal: every control character escaped.

    Newlines, tabs, ESC, carriage returns, backspaces, bidi overrides (U+202E …),
    other format characters and lone surrogates become ``\n``, ``\x1b``,
    ``\u202e`` …; everything else, including a backslash, is shown as it is.
    """
    return _NOT_PRINTABLE_ASCII.sub(lambda m: _shown(m.group()), text)


def visible_lines(text: str) -> str:
    """``text`` for a terminal, keeping its newlines and tabs; see `visible`."""
    return _NOT_PRINTABLE_ASCII.sub(
        lambda m: m.group() if m.group() in _LINE_BREAKS else _shown(m.group()), text
    )


def _json_visible(document: str) -> str:
    r"""A JSON document with control, format and bidi characters as ``\u`` escapes.

    Such characters only occur inside JSON strings (``json.dumps`` escapes a
    newline there, so a raw one is layout), where the escape means the same
    character: the document still decodes to exactly the same data.
    """
    return _NOT_PRINTABLE_ASCII.sub(
        lambda m: m.group() if m.group() == "\n" else _json_shown(m.group()), document
    )


def echo(*parts: str) -> None:
    """Print human output on stdout, each part on its own lines, control characters escaped.

    A `Table` part is drawn by rich at a terminal and printed as its plain
    columns elsewhere; text is shown with `visible_lines`.
    """
    terminal = _terminal.is_terminal()
    for part in parts:
        if terminal and isinstance(part, Table):
            _terminal.print_table(part.headers, part.rows)
        elif terminal:
            _terminal.print_text(visible_lines(part))
        else:
            click.echo(visible_lines(part))


class Pointers(NamedTuple):
    """What a config serves: its head, last-good version and rollout, if any."""

    head: int
    last_good: int | None
    rollout: sr.RolloutState | None

    @classmethod
    def of(cls, cfg: sr.ConfigStore[Any]) -> Pointers:
        """Read the pointers of ``cfg`` fresh from the database."""
        head = cfg.refresh()
        good = cfg.last_good()
        return cls(head.version, good.version if good else None, cfg.rollout)


def dump(model: BaseModel) -> dict[str, Any]:
    """A pydantic model as JSON-ready data."""
    return model.model_dump(mode="json")


def emit_json(data: Any) -> None:
    """Print ``data`` as one indented JSON document, safe for a terminal."""
    click.echo(_json_visible(json.dumps(data, indent=2, ensure_ascii=False)))


def when(moment: datetime) -> str:
    """A timestamp in UTC, to the second: ``2024-11-11 09:30:00Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def percent(value: float) -> str:
    """A share of keys: ``10%``, ``12.5%``."""
    return f"{value:g}%"


class Table(str):  # noqa: SLOT000 - it carries its cells as attributes
    """A table's plain text (what `str` sees) that also keeps its cells for rich.

    The plain text is left-aligned columns separated by two spaces (no trailing
    blanks); `echo` draws the cells with rich instead when stdout is a terminal.
    Joined to other text it is plain text only. Made by `table`.
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A `Table` whose cells are shown with `visible`.

    A stored value cannot move the cursor, and the plain columns stay aligned.
    """
    lines = [tuple(visible(cell) for cell in line) for line in (headers, *rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    made = Table(
        "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
    )
    made.headers, made.rows = lines[0], tuple(lines[1:])
    return made


def fields(pairs: Sequence[tuple[str, str]]) -> str:
    """``key: value`` lines with the values aligned (values shown with `visible`)."""
    width = max(len(key) for key, _ in pairs) + 1
    return "\n".join(f"{(key + ':').ljust(width)} {visible(value)}" for key, value in pairs)


def markers(version: sr.ConfigVersion, at: Pointers) -> str:
    """Tags of one version: head, good, candidate, rollback of vN."""
    tags: list[str] = []
    if version.version == at.head:
        tags.append("head")
    if version.version == at.last_good:
        tags.append("good")
    if at.rollout is not None and version.version == at.rollout.candidate:
        tags.append(f"candidate {percent(at.rollout.percent)}")
    if version.rolled_back_from is not None:
        tags.append(f"rollback of v{version.rolled_back_from} (restores v{version.restores})")
    return ", ".join(tags)


def _short(text: str, width: int = _MESSAGE_WIDTH) -> str:
    text = visible(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def history_table(versions: Sequence[sr.ConfigVersion], at: Pointers) -> Table:
    """The versions of one config, newest first, with their markers."""
    headers = ("VERSION", "CREATED", "AUTHOR", "HASH", "MESSAGE", "MARKERS")
    rows = [
        (
            f"v{v.version}",
            when(v.created_at),
            v.author,
            v.content_hash[:_HASH_PREFIX],
            _short(v.message),
            markers(v, at),
        )
        for v in versions
    ]
    return table(headers, rows)


def show_version(version: sr.ConfigVersion) -> str:
    """Metadata lines, a blank line, then the content as pretty JSON."""
    meta = [
        ("config", version.name),
        ("version", f"v{version.version}"),
        ("created", when(version.created_at)),
        ("author", version.author),
        ("message", version.message or "-"),
        ("hash", version.content_hash),
        ("parent", f"v{version.parent}" if version.parent else "-"),
    ]
    if version.rolled_back_from is not None:
        meta.append(("rollback", f"of v{version.rolled_back_from}, restores v{version.restores}"))
    content = _json_visible(json.dumps(version.content, indent=2, ensure_ascii=False))
    return f"{fields(meta)}\n\n{content}"


def history_json(name: str, at: Pointers, versions: Sequence[sr.ConfigVersion]) -> dict[str, Any]:
    """The history of one config as JSON-ready data."""
    return {
        "name": name,
        "head": at.head,
        "last_good": at.last_good,
        "rollout": dump(at.rollout) if at.rollout else None,
        "versions": [dump(v) for v in versions],
    }


def list_json(rows: Listing) -> list[dict[str, Any]]:
    """Every config's head (without content) and rollout, as JSON-ready data."""
    out = []
    for version, rollout in rows:
        entry = dump(version)
        del entry["content"]
        out.append({**entry, "rollout": dump(rollout) if rollout else None})
    return out


def list_table(rows: Listing) -> Table:
    """Every config's head and rollout as a table."""
    headers = ("NAME", "HEAD", "CREATED", "AUTHOR", "HASH", "ROLLOUT")
    return table(
        headers,
        [
            (
                v.name,
                f"v{v.version}",
                when(v.created_at),
                v.author,
                v.content_hash[:_HASH_PREFIX],
                f"v{r.candidate} to {percent(r.percent)}" if r else "-",
            )
            for v, r in rows
        ],
    )
