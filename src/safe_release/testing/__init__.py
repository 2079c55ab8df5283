"""Test helpers for code that uses safe_release.

Import them in your own tests:

    from safe_release.testing import FakeClock

    clock = FakeClock()
    store = sr.connect("sqlite:///test.db", clock=clock)
    clock.advance(1.5)        # the config cache's ttl has now passed
"""

from __future__ import annotations

from safe_release.testing._clock import FakeClock
from safe_release.testing._postgres import (
    PostgresUnavailableError,
    TemporaryPostgres,
    find_postgres_bindir,
)

__all__ = ["FakeClock", "PostgresUnavailableError", "TemporaryPostgres", "find_postgres_bindir"]
