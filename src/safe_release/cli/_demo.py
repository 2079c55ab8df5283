"""``safe-release demo``: a narrated tour of versioned config on a local SQLite file."""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

import safe_release as sr
from safe_release.cli._output import CliError, Pointers, history_table, percent

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["PricingRules", "demo"]

_AUTHOR = "demo"
_SKUS = 10_000
_SHOWN = 3


class PricingRules(BaseModel):
    """The pricing rules a repricing job reads on every run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_margin: float = Field(ge=0, le=1, description="lowest margin a price may leave")
    max_discount: float = Field(ge=0, le=0.9, description="largest discount off list price")
    floor_prices: dict[str, PositiveFloat] = Field(description="floor price per marketplace")


V1 = PricingRules(
    min_margin=0.15,
    max_discount=0.30,
    floor_prices={"amazon_us": 9.99, "ebay_us": 9.49, "shopee_sg": 12.90},
)
V2 = V1.model_copy(
    update={"max_discount": 0.25, "floor_prices": {**V1.floor_prices, "amazon_us": 10.49}}
)
V3 = V2.model_copy(update={"min_margin": 0.12})
PricingStore = sr.ConfigStore[PricingRules]


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the demo store in this new SQLite file (default: a temporary one).",
)
def demo(db_path: Path | None) -> None:
    """Walk through publish, diff, validation, staged rollout and rollback."""
    started = time.perf_counter()
    with _location(db_path) as path, sr.connect(f"sqlite:///{path}") as store:
        click.echo(f"store: {path}")
        summary = _tour(store.config("pricing", schema=PricingRules))
    click.echo(f"\n{summary} ({time.perf_counter() - started:.1f} s)")


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


def _tour(cfg: PricingStore) -> str:
    _publish_two(cfg)
    _refuse_invalid(cfg)
    _staged_rollout(cfg)
    head = _roll_back(cfg)
    _history(cfg)
    return (
        f"demo finished: {head.version} versions of {cfg.name!r}, head v{head.version} "
        f"restores v{head.restores}; the invalid publish was refused, the rollout aborted"
    )


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _publish_two(cfg: PricingStore) -> None:
    _step("publish v1 and v2 of the pricing rules")
    v1 = cfg.publish(V1, author=_AUTHOR, message="initial rules")
    cfg.mark_good(author=_AUTHOR)
    click.echo(f"published v{v1.version} (marked good): {V1.model_dump_json()}")
    v2 = cfg.publish(
        V2, author=_AUTHOR, message="raise the Amazon US floor", expected_version=v1.version
    )
    click.echo(f"published v{v2.version} on top of v{v2.parent}")
    click.echo(str(cfg.diff(v1.version, v2.version)))


def _refuse_invalid(cfg: PricingStore) -> None:
    _step("an invalid publish is refused")
    bad = {**V2.model_dump(), "min_margin": -0.05}
    try:
        cfg.publish(bad, author=_AUTHOR, message="typo: negative margin")
    except sr.ConfigValidationError as exc:
        click.echo(f"refused with ConfigValidationError on {', '.join(exc.fields)}")
    click.echo(f"nothing was stored: the head is still v{cfg.refresh().version}")


def _staged_rollout(cfg: PricingStore) -> None:
    _step("stage v3 (lower margin) to 10% of SKUs")
    v3 = cfg.publish(
        V3, author=_AUTHOR, message="try a lower margin", rollout=sr.Rollout(percent=10)
    )
    state = cfg.rollout
    assert state is not None  # noqa: S101 - the publish above started it
    click.echo(
        f"v{v3.version} serves {percent(state.percent)} of keys; the rest stay on v{state.stable}"
    )
    for sku, version in _sample(cfg, v3.version):
        margin = cfg.value_for(sku).min_margin
        click.echo(f"  {sku} -> v{version} (min_margin {margin})")
    share = sum(cfg.for_key(f"SKU-{i:05d}").version == v3.version for i in range(_SKUS))
    click.echo(f"over {_SKUS:,} SKUs, {share:,} ({share / _SKUS:.1%}) get v{v3.version}")
    stable = cfg.abort(author=_AUTHOR)
    click.echo(f"aborted: every SKU is back on v{stable.version}")


def _sample(cfg: PricingStore, candidate: int) -> list[tuple[str, int]]:
    """The first few SKUs on the candidate and on the stable version."""
    picked: dict[bool, list[tuple[str, int]]] = {True: [], False: []}
    for i in range(_SKUS):
        sku = f"SKU-{i:05d}"
        version = cfg.for_key(sku).version
        group = picked[version == candidate]
        if len(group) < _SHOWN:
            group.append((sku, version))
        if all(len(g) == _SHOWN for g in picked.values()):
            break
    return sorted(picked[True] + picked[False])


def _roll_back(cfg: PricingStore) -> sr.ConfigVersion:
    _step("roll v2 back to v1 (rolls forward as a new version)")
    head = cfg.rollback(author=_AUTHOR, message="margin complaints: back to v1")
    click.echo(
        f"v{head.version} restores v{head.restores} (rolled back from "
        f"v{head.rolled_back_from}); Amazon US floor is "
        f"{cfg.value.floor_prices['amazon_us']} again"
    )
    return head


def _history(cfg: PricingStore) -> None:
    _step("history")
    click.echo(history_table(cfg.history(), Pointers.of(cfg)))
