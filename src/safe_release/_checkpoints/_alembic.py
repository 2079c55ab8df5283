"""``alembic_checkpoint``: the ERP database's Alembic revision, restored by downgrade."""

from __future__ import annotations

from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError

from safe_release._store._engine import safe_url, store_error
from safe_release.exceptions import CheckpointError, InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safe_release._checkpoints._protocol import CheckpointContext, JsonState

__all__ = ["AlembicCheckpoint", "alembic_checkpoint"]


class AlembicCheckpoint:
    """The revision(s) the database is at; see `alembic_checkpoint`."""

    kind = "alembic"

    def __init__(self, config: Any, engine: Engine | None) -> None:
        self._config, self._engine = config, engine

    def _url(self) -> str:
        if self._engine is not None:
            return safe_url(self._engine)
        url = self._config.get_main_option("sqlalchemy.url")
        if not url:
            msg = ("alembic_checkpoint() needs engine= or sqlalchemy.url in the Alembic "
                   "config to know which database to read")
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
            msg = (f"the database is at several Alembic heads {heads}; merge them "
                   "(alembic merge) before checkpointing the revision")
            raise CheckpointError(msg)
        return {"heads": list(heads)}

    def restore(self, state: JsonState, ctx: CheckpointContext) -> str:
        """Downgrade to the recorded revision (no-op when already there)."""
        del ctx
        wanted = state.get("heads")
        if not isinstance(wanted, list):
            msg = "the recorded Alembic state has no heads list; it was not captured here"
            raise CheckpointError(msg)
        now = self.heads()
        if now == wanted:
            return f"already at {wanted[0] if wanted else 'base'}"
        target = str(wanted[0]) if wanted else "base"
        self._run("downgrade", target)
        return f"downgraded from {', '.join(now) or 'base'} to {target}"

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
            msg = (f"alembic {command} to {target} failed: {exc}; check that the revision's "
                   "downgrade exists and works (safe_release.migrations checks them)")
            raise CheckpointError(msg) from exc


def alembic_checkpoint(config: Any, *, engine: Engine | None = None) -> AlembicCheckpoint:
    """Checkpoint the Alembic revision of the ERP's database; restore by downgrade.

    ``config`` is an ``alembic.config.Config`` or the path of an ``alembic.ini``.
    With ``engine``, its connection is handed to ``env.py`` as
    ``config.attributes["connection"]`` (Alembic's documented recipe), otherwise
    ``env.py`` connects with ``sqlalchemy.url``.
    """
    from alembic.config import Config  # noqa: PLC0415 - optional

    if isinstance(config, (str, PathLike)):
        if not Path(config).is_file():
            msg = (f"alembic_checkpoint(): no alembic.ini at {Path(config).name!r}; give the "
                   "path of the ERP's alembic.ini (or an alembic Config)")
            raise InvalidArgumentError(msg)
        config = Config(str(config))
    if not isinstance(config, Config):
        msg = (f"alembic_checkpoint() takes an alembic Config or an alembic.ini path, "
               f"not {config!r}")
        raise InvalidArgumentError(msg)
    if engine is not None and not isinstance(engine, Engine):
        msg = f"engine= must be an SQLAlchemy Engine, not {type(engine).__name__}"
        raise InvalidArgumentError(msg)
    return AlembicCheckpoint(config, engine)
