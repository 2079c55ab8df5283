"""``on_step``: a rollback tells its caller of each step as it is done (a progress display)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import safe_release as sr
from safe_release.cli import _terminal
from safe_release.cli._releases import _noting

if TYPE_CHECKING:
    from safe_release import StepResult


class Boom(Exception):  # noqa: N818 - the job's own error
    pass


def pending(store: sr.Store) -> str:
    """A release of two configs, failed and waiting in pending_rollback; its id."""
    cfgs = [store.config(name) for name in ("pricing", "stock")]
    for cfg in cfgs:
        cfg.publish({"v": 1}, author="t")
    with (  # noqa: PT012 - the release is the block
        pytest.raises(Boom),
        sr.release("sync", store=store, checkpoint=cfgs, on_failure="manual") as rel,
    ):
        for cfg in cfgs:
            cfg.publish({"v": 2}, author="bad deploy")
        raise Boom
    return rel.id


def test_each_step_is_told_as_it_is_done(store: sr.Store) -> None:
    seen: list[StepResult] = []
    report = store.rollback(pending(store), on_step=seen.append)
    assert [s.name for s in seen] == [s.name for s in report.restored]
    assert len(seen) == 2
    assert [c.current().content for c in (store.config("pricing"), store.config("stock"))] == [
        {"v": 1},
        {"v": 1},
    ]


def test_a_failing_display_does_not_stop_the_rollback(store: sr.Store) -> None:
    def broken(step: StepResult) -> None:
        raise RuntimeError(step.name)

    report = store.rollback(pending(store), on_step=broken)
    assert report.status is sr.ReleaseStatus.ROLLED_BACK
    assert len(report.restored) == 2


def test_the_cli_bar_names_each_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """At a terminal the bar advances once per step, naming it escaped."""
    monkeypatch.setattr(_terminal, "is_terminal", lambda: True)
    monkeypatch.setattr(_terminal, "_stderr_is_terminal", lambda: True)
    notes: list[str] = []
    with _terminal.counting("rolling back") as advance:
        assert advance is not None
        on_step = _noting(lambda note: (notes.append(note), advance(note))[1])
        assert on_step is not None
        on_step(sr.StepResult(kind="config", name="config p\x1b[31m", ok=True))
        on_step(sr.StepResult(kind="table", name="orders", ok=False, detail="x"))
    assert notes == ["config config p\\x1b[31m: ok", "table orders: FAILED"]
    with _terminal.counting("rolling back", as_json=True) as nothing:
        assert nothing is None
