"""Every name a public module exports is documented in the API reference (docs/api.md).

docs/api.md is a list of mkdocstrings ``::: path`` directives. A directive on a
module renders the names of its ``members:`` option, or its ``__all__`` without
one; a directive on any other object renders that object. mkdocstrings reads
the source without running it, so a name a module only provides through its
``__getattr__`` (imported on first use) is not rendered under that module: it
needs a directive of its own, on the module that defines it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

import safe_release

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"
MKDOCS_YML = ROOT / "mkdocs.yml"

PUBLIC_MODULES = (
    "safe_release",
    "safe_release.adapters",
    "safe_release.adapters.amazon",
    "safe_release.adapters.ebay",
    "safe_release.adapters.lazada",
    "safe_release.adapters.shopee",
    "safe_release.adapters.walmart",
    "safe_release.exceptions",
    "safe_release.migrations",
    "safe_release.migrations.compat",
    "safe_release.migrations.ops",
    "safe_release.testing",
    "safe_release_pytest",
)
"""Modules whose ``__all__`` is the Python API, each documented in docs/api.md."""

NOT_IN_API_REFERENCE = {
    "safe_release.cli": "the safe-release command, documented in docs/cli.md",
    "safe_release.testing.__main__": "the start/stop command, in docs/testing.md",
    "safe_release.testing.pytest_plugin": "names safe_release_pytest's fixtures, documented there",
}
"""Modules without a leading underscore that are not Python API, and why."""


class Directive(NamedTuple):
    """One ``::: path`` line of docs/api.md and its ``members:`` list, if any."""

    path: str
    members: tuple[str, ...] | None


def parse_directives(text: str) -> list[Directive]:
    """The ``:::`` directives of a page, in order."""
    directives: list[Directive] = []
    path: str | None = None
    members: list[str] | None = None
    in_members = False
    for line in [*text.splitlines(), "<end of page>"]:
        start = re.fullmatch(r":::\s+(\S+)\s*", line)
        if start or (path is not None and line and not line.startswith(" ")):
            if path is not None:
                directives.append(Directive(path, None if members is None else tuple(members)))
            path, members, in_members = (start.group(1) if start else None), None, False
            continue
        if path is None:
            continue
        option = re.fullmatch(r"(\s+)(\w+):\s*(.*)", line)
        item = re.fullmatch(r"\s+-\s+(\S+)\s*", line)
        if in_members and item:
            assert members is not None
            members.append(item.group(1))
        elif option:
            in_members = option.group(2) == "members" and not option.group(3)
            if in_members:
                members = []
    return directives


def resolve(path: str) -> object:
    """Import the longest module prefix of a dotted path, then get the rest."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    msg = f"cannot import any part of {path!r}"
    raise LookupError(msg)


def maybe(path: str) -> object | None:
    """`resolve`, or None for a path that is no attribute (a dataclass or pydantic field)."""
    try:
        return resolve(path)
    except AttributeError:
        return None


def member_filters() -> list[re.Pattern[str]]:
    """The ``!pattern`` filters of mkdocs.yml: members matching one are not rendered."""
    found = re.findall(r'^\s+-\s+"!(.+?)"', MKDOCS_YML.read_text(encoding="utf-8"), re.MULTILINE)
    assert found, "no member filters found in mkdocs.yml; has its layout changed?"
    return [re.compile(p) for p in found]


def documented(directives: list[Directive]) -> tuple[set[tuple[str, int]], list[str]]:
    """``(name, id(object))`` of every rendered entry, and the members that render nothing.

    A member of a module renders only if the module binds it itself (not
    through ``__getattr__``) and no mkdocs.yml filter hides it.
    """
    filters = member_filters()
    entries: set[tuple[str, int]] = set()
    dead: list[str] = []
    for directive in directives:
        obj = resolve(directive.path)
        entries.add((directive.path.rpartition(".")[2], id(obj)))
        if not isinstance(obj, ModuleType):
            continue
        names = directive.members
        if names is None:
            names = tuple(getattr(obj, "__all__", ()))
        for name in names:
            if name not in vars(obj) or any(f.search(name) for f in filters):
                dead.append(f"{directive.path}.{name}")
            else:
                entries.add((name, id(vars(obj)[name])))
    return entries, dead


