"""safe_release: make deploys of seller ERP/OMS systems safe to roll back.

Start with `connect` and `Store.config`::

    import safe_release as sr

    store = sr.connect()                       # SQLite file; PostgreSQL in production
    pricing = store.config("pricing", schema=PricingRules)
    pricing.publish(rules, author="ops", message="raise floor")
    pricing.value                              # cached, typed as PricingRules
"""

from __future__ import annotations

from safe_release._clock import Clock, SystemClock
from safe_release._config._configstore import ConfigStore
from safe_release._config._models import (
    Change,
    ConfigDiff,
    ConfigVersion,
    Rollout,
    RolloutState,
)
from safe_release._store._alembic import exclude_sdk_tables
from safe_release._store._store import Store, connect
from safe_release._store._tables import VERSION_TABLE
from safe_release.exceptions import (
    AmbiguousWriteError,
    CircuitOpenError,
    ConfigContentError,
    ConfigError,
    ConfigNotFoundError,
    ConfigValidationError,
    ContentTooLargeError,
    InvalidArgumentError,
    InvalidConfigNameError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    MarketplaceTransportError,
    PayloadTooLargeError,
    RateLimitedError,
    RetentionError,
    RolloutError,
    SafeReleaseError,
    SchemaOutOfDateError,
    StoreConfigurationError,
    StoreError,
    TokenRefreshError,
    UnknownOperationError,
    UnknownSchemaRevisionError,
    VersionConflictError,
    VersionNotFoundError,
)

__version__ = "0.1.0"

__all__ = [
    "VERSION_TABLE",
    "AmbiguousWriteError",
    "Change",
    "CircuitOpenError",
    "Clock",
    "ConfigContentError",
    "ConfigDiff",
    "ConfigError",
    "ConfigNotFoundError",
    "ConfigStore",
    "ConfigValidationError",
    "ConfigVersion",
    "ContentTooLargeError",
    "InvalidArgumentError",
    "InvalidConfigNameError",
    "MarketplaceAuthError",
    "MarketplaceError",
    "MarketplaceHTTPError",
    "MarketplaceResponseError",
    "MarketplaceTransportError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RetentionError",
    "Rollout",
    "RolloutError",
    "RolloutState",
    "SafeReleaseError",
    "SchemaOutOfDateError",
    "Store",
    "StoreConfigurationError",
    "StoreError",
    "SystemClock",
    "TokenRefreshError",
    "UnknownOperationError",
    "UnknownSchemaRevisionError",
    "VersionConflictError",
    "VersionNotFoundError",
    "connect",
    "exclude_sdk_tables",
]
