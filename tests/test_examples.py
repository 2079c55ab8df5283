"""Every script in examples/ runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from tests.conftest import Backend

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, backend: Backend, request: pytest.FixtureRequest) -> None:
    """The example exits 0 on a fresh database and narrates its rollback."""
    url = backend.url
    if backend.schema:
        engine = request.getfixturevalue("pg_engine")
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{backend.schema}"'))
        # examples take a plain URL: point them at the test schema via search_path
        url = (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={backend.schema}"})
            .render_as_string(hide_password=False)
        )
    out = subprocess.run(
        [sys.executable, str(script), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert out.returncode == 0, out.stderr
    assert "rolled back" in out.stdout


def test_examples_exist() -> None:
    """There is at least one example to run."""
    assert EXAMPLES
