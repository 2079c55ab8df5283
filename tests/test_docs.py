"""The Sybil set-up that runs the docs' Python blocks runs all of them, and fails when it should.

The blocks themselves are collected from README.md and docs/*.md by the
repository's conftest.py (``python -m pytest README.md docs``); these tests
check the machinery on pages written here, and that no block of the real pages
escapes it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sybil import Document

from tests.docs_sybil import DOCS, ROOT, is_fragment, setup_page, teardown_page

if TYPE_CHECKING:
    from sybil import Example

FENCE = re.compile(r"^```python[ \t]*$", re.MULTILINE)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def run_page(tmp_path: Path, text: str) -> list[str]:
    """Evaluate every block of a page the way the docs run; the outcome of each."""
    page = tmp_path / "page.md"
    page.write_text(text)
    document = Document.parse(str(page), *DOCS.parsers)
    setup_page(document.namespace)
    try:
        return [outcome(example) for example in document.examples()]
    finally:
        teardown_page(document.namespace)


def outcome(example: Example) -> str:
    """``"ok"``, or the name of the exception the block raised."""
    try:
        example.evaluate()
    except Exception as exc:  # noqa: BLE001 - the outcome is what is tested
        return type(exc).__name__
    return "ok"


class TestCollection:
    @pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
    def test_every_python_block_is_an_example(self, page: Path) -> None:
        """Each ```python fence of the page is collected; none is silently left out."""
        assert DOCS.should_parse(page)
        document = DOCS.parse(page)
        lines = {example.line for example in document.examples()}
        fences = {page.read_text().count("\n", 0, m.start()) + 1 for m in FENCE.finditer(
            page.read_text())}  # fmt: skip
        assert fences <= lines

    def test_only_the_docs_pages_are_collected(self) -> None:
        """README.md and docs/*.md are parsed; other Markdown and Python files are not."""
        assert DOCS.should_parse(ROOT / "README.md")
        assert DOCS.should_parse(ROOT / "docs" / "quickstart.md")
        assert not DOCS.should_parse(ROOT / "CHANGELOG.md")
        assert not DOCS.should_parse(ROOT / "tests" / "test_docs.py")
        assert not DOCS.should_parse(ROOT / "tests" / "docs" / "README.md")
        assert not DOCS.should_parse(ROOT / "examples" / "docs" / "page.md")

    def test_fragments_are_few_and_say_why(self) -> None:
        """Every fragment marker gives a reason, and most blocks really run."""
        blocks = fragments = 0
        for page in PAGES:
            document = DOCS.parse(page)
            for example in document.examples():
                blocks += 1
                fragments += is_fragment(document, example.region)
            assert "<!-- fragment -->" not in page.read_text()
        assert fragments * 4 < blocks


class TestEvaluation:
    def test_a_block_that_runs_passes_and_shares_the_page(self, tmp_path: Path) -> None:
        """Blocks run in order in one namespace per page."""
        page = "```python\nx = 1\n```\n\n```python\nassert x == 1\n```\n"
        assert run_page(tmp_path, page) == ["ok", "ok"]

    def test_a_broken_block_fails(self, tmp_path: Path) -> None:
        """A block that raises, or does not compile, fails its test."""
        page = "```python\nundefined_name\n```\n\n```python\ndef f(:\n```\n"
        assert run_page(tmp_path, page) == ["NameError", "SyntaxError"]

    def test_a_fragment_is_compiled_and_its_imports_run(self, tmp_path: Path) -> None:
        """A fragment's body does not run, but its syntax and its imports are checked."""
        page = (
            "<!-- fragment: a method body -->\n```python\nfrom decimal import Decimal\n"
            "self.price = Decimal(1)\n```\n\n```python\nassert Decimal\n```\n\n"
            "<!-- fragment: bad syntax -->\n```python\ndef f(:\n```\n\n"
            "<!-- fragment: a renamed name -->\n```python\nfrom safe_release import Nope\n```\n"
            "\n<!-- fragment: the reader's code -->\n```python\nfrom myerp.models import Base\n"
            "```\n"
        )
        assert run_page(tmp_path, page) == ["ok", "ok", "SyntaxError", "ImportError", "ok"]

    def test_a_pytest_block_fails_when_its_test_fails(self, tmp_path: Path) -> None:
        """A test-module block passes only when pytest passes every test in it."""
        page = (
            "<!-- pytest -->\n```python\ndef test_ok(fake_clock):\n    assert fake_clock\n```\n\n"
            "<!-- pytest -->\n```python\ndef test_bad():\n    assert False\n```\n\n"
            "<!-- pytest -->\n```python\nx = 1\n```\n"
        )
        assert run_page(tmp_path, page) == ["ok", "AssertionError", "AssertionError"]

    def test_blocks_use_a_scratch_store_and_key(self, tmp_path: Path) -> None:
        """sr.connect() in a block writes its store and key into the page's scratch dir."""
        page = (
            "```python\nimport os\nimport safe_release as sr\nfrom pathlib import Path\n\n"
            "with sr.connect() as store, sr.release('job', store=store):\n"
            "    store.config('c').publish({}, author='a')\n"
            "assert Path('store.db').exists() and Path('signing.key').exists()\n"
            "assert Path.home() == Path.cwd() / 'home'\n```\n"
        )
        home, cwd = os.environ.get("HOME"), Path.cwd()
        assert run_page(tmp_path, page) == ["ok"]
        assert (os.environ.get("HOME"), Path.cwd()) == (home, cwd)
