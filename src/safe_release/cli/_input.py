"""Config files for ``safe-release config publish``: bounded, strict JSON and YAML.

A file is read whole only if it fits `MAX_FILE_BYTES` (at most one byte more
is read to tell), so parsing never starts on an oversized file. Then, for JSON
and YAML alike: nesting is at most `MAX_DEPTH` levels, integers at most
`MAX_DIGITS` digits, numbers finite, keys unique text. YAML is read as the
YAML 1.2 core schema from parser events (no recursion, no aliases, only the core
tags), and a plain value that YAML 1.1 reads differently (``NO``, ``on``,
``0755``, ``12:30``, ``1e3``, ``2024-11-11``, ``<<`` …) is refused rather than
given either meaning: quoting it, or writing the value out, removes the doubt.

Refusals of these rules are `InputError` (exit code 2, one line); a file that
cannot be read, is not UTF-8 or is not JSON/YAML at all is a `CliError` (1).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import yaml

from safe_release._config import DEFAULT_MAX_BYTES
from safe_release.cli._output import CliError, InputError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_FILE_BYTES", "read_content"]

MAX_FILE_BYTES = 2 * DEFAULT_MAX_BYTES  # the content limit, plus room for layout and comments
MAX_DEPTH = 64  # the store's own nesting limit
MAX_DIGITS = 1000

_JSON_SUFFIXES = (".json",)
_YAML_SUFFIXES = (".yaml", ".yml")
_BOM = "\ufeff"
_EVENTS: type[Any] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # libyaml when present

# -- reading -------------------------------------------------------------------------


def read_content(file: str) -> object:
    """The content of ``file`` (``.json``, ``.yaml``/``.yml``, or ``-`` for stdin)."""
    if file == "-":
        with click.open_file("-", "rb") as stdin:
            data = stdin.read(MAX_FILE_BYTES + 1)
        return _parse(_decode(data, "<stdin>"), "<stdin>", as_yaml=None)
    suffix = Path(file).suffix.lower()
    if suffix not in _JSON_SUFFIXES + _YAML_SUFFIXES:
        msg = f"{file}: cannot tell its format; name it *.json, *.yaml or *.yml, or pipe it to -"
        raise CliError(msg)
    try:
        with Path(file).open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        msg = f"cannot read {file}: {exc.strerror or exc}"
        raise CliError(msg) from exc
    return _parse(_decode(data, file), file, as_yaml=suffix in _YAML_SUFFIXES)


def _decode(data: bytes, where: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        msg = (
            f"{where} is larger than {MAX_FILE_BYTES:,} bytes, the limit for a config file; "
            "nothing was parsed: split the config into several"
        )
        raise InputError(msg)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"cannot read {where}: it is not UTF-8 text"
        raise CliError(msg) from exc
    return text.removeprefix(_BOM)


def _parse(text: str, where: str, *, as_yaml: bool | None) -> object:
    """Parse JSON (``as_yaml=False``), YAML (``True``) or either (``None``)."""
    if not text.strip():
        msg = f"{where} is empty; give the config content as a JSON or YAML document"
        raise CliError(msg)
    if as_yaml is False:
        return parse_json(text, where)
    if as_yaml is None and text.lstrip()[:1] in ("{", "["):
        try:
            return parse_json(text, where)
        except _NotJSONError:
            pass  # flow-style YAML, such as {a: 1}
    return parse_yaml(text, where, "YAML" if as_yaml else "JSON or YAML")


def _refuse(
    where: str, what: str, advice: str, line: int | None = None, column: int = 0
) -> NoReturn:
    at = f" (line {line}, column {column})" if line is not None else ""
    msg = f"{where}: {what}{at}; {advice}"
    raise InputError(msg)


def _too_deep(where: str, line: int | None = None, column: int = 0) -> NoReturn:
    _refuse(where, f"nests deeper than {MAX_DEPTH} levels", "flatten the config", line, column)


def _too_long(where: str, line: int | None = None, column: int = 0) -> NoReturn:
    _refuse(
        where,
        f"holds an integer of more than {MAX_DIGITS:,} digits",
        "write such a value as a string",
        line,
        column,
    )


def _not_finite(where: str, text: str, line: int | None = None, column: int = 0) -> NoReturn:
    _refuse(
        where,
        f"holds the number {_clip(text)}, which is not finite (JSON has no NaN or infinity)",
        "write a finite number, null or a string",
        line,
        column,
    )


def _clip(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


# -- JSON ----------------------------------------------------------------------------


class _NotJSONError(CliError):
    """Input that is not JSON at all (stdin may then still be YAML)."""


# A string runs to its closing quote, or to the end of an unterminated text (so the
# scan never restarts inside a string: linear on any input); or a bracket.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


def parse_json(text: str, where: str) -> object:
    """Strict JSON: depth, digits, finite numbers and unique keys checked."""
    _check_json_depth(text, where)
    try:
        return json.loads(
            text,
            object_pairs_hook=lambda pairs: _unique(pairs, where),
            parse_int=lambda digits: _json_int(digits, where),
            parse_float=lambda digits: _json_float(digits, where),
            parse_constant=lambda name: _not_finite(where, name),
        )
    except json.JSONDecodeError as exc:
        msg = f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise _NotJSONError(msg) from exc
    except RecursionError:  # pragma: no cover - the depth scan refuses first
        _too_deep(where)


def _check_json_depth(text: str, where: str) -> None:
    """Refuse more than `MAX_DEPTH` open brackets before the (recursive) parser runs."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                start = match.start()
                line = text.count("\n", 0, start) + 1
                _too_deep(where, line, start - text.rfind("\n", 0, start))
        elif token in ("]", "}"):
            depth -= 1


