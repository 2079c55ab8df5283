"""``safe-release releases|rollback|recover|report``: releases, their rollbacks and incidents.

``rollback`` and ``recover`` restore what the store alone can restore (config,
tables in the store's own database, marketplace writes need their adapters).
Give ``--with module:function`` to hand them the job's live checkpoints and
adapters: the function returns a mapping (or object) with ``checkpoint`` and
``adapters`` sequences, built exactly as the job builds them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from safe_release import _release as _releases
from safe_release.cli._output import (
    CliError,
    Table,
    dump,
    echo,
    emit_json,
    fields,
    json_option,
    table,
    visible,
    when,
)
from safe_release.cli._terminal import counting

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    import safe_release as sr
    from safe_release.cli._app import Settings

__all__ = ["recover", "releases", "report", "rollback"]

_ERROR_WIDTH = 60
_WAITING = ("rolling_back", "rollback_failed")


def _when(moment: datetime | None) -> str:
    return when(moment) if moment is not None else "-"


def _short(text: str | None, width: int = _ERROR_WIDTH) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _ttr(record: Any) -> str:
    report = record.report
    seconds = report.time_to_restore if report is not None else None
    return f"{seconds:.2f}s" if seconds is not None else "-"


def releases_table(records: Sequence[Any]) -> Table:
    """Releases, newest first: id, name, scope, status, verification, times."""
    headers = ("ID", "NAME", "SCOPE", "STATUS", "VERIFIED", "STARTED", "TTR", "ERROR")
    rows = [
        (
            r.id[:12],
            r.name,
            r.scope,
            r.status.value if r.tampered is None else "UNVERIFIED",
            r.verification.value if r.verification else "-",
            _when(r.started_at),
            _ttr(r),
            _short(r.error),
        )
        for r in records
    ]
    return table(headers, rows)


def steps_table(report: sr.RollbackReport) -> Table | None:
    """Each step of a rollback (restores, compensations, kept writes, checks) and its outcome."""
    steps = [*report.restored, *report.failed, *report.kept, *report.checks]
    if not steps:
        return None
    return table(
        ("STEP", "NAME", "OK", "DETAIL"),
        [(s.kind, s.name, "yes" if s.ok else "no", _short(s.detail)) for s in steps],
    )


def report_parts(report: sr.RollbackReport) -> list[str]:
    """A rollback report for `echo`: its summary, then its step table."""
    steps = steps_table(report)
    return [report.summary()] if steps is None else [report.summary(), "", steps]


def _show(record: Any) -> list[str]:
    pairs = [
        ("release", record.id),
        ("name", record.name),
        ("scope", record.scope),
        ("status", record.status.value),
        ("verification", record.verification.value if record.verification else "-"),
        ("started", _when(record.started_at)),
        ("detected", _when(record.detected_at)),
        ("rollback started", _when(record.rollback_started_at)),
        ("restored", _when(record.restored_at)),
        ("verified", _when(record.verified_at)),
        ("finished", _when(record.finished_at)),
        ("error", record.error or "-"),
    ]
    if record.tampered is not None:
        pairs.append(("integrity", "DOES NOT VERIFY: " + record.tampered))
    parts = [fields(pairs)]
    if record.report is not None:
        parts += ["", *report_parts(record.report)]
    return parts


@click.group()
def releases() -> None:
    """Releases recorded in the store: list them, show one."""


@releases.command("list")
@click.option("--scope", help="Only releases of this scope.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@click.pass_obj
def list_(settings: Settings, *, scope: str | None, limit: int, as_json: bool) -> None:
    """The newest releases first, with status, verification and time-to-restore."""
    with settings.store() as store:
        records = store.releases(scope=scope, limit=limit)
    if as_json:
        emit_json([dump(r) for r in records])
    elif records:
        echo(releases_table(records))
    else:
        echo("no releases recorded yet")


@releases.command()
@click.argument("release_id")
@json_option
@click.pass_obj
def show(settings: Settings, release_id: str, *, as_json: bool) -> None:
    """One release: its times, error, and the report of its rollback."""
    with settings.store() as store:
        record = store.release_record(_full_id(store, release_id))
    if as_json:
        emit_json(dump(record))
    else:
        echo(*_show(record))


@releases.command()
@click.argument("release_id")
@click.option(
    "--force",
    is_flag=True,
    help="Also re-seal rows whose seal does not verify (altered after sealing).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_obj
def resign(settings: Settings, release_id: str, *, force: bool, yes: bool, as_json: bool) -> None:
    """Seal a release's records again, after you have checked them ('releases show')."""
    with settings.store() as store:
        full = _full_id(store, release_id)
        if not yes:
            echo(*_show(store.release_record(full)))
            click.confirm(
                "\nThese records will be trusted by rollback and recover. Seal them?", abort=True
            )
        result = _releases.resign_release(store, full, force=force)
    if as_json:
        emit_json({"release_id": full, "sealed": dict(result)})
    else:
        echo(f"sealed {result.total} record(s) of release {full}")


