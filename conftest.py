"""Collect the Python blocks of README.md and docs/*.md as tests (see tests/docs_sybil.py)."""

from tests.docs_sybil import DOCS

pytest_collect_file = DOCS.pytest()
