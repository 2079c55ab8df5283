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


class TestPytestPlugin:
    def test_fixtures_work_together(
        self, amazon_adapter, fake_amazon, sr_store, fake_clock
    ) -> None:
        """The plugin's fixtures give a fake Amazon, an adapter wired to it, and a store."""
        from decimal import Decimal  # noqa: PLC0415

        fake_amazon.add_listing("SKU-1", price=Decimal("5.00"), quantity=1)
        assert amazon_adapter.get_price("SKU-1") == Decimal("5.00")
        assert amazon_adapter.clock is fake_clock
        assert sr_store.config("p").publish({"a": 1}, author="t").version == 1
        assert sr_store.clock is fake_clock

    def test_plugin_is_registered(self, pytestconfig: pytest.Config) -> None:
        """The pytest11 entry point registers the plugin for every installed project."""
        assert pytestconfig.pluginmanager.has_plugin("safe_release")
