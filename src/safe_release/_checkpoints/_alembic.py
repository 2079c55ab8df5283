"""``alembic_checkpoint``: the ERP database's Alembic revision, restored by downgrade."""

from __future__ import annotations

from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError

from safe_release._store import safe_url, store_error
from safe_release.exceptions import (
    CheckpointError,
    InvalidArgumentError,
    UnverifiedRevisionError,
)
from safe_release.migrations import revision_file_sha256, verified_revisions

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safe_release._checkpoints._protocol import CheckpointContext, JsonState
    from safe_release._store import StoreCore

__all__ = ["AlembicCheckpoint", "alembic_checkpoint"]


class AlembicCheckpoint:
    """The revision(s) the database is at; see `alembic_checkpoint`."""

    kind = "alembic"

    def __init__(
        self, config: Any, engine: Engine | None, *, require_verified: bool = True
    ) -> None:
        self._config, self._engine = config, engine
        self._require_verified = require_verified

    def _url(self) -> str:
        if self._engine is not None:
            return safe_url(self._engine)
        url = self._config.get_main_option("sqlalchemy.url")
        if not url:
            msg = (
                "alembic_checkpoint() needs engine= or sqlalchemy.url in the Alembic "
                "config to know which database to read"
            )
            raise InvalidArgumentError(msg)
        return safe_url(create_engine(url).url) if "://" in url else str(url)

    def describe(self) -> str:
        """``alembic <database url, password masked>``."""
        return f"alembic {self._url()}"

    def __repr__(self) -> str:
        return f"<AlembicCheckpoint {self.describe()!r}>"

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        engine = self._engine or create_engine(self._config.get_main_option("sqlalchemy.url"))
        try:
            with engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise store_error("reading the Alembic revision", engine, exc) from exc
        finally:
            if self._engine is None:
                engine.dispose()

    def heads(self) -> list[str]:
        """The revisions the database is at now (empty: base)."""
        from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - optional

        with self._connection() as conn:
            return sorted(MigrationContext.configure(conn).get_current_heads())

    def capture(self, ctx: CheckpointContext) -> JsonState:
        """Record the current revision(s)."""
        del ctx
        heads = self.heads()
        if len(heads) > 1:
            msg = (
                f"the database is at several Alembic heads {heads}; merge them "
                "(alembic merge) before checkpointing the revision"
            )
            raise CheckpointError(msg)
        return {"heads": list(heads)}

    def restore(self, state: JsonState, ctx: CheckpointContext) -> str:
        """Downgrade to the recorded revision (no-op when already there).

        Unless created with ``require_verified=False``, refuses with
        `UnverifiedRevisionError` before touching the database when the downgrade
        would pass a revision not verified on this database's dialect.
        """
        wanted = state.get("heads")
        if not isinstance(wanted, list):
            msg = "the recorded Alembic state has no heads list; it was not captured here"
            raise CheckpointError(msg)
        now = self.heads()
        if now == wanted:
            return f"already at {wanted[0] if wanted else 'base'}"
        if self._require_verified:
            self._check_verified(now, [str(w) for w in wanted], ctx.store)
        target = str(wanted[0]) if wanted else "base"
        self._run("downgrade", target)
        return f"downgraded from {', '.join(now) or 'base'} to {target}"

    def _dialect(self) -> str:
        if self._engine is not None:
            return self._engine.dialect.name
        return make_url(self._config.get_main_option("sqlalchemy.url")).get_backend_name()

    def _check_verified(self, now: list[str], wanted: list[str], store: StoreCore) -> None:
        """Refuse a downgrade through revisions the checker did not verify (as they are)."""
        paths = _downgrade_passes(self._config, now, wanted)
        dialect = self._dialect()
        verified = verified_revisions(store, dialect)
        bad = {
            rev: "never verified" if rev not in verified else "file changed since"
            for rev, path in paths.items()
            if verified.get(rev) != revision_file_sha256(path)
        }
        if bad:
            listed = ", ".join(f"{rev} ({why})" for rev, why in bad.items())
            msg = (
                f"restoring the Alembic revision would downgrade through revision(s) "
                f"{listed} not verified on {dialect}; run 'safe-release migrations check' "
                "to verify their downgrades (or pass require_verified=False to "
                "alembic_checkpoint() to skip this guard); the database was not touched"
            )
            raise UnverifiedRevisionError(msg, revisions=list(bad))

    def verify(self, state: JsonState, ctx: CheckpointContext) -> tuple[bool, str]:
        """Whether the database is at the recorded revision."""
        del ctx
        now = self.heads()
        return now == state.get("heads"), f"at {', '.join(now) or 'base'}"

    def _run(self, command: str, target: str) -> None:
        from alembic import command as commands  # noqa: PLC0415 - optional
        from alembic.util import CommandError  # noqa: PLC0415 - optional

        try:
            if self._engine is None:
                getattr(commands, command)(self._config, target)
                return
            with self._engine.begin() as conn:
                self._config.attributes["connection"] = conn
                try:
                    getattr(commands, command)(self._config, target)
                finally:
                    self._config.attributes.pop("connection", None)
        except CommandError as exc:
            msg = (
                f"alembic {command} to {target} failed: {exc}; check that the revision's "
                "downgrade exists and works (safe_release.migrations checks them)"
            )
            raise CheckpointError(msg) from exc


