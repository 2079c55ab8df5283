"""The drawn exception trees match the classes of safe_release.exceptions.

The tree is drawn in the module's docstring (rendered in the API reference) and
in docs/config.md. Each line is ``Name``, then in parentheses, when there are
any: ``also`` and the other base classes, then the attributes the class adds
(its keyword-only ``__init__`` parameters that its first base does not take)::

    RollbackFailedError (report, original)
    UnverifiedRevisionError (also CheckpointError; revisions)

A class is drawn under its first base class.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from safe_release import exceptions

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TREE_ROOT = "SafeReleaseError"
BRANCH = re.compile(r"((?:│   |    )*)(├── |└── )(.*)")
ENTRY = re.compile(r"(\w+)(?: \((?:also ([\w, ]+?)(?:; |(?=\))))?([\w, ]*)\))?")


class Entry(NamedTuple):
    """What one line of a drawing says about a class."""

    parent: str | None
    also: frozenset[str]
    attrs: frozenset[str]


class Node(NamedTuple):
    """One class in a drawing, with the classes drawn under it."""

    name: str
    label: str
    children: list[Node]


def kwonly(cls: type) -> list[str]:
    """The keyword-only parameters of ``cls.__init__``, in order."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]


def label(cls: type) -> str:
    """The line for ``cls``: its name, other bases and added attributes."""
    also = [b.__name__ for b in cls.__bases__[1:]]
    first = kwonly(cls.__bases__[0])
    attrs = [name for name in kwonly(cls) if name not in first]
    notes = "; ".join(
        part for part in (", ".join(also) and f"also {', '.join(also)}", ", ".join(attrs)) if part
    )
    return f"{cls.__name__} ({notes})" if notes else cls.__name__


def error_classes() -> list[type[BaseException]]:
    """Every exception class defined in safe_release.exceptions, in source order."""
    return [
        obj
        for obj in vars(exceptions).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == exceptions.__name__
    ]


def actual() -> dict[str, Entry]:
    """What the classes say: first base, other bases, attributes, per class name."""
    found: dict[str, Entry] = {}
    for cls in error_classes():
        parent = cls.__bases__[0].__name__ if cls.__name__ != TREE_ROOT else None
        match = ENTRY.fullmatch(label(cls))
        assert match, label(cls)
        found[cls.__name__] = Entry(parent, *_notes(match))
    return found


def draw() -> list[str]:
    """The tree the classes call for, in source order: what the drawings must say."""
    classes = error_classes()
    nodes = {cls: Node(cls.__name__, label(cls), []) for cls in classes}
    for cls in classes:
        if cls.__name__ != TREE_ROOT:
            nodes[cls.__bases__[0]].children.append(nodes[cls])
    return render(nodes[exceptions.SafeReleaseError])


def render(node: Node, prefix: str = "") -> list[str]:
    """Lines for ``node``'s children (and ``node`` itself at the top)."""
    lines = [node.label] if not prefix else []
    for i, child in enumerate(node.children):
        last = i == len(node.children) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{child.label}")
        lines += render(child, prefix + ("    " if last else "│   "))
    return lines


def _notes(match: re.Match[str]) -> tuple[frozenset[str], frozenset[str]]:
    also, attrs = match.group(2) or "", match.group(3) or ""
    return (
        frozenset(filter(None, also.replace(" ", "").split(","))),
        frozenset(filter(None, attrs.replace(" ", "").split(","))),
    )


def extract(text: str) -> list[list[str]]:
    """Every drawing in ``text``: a line that is the root's entry, and the branches below.

    The drawing may be indented (a docstring); the indent is removed.
    """
    lines = text.splitlines()
    trees = []
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if stripped.split(" (")[0] != TREE_ROOT:
            continue
        indent = len(line) - len(stripped)
        tree = [stripped]
        for more in lines[i + 1 :]:
            body = more[indent:]
            if not more.startswith(" " * indent) or not body or body[0] not in "│├└ ":
                break
            tree.append(body)
        trees.append(tree)
    return trees


def read(lines: list[str]) -> tuple[dict[str, Entry], Node]:
    """What a drawing says, per class, and the tree it draws; fails on a line it cannot read."""
    root = ENTRY.fullmatch(lines[0])
    assert root, f"not an entry: {lines[0]!r}"
    top = Node(root.group(1), lines[0], [])
    found = {root.group(1): Entry(None, *_notes(root))}
    stack = [top]
    for line in lines[1:]:
        branch = BRANCH.fullmatch(line)
        assert branch, f"not a branch of the tree: {line!r}"
        entry = ENTRY.fullmatch(branch.group(3))
        assert entry, f"not an entry: {branch.group(3)!r}"
        depth = len(branch.group(1)) // 4 + 1
        assert depth <= len(stack), f"too deep for its place: {line!r}"
        del stack[depth:]
        node = Node(entry.group(1), branch.group(3), [])
        stack[-1].children.append(node)
        stack.append(node)
        assert node.name not in found, f"{node.name} is drawn twice"
        found[node.name] = Entry(stack[-2].name, *_notes(entry))
    return found, top


