"""The ``safe-release`` command line (needs the ``cli`` extra: click and PyYAML).

Run ``safe-release --help``. The command groups live in private modules, one per
group: ``config``, ``db`` and ``demo``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

HINT = (
    "safe-release: the command line needs click and PyYAML; run: pip install 'safe-release[cli]'"
)


def main() -> None:
    """Run the ``safe-release`` command; exits with its exit code."""
    try:
        import click  # noqa: F401, PLC0415 - optional extra, checked before use
        import yaml  # noqa: F401, PLC0415 - optional extra, checked before use
    except ImportError:
        print(HINT, file=sys.stderr)
        raise SystemExit(1) from None
    from safe_release.cli._app import cli  # noqa: PLC0415 - needs the extra

    cli.main(prog_name="safe-release")
