"""safe_release: make deploys of seller ERP/OMS systems safe to roll back.

Start with `connect` and `Store.config`::

    import safe_release as sr

    store = sr.connect()                       # SQLite file; PostgreSQL in production
    pricing = store.config("pricing", schema=PricingRules)
    pricing.publish(rules, author="ops", message="raise floor")
    pricing.value                              # cached, typed as PricingRules
"""

from __future__ import annotations

from safe_release._checkpoints import (
    AlembicCheckpoint,
    Checkpointable,
    CheckpointContext,
    CheckpointRecord,
    CustomCheckpoint,
    TableCheckpoint,
    alembic_checkpoint,
    checkpoint,
    table_checkpoint,
)
from safe_release._clock import Clock, SystemClock
from safe_release._config._configstore import ConfigStore
from safe_release._config._models import (
    Change,
    ConfigDiff,
    ConfigVersion,
    Rollout,
    RolloutState,
)
from safe_release._release import (
    IncidentReport,
    Release,
    ReleaseEvent,
    ReleaseRecord,
    current_release,
    guarded,
    release,
)
from safe_release._report import ReleaseStatus, RollbackReport, StepResult, Verification
from safe_release._signing import Signer
from safe_release._store._alembic import exclude_sdk_tables
from safe_release._store._store import Store, connect
from safe_release._store._tables import VERSION_TABLE
from safe_release._triggers import ErrorRate, Latency, Observation, Trigger
from safe_release.exceptions import (
    AmbiguousWriteError,
    CheckpointError,
    CheckpointNotFoundError,
    CircuitOpenError,
    ConfigContentError,
    ConfigError,
    ConfigNotFoundError,
    ConfigValidationError,
    ContentTooLargeError,
    ContractBlockedError,
    InvalidArgumentError,
    InvalidConfigNameError,
    IrreversibleMigrationError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    MarketplaceTransportError,
    MigrationEnvironmentError,
    MigrationError,
    PayloadTooLargeError,
    RateLimitedError,
    ReleaseError,
    ReleaseLockedError,
    ReleaseNotFoundError,
    ReleaseStateError,
    RetentionError,
    RollbackFailedError,
    RollbackTriggered,
    RolloutError,
    SafeReleaseError,
    SchemaOutOfDateError,
    SigningKeyError,
    SnapshotMissingError,
    SnapshotTamperedError,
    StoreConfigurationError,
    StoreError,
    TokenRefreshError,
    UnknownOperationError,
    UnknownSchemaRevisionError,
    UnverifiedRevisionError,
    VersionConflictError,
    VersionNotFoundError,
)

__version__ = "0.1.0"

__all__ = [
    "VERSION_TABLE",
    "AlembicCheckpoint",
    "AmbiguousWriteError",
    "Change",
    "CheckpointContext",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointRecord",
    "Checkpointable",
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
    "ContractBlockedError",
    "CustomCheckpoint",
    "ErrorRate",
    "IncidentReport",
    "InvalidArgumentError",
    "InvalidConfigNameError",
    "IrreversibleMigrationError",
    "Latency",
    "MarketplaceAuthError",
    "MarketplaceError",
    "MarketplaceHTTPError",
    "MarketplaceResponseError",
    "MarketplaceTransportError",
    "MigrationEnvironmentError",
    "MigrationError",
    "Observation",
    "PayloadTooLargeError",
    "RateLimitedError",
    "Release",
    "ReleaseError",
    "ReleaseEvent",
    "ReleaseLockedError",
    "ReleaseNotFoundError",
    "ReleaseRecord",
    "ReleaseStateError",
    "ReleaseStatus",
    "RetentionError",
    "RollbackFailedError",
    "RollbackReport",
    "RollbackTriggered",
    "Rollout",
    "RolloutError",
    "RolloutState",
    "SafeReleaseError",
    "SchemaOutOfDateError",
    "Signer",
    "SigningKeyError",
    "SnapshotMissingError",
    "SnapshotTamperedError",
    "StepResult",
    "Store",
    "StoreConfigurationError",
    "StoreError",
    "SystemClock",
    "TableCheckpoint",
    "TokenRefreshError",
    "Trigger",
    "UnknownOperationError",
    "UnknownSchemaRevisionError",
    "UnverifiedRevisionError",
    "Verification",
    "VersionConflictError",
    "VersionNotFoundError",
    "alembic_checkpoint",
    "checkpoint",
    "connect",
    "current_release",
    "exclude_sdk_tables",
    "guarded",
    "release",
    "table_checkpoint",
]
