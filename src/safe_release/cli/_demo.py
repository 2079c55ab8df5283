"""``safe-release demo``: a price sync that goes wrong and is rolled back, end to end.

A FakeAmazon is served on 127.0.0.1 and the store and the ERP's prices table
share one SQLite file. A good release syncs prices; a deploy with a buggy
pricing config then trips the error-rate trigger, and the release puts back
the table rows, the config and the prices already pushed to Amazon, verifies
them, and records the incident.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

import safe_release as sr
from safe_release._clock import SystemClock
from safe_release.adapters import Limit
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.cli._demo_job import BUGGY, GOOD, PRICES, PricingRules, seed, sync_prices
from safe_release.cli._output import CliError, echo
from safe_release.cli._releases import incident_text, releases_table
from safe_release.testing import FakeAmazon

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine

__all__ = ["demo"]

_AUTHOR = "demo"
_RATE, _BURST = 100.0, 20  # the demo's quota (Amazon's own is 5/s): a fast demo
_QUICK_OPS = ("getListingsItem", "patchListingsItem")


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
    """A price sync against a local FakeAmazon: a bad deploy is detected and rolled back."""
    started = time.perf_counter()
    with ExitStack() as stack:
        path = stack.enter_context(_location(db_path))
        store = stack.enter_context(sr.connect(f"sqlite:///{path}"))
        fake = FakeAmazon(clock=SystemClock())
        base_url = stack.enter_context(fake.serve())
        amazon = stack.enter_context(_adapter(fake, base_url))
        echo(f"store and ERP table: {path}\nFakeAmazon: {base_url} (127.0.0.1 only)")
        seed(store.engine, skus, add_listing=lambda sku, p: fake.add_listing(sku, price=p))
        pricing = store.config("pricing", schema=PricingRules)
        _good_release(store, pricing, amazon, skus)
        before = _snapshot(store.engine, fake)
        fake.reset_calls()  # from here on, no write may reach Amazon twice
        report = _bad_release(store, pricing, amazon, skus)
        _check_restored(store.engine, fake, before, pricing)
        _records(store)
        fake.assert_no_duplicate_writes()
    verified = report.verification.value if report.verification else "not verified"
    click.echo(
        f"\ndemo finished in {time.perf_counter() - started:.1f} s: the bad release "
        f"was {report.status.value} and {verified}"
    )


def _adapter(fake: FakeAmazon, base_url: str) -> AmazonAdapter:
    for op in _QUICK_OPS:
        fake.set_limit(op, rate=_RATE, burst=_BURST)
    creds = fake.credentials
    return AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        marketplace_id=creds.marketplace_id,
        base_url=base_url,
        token_url=base_url + "/auth/o2/token",
        timeout=5.0,
        limits={op: Limit(_RATE, _BURST) for op in _QUICK_OPS},
    )


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _progress(total: int, counts: dict[str, int]) -> Any:
    def show(done: int) -> None:
        if done % 20 == 0 or done == total:
            click.echo(
                f"  priced {done}/{total} SKUs (pushed {counts['ok']}, "
                f"refused {counts['refused']})"
            )

    return show


def _observer(rel: sr.Release, counts: dict[str, int]) -> Any:
    def observe(*, ok: bool) -> None:
        counts["ok" if ok else "refused"] += 1
        rel.observe(ok=ok)

    return observe


def _run(
    rel: sr.Release, store: sr.Store, amazon: AmazonAdapter, rules: PricingRules, skus: int
) -> None:
    counts = {"ok": 0, "refused": 0}
    sync_prices(store.engine, amazon, rules, _observer(rel, counts), _progress(skus, counts))


def _good_release(store: sr.Store, pricing: Any, amazon: AmazonAdapter, skus: int) -> None:
    _step("release 1: pricing v1 (4 % off list), a normal price sync")
    with sr.release(
        "price-sync",
        store=store,
        adapters=[amazon],
        checkpoint=[pricing, sr.table_checkpoint(store.engine, PRICES)],
        trigger=sr.ErrorRate(max=0.05, min_calls=30),
    ) as rel:
        pricing.publish(GOOD, author=_AUTHOR, message="4 % off list")
        _run(rel, store, amazon, GOOD, skus)
    pricing.mark_good(author=_AUTHOR)
    status = rel.status.value if rel.status else "?"
    echo(f"release {rel.id[:12]} {status}; pricing v{pricing.refresh().version} marked good")


def _bad_release(
    store: sr.Store, pricing: Any, amazon: AmazonAdapter, skus: int
) -> sr.RollbackReport:
    _step("release 2: pricing v2 -- a typo makes it 40 % off; the error-rate trigger watches")
    try:
        with sr.release(
            "price-sync",
            store=store,
            adapters=[amazon],
            checkpoint=[pricing, sr.table_checkpoint(store.engine, PRICES)],
            trigger=sr.ErrorRate(max=0.05, min_calls=30),
        ) as rel:
            pricing.publish(BUGGY, author=_AUTHOR, message="40 % off list (meant 4 %)")
            _run(rel, store, amazon, BUGGY, skus)
    except sr.RollbackTriggered as exc:
        echo(f"trigger tripped: {exc}")
        report: sr.RollbackReport = exc.rollback_report  # type: ignore[attr-defined]
    else:
        msg = "the buggy release was not stopped by its trigger"
        raise CliError(msg)
    _step("rolled back")
    echo(report.summary())
    return report


def _snapshot(engine: Engine, fake: FakeAmazon) -> tuple[dict[str, Any], dict[str, Any]]:
    with engine.connect() as conn:
        rows = {r.sku: r.price for r in conn.execute(select(PRICES.c.sku, PRICES.c.price))}
    return rows, dict(fake.prices)


def _check_restored(engine: Engine, fake: FakeAmazon, before: Any, pricing: Any) -> None:
    _step("after the rollback")
    rows, prices = _snapshot(engine, fake)
    same_rows, same_prices = rows == before[0], prices == before[1]
    rules = pricing.refresh().content
    click.echo(f"ERP prices table equals the checkpoint: {same_rows}")
    click.echo(f"Amazon prices equal the ones before the release: {same_prices}")
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
