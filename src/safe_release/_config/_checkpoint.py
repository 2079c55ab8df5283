"""A `ConfigStore` as a checkpoint: capture its head, restore by rolling back (forward).

Also what retention needs to know of checkpoints (the versions they still refer
to), read from the store's checkpoint table.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from safe_release.exceptions import ConfigNotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from safe_release._checkpoints import CheckpointContext, JsonState
    from safe_release._config._configstore import ConfigStore
    from safe_release._store import Tables

__all__ = ["capture", "live_config_versions", "restore", "verify"]

AUTHOR = "safe_release"
LIVE = ("captured", "restoring", "failed")
"""Statuses of a checkpoint that may still be restored: its version must be kept."""


def capture(cfg: ConfigStore[Any], ctx: CheckpointContext) -> JsonState:
    """The head's version number and content hash (no content: it stays in the store)."""
    del ctx
    try:
        head = cfg.refresh()
    except ConfigNotFoundError:
        return {"config": cfg.name, "version": None, "content_hash": None}
    return {"config": cfg.name, "version": head.version, "content_hash": head.content_hash}


def restore(cfg: ConfigStore[Any], state: JsonState, ctx: CheckpointContext) -> str:
    """Roll the head back to the captured version, unless it already carries its content."""
    version, wanted = state.get("version"), state.get("content_hash")
    if not isinstance(version, int):
        return "had no version when captured; left as it is"
    head = cfg.refresh()
    if head.content_hash == wanted:
        if cfg.rollout is None:
            return f"head v{head.version} already carries v{version}'s content"
        cfg.abort(author=AUTHOR)
        return f"aborted the rollout; head v{head.version} carries v{version}'s content"
    done = cfg.rollback(
        to=version, author=AUTHOR, message=f"restore checkpoint of release {ctx.release_id}"
    )
    return f"rolled back to v{version}'s content as v{done.version}"


def verify(cfg: ConfigStore[Any], state: JsonState, ctx: CheckpointContext) -> tuple[bool, str]:
    """Whether the head carries the captured version's content."""
    del ctx
    version, wanted = state.get("version"), state.get("content_hash")
    if not isinstance(version, int):
        return True, "had no version when captured"
    head = cfg.refresh()
    if head.content_hash == wanted:
        return True, f"head v{head.version} carries v{version}'s content"
    return False, f"head v{head.version} does not carry v{version}'s content"


def live_config_versions(conn: Connection, tables: Tables, name: str) -> set[int]:
    """Versions of config ``name`` that a checkpoint not yet restored refers to."""
    c = tables.checkpoint.c
    rows = conn.execute(
        select(c.state).where(c.kind == "config", c.name == f"config {name}", c.status.in_(LIVE))
    )
    out: set[int] = set()
    for (raw,) in rows:
        version = json.loads(raw).get("version")
        if isinstance(version, int):
            out.add(version)
    return out
