"""What every benchmark script shares: where PostgreSQL comes from, where figures go."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from safe_release.testing import PostgresUnavailableError, TemporaryPostgres

PG_ENVS = ("SAFE_RELEASE_BENCH_PG_URL", "SAFE_RELEASE_TEST_PG_URL")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
INTRO = (
    "# Performance\n\n"
    "How fast safe_release is, measured by the scripts in `benchmarks/`; "
    "re-run with `nox -s bench`.\n"
)


def markers(name: str) -> tuple[str, str]:
    """The comments that delimit benchmark ``name``'s section of the performance page."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_docs(name: str, section: str, path: Path = DOCS) -> None:
    """Replace ``name``'s section (adding the file and markers if absent)."""
    start_mark, end_mark = markers(name)
    text = path.read_text(encoding="utf-8") if path.exists() else INTRO
    start, end = text.find(start_mark), text.find(end_mark)
    if start == -1 or end < start:
        text = text.rstrip("\n") + f"\n\n{start_mark}\n{end_mark}\n"
        start, end = text.find(start_mark), text.find(end_mark)
    text = text[: start + len(start_mark)] + "\n" + section + text[end:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: --pg-url, --quick, --no-local-pg, --write-docs."""
    out = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    out.add_argument("--pg-url", help="PostgreSQL URL (default: $" + ", $".join(PG_ENVS) + ")")
    out.add_argument("--quick", action="store_true", help="small sizes, for CI smoke runs")
    out.add_argument(
        "--no-local-pg",
        action="store_true",
        help="without a URL, skip PostgreSQL instead of starting a local one",
    )
    out.add_argument(
        "--write-docs", action="store_true", help="write the results into docs/performance.md"
    )
    return out


def postgres_url(args: argparse.Namespace, stack: contextlib.ExitStack) -> str | None:
    """PostgreSQL from --pg-url or the environment, else a throw-away local server.

    The local server lives as long as ``stack``; None when there is none to be had.
    """
    url: str | None = args.pg_url or next(
        (os.environ[e] for e in PG_ENVS if os.environ.get(e)), None
    )
    if url is None and not args.no_local_pg:
        with contextlib.suppress(PostgresUnavailableError):
            url = stack.enter_context(TemporaryPostgres())
    return url