def _ancestors(script: Any, heads: list[str]) -> set[str]:
    """``heads`` and every revision below them (down revisions and dependencies)."""
    seen: set[str] = set()
    todo = list(heads)
    while todo:
        rev = todo.pop()
        if rev in seen:
            continue
        seen.add(rev)
        found = script.get_revision(rev)
        for attr in ("down_revision", "dependencies"):
            below = getattr(found, attr, None) or ()
            todo.extend([below] if isinstance(below, str) else below)
    return seen


def _downgrade_passes(config: Any, now: list[str], wanted: list[str]) -> dict[str, str]:
    """Revision -> file path of each revision a downgrade from ``now`` to ``wanted`` undoes."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - optional
    from alembic.util import CommandError  # noqa: PLC0415 - optional

    script = ScriptDirectory.from_config(config)
    try:
        passed = _ancestors(script, now) - _ancestors(script, wanted)
    except CommandError as exc:
        msg = (
            f"cannot tell which revisions restoring the Alembic revision passes: {exc}; "
            "check that the alembic_checkpoint's project is the one that migrated the "
            "database"
        )
        raise CheckpointError(msg) from exc
    return {s.revision: str(s.path) for s in script.walk_revisions() if s.revision in passed}


def alembic_checkpoint(
    config: Any, *, engine: Engine | None = None, require_verified: bool = True
) -> AlembicCheckpoint:
    """Checkpoint the Alembic revision of the ERP's database; restore by downgrade.

    ``config`` is an ``alembic.config.Config`` or the path of an ``alembic.ini``.
    With ``engine``, its connection is handed to ``env.py`` as
    ``config.attributes["connection"]`` (Alembic's documented recipe), otherwise
    ``env.py`` connects with ``sqlalchemy.url``.

    Restore refuses (`UnverifiedRevisionError`, before touching the database)
    to downgrade through a revision that ``safe-release migrations check`` has
    not verified on the database's dialect, or whose file changed since;
    ``require_verified=False`` skips that guard.
    """
    from alembic.config import Config  # noqa: PLC0415 - optional

    if isinstance(config, (str, PathLike)):
        if not Path(config).is_file():
            msg = (
                f"alembic_checkpoint(): no alembic.ini at {Path(config).name!r}; give the "
                "path of the ERP's alembic.ini (or an alembic Config)"
            )
            raise InvalidArgumentError(msg)
        config = Config(str(config))
    if not isinstance(config, Config):
        msg = (
            f"alembic_checkpoint() takes an alembic Config or an alembic.ini path, not {config!r}"
        )
        raise InvalidArgumentError(msg)
    if engine is not None and not isinstance(engine, Engine):
        msg = f"engine= must be an SQLAlchemy Engine, not {type(engine).__name__}"
        raise InvalidArgumentError(msg)
    return AlembicCheckpoint(config, engine, require_verified=bool(require_verified))