def _unique(pairs: list[tuple[str, Any]], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            _refuse(
                where,
                f"the key {_clip(key)} appears twice in one object",
                "keep one of them (JSON readers disagree on which one wins)",
            )
        out[key] = value
    return out


def _json_int(digits: str, where: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        _too_long(where)
    return int(digits)


def _json_float(digits: str, where: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        _not_finite(where, digits)
    return value


# -- YAML: the 1.2 core schema -------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = _TAG + "map", _TAG + "seq"

_NULL_12 = re.compile(r"(?:~|null|Null|NULL|)")
_BOOL_12 = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_INT_12 = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT_12 = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)

_RESOLVER_11 = yaml.resolver.Resolver()
_CONSTRUCTOR_11 = yaml.constructor.SafeConstructor()


class _Mark:
    """Where an event starts, as 1-based line and column."""

    __slots__ = ("column", "line")

    def __init__(self, event: Any) -> None:
        mark = event.start_mark
        self.line, self.column = mark.line + 1, mark.column + 1


def _int_12(text: str, where: str, at: _Mark) -> int:
    if len(text) > MAX_DIGITS + 1:
        _too_long(where, at.line, at.column)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _float_12(text: str, where: str, at: _Mark) -> float:
    body = text.lstrip("+-")
    special = body.startswith(".") and body[1:].lower() in ("inf", "nan")
    value = math.inf if special else float(text)
    if not math.isfinite(value):
        _not_finite(where, text, at.line, at.column)
    return value


def _resolve_12(text: str, where: str, at: _Mark) -> tuple[str, object]:
    """The tag and value YAML 1.2's core schema gives a plain scalar."""
    if _NULL_12.fullmatch(text):
        return _NULL, None
    if text in _BOOL_12:
        return _BOOL, _BOOL_12[text]
    if _INT_12.fullmatch(text):
        return _INT, _int_12(text, where, at)
    if _FLOAT_12.fullmatch(text):
        return _FLOAT, _float_12(text, where, at)
    return _STR, text


def _reading_11(tag: str, text: str) -> tuple[bool, object]:
    """(whether the value could be built, the value) YAML 1.1 gives ``text``."""
    node = yaml.ScalarNode(tag, text)
    build: Callable[[Any], object] | None = {
        _NULL: _CONSTRUCTOR_11.construct_yaml_null,
        _BOOL: _CONSTRUCTOR_11.construct_yaml_bool,
        _INT: _CONSTRUCTOR_11.construct_yaml_int,
        _FLOAT: _CONSTRUCTOR_11.construct_yaml_float,
    }.get(tag)
    if build is None or len(text) > MAX_DIGITS + 1:
        return False, None
    try:
        return True, build(node)
    except ValueError:  # pragma: no cover - the resolver's patterns construct
        return False, None


def _describe(tag: str, value: object, *, built: bool = True) -> str:
    if tag == _STR:
        return f"the text {_clip(str(value))}"
    if not built:
        names = {
            _TAG + "timestamp": "a date/time",
            _TAG + "merge": "a merge key (<<)",
            _TAG + "value": "a default-value key (=)",
            _INT: "an integer",
        }
        return names.get(tag, tag.removeprefix(_TAG))
    return json.dumps(value, allow_nan=True)


def _plain(text: str, where: str, at: _Mark) -> object:
    """A plain scalar under YAML 1.2, refused when YAML 1.1 reads it otherwise."""
    tag, value = _resolve_12(text, where, at)
    tag_11 = _RESOLVER_11.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    built, value_11 = _reading_11(tag_11, text)
    same = tag_11 == tag and (tag == _STR or (built and value_11 == value))
    if not same:
        _refuse(
            where,
            f"the unquoted value {_clip(text)} is {_describe(tag, value)} in YAML 1.2 but "
            f"{_describe(tag_11, value_11 if built else text, built=built)} in YAML 1.1",
            f"quote it ({json.dumps(text, ensure_ascii=False)}) if you mean the text, or write "
            "the value so that both versions read it alike",
            at.line,
            at.column,
        )
    return value


def _tagged(tag: str, text: str, where: str, at: _Mark) -> object:
    """A scalar with an explicit core tag (``!!str 0755``), read under YAML 1.2."""
    if tag in (_STR, "!"):
        return text
    resolved, value = _resolve_12(text, where, at)
    if resolved == tag or (tag == _FLOAT and resolved == _INT):
        return float(value) if tag == _FLOAT else value  # type: ignore[arg-type]
    _refuse(
        where,
        f"{_clip(text)} is not a YAML 1.2 {tag.removeprefix(_TAG)}",
        "fix the value or drop the tag",
        at.line,
        at.column,
    )


_NOTHING: Any = object()


class _Frame:
    """One open mapping or sequence, and the key waiting for its value."""

    __slots__ = ("items", "key")

    def __init__(self, items: dict[str, object] | list[object]) -> None:
        self.items = items
        self.key: Any = _NOTHING

    def wants_key(self) -> bool:
        """Whether the next node is a mapping key."""
        return isinstance(self.items, dict) and self.key is _NOTHING


class _Builder:
    """Builds plain JSON data from parser events, iteratively and under the rules."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.stack: list[_Frame] = []
        self.root: object = None
        self.documents = 0

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                at = _Mark(event)
                _refuse(
                    self.where,
                    "holds more than one YAML document (---)",
                    "keep one document per config file",
                    at.line,
                    at.column,
                )
        elif isinstance(event, yaml.AliasEvent):
            at = _Mark(event)
            _refuse(
                self.where,
                "uses a YAML alias (*name)",
                "aliases are not allowed in config files: write the values out",
                at.line,
                at.column,
            )
        elif isinstance(event, yaml.ScalarEvent):
            self.add(self.scalar(event), event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.open(event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.add(self.stack.pop().items, event)

    def scalar(self, event: Any) -> object:
        at = _Mark(event)
        if event.tag is None:
            return _plain(event.value, self.where, at) if event.implicit[0] else event.value
        if event.tag not in (_STR, _INT, _FLOAT, _BOOL, _NULL, "!"):
            self.bad_tag(event.tag, at)
        return _tagged(event.tag, event.value, self.where, at)

    def open(self, event: Any) -> None:
        at = _Mark(event)
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAP if mapping else _SEQ):
            self.bad_tag(event.tag, at)
        if self.stack and self.stack[-1].wants_key():
            _refuse(
                self.where,
                "has a key that is a list or mapping",
                "JSON object keys are text: use a string key",
                at.line,
                at.column,
            )
        if len(self.stack) >= MAX_DEPTH:
            _too_deep(self.where, at.line, at.column)
        self.stack.append(_Frame({} if mapping else []))

    def add(self, value: object, event: Any) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if isinstance(frame.items, list):
            frame.items.append(value)
        elif frame.key is _NOTHING:
            self.set_key(frame, value, _Mark(event))
        else:
            frame.items[frame.key] = value
            frame.key = _NOTHING

    def set_key(self, frame: _Frame, key: object, at: _Mark) -> None:
        if not isinstance(key, str):
            _refuse(
                self.where,
                f"has the key {json.dumps(key)}, which is not text",
                "JSON object keys are text: quote the key",
                at.line,
                at.column,
            )
        if key in frame.items:
            _refuse(
                self.where,
                f"repeats the key {_clip(key)} in one mapping",
                "keep one of them (YAML readers disagree on which one wins)",
                at.line,
                at.column,
            )
        frame.key = key

    def bad_tag(self, tag: str, at: _Mark) -> NoReturn:
        _refuse(
            self.where,
            f"uses the YAML tag {_clip(tag)}",
            "config files hold plain data: only !!str, !!int, !!float, !!bool, !!null, "
            "!!map and !!seq are allowed",
            at.line,
            at.column,
        )


def parse_yaml(text: str, where: str, kind: str = "YAML") -> object:
    """One YAML document as plain JSON data, under the rules of this module."""
    builder = _Builder(where)
    loader = _EVENTS(text)
    try:
        while loader.check_event():
            builder.feed(loader.get_event())
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit (1000), met first
            _too_deep(where)
        msg = f"{where} is not valid {kind}: {_yaml_problem(exc)}"
        raise CliError(msg) from exc
    finally:
        loader.dispose()
    return builder.root


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(exc).split())
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
