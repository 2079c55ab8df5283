"""The package structure docs/architecture.md describes, checked on the source.

import-linter (``lint-imports``, in ``nox -s lint`` and CI) checks the layers. These
tests check what it does not: that a package is used through its ``__init__``, that
no function-local import reaches into another package, and that file names say what
a module holds.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "safe_release"
# the names a module may share with one other module at most (beyond __init__ and
# __main__, which every package has)
SHARED = {"__init__.py", "__main__.py"}
MAX_SAME_NAME = 2


def modules() -> list[Path]:
    """Every module of the package, the SDK's own Alembic revisions excluded."""
    return sorted(p for p in SRC.rglob("*.py") if "migrations/versions" not in p.as_posix())


def unit(path: Path) -> str:
    """The top-level package or ground-floor module ``path`` belongs to."""
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def imported(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module imported, inside a function) for each ``safe_release`` import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    local: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local.update(
                id(n) for n in ast.walk(node) if isinstance(n, ast.ImportFrom | ast.Import)
            )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found.extend(
            (node.lineno, target, id(node) in local)
            for target in targets
            if target.startswith("safe_release.")
        )
    return found


def reaches_inside(source: str, target: str) -> bool:
    """Whether ``target`` is a private part of a package other than ``source``."""
    parts = target.split(".")
    if len(parts) < 3 or parts[1] == source or not (SRC / parts[1]).is_dir():
        return False
    return any(p.startswith("_") and not p.startswith("__") for p in parts[2:])


def test_packages_are_used_through_their_init() -> None:
    """No module imports another package's private module (or a private name of it)."""
    wrong = [
        f"{path.relative_to(SRC)}:{line}: {target}"
        for path in modules()
        for line, target, _ in imported(path)
        if reaches_inside(unit(path), target)
    ]
    assert wrong == []


def test_no_function_local_import_of_another_package() -> None:
    """A cycle is fixed in the layering, never dodged by importing inside a function."""
    wrong = [
        f"{path.relative_to(SRC)}:{line}: {target}"
        for path in modules()
        for line, target, local in imported(path)
        if local and target.split(".")[1] != unit(path)
    ]
    assert wrong == []


def test_file_names_say_what_they_hold() -> None:
    """No file name is used by more than two modules (``_records.py`` five times was)."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        if path.name not in SHARED:
            by_name[path.name].append(str(path.relative_to(SRC)))
    assert {n: p for n, p in by_name.items() if len(p) > MAX_SAME_NAME} == {}


@pytest.mark.parametrize(
    ("source", "target", "inside"),
    [
        ("_release", "safe_release._store._engine.write_tx", True),
        ("_release", "safe_release._store.write_tx", False),
        ("_store", "safe_release._store._engine", False),  # its own package
        ("cli", "safe_release.adapters._base.MarketplaceAdapter", True),
        ("cli", "safe_release._clock.Clock", False),  # a ground-floor module
    ],
)
def test_the_check_sees_a_reach_inside(source: str, target: str, *, inside: bool) -> None:
    assert reaches_inside(source, target) is inside


PUBLIC = (
    "safe_release",
    "safe_release.adapters",
    "safe_release.migrations",
    "safe_release.testing",
)


@pytest.mark.parametrize("module", PUBLIC)
def test_public_objects_show_their_public_module(module: str) -> None:
    """``safe_release.Store``, not ``safe_release._facade.Store``, in reprs and tracebacks."""
    namespace = importlib.import_module(module)
    private = {
        name: obj.__module__
        for name in namespace.__all__
        if (inspect.isclass(obj := getattr(namespace, name)) or inspect.isfunction(obj))
        and obj.__module__.startswith("safe_release.")
        and any(p.startswith("_") for p in obj.__module__.split(".")[1:])
    }
    assert private == {}
