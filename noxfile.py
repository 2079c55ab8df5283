"""Developer tasks: ``nox -s tests minimums lint typecheck docs bench``."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "minimums", "lint", "typecheck", "docs"]
nox.options.default_venv_backend = "venv"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (PostgreSQL from $SAFE_RELEASE_TEST_PG_URL or local binaries)."""
    session.install("-e", ".[tests]")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "report")


@nox.session
def minimums(session: nox.Session) -> None:
    """The suite on the declared minimum of every direct dependency (pyproject's floors).

    uv resolves the lowest version each floor allows (``--resolution
    lowest-direct``); a floor that does not pass here is wrong.
    """
    session.install("uv")
    env = {"VIRTUAL_ENV": session.virtualenv.location}
    session.run(
        "uv",
        "pip",
        "install",
        "--compile-bytecode",
        "--resolution",
        "lowest-direct",
        "-e",
        ".[tests]",
        env=env,
    )
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole tree; the package's layers (import-linter, pyproject.toml)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "noxfile.py"
    )
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, and on a user's code of its public API.

    tests/typing/api.py is checked, never run: its marked lines must stay type errors.
    """
    session.install("-e", ".[dev]")
    session.run("mypy", "src")
    session.run("mypy", "tests/typing/api.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation in strict mode."""
    session.install("-e", ".[dev]")
    session.run("mkdocs", "build", "--strict", "-d", str(Path(session.create_tmp()) / "site"))
    # the API reference's built page (its test skips where mkdocs is not installed)
    session.run("pytest", "-p", "no:cacheprovider", "tests/test_api_reference.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and record their figures in docs/performance.md."""
    session.install("-e", ".[bench]")
    args = ["--write-docs", *session.posargs]
    for script in ("config", "throttle", "marketplaces", "restore", "exact", "migrations"):
        session.run("python", f"benchmarks/bench_{script}.py", *args)
