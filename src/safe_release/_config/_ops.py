"""The write transactions of the config store (each runs inside ``write_tx``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safe_release._config._models import ConfigVersion, Rollout
from safe_release._json import canonical_dumps
from safe_release.exceptions import (
    ConfigError,
    InvalidArgumentError,
    RetentionError,
    RolloutError,
    VersionConflictError,
    VersionNotFoundError,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Connection

    from safe_release._config._configstore import _Draft
    from safe_release._config._repo import ConfigRepo

__all__ = ["MIN_KEEP", "abort", "mark_good", "promote", "prune", "publish", "rollback"]

MIN_KEEP = 3


def publish(
    repo: ConfigRepo,
    conn: Connection,
    *,
    draft: _Draft,
    expected: int | None,
    rollout: Rollout | None,
    now: datetime,
) -> ConfigVersion:
    """Append ``draft`` as the next version; head or rollout candidate."""
    row = repo.lock(conn, now)
    if row.candidate is not None:
        msg = (
            f"config {repo.name!r} has a staged rollout of v{row.candidate} in progress; "
            "promote() or abort() it before publishing another version"
        )
        raise RolloutError(msg)
    if rollout is not None and row.head == 0:
        msg = (
            f"config {repo.name!r} has no stable version yet, so a staged rollout has "
            "nothing to serve the other keys; publish the first version without rollout="
        )
        raise RolloutError(msg)
    if expected is not None and expected != row.head:
        msg = (
            f"config {repo.name!r} is at v{row.head}, not v{expected} as expected: "
            "somebody published first; re-read the head, re-apply your change and retry"
        )
        raise VersionConflictError(msg, expected=expected, actual=row.head)
    version = ConfigVersion(
        name=repo.name,
        version=row.latest + 1,
        content=draft.content,
        content_hash=draft.content_hash,
        hash_kind=draft.hash_kind,
        author=draft.author,
        message=draft.message,
        created_at=now,
        parent=row.head or None,
    )
    repo.insert_version(conn, version, draft.text)
    if rollout is None:
        repo.set(conn, now, head=version.version, latest=version.version)
        repo.event(conn, now, "publish", version.version, draft.author)
    else:
        repo.set(
            conn,
            now,
            latest=version.version,
            candidate=version.version,
            rollout_bp=rollout.basis_points,
        )
        repo.event(conn, now, "rollout", version.version, draft.author, percent=rollout.percent)
    return version


def rollback(
    repo: ConfigRepo,
    conn: Connection,
    *,
    to: int | None,
    author: str,
    message: str,
    check: Callable[[ConfigVersion], None],
    now: datetime,
    expected: int | None = None,
) -> ConfigVersion:
    """Publish a copy of the target version as the new head (roll forward)."""
    row = repo.lock(conn, now)
    if row.head == 0:
        repo.require(conn)
    if expected is not None and expected != row.head:
        msg = (
            f"config {repo.name!r} is at v{row.head}, not v{expected} as expected: it was "
            "rolled back or published meanwhile; look at the head before rolling back again"
        )
        raise VersionConflictError(msg, expected=expected, actual=row.head)
    head = repo.load(conn, row.head, row.latest)
    if row.candidate is not None:
        repo.set(conn, now, candidate=None, rollout_bp=None)
        repo.event(conn, now, "abort", row.candidate, author, reason="rollback")
        if to is None:
            return head
    target = (
        repo.load(conn, _default_target(repo, conn, head, row.latest), row.latest)
        if to is None
        else repo.load(conn, to, row.latest)
    )
    if target.version == head.version:
        msg = (
            f"v{target.version} is already the head of config {repo.name!r}; nothing to roll back"
        )
        raise InvalidArgumentError(msg)
    check(target)
    version = ConfigVersion(
        name=repo.name,
        version=row.latest + 1,
        content=target.content,
        content_hash=target.content_hash,
        hash_kind=target.hash_kind,  # the same content, the same hash as the target's
        author=author,
        message=message or f"rollback v{head.version} to v{target.version}",
        created_at=now,
        parent=head.version,
        rolled_back_from=head.version,
        restores=target.restores if target.restores is not None else target.version,
    )

    repo.insert_version(conn, version, canonical_dumps(target.content))
    repo.set(conn, now, head=version.version, latest=version.version)
    repo.event(
        conn,
        now,
        "rollback",
        version.version,
        author,
        rolled_back_from=head.version,
        restores=version.restores,
    )
    return version


def _default_target(repo: ConfigRepo, conn: Connection, head: ConfigVersion, latest: int) -> int:
    """The version before the one whose content the head carries."""
    base = head if head.restores is None else repo.load(conn, head.restores, latest)
    if base.parent is None:
        msg = (
            f"config {repo.name!r} has nothing before v{base.version} to roll back to; "
            "publish the content you want instead"
        )
        raise ConfigError(msg)
    return base.parent


def mark_good(
    repo: ConfigRepo, conn: Connection, number: int | None, author: str, now: datetime
) -> ConfigVersion:
    """Record a version as the last known good one."""
    row = repo.lock(conn, now)
    if row.head == 0:
        repo.require(conn)
    version = repo.load(conn, row.head if number is None else number, row.latest)
    repo.set(conn, now, last_good=version.version)
    repo.event(conn, now, "mark_good", version.version, author)
    return version


def prune(repo: ConfigRepo, conn: Connection, keep: Any, author: str, now: datetime) -> list[int]:
    """Delete versions outside the retention rules; all or nothing.

    The newest ``keep`` deployable versions (aborted rollout candidates were never
    deployed and do not count) are kept, and so are the head, the last-good
    version, a rollout candidate, what a default rollback would need, and every
    version a release's checkpoint may still restore.
    """
    if isinstance(keep, bool) or not isinstance(keep, int):
        msg = f"prune(keep=…) must be an int, not {keep!r}"
        raise InvalidArgumentError(msg)
    if keep < MIN_KEEP:
        msg = (
            f"prune(keep={keep}) would leave fewer than {MIN_KEEP} deployable versions "
            f"of config {repo.name!r}; nothing was deleted, use keep >= {MIN_KEEP}"
        )
        raise RetentionError(msg)
    row = repo.lock(conn, now)
    if row.head == 0:
        repo.require(conn)
    numbers = repo.numbers(conn)
    aborted = repo.aborted(conn)
    deployable = [n for n in numbers if n not in aborted]
    protected = set(deployable[:keep]) | {row.head, row.last_good, row.candidate}
    protected |= _rollback_path(repo, conn, row.head, row.latest)
    protected |= repo.checkpointed(conn)
    doomed = sorted(n for n in numbers if n not in protected)
    if doomed:
        repo.delete_versions(conn, doomed)
        repo.event(conn, now, "prune", None, author, deleted=doomed, keep=keep)
    return doomed


def _rollback_path(repo: ConfigRepo, conn: Connection, head: int, latest: int) -> set[int]:
    """The versions a default rollback of ``head`` needs: its content's source and parent."""
    version = repo.load(conn, head, latest)
    if version.restores is not None:
        try:
            version = repo.load(conn, version.restores, latest)
        except VersionNotFoundError:
            return set()
    return {version.version} | ({version.parent} if version.parent is not None else set())


