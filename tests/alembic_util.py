"""Throw-away Alembic projects for the migration tests.

`AlembicProject` writes an ``alembic.ini``, an ``env.py`` and revision files
into a directory and hands back an ``alembic.config.Config`` for a database.
The default ``env.py`` follows Alembic's recipe: it uses
``config.attributes["connection"]`` when given one, else ``sqlalchemy.url``;
``version_table`` and ``schema`` (PostgreSQL tests keep each project in its own
schema) come from the ini's main options.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alembic.config import Config

if TYPE_CHECKING:
    from pathlib import Path

ENV_PY = """
from alembic import context
from sqlalchemy import create_engine, text

config = context.config
schema = config.get_main_option("test_schema") or None
version_table = config.get_main_option("version_table") or "alembic_version"


def run(connection):
    if schema is not None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        connection.commit()
    context.configure(
        connection=connection,
        version_table=version_table,
        version_table_schema=schema,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      literal_binds=True, version_table=version_table)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            run(connection)
        engine.dispose()
    else:
        run(connection)
"""

REVISION = '''"""{message}"""
from alembic import op
import sqlalchemy as sa
{imports}
revision = {revision!r}
down_revision = {down!r}
branch_labels = {branch_labels!r}
depends_on = None
{extra}

def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''


def _body(code: str) -> str:
    code = textwrap.dedent(code).strip("\n") or "pass"
    return textwrap.indent(code, "    ")


@dataclass
class AlembicProject:
    """An Alembic project under ``root``: ``root/alembic.ini``, ``root/migrations/``."""

    root: Path
    env_py: str = ENV_PY
    revisions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.versions.mkdir(parents=True, exist_ok=True)
        (self.root / "migrations" / "env.py").write_text(self.env_py)
        (self.root / "migrations" / "script.py.mako").write_text(
            '"""${message}"""\nrevision = ${repr(up_revision)}\n'
            "down_revision = ${repr(down_revision)}\n\n\ndef upgrade():\n    pass\n\n\n"
            "def downgrade():\n    pass\n"
        )
        (self.root / "alembic.ini").write_text(
            "[alembic]\nscript_location = %(here)s/migrations\n"
        )

    @property
    def versions(self) -> Path:
        """The ``versions`` directory."""
        return self.root / "migrations" / "versions"

    @property
    def ini(self) -> Path:
        """The ``alembic.ini`` path."""
        return self.root / "alembic.ini"

    def add(
        self,
        revision: str,
        upgrade: str,
        downgrade: str,
        *,
        down: str | tuple[str, ...] | bool | None = True,
        imports: str = "",
        extra: str = "",
        branch_labels: tuple[str, ...] | None = None,
    ) -> Path:
        """Write a revision; ``down=True`` chains it after the last one added."""
        if down is True:
            down = self.revisions[-1] if self.revisions else None
        path = self.versions / f"{revision}.py"
        path.write_text(
            REVISION.format(
                message=f"revision {revision}",
                revision=revision,
                down=down,
                branch_labels=branch_labels,
                imports=imports,
                extra=extra,
                upgrade=_body(upgrade),
                downgrade=_body(downgrade),
            )
        )
        self.revisions.append(revision)
        return path

    def config(
        self, url: str, *, schema: str | None = None, version_table: str | None = None
    ) -> Config:
        """A Config for ``url`` (PostgreSQL: objects in ``schema``)."""
        config = Config(str(self.ini))
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        if schema is not None:
            config.set_main_option("test_schema", schema)
        if version_table is not None:
            config.set_main_option("version_table", version_table)
        return config
