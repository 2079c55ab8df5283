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

__all__ = [
    "ID_LENGTH",
    "KEY_LENGTH",
    "MAC_LENGTH",
    "NAME_LENGTH",
    "TARGET_LENGTH",
    "VERSION_TABLE",
    "Tables",
    "build_tables",
]

NAME_LENGTH = 200
KEY_LENGTH = 400
ID_LENGTH = 40
TARGET_LENGTH = 1000
MAC_LENGTH = 80
VERSION_TABLE = "sr_alembic_version"


@dataclass(frozen=True)
class Tables:
    """The tables of one store (one database schema)."""

    metadata: MetaData
    config: Table
    config_version: Table
    config_event: Table
    rate_bucket: Table
    quota_window: Table
    refresh_lock: Table
    release: Table
    release_lock: Table
    release_event: Table
    checkpoint: Table
    ledger: Table
    app_schema: Table
    migration_verified: Table


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
        # how content_hash was taken: "jcs" (RFC 8785) or "legacy" (before revision 0006)
        Column("hash_kind", String(16), nullable=False, server_default="legacy"),
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
        Column(
            "id",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
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
    quota_window = Table(
        "sr_quota_window",
        md,
        Column("key", String(KEY_LENGTH), primary_key=True),
        Column("used", BigInteger, nullable=False),
        Column("reset_at", Double, nullable=False),
        Column("server_limit", BigInteger, nullable=True),
        Column("updated_at", Double, nullable=False),
    )
    refresh_lock = Table(
        "sr_refresh_lock",
        md,
        Column("key", String(KEY_LENGTH), primary_key=True),
        Column("holder", String(NAME_LENGTH), nullable=True),
        Column("expires_at", Double, nullable=False),
        Column("fingerprint", String(64), nullable=True),
        Column("marker_at", Double, nullable=True),
    )
    release, release_lock, release_event = _release_tables(md)
    checkpoint, ledger = _checkpoint_tables(md)
    app_schema, migration_verified = _migration_tables(md)
    return Tables(
        md,
        config,
        config_version,
        config_event,
        rate_bucket,
        quota_window,
        refresh_lock,
        release,
        release_lock,
        release_event,
        checkpoint,
        ledger,
        app_schema,
        migration_verified,
    )


def _serial() -> BigInteger:
    return BigInteger().with_variant(Integer, "sqlite")


def _release_tables(md: MetaData) -> tuple[Table, Table, Table]:
    ts = DateTime(timezone=True)
    release = Table(
        "sr_release",
        md,
        Column("id", String(ID_LENGTH), primary_key=True),
        Column("name", String(NAME_LENGTH), nullable=False),
        Column("scope", String(NAME_LENGTH), nullable=False),
        Column("status", String(24), nullable=False),
        Column("verification", String(16), nullable=True),
        Column("on_failure", String(16), nullable=False),
        Column("owner", String(NAME_LENGTH), nullable=False),
        Column("started_at", ts, nullable=False),
        Column("detected_at", ts, nullable=True),
        Column("rollback_started_at", ts, nullable=True),
        Column("restored_at", ts, nullable=True),
        Column("verified_at", ts, nullable=True),
        Column("finished_at", ts, nullable=True),
        Column("error", Text, nullable=True),
        Column("report", Text, nullable=True),
        Column("mac", String(MAC_LENGTH), nullable=True),
        Index("ix_sr_release_scope_started", "scope", "started_at"),
        Index("ix_sr_release_status", "status"),
    )
    release_lock = Table(
        "sr_release_lock",
        md,
        Column("scope", String(NAME_LENGTH), primary_key=True),
        Column("release_id", String(ID_LENGTH), nullable=False),
        Column("owner", String(NAME_LENGTH), nullable=False),
        Column("acquired_at", Double, nullable=False),
        Column("expires_at", Double, nullable=False),
    )
    release_event = Table(
        "sr_release_event",
        md,
        Column("id", _serial(), primary_key=True, autoincrement=True),
        Column("release_id", String(ID_LENGTH), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("detail", Text, nullable=False),
        Column("at", ts, nullable=False),
        Index("ix_sr_release_event_release_id", "release_id", "id"),
    )
    return release, release_lock, release_event


def _checkpoint_tables(md: MetaData) -> tuple[Table, Table]:
    ts = DateTime(timezone=True)
    checkpoint = Table(
        "sr_checkpoint",
        md,
        Column("release_id", String(ID_LENGTH), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("scope", String(NAME_LENGTH), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("name", String(KEY_LENGTH), nullable=False),
        Column("state", Text, nullable=False),
        Column("manifest", Text, nullable=False),
        Column("status", String(16), nullable=False),
        Column("detail", Text, nullable=False),
        Column("created_at", ts, nullable=False),
        Column("updated_at", ts, nullable=False),
        Column("mac", String(MAC_LENGTH), nullable=True),
        Index("ix_sr_checkpoint_scope_status", "scope", "status"),
    )
    ledger = Table(
        "sr_ledger",
        md,
        Column("id", _serial(), primary_key=True, autoincrement=True),
        Column("release_id", String(ID_LENGTH), nullable=False),
        Column("scope", String(NAME_LENGTH), nullable=False),
        Column("adapter", String(KEY_LENGTH), nullable=False),
        Column("operation", String(NAME_LENGTH), nullable=False),
        Column("side_effect", String(16), nullable=False),
        Column("target", String(TARGET_LENGTH), nullable=False),
        Column("idem_key", String(64), nullable=False),
        Column("request", Text, nullable=False),
        Column("inverse", Text, nullable=True),
        Column("state", String(16), nullable=False),
        Column("response", Text, nullable=True),
        Column("comp_state", String(16), nullable=True),
        Column("comp_detail", Text, nullable=True),
        Column("created_at", ts, nullable=False),
        Column("updated_at", ts, nullable=False),
        Column("mac", String(MAC_LENGTH), nullable=True),
        Index("ix_sr_ledger_target", "scope", "adapter", "target", "id"),
        Index("ix_sr_ledger_release", "release_id", "id"),
    )
    return checkpoint, ledger


def _migration_tables(md: MetaData) -> tuple[Table, Table]:
    ts = DateTime(timezone=True)
    app_schema = Table(
        "sr_app_schema",
        md,
        Column("app", String(NAME_LENGTH), primary_key=True),
        Column("version", String(NAME_LENGTH), primary_key=True),
        Column("seq", Integer, nullable=False),
        Column("metadata_json", Text, nullable=False),
        Column("metadata_sha256", String(64), nullable=False),
        Column("recorded_at", ts, nullable=False),
        Column("retired_at", ts, nullable=True),
    )
    migration_verified = Table(
        "sr_migration_verified",
        md,
        Column("revision", String(NAME_LENGTH), primary_key=True),
        Column("dialect", String(32), primary_key=True),
        Column("file_sha256", String(64), nullable=False),
        Column("verified_at", ts, nullable=False),
    )
    return app_schema, migration_verified
