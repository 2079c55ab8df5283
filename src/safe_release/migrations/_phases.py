"""Expand / migrate / contract: a revision's declared phase and the contract gate.

A revision module may declare::

    sr_phase = "contract"
    sr_retires = ("erp-web", "2.3.0")   # the app version that still needs the old shape

A contract revision runs only once that application version is retired
(``safe_release.migrations.compat.retire``): :func:`contract` (called at the top
of its ``upgrade()``) and :func:`check_phases` (used by runners before they
upgrade) refuse with :class:`~safe_release.exceptions.ContractBlockedError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safe_release._store import StoreCore, open_store
from safe_release.exceptions import ContractBlockedError, MigrationError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

    from alembic.script import ScriptDirectory

PHASES = ("expand", "migrate", "contract")
STORE_ATTRIBUTE = "safe_release_store"
SKIP_ATTRIBUTE = "safe_release_skip_contract"


@dataclass(frozen=True)
class Phase:
    """A revision's declared phase; ``retires`` is ``(app, version)`` for a contract."""

    phase: str
    retires: tuple[str, str] | None = None


def _retires(value: Any, revision: str | None) -> tuple[str, str]:
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2  # noqa: PLR2004 - (app, version)
        and all(isinstance(v, str) and v for v in value)
    ):
        return (value[0], value[1])
    msg = (
        f"revision {revision}: sr_phase = 'contract' needs sr_retires = (\"app\", "
        '"version") naming the application version that still uses the old shape'
    )
    raise MigrationError(msg, revision=revision)


def revision_phase(module: ModuleType | Any) -> Phase | None:
    """The phase ``module`` declares (``sr_phase``/``sr_retires``), None if it declares none."""
    revision = getattr(module, "revision", None)
    phase = getattr(module, "sr_phase", None)
    retires = getattr(module, "sr_retires", None)
    if phase is None:
        if retires is not None:
            msg = f"revision {revision}: sr_retires is set but sr_phase is not 'contract'"
            raise MigrationError(msg, revision=revision)
        return None
    if phase not in PHASES:
        msg = (
            f"revision {revision}: sr_phase = {phase!r} is not one of {', '.join(PHASES)}; "
            "fix the module global"
        )
        raise MigrationError(msg, revision=revision)
    if phase != "contract":
        if retires is not None:
            msg = f"revision {revision}: only a 'contract' revision may set sr_retires"
            raise MigrationError(msg, revision=revision)
        return Phase(phase)
    return Phase(phase, _retires(retires, revision))


def _is_retired(store: StoreCore, app: str, version: str) -> bool:
    from safe_release.migrations.compat import is_retired  # noqa: PLC0415 - optional part

    return is_retired(store, app, version)


def require_retired(store: StoreCore | None, app: str, version: str, revision: str | None) -> None:
    """ContractBlockedError unless ``app`` ``version`` is recorded as retired in ``store``."""
    if store is None:
        msg = (
            f"contract revision {revision} needs {app} {version} to be retired, and no "
            "store was given to check it: set config.attributes['safe_release_store'] "
            "in env.py's Config (or SAFE_RELEASE_URL) so retirement can be proved"
        )
        raise ContractBlockedError(msg, app=app, version=version, revision=revision)
    if not _is_retired(store, app, version):
        msg = (
            f"contract revision {revision} removes the shape {app} {version} still uses; "
            f"retire it first (safe_release.migrations.compat.retire(store, {app!r}, "
            f"{version!r})) once no instance runs it and it is no rollback target"
        )
        raise ContractBlockedError(msg, app=app, version=version, revision=revision)


def contract(
    app: str | None = None, version: str | None = None, *, revision: str | None = None
) -> None:
    """Refuse this contract upgrade unless ``app`` ``version`` is retired.

    ``app``/``version`` default to the calling module's ``sr_retires``. The store
    is ``config.attributes["safe_release_store"]`` of the running Alembic Config,
    else ``safe_release.connect()`` when ``$SAFE_RELEASE_URL`` is set. A tool
    replaying revisions on a scratch database sets
    ``config.attributes["safe_release_skip_contract"] = True`` to bypass the gate.
    """
    from safe_release.migrations import _oplog  # noqa: PLC0415 - needs alembic's op proxy

    caller = _oplog.caller_globals()
    rev = revision or caller.get("revision")
    if app is None or version is None:
        app, version = _retires(caller.get("sr_retires"), rev)
    context = _oplog.context()
    attributes = context.config.attributes if context.config is not None else {}
    if attributes.get(SKIP_ATTRIBUTE):
        return
    if context.as_sql:
        context.impl.static_output(
            f"-- safe-release: contract revision {rev} must not run before {app} {version} "
            "is retired (not checked in --sql mode)"
        )
        return
    store = attributes.get(STORE_ATTRIBUTE)
    if store is not None or not os.environ.get("SAFE_RELEASE_URL"):
        require_retired(store, app, version, rev)
        return
    owned = open_store(StoreCore)
    try:
        require_retired(owned, app, version, rev)
    finally:
        owned.close()


def check_phases(
    script_directory: ScriptDirectory, revisions: Iterable[str], store: StoreCore | None
) -> dict[str, Phase]:
    """The declared phases of ``revisions``; refuses the first blocked contract revision.

    Raises MigrationError for a bad declaration and ContractBlockedError for a
    contract revision whose retired version is not retired (or with no store).
    """
    phases: dict[str, Phase] = {}
    for rev in revisions:
        script = script_directory.get_revision(rev)
        if script is None:
            msg = f"revision {rev!r} is not in the script directory; check the revision id"
            raise MigrationError(msg, revision=rev)
        phase = revision_phase(script.module)
        if phase is None:
            continue
        phases[rev] = phase
        if phase.retires is not None:
            require_retired(store, *phase.retires, rev)
    return phases