def promote(
    repo: ConfigRepo, conn: Connection, bp: int | None, author: str, now: datetime
) -> ConfigVersion:
    """Widen a rollout, or finish it by making the candidate the head."""
    row = repo.lock(conn, now)
    if row.head == 0:
        repo.require(conn)
    candidate = _require_candidate(repo, row.candidate, "promote")
    if bp is None:
        repo.set(conn, now, head=candidate, candidate=None, rollout_bp=None)
        repo.event(conn, now, "promote", candidate, author)
        return repo.load(conn, candidate, row.latest)
    if row.rollout_bp is not None and bp <= row.rollout_bp:
        msg = (
            f"the rollout of v{candidate} already reaches {row.rollout_bp / 100:g} % of "
            f"keys; promote(percent=…) must widen it (or call abort())"
        )
        raise RolloutError(msg)
    repo.set(conn, now, rollout_bp=bp)
    repo.event(conn, now, "widen", candidate, author, percent=bp / 100)
    return repo.load(conn, candidate, row.latest)


def abort(repo: ConfigRepo, conn: Connection, author: str, now: datetime) -> ConfigVersion:
    """Stop serving the candidate; the stable head stays."""
    row = repo.lock(conn, now)
    if row.head == 0:
        repo.require(conn)
    candidate = _require_candidate(repo, row.candidate, "abort")
    repo.set(conn, now, candidate=None, rollout_bp=None)
    repo.event(conn, now, "abort", candidate, author)
    return repo.load(conn, row.head, row.latest)


def _require_candidate(repo: ConfigRepo, candidate: int | None, action: str) -> int:
    if candidate is None:
        msg = (
            f"config {repo.name!r} has no staged rollout to {action}; start one with "
            "publish(..., rollout=Rollout(percent=…))"
        )
        raise RolloutError(msg)
    return candidate