def _full_id(store: sr.Store, prefix: str) -> str:
    """Accept the 12-character prefix the tables print."""
    if len(prefix) >= 32:  # noqa: PLR2004 - a whole id
        return prefix
    matches = [r.id for r in store.releases(limit=10_000) if r.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    what = "no release" if not matches else f"{len(matches)} releases"
    msg = f"{what} with an id starting {prefix!r}; give more of the id"
    raise CliError(msg)


_WITH = click.option(
    "--with",
    "resources",
    metavar="MODULE:FUNCTION",
    help="A function returning the job's live checkpoints and adapters "
    "({'checkpoint': [...], 'adapters': [...]}).",
)


def load_resources(spec: str | None) -> tuple[list[Any], list[Any]]:
    """Import ``module:function`` and call it for (checkpoints, adapters)."""
    if not spec:
        return [], []
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        msg = f"--with takes MODULE:FUNCTION (e.g. myerp.jobs:release_parts), not {spec!r}"
        raise CliError(msg)
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot load {spec!r} ({exc}); check the module is importable from here"
        raise CliError(msg) from exc
    parts = factory()

    def get(key: str) -> list[Any]:
        value = parts.get(key, ()) if isinstance(parts, Mapping) else getattr(parts, key, ())
        return list(value)

    return get("checkpoint"), get("adapters")


def _print_reports(reports: Sequence[sr.RollbackReport], *, as_json: bool) -> None:
    if as_json:
        emit_json([dump(r) for r in reports])
        return
    for rep in reports:
        echo(*report_parts(rep))


def _failed(reports: Sequence[sr.RollbackReport]) -> list[sr.RollbackReport]:
    return [r for r in reports if r.failed]


@click.command()
@click.argument("release_id")
@_WITH
@json_option
@click.pass_obj
def rollback(settings: Settings, release_id: str, *, resources: str | None, as_json: bool) -> None:
    """Roll back a release waiting in pending_rollback (or finish a failed rollback)."""
    checkpoints, adapters = load_resources(resources)
    with settings.store(write=True) as store:
        full = _full_id(store, release_id)
        doing = f"rolling back release {visible(full[:12])}"
        with counting(doing, as_json=as_json) as advance:
            rep = store.rollback(
                full, checkpoint=checkpoints, adapters=adapters, on_step=_noting(advance)
            )
    _print_reports([rep], as_json=as_json)
    if rep.failed:
        msg = "the rollback is not complete; fix the cause and run 'safe-release recover'"
        raise CliError(msg)


@click.command()
@_WITH
@json_option
@click.pass_obj
def recover(settings: Settings, *, resources: str | None, as_json: bool) -> None:
    """Finish every rollback a crash left half-done (safe to run twice)."""
    checkpoints, adapters = load_resources(resources)
    with settings.store(write=True) as store:
        with counting("finishing interrupted rollbacks", as_json=as_json) as advance:
            reports = store.recover(
                checkpoint=checkpoints, adapters=adapters, on_step=_noting(advance)
            )
        waiting = [
            r
            for r in _releases.releases(store, statuses=_WAITING, limit=0)
            if r.id not in {rep.release_id for rep in reports}
        ]
    if not as_json and waiting:
        echo(
            "left for later (a live process or an unexpired lease holds the scope; "
            "run recover again once it ends):"
        )
        echo(releases_table(waiting))
    if not reports and not as_json:
        echo("nothing recovered now" if waiting else "nothing to recover")
        return
    _print_reports(reports, as_json=as_json)
    if _failed(reports):
        msg = f"{len(_failed(reports))} release(s) still not fully restored (see above)"
        raise CliError(msg)


@click.command()
@click.option("--scope", help="Only releases of this scope.")
@json_option
@click.pass_obj
def report(settings: Settings, *, scope: str | None, as_json: bool) -> None:
    """Time-to-restore (median, p90) and change failure rate."""
    with settings.store() as store:
        stats = store.incident_report(scope=scope)
    if as_json:
        emit_json(dump(stats))
        return
    echo(incident_text(stats))


def incident_text(stats: Any) -> str:
    """The incident figures as aligned ``key: value`` lines."""

    def seconds(value: float | None) -> str:
        return f"{value:.2f} s" if value is not None else "-"

    return fields(
        [
            ("releases", str(stats.releases)),
            ("failed", str(stats.failed)),
            ("change failure rate", f"{stats.change_failure_rate:.1%}"),
            ("time to restore, median", seconds(stats.ttr_median)),
            ("time to restore, p90", seconds(stats.ttr_p90)),
        ]
    )


def _noting(advance: Callable[[str], None] | None) -> Callable[[sr.StepResult], None] | None:
    """An ``on_step`` that moves the progress bar on, naming each step (escaped)."""
    if advance is None:
        return None
    done = advance

    def on_step(step: sr.StepResult) -> None:
        mark = "ok" if step.ok else "FAILED"
        done(visible(f"{step.kind} {step.name}: {mark}")[:80])

    return on_step
