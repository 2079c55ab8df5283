"""Persistence: the SDK's tables, their own migrations, the engine and transactions.

`StoreCore` is the handle the layers above work through (the public `Store` is one).
Everything other packages use of persistence is imported from here.
"""

from __future__ import annotations

from safe_release._store._alembic import exclude_sdk_tables
from safe_release._store._cache import ReadCache
from safe_release._store._core import Keys, StoreCore, open_store
from safe_release._store._engine import (
    DEFAULT_URL,
    ENV_URL,
    check_schema_name,
    connection_tx,
    create_store_engine,
    read_tx,
    resolve_url,
    safe_url,
    store_error,
    tune_foreign_sqlite,
    write_tx,
)
from safe_release._store._tables import (
    ID_LENGTH,
    KEY_LENGTH,
    MAC_LENGTH,
    NAME_LENGTH,
    TARGET_LENGTH,
    VERSION_TABLE,
    Tables,
    build_tables,
)

__all__ = [
    "DEFAULT_URL",
    "ENV_URL",
    "ID_LENGTH",
    "KEY_LENGTH",
    "MAC_LENGTH",
    "NAME_LENGTH",
    "TARGET_LENGTH",
    "VERSION_TABLE",
    "Keys",
    "ReadCache",
    "StoreCore",
    "Tables",
    "build_tables",
    "check_schema_name",
    "connection_tx",
    "create_store_engine",
    "exclude_sdk_tables",
    "open_store",
    "read_tx",
    "resolve_url",
    "safe_url",
    "store_error",
    "tune_foreign_sqlite",
    "write_tx",
]
