"""safe_release.testing: the helpers users import in their own tests."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

import safe_release as sr
from safe_release import testing
from safe_release.testing import _postgres


class TestTemporaryPostgres:
    @pytest.mark.postgres
    def test_starts_serves_and_cleans_up(self) -> None:
        """A temporary server answers on 127.0.0.1 and leaves nothing behind."""
        if testing.find_postgres_bindir() is None:
            pytest.skip("no local PostgreSQL binaries")
        server = testing.TemporaryPostgres()
        url = server.start()
        assert "@127.0.0.1:" in url
        assert "running" in repr(server)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        engine.dispose()
        datadir = server._datadir
        server.stop()
        assert not datadir.exists()
        assert "stopped" in repr(server)

    def test_missing_binaries_is_a_typed_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without PostgreSQL binaries the error says what to install."""
        monkeypatch.setattr(_postgres, "find_postgres_bindir", lambda: None)
        with pytest.raises(testing.PostgresUnavailableError, match="apt-get install"):
            testing.TemporaryPostgres()
        assert issubclass(testing.PostgresUnavailableError, sr.SafeReleaseError)

    def test_shell_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The module's command line rejects bad usage with exit code 2."""
        from safe_release.testing.__main__ import main  # noqa: PLC0415

        assert main(["restart"]) == 2
        assert "usage" in capsys.readouterr().err
