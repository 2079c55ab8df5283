"""``safe-release config …``: publish, inspect, roll back and roll out configs."""

from __future__ import annotations

import getpass
import math
from typing import TYPE_CHECKING, Any

import click

import safe_release as sr
from safe_release.cli._input import read_content
from safe_release.cli._output import (
    Pointers,
    dump,
    echo,
    emit_json,
    history_json,
    history_table,
    json_option,
    list_json,
    list_table,
    percent,
    show_version,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.decorators import FC

    from safe_release.cli._app import Settings

__all__ = ["config", "read_content", "resolve_author"]

ENV_AUTHOR = "SAFE_RELEASE_AUTHOR"
_HASH_PREFIX = 12

name_argument = click.argument("name")
author_option = click.option(
    "--author",
    envvar=ENV_AUTHOR,
    metavar="NAME",
    help=f"Who makes the change [env {ENV_AUTHOR}; default: your user name].",
)
message_option = click.option("-m", "--message", default="", help="Why (kept in the history).")
pass_settings = click.pass_obj


def _number_option(flag: str, dest: str, text: str) -> Callable[[FC], FC]:
    return click.option(flag, dest, type=click.IntRange(min=1), metavar="N", help=text)


class PercentType(click.FloatRange):
    """A share of keys in (0, 100], to the 0.01 % the store keeps: else a usage error."""

    name = "percent"

    def __init__(self) -> None:
        super().__init__(0, 100, min_open=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The value as a float; NaN and shares under 0.01 % fail like the range does."""
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number.", param, ctx)
        if round(number * 100) == 0:
            self.fail(f"{number:g} is below the 0.01 % resolution.", param, ctx)
        return number


PERCENT = PercentType()
MIN_KEEP = 3

# -- input ----------------------------------------------------------------------


def resolve_author(author: str | None) -> str:
    """``--author``, else ``$SAFE_RELEASE_AUTHOR`` (via click), else the OS user."""
    if author:
        return author
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "safe-release"


# -- output helpers -----------------------------------------------------------------


def _report(version: sr.ConfigVersion, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(dump(version))
    else:
        echo(text)


def _head_line(version: sr.ConfigVersion) -> str:
    return f"{version.name} v{version.version} (hash {version.content_hash[:_HASH_PREFIX]})"


# -- reads -------------------------------------------------------------------------


@click.group()
def config() -> None:
    """Versioned configs: publish, show, history, diff, rollback, staged rollout."""


@config.command("list")
@json_option
@pass_settings
def list_(settings: Settings, *, as_json: bool) -> None:
    """List every config with its head version and rollout."""
    with settings.store() as store:
        rows = []
        for name in store.configs():
            cfg = store.config(name)
            rows.append((cfg.refresh(), cfg.rollout))
    if as_json:
        emit_json(list_json(rows))
    elif not rows:
        click.echo("no configs yet; publish one with 'safe-release config publish NAME FILE'")
    else:
        echo(list_table(rows))


@config.command()
@name_argument
@_number_option("--version", "number", "Show version N instead of the head.")
@json_option
@pass_settings
def show(settings: Settings, *, name: str, number: int | None, as_json: bool) -> None:
    """Show a version's metadata and content (default: the head)."""
    with settings.store() as store:
        cfg = store.config(name)
        version = cfg.get(number) if number is not None else cfg.refresh()
    if as_json:
        emit_json(dump(version))
    else:
        echo(show_version(version))


@config.command()
@name_argument
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    metavar="N",
    help="Show at most N versions.",
)
@json_option
@pass_settings
def history(settings: Settings, *, name: str, limit: int, as_json: bool) -> None:
    """List versions newest first, marking the head, good and rollback versions."""
    with settings.store() as store:
        cfg = store.config(name)
        at = Pointers.of(cfg)
        versions = cfg.history(limit=limit)
    if as_json:
        emit_json(history_json(cfg.name, at, versions))
    else:
        echo(history_table(versions, at))


@config.command()
@name_argument
@click.argument("a", type=click.IntRange(min=1))
@click.argument("b", type=click.IntRange(min=1))
@json_option
@pass_settings
def diff(settings: Settings, *, name: str, a: int, b: int, as_json: bool) -> None:
    """Show what changed from version A to version B, one line per key."""
    with settings.store() as store:
        changes = store.config(name).diff(a, b)
    if as_json:
        emit_json(dump(changes))
    else:
        echo(str(changes))


# -- writes ------------------------------------------------------------------------


@config.command()
@name_argument
@click.argument("file")
@author_option
@message_option
@click.option(
    "--expected-version",
    type=click.IntRange(min=0),
    metavar="N",
    help="Refuse unless the head is vN (0: the config must be new).",
)
@click.option(
    "--rollout",
    "rollout_percent",
    type=PERCENT,
    metavar="PERCENT",
    help="Stage the version to PERCENT of keys instead of making it the head.",
)
@json_option
@pass_settings
def publish(
    settings: Settings,
    *,
    name: str,
    file: str,
    author: str | None,
    message: str,
    expected_version: int | None,
    rollout_percent: float | None,
    as_json: bool,
) -> None:
    """Publish FILE (JSON or YAML; - reads stdin) as the next version of NAME."""
    content = read_content(file)
    rollout = None if rollout_percent is None else sr.Rollout(percent=rollout_percent)
    with settings.store(write=True) as store:
        version = store.config(name).publish(
            content,
            author=resolve_author(author),
            message=message,
            expected_version=expected_version,
            rollout=rollout,
        )
    staged = f" as a staged rollout to {percent(rollout.percent)} of keys" if rollout else ""
    _report(version, as_json, f"published {_head_line(version)}{staged}")


@config.command()
@name_argument
@_number_option(
    "--to", "target", "Restore version N (default: the version before the head's content)."
)
@author_option
@message_option
@click.option(
    "--expected-version",
    type=click.IntRange(min=1),
    metavar="N",
    help="Refuse unless the head is still vN (so two operators never walk back twice).",
)
@json_option
@pass_settings
def rollback(
    settings: Settings,
    *,
    name: str,
    target: int | None,
    author: str | None,
    message: str,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Roll back by publishing a new version equal to an older one."""
    with settings.store(write=True) as store:
        cfg = store.config(name)
        before = cfg.refresh().version
        version = cfg.rollback(
            target,
            author=resolve_author(author),
            message=message,
            expected_version=expected_version,
        )
    if version.version == before:
        text = f"aborted the staged rollout; {_head_line(version)} stays the head"
    else:
        text = (
            f"rolled back {version.name}: v{version.version} restores "
            f"v{version.restores} (rolled back from v{version.rolled_back_from})"
        )
    _report(version, as_json, text)


@config.command("mark-good")
@name_argument
@_number_option("--version", "number", "Mark version N instead of the head.")
@author_option
@json_option
@pass_settings
def mark_good(
    settings: Settings, *, name: str, number: int | None, author: str | None, as_json: bool
) -> None:
    """Record a version (default: the head) as the last known good one."""
    with settings.store(write=True) as store:
        version = store.config(name).mark_good(number, author=resolve_author(author))
    _report(version, as_json, f"marked {_head_line(version)} as good")


@config.command()
@name_argument
@click.option(
    "--percent",
    "widen_to",
    type=PERCENT,
    metavar="P",
    help="Widen the rollout to P % of keys (default: make the candidate the head).",
)
@author_option
@json_option
@pass_settings
def promote(
    settings: Settings, *, name: str, widen_to: float | None, author: str | None, as_json: bool
) -> None:
    """Widen a staged rollout, or finish it by making the candidate the head."""
    with settings.store(write=True) as store:
        version = store.config(name).promote(percent=widen_to, author=resolve_author(author))
    if widen_to is None:
        text = f"promoted {_head_line(version)} to head"
    else:
        text = f"widened the rollout of {_head_line(version)} to {percent(widen_to)} of keys"
    _report(version, as_json, text)


@config.command()
@name_argument
@author_option
@json_option
@pass_settings
def abort(settings: Settings, *, name: str, author: str | None, as_json: bool) -> None:
    """Stop a staged rollout; every key gets the stable head again."""
    with settings.store(write=True) as store:
        version = store.config(name).abort(author=resolve_author(author))
    _report(version, as_json, f"aborted the staged rollout; {_head_line(version)} stays the head")


@config.command()
@name_argument
@click.option(
    "--keep",
    type=click.IntRange(min=MIN_KEEP),
    required=True,
    metavar="N",
    help=f"Keep the newest N versions (at least {MIN_KEEP}).",
)
@author_option
@json_option
@pass_settings
def prune(settings: Settings, *, name: str, keep: int, author: str | None, as_json: bool) -> None:
    """Delete old versions (never the head, the good one or a rollout candidate)."""
    with settings.store(write=True) as store:
        deleted = store.config(name).prune(keep=keep, author=resolve_author(author))
    if as_json:
        emit_json({"name": name, "deleted": deleted})
    elif deleted:
        echo(
            f"deleted {len(deleted)} version(s) of {name}: " + ", ".join(f"v{n}" for n in deleted)
        )
    else:
        echo(f"nothing to prune in {name}")
