"""The SDK's own tables (prefix ``sr_``), as SQLAlchemy Core objects.

Their DDL lives in the Alembic revisions under ``migrations/versions``; these
definitions only describe the current shape for queries. A test checks that the
two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["KEY_LENGTH", "NAME_LENGTH", "VERSION_TABLE", "Tables", "build_tables"]

NAME_LENGTH = 200
KEY_LENGTH = 400
VERSION_TABLE = "sr_alembic_version"


@dataclass(frozen=True)
class Tables:
    """The tables of one store (one database schema)."""

    metadata: MetaData
    config: Table
    config_version: Table
    config_event: Table
    rate_bucket: Table


def build_tables(schema: str | None) -> Tables:
    """Describe the SDK's tables inside ``schema`` (``None``: the default one)."""
    md = MetaData(schema=schema)
    config = Table(
        "sr_config",
        md,
        Column("name", String(NAME_LENGTH), primary_key=True),
        Column("head", Integer, nullable=False),
        Column("latest", Integer, nullable=False),
        Column("last_good", Integer, nullable=True),
        Column("candidate", Integer, nullable=True),
        Column("rollout_bp", Integer, nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    config_version = Table(
        "sr_config_version",
        md,
        Column("name", String(NAME_LENGTH), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("content", Text, nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("size", Integer, nullable=False),
        Column("author", String(NAME_LENGTH), nullable=False),
        Column("message", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("parent", Integer, nullable=True),
        Column("rolled_back_from", Integer, nullable=True),
        Column("restores", Integer, nullable=True),
    )
    config_event = Table(
        "sr_config_event",
        md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("name", String(NAME_LENGTH), nullable=False),
        Column("action", String(32), nullable=False),
        Column("version", Integer, nullable=True),
        Column("actor", String(NAME_LENGTH), nullable=False),
        Column("detail", Text, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Index("ix_sr_config_event_name_id", "name", "id"),
    )
    rate_bucket = Table(
        "sr_rate_bucket",
        md,
        Column("key", String(KEY_LENGTH), primary_key=True),
        Column("tat", Double, nullable=False),
        Column("rate", Double, nullable=False),
        Column("ceiling", Double, nullable=True),
        Column("epoch", BigInteger, nullable=False),
        Column("paused_until", Double, nullable=False),
        Column("updated_at", Double, nullable=False),
    )
    return Tables(md, config, config_version, config_event, rate_bucket)
