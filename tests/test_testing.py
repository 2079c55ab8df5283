"""safe_release.testing: the helpers users import in their own tests."""

from __future__ import annotations

import subprocess
import sys

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

    def test_the_plugin_costs_nothing_until_a_fixture_is_used(self) -> None:
        """Loading the plugin (in every pytest run of a project) imports no safe_release."""
        code = (
            "import sys, safe_release_pytest; "
            "print(sorted(m for m in sys.modules if m.startswith('safe_release.')) "
            "or 'safe_release' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "False"

    @pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
    )
    def test_each_test_gets_a_store_of_its_own(
        self,
        pytester: pytest.Pytester,
        request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch,
        backend: str,
    ) -> None:
        """Two tests that each publish version 1 of one config both pass, on either engine."""
        if backend == "postgresql":
            monkeypatch.setenv("SAFE_RELEASE_TEST_URL", request.getfixturevalue("pg_url"))
        else:
            monkeypatch.delenv("SAFE_RELEASE_TEST_URL", raising=False)
        pytester.makepyfile(
            """
            import pytest

            @pytest.mark.parametrize("n", [1, 2])
            def test_first_version(sr_store, n):
                cfg = sr_store.config("pricing")
                assert cfg.publish({"n": n}, author="t", expected_version=0).version == 1
                assert sr_store.schema is None or sr_store.schema.startswith("sr_test_")
            """
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)
        if backend == "postgresql":  # the schemas were dropped after the tests
            engine = create_engine(request.getfixturevalue("pg_url"))
            with engine.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sr_test_%'")
                ).scalar()
            engine.dispose()
            assert left == 0