def undocumented(entries: set[tuple[str, int]]) -> list[str]:
    """``module.name`` for every exported name that no rendered entry shows."""
    return [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
        if (name, id(getattr(importlib.import_module(module), name))) not in entries
    ]


def public_modules(package: ModuleType) -> set[str]:
    """``package`` and its modules without a leading underscore (and ``__main__``)."""
    found = {package.__name__}
    for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        last = info.name.rpartition(".")[2]
        if last == "__main__":
            found.add(info.name)
        elif not last.startswith("_"):
            sub = importlib.import_module(info.name) if info.ispkg else None
            found |= public_modules(sub) if sub else {info.name}
    return found


def test_every_public_module_is_considered() -> None:
    """Each module without an underscore is either in PUBLIC_MODULES or explained."""
    # the pytest plugin is a top-level module of its own (it must not import safe_release)
    found = public_modules(safe_release) | {"safe_release_pytest"}
    assert found == set(PUBLIC_MODULES) | set(NOT_IN_API_REFERENCE)


def test_every_public_module_has_a_directive() -> None:
    """docs/api.md has a ``:::`` directive for each public module."""
    paths = {d.path for d in parse_directives(API_MD.read_text(encoding="utf-8"))}
    assert sorted(set(PUBLIC_MODULES) - paths) == []


def test_every_exported_name_is_in_the_api_reference() -> None:
    """Each name of each public ``__all__`` is rendered in docs/api.md."""
    entries, _ = documented(parse_directives(API_MD.read_text(encoding="utf-8")))
    assert undocumented(entries) == []


def test_every_listed_member_renders() -> None:
    """No ``members:`` entry names something mkdocstrings cannot see or a filter hides."""
    _, dead = documented(parse_directives(API_MD.read_text(encoding="utf-8")))
    assert dead == []


def test_a_missing_name_is_found() -> None:
    """The check reports a name whose member line is removed from the page."""
    text = API_MD.read_text(encoding="utf-8")
    line = "        - resign_release\n"
    assert line in text
    entries, _ = documented(parse_directives(text.replace(line, "", 1)))
    assert undocumented(entries) == ["safe_release.resign_release"]


def test_a_lazy_name_is_not_counted_as_rendered() -> None:
    """A name only ``__getattr__`` provides does not render as a member of its module."""
    directives = [Directive("safe_release.migrations", ("check", "lint"))]
    assert documented(directives)[1] == ["safe_release.migrations.lint"]


def test_parse_directives() -> None:
    """Directives, with and without a members list, and other options skipped."""
    text = (
        "# API\n\n::: a.b\n    options:\n      members:\n        - x\n        - Y\n"
        "      heading_level: 3\n\nSome prose.\n\n::: a.c\n    options:\n"
        '      heading: "a.z"\n::: a.d\n'
    )
    assert parse_directives(text) == [
        Directive("a.b", ("x", "Y")),
        Directive("a.c", None),
        Directive("a.d", None),
    ]


@pytest.mark.slow
def test_the_built_page_has_an_anchor_for_every_name(tmp_path: Path) -> None:
    """Build the docs and check the rendered anchors: what the parse above predicts."""
    pytest.importorskip("mkdocs", reason="the docs tools come with the dev extra")
    pytest.importorskip("mkdocstrings_handlers.python")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        check=True,
    )
    html = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<h\d id="(safe_release[\w.]*)"', html))
    entries = {(a.rpartition(".")[2], id(obj)) for a in anchors if (obj := maybe(a)) is not None}
    assert undocumented(entries) == []
