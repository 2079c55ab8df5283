"""Run the Python blocks of README.md and docs/*.md with Sybil.

Every ```python block is an example. A block runs as written, in order, in one
namespace per page, so a later block may use what an earlier block of the same
page defined, as a reader would. A block that cannot run on its own (a method
body, a revision file's functions, a snippet that needs an ERP the docs do not
build) is marked by the HTML comment ``<!-- fragment: why -->`` on the line
before its fence. A fragment is compiled, and its import statements run (but
those of `READERS_PACKAGES`, which stand for the reader's code), so a renamed
module or a syntax error still fails; the rest of it does not run.

A block that is a pytest test module (docs/testing.md is made of them) is
marked ``<!-- pytest -->``. It is written to a file of its own and run by
pytest in a subprocess, with the safe_release plugin loaded as a user's suite
would have it; every test in it must pass, and at least one must run.

Each page gets a scratch directory as its working directory, with
``$SAFE_RELEASE_URL`` pointing at an SQLite file there, ``$SAFE_RELEASE_KEY_FILE``
and ``$HOME`` inside it: ``sr.connect()`` in a block never touches the real
home or the repository. The directory holds a copy of examples/erp_migrations
(its ``alembic.ini`` is the one the migration pages use, as they say). A page
whose example assumes an ERP (a prices table, an Amazon adapter) builds one in
a hidden ``invisible-code-block`` with `tests.docs_world.price_sync_world`.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sybil import Sybil
from sybil.evaluators.python import PythonEvaluator, pad
from sybil.parsers.markdown import PythonCodeBlockParser

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sybil import Document, Example, Region

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "docs/*.md")

# The marker on the line just before a fence: <!-- fragment: a reason -->
FRAGMENT = re.compile(r"<!--\s*fragment:\s*(?P<why>\S[^\n]*?)\s*-->[ \t]*\n[ \t]*\Z")
# The marker of a test module: <!-- pytest -->
PYTEST = re.compile(r"<!--\s*pytest\s*-->[ \t]*\n[ \t]*\Z")
_OUTCOME = re.compile(r"(?P<count>\d+) (?P<outcome>passed|failed|error|errors|skipped|xfailed)")

# Packages that stand for the reader's own code: a fragment's imports of them are not run.
READERS_PACKAGES = frozenset({"myerp"})

_SCRATCH = "_docs_scratch"
_SAVED = "_docs_saved"
_ENV = (
    "SAFE_RELEASE_URL",
    "SAFE_RELEASE_KEY_FILE",
    "SAFE_RELEASE_SIGNING_KEY",
    "ERP_DATABASE_URL",
    "HOME",
)
# The Alembic project the migration pages run in (they say so).
ERP_PROJECT = ROOT / "examples" / "erp_migrations"


def compile_fragment(example: Example) -> None:
    """Compile a fragment and run only its imports, in the page's namespace."""
    __tracebackhide__ = True
    source = pad(example.parsed, example.line + example.parsed.line_offset)
    tree = compile(source, example.path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    imports = [node for node in ast.walk(tree) if _imports_ours(node)]
    module = ast.Module(body=imports, type_ignores=[])
    exec(compile(module, example.path, "exec", dont_inherit=True), example.namespace)  # noqa: S102
    example.namespace.pop("__builtins__", None)


def _imports_ours(node: ast.AST) -> bool:
    """Whether ``node`` imports something other than the reader's own packages."""
    if isinstance(node, ast.ImportFrom):
        names = [node.module or ""] if node.level == 0 else []
    elif isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        return False
    return any(name.partition(".")[0] not in READERS_PACKAGES for name in names)


def run_with_pytest(example: Example) -> None:
    """Run a test-module block with pytest in a subprocess; every test in it must pass."""
    __tracebackhide__ = True
    here = Path(example.namespace[_SCRATCH]) / f"block_line{example.line}"
    here.mkdir()
    module = here / f"test_{Path(example.path).stem.replace('-', '_')}_line{example.line}.py"
    module.write_text(example.parsed)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
         "--rootdir", str(here), str(module)],
        cwd=here.parent, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    outcomes = {m["outcome"]: int(m["count"]) for m in _OUTCOME.finditer(run.stdout)}
    if run.returncode != 0 or set(outcomes) != {"passed"}:
        msg = f"pytest on the block at line {example.line} gave {outcomes}:\n{run.stdout}"
        raise AssertionError(msg + run.stderr)


def _marked(pattern: re.Pattern[str], document: Document, region: Region) -> bool:
    """Whether the fence of ``region`` is directly preceded by the marker ``pattern``."""
    return pattern.search(document.text, 0, region.start) is not None


def is_fragment(document: Document, region: Region) -> bool:
    """Whether the block of ``region`` is marked as a fragment."""
    return _marked(FRAGMENT, document, region)


class DocsParser:
    """Sybil's Python code-block parser, with fragments routed to `compile_fragment`."""

    def __init__(self) -> None:
        self._blocks = PythonCodeBlockParser()
        self._run = PythonEvaluator()

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self._blocks(document):
            if is_fragment(document, region):
                region.evaluator = compile_fragment
            elif _marked(PYTEST, document, region):
                region.evaluator = run_with_pytest
            else:
                region.evaluator = self._run
            yield region


def setup_page(namespace: dict[str, Any]) -> None:
    """Give the page a scratch directory, store URL, key file, home and the example ERP."""
    scratch = Path(tempfile.mkdtemp(prefix="sr-docs-"))
    namespace[_SCRATCH] = scratch
    namespace[_SAVED] = (Path.cwd(), {name: os.environ.get(name) for name in _ENV})
    (scratch / "home").mkdir()
    os.environ["HOME"] = str(scratch / "home")
    os.environ["SAFE_RELEASE_URL"] = f"sqlite:///{scratch / 'store.db'}"
    os.environ["SAFE_RELEASE_KEY_FILE"] = str(scratch / "signing.key")
    os.environ.pop("SAFE_RELEASE_SIGNING_KEY", None)
    os.environ.pop("ERP_DATABASE_URL", None)
    shutil.copytree(ERP_PROJECT, scratch, dirs_exist_ok=True)
    os.chdir(scratch)


def teardown_page(namespace: dict[str, Any]) -> None:
    """Restore the working directory and environment; remove the scratch directory."""
    cwd, env = namespace.pop(_SAVED)
    os.chdir(cwd)
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(namespace.pop(_SCRATCH), ignore_errors=True)


class DocsSybil(Sybil):
    """A Sybil that parses the top-level README.md and docs/*.md, and nothing deeper.

    (Sybil's own patterns match from the right: ``docs/*.md`` would also take
    ``tests/x/docs/a.md``.)
    """

    def should_parse(self, path: Path) -> bool:
        """Whether ``path`` is README.md or a page directly in docs/."""
        try:
            relative = Path(path).resolve().relative_to(ROOT)
        except ValueError:
            return False
        return any(relative.match(pattern) and len(relative.parts) == len(Path(pattern).parts)
                   for pattern in PAGES)  # fmt: skip


DOCS = DocsSybil(
    parsers=[DocsParser()],
    patterns=PAGES,
    path=str(ROOT),
    setup=setup_page,
    teardown=teardown_page,
)
