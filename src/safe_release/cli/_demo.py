"""``safe-release demo``: a price sync that goes wrong and is rolled back, end to end.

FakeAmazon, FakeEbay and FakeWalmart are served on 127.0.0.1, and the store and
the ERP's prices table share one SQLite file. A good release syncs prices to the
three marketplaces; a deploy with a buggy pricing config then trips the
error-rate trigger, and one rollback puts back the table rows, the config and
the prices already pushed to Amazon, eBay and Walmart, verifies them (and each
adapter's authorisation), and records the incident. The demo says what tripped, what was restored
per kind (rows per table, config versions, marketplace writes), each rollback
step, and where the store's signing key lives.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

import safe_release as sr
from safe_release.cli import _terminal
from safe_release.cli._demo_job import BUGGY, GOOD, PRICES, PricingRules, seed, sync_prices
from safe_release.cli._demo_markets import Markets, open_markets
from safe_release.cli._demo_report import (
    Tally,
    key_file,
    key_location,
    restored_by_kind,
    trip_text,
)
from safe_release.cli._output import CliError, echo
from safe_release.cli._releases import incident_text, releases_table, steps_table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Engine

__all__ = ["demo"]

_AUTHOR = "demo"


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the demo's SQLite file (store and ERP table) here (default: a temporary one).",
)
@click.option(
    "--skus",
    type=click.IntRange(40, 2000),
    default=120,
    show_default=True,
    help="How many SKUs the demo seller lists.",
)
def demo(db_path: Path | None, skus: int) -> None:
    """A price sync to local fake Amazon, eBay and Walmart: a bad deploy is rolled back."""
    started = time.perf_counter()
    key = key_file()
    key_existed = key is None or key.exists()
    with ExitStack() as stack:
        path = stack.enter_context(_location(db_path))
        store = stack.enter_context(sr.connect(f"sqlite:///{path}"))
        markets = stack.enter_context(open_markets())
        echo(
            f"store and ERP table: {path}",
            *(f"{name}: {url} (127.0.0.1 only)" for name, url in markets.urls.items()),
            f"signing key: {key_location(key, existed_before=key_existed)}",
        )
        seed(store.engine, skus, add_listing=markets.list_item)
        pricing = store.config("pricing", schema=PricingRules)
        world = _World(store, markets, skus)
        _good_release(world, pricing)
        before = _snapshot(store.engine, markets)
        markets.reset_calls()  # from here on, no write may reach a marketplace twice
        report = _bad_release(world, pricing)
        _check_restored(store.engine, markets, before, pricing)
        _records(store)
        markets.assert_no_duplicate_writes()
    verified = report.verification.value if report.verification else "not verified"
    click.echo(
        f"\ndemo finished in {time.perf_counter() - started:.1f} s: the bad release "
        f"was {report.status.value} and {verified}"
    )


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _trigger() -> sr.ErrorRate:
    return sr.ErrorRate(max=0.05, min_calls=30)


@contextmanager
def _progress(total: int, tally: Tally) -> Iterator[Callable[[int], None]]:
    """A progress bar at a terminal; elsewhere a line at each quarter of the SKUs."""
    if _terminal.is_terminal():
        with _terminal.progress("pricing SKUs", total) as update:
            yield lambda done: update(done, f"pushed {tally.pushed}, refused {tally.refused}")
        return
    every = max(1, total // 4)

    def show(done: int) -> None:
        if done % every == 0 or done == total:
            click.echo(
                f"  priced {done}/{total} SKUs (pushed {tally.pushed}, refused {tally.refused})"
            )

    yield show


@dataclass(frozen=True)
class _World:
    """What both releases run against: the store, the marketplaces, the SKU count."""

    store: sr.Store
    markets: Markets
    skus: int

    def release(self, pricing: Any, trigger: sr.ErrorRate) -> sr.Release:
        """The price-sync release: pricing config and prices table checkpointed."""
        return sr.release(
            "price-sync",
            store=self.store,
            adapters=self.markets.adapters,
            checkpoint=[pricing, sr.table_checkpoint(self.store.engine, PRICES)],
            trigger=trigger,
        )


def _sync(rel: sr.Release, world: _World, rules: PricingRules, tally: Tally) -> None:
    """Run the job inside ``rel``, counting its own outcomes in ``tally`` as it observes them."""

    def observe(*, ok: bool) -> None:
        if ok:
            tally.pushed += 1
        else:
            tally.refused += 1
        rel.observe(ok=ok)

    with _progress(world.skus, tally) as show:
        sync_prices(world.store.engine, world.markets.push, rules, observe, show)


def _good_release(world: _World, pricing: Any) -> None:
    _step("release 1: pricing v1 (4 % off list), a normal price sync")
    with world.release(pricing, _trigger()) as rel:
        pricing.publish(GOOD, author=_AUTHOR, message="4 % off list")
        _sync(rel, world, GOOD, Tally())
    pricing.mark_good(author=_AUTHOR)
    status = rel.status.value if rel.status else "?"
    echo(f"release {rel.id[:12]} {status}; pricing v{pricing.refresh().version} marked good")


def _bad_release(world: _World, pricing: Any) -> sr.RollbackReport:
    _step("release 2: pricing v2 -- a typo makes it 40 % off; the error-rate trigger watches")
    trigger, tally = _trigger(), Tally()
    with ExitStack() as rolling:
        try:
            with world.release(pricing, trigger) as rel:
                pricing.publish(BUGGY, author=_AUTHOR, message="40 % off list (meant 4 %)")
                try:
                    _sync(rel, world, BUGGY, tally)
                except sr.RollbackTriggered:
                    what = (
                        "rolling back the ERP table, the pricing config and the prices on "
                        "Amazon, eBay and Walmart…"
                    )
                    rolling.enter_context(_terminal.working(what))
                    raise
        except sr.RollbackTriggered as exc:
            report: sr.RollbackReport = exc.rollback_report  # type: ignore[attr-defined]
        else:
            msg = "the buggy release was not stopped by its trigger"
            raise CliError(msg)
    echo(
        f"  stopped after {tally.priced} of {world.skus} SKUs",
        trip_text(trigger, rel.observations, tally),
    )
    _rolled_back(report)
    return report


def _rolled_back(report: sr.RollbackReport) -> None:
    _step("rolled back: what was put back, per kind")
    ttr = report.time_to_restore
    verified = report.verification.value if report.verification else "not verified"
    echo(
        f"release {report.release_id[:12]} {report.status.value} and {verified}"
        + (f", restored {ttr:.2f} s after the trip" if ttr is not None else ""),
        restored_by_kind(report),
        f"checks after the restore: {sum(c.ok for c in report.checks)} of "
        f"{len(report.checks)} passed",
    )
    steps = steps_table(report)
    if steps is not None:
        _step("each rollback step")
        echo(steps)


def _snapshot(engine: Engine, markets: Markets) -> tuple[dict[str, Any], dict[str, Any]]:
    with engine.connect() as conn:
        rows = {r.sku: r.price for r in conn.execute(select(PRICES.c.sku, PRICES.c.price))}
    return rows, markets.prices()


def _check_restored(engine: Engine, markets: Markets, before: Any, pricing: Any) -> None:
    _step("after the rollback")
    rows, prices = _snapshot(engine, markets)
    same_rows = rows == before[0]
    click.echo(f"ERP prices table equals the checkpoint: {same_rows}")
    same_prices = True
    for market, now in prices.items():
        same = now == before[1][market]
        same_prices = same_prices and same
        click.echo(f"{market} prices equal the ones before the release: {same}")
    rules = pricing.refresh().content
    click.echo(f"pricing config: v{pricing.refresh().version}, discount {rules['discount']}")
    if not (same_rows and same_prices and rules["discount"] == GOOD.discount):
        msg = "the demo's rollback did not restore everything (see above)"
        raise CliError(msg)


def _records(store: sr.Store) -> None:
    _step("safe-release releases list / report")
    echo(releases_table(store.releases(limit=10)))
    click.echo("")
    echo(incident_text(store.incident_report()))


@contextmanager
def _location(db_path: Path | None) -> Iterator[Path]:
    if db_path is None:
        with tempfile.TemporaryDirectory(prefix="safe-release-demo-") as tmp:
            yield Path(tmp) / "demo.db"
        return
    if db_path.exists():
        msg = f"{db_path} already exists; give the demo a new file name"
        raise CliError(msg)
    yield db_path
