"""safe-release releases / rollback / recover / report, on both backends."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

import safe_release as sr
from safe_release.cli._app import cli
from tests.sealing import reseal

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.testing import FakeClock
    from tests.conftest import Backend

_PARTS: dict[str, Any] = {}


def release_parts() -> dict[str, Any]:
    """What ``--with tests.test_cli_releases:release_parts`` hands the CLI."""
    return _PARTS


@pytest.fixture(name="run")
def fixture_run(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Invoke the CLI against the backend under test."""
    monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
    monkeypatch.delenv("SAFE_RELEASE_SCHEMA", raising=False)
    base = ["--url", backend.url] + (["--schema", backend.schema] if backend.schema else [])

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, [*base, *args])

    return run


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def _fail(store: sr.Store, *, manual: bool = False, name: str = "sync") -> str:
    """A release whose job raised; its id."""
    rel = sr.release(name, store=store, on_failure="manual" if manual else "rollback")
    with pytest.raises(RuntimeError), rel:
        raise RuntimeError("boom")
    return rel.id


class TestReleases:
    def test_list_and_show(
        self, store: sr.Store, run: Callable[..., Result], clock: FakeClock
    ) -> None:
        """list prints newest first; show accepts the printed 12-character prefix."""
        with sr.release("sync", store=store):
            pass
        clock.advance(60)
        failed = _fail(store)
        out = _ok(run("releases", "list")).stdout
        assert out.index(failed[:12]) < out.index("succeeded")
        assert "rolled_back" in out
        assert "RuntimeError: boom" in out
        shown = _ok(run("releases", "show", failed[:12])).stdout
        assert failed in shown
        assert "status:" in shown
        assert "rolled_back" in shown
        data = json.loads(_ok(run("releases", "show", failed, "--json")).stdout)
        assert data["id"] == failed
        assert data["status"] == "rolled_back"

    def test_list_empty_and_unknown_id(self, store: sr.Store, run: Callable[..., Result]) -> None:
        """No releases: a plain sentence; an unknown id: exit 1 with advice."""
        del store
        assert "no releases recorded yet" in _ok(run("releases", "list")).stdout
        result = run("releases", "show", "0123456789ab")
        assert result.exit_code == 1
        assert "no release with an id starting" in result.stderr


class TestRollbackAndRecover:
    def test_manual_rollback(self, store: sr.Store, run: Callable[..., Result]) -> None:
        """A pending_rollback release is rolled back by 'safe-release rollback ID'."""
        cfg = store.config("pricing")
        cfg.publish({"v": 1}, author="t")
        rel = sr.release("sync", store=store, checkpoint=[cfg], on_failure="manual")

        def job() -> None:
            with rel:
                cfg.publish({"v": 2}, author="t")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            job()
        assert store.release_record(rel.id).status is sr.ReleaseStatus.PENDING_ROLLBACK
        assert cfg.refresh().content == {"v": 2}
        out = _ok(run("rollback", rel.id[:12])).stdout
        assert "rolled_back" in out
        assert cfg.refresh().content == {"v": 1}
        again = run("rollback", rel.id)
        assert again.exit_code == 1  # already rolled back: refused, with advice
        assert "error:" in again.stderr

    def test_recover_nothing_to_do(self, store: sr.Store, run: Callable[..., Result]) -> None:
        """recover with nothing left half-done says so and exits 0."""
        _fail(store)
        assert "nothing to recover" in _ok(run("recover")).stdout
        assert json.loads(_ok(run("recover", "--json")).stdout) == []

    def test_recover_with_resources(self, store: sr.Store, run: Callable[..., Result]) -> None:
        """--with module:function hands recover the job's live checkpoints."""
        restored: list[object] = []
        cp = sr.checkpoint(lambda: {"n": 1}, restored.append, name="counter")
        _PARTS["checkpoint"] = [cp]
        rel = sr.release("sync", store=store, checkpoint=[cp])
        rel.__enter__()  # the job "crashes": the release stays running ...
        t = store.tables.release
        with store.engine.begin() as conn:  # ... and its rollback had started
            conn.execute(t.update().where(t.c.id == rel.id).values(status="rolling_back"))
        reseal(store)
        assert rel._lock is not None
        rel._lock.close()
        out = _ok(run("recover", "--with", "tests.test_cli_releases:release_parts")).stdout
        assert "rolled_back" in out
        assert restored == [{"n": 1}]
        rel._unbind()
        _PARTS.clear()

    def test_recover_says_what_it_left(self, backend: Backend, run: Callable[..., Result]) -> None:
        """A rollback whose scope a live process holds is listed as left for later."""
        with (
            sr.connect(backend.url, schema=backend.schema) as store,
            sr.release("sync", store=store) as rel,
        ):  # real clock: a live lease
            t = store.tables.release
            with store.engine.begin() as conn:
                conn.execute(t.update().where(t.c.id == rel.id).values(status="rolling_back"))
            reseal(store)
            out = _ok(run("recover")).stdout
            assert "left for later" in out
            assert rel.id[:12] in out
            assert "nothing recovered now" in out

    @pytest.mark.parametrize("spec", ["nocolon", "no_such_module_xyz:f", "json:no_such_attr"])
    def test_bad_with(self, store: sr.Store, run: Callable[..., Result], spec: str) -> None:
        """A --with that cannot be loaded exits 1 with advice, nothing recovered."""
        del store
        result = run("recover", "--with", spec)
        assert result.exit_code == 1
        assert "--with" in result.stderr or "cannot load" in result.stderr


class TestReport:
    def test_report(self, store: sr.Store, run: Callable[..., Result]) -> None:
        """Change failure rate and time-to-restore, as text and JSON."""
        with sr.release("sync", store=store):
            pass
        _fail(store)
        text = _ok(run("report")).stdout
        assert "change failure rate:" in text
        assert "50.0%" in text
        data = json.loads(_ok(run("report", "--json")).stdout)
        assert (data["releases"], data["failed"]) == (2, 1)
        assert data["ttr_median"] is not None