def parse(lines: list[str]) -> dict[str, Entry]:
    """What a drawing says, per class."""
    return read(lines)[0]


def redraw(lines: list[str]) -> list[str]:
    """The drawing as its tree's shape needs it (``└──`` for each last child, ...)."""
    return render(read(lines)[1])


def drawings() -> list[tuple[str, list[str]]]:
    """``(where, lines)`` for the docstring's drawing and each one in docs/*.md."""
    found = [("safe_release.exceptions docstring", t) for t in extract(exceptions.__doc__ or "")]
    for page in sorted(DOCS.glob("*.md")):
        found += [(f"docs/{page.name}", t) for t in extract(page.read_text(encoding="utf-8"))]
    return found


def differences(drawn: dict[str, Entry], real: dict[str, Entry]) -> list[str]:
    """One line per class the drawing gets wrong."""
    out = [f"{n}: not drawn" for n in real if n not in drawn]
    out += [f"{n}: drawn but no such class" for n in drawn if n not in real]
    out += [
        f"{n}: drawn as {drawn[n]}, is {real[n]}"
        for n in real
        if n in drawn and drawn[n] != real[n]
    ]
    return out


def test_there_are_drawings() -> None:
    """The docstring draws the tree, and so does at least one docs page."""
    places = [where for where, _ in drawings()]
    assert places[0] == "safe_release.exceptions docstring"
    assert any(p.startswith("docs/") for p in places)


@pytest.mark.parametrize(("where", "lines"), drawings(), ids=lambda v: str(v)[:40])
def test_drawing_matches_the_classes(where: str, lines: list[str]) -> None:
    """Every class drawn once, under its first base, with its other bases and attributes."""
    problems = differences(parse(lines), actual())
    expected = "\n".join(draw())
    assert problems == [], f"{where} is out of date; the classes draw:\n{expected}"
    assert redraw(lines) == lines, f"{where}: the branches do not fit the tree's shape"


def test_one_root() -> None:
    """Only SafeReleaseError derives from outside the module's classes, from Exception."""
    real = actual()
    assert [n for n, e in real.items() if e.parent is None] == [TREE_ROOT]
    assert exceptions.SafeReleaseError.__bases__ == (Exception,)
    assert all(e.parent in real for e in real.values() if e.parent is not None)


def test_every_class_is_exported() -> None:
    """The classes the drawing is checked against are the module's ``__all__``."""
    assert sorted(actual()) == sorted(exceptions.__all__)


class TestTheCheckFails:
    """The comparison notices each way a drawing can go stale."""

    def test_added_class(self) -> None:
        """A class that is not drawn."""
        real = actual() | {"NewError": Entry(TREE_ROOT, frozenset(), frozenset())}
        assert differences(parse(draw()), real) == ["NewError: not drawn"]

    def test_removed_class(self) -> None:
        """A drawn class that no longer exists."""
        real = actual()
        del real["RetentionError"]
        assert differences(parse(draw()), real) == ["RetentionError: drawn but no such class"]

    def test_reparented_class(self) -> None:
        """A class drawn under a base it no longer has."""
        lines = [*draw()]
        i = lines.index("│   └── RolloutError")
        lines[i - 1 : i + 1] = ["│   └── RetentionError", "├── RolloutError"]
        drawn, real = parse(lines), actual()
        assert drawn["RolloutError"].parent == TREE_ROOT
        assert differences(drawn, real) == [
            f"RolloutError: drawn as {drawn['RolloutError']}, is {real['RolloutError']}"
        ]

    def test_other_base_and_attributes(self) -> None:
        """A lost ``also`` base and a lost attribute are both reported."""
        lines = [
            line.replace(" (also CheckpointError; revisions)", "").replace(" (trigger)", "")
            for line in draw()
        ]
        assert [p.split(":")[0] for p in differences(parse(lines), actual())] == [
            "RollbackTriggered",
            "UnverifiedRevisionError",
        ]

    def test_malformed_branches(self) -> None:
        """A last child drawn with ``├──`` is told from the shape the tree needs."""
        lines = [line.replace("└── RolloutError", "├── RolloutError") for line in draw()]
        assert differences(parse(lines), actual()) == []
        assert redraw(lines) == draw() != lines

    def test_extract_from_markdown_and_docstring(self) -> None:
        """A fenced drawing and an indented one are both found, and stop at their end."""
        text = "Intro:\n\n    SafeReleaseError\n    └── ConfigError\n\nMore.\n"
        md = "```text\nSafeReleaseError\n└── ConfigError\n```\n"
        expected = [["SafeReleaseError", "└── ConfigError"]]
        assert extract(text) == expected
        assert extract(md) == expected
