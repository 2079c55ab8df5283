"""``python -m safe_release.testing start|stop DATADIR``: a throw-away PostgreSQL for CI.

``start`` prints the SQLAlchemy URL of a fresh database on 127.0.0.1; ``stop``
stops the server and removes ``DATADIR``.
"""

from __future__ import annotations

import sys

from safe_release.testing._postgres import PostgresUnavailableError, TemporaryPostgres

USAGE = "usage: python -m safe_release.testing start|stop DATADIR"


def main(argv: list[str]) -> int:
    """Run the command; 0 on success, 1 on failure, 2 on bad usage."""
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:  # noqa: PLR2004
        print(USAGE, file=sys.stderr)  # noqa: T201
        return 2
    try:
        server = TemporaryPostgres(argv[1])
        if argv[0] == "start":
            print(server.start())  # noqa: T201
        else:
            server.stop()
    except PostgresUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
