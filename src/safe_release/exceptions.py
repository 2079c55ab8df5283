"""Every error safe_release raises.

All of them derive from `SafeReleaseError`, so one ``except`` clause
catches the SDK's failures without catching your own bugs. Each class is drawn
under its first base; in parentheses are its other bases (``also``) and the
attributes it adds to those of the class above it:

    SafeReleaseError
    ├── InvalidArgumentError (also ValueError)
    ├── StoreError
    │   ├── StoreConfigurationError
    │   ├── SchemaOutOfDateError (current, head)
    │   └── UnknownSchemaRevisionError (current, head)
    ├── ConfigError
    │   ├── InvalidConfigNameError (also ValueError)
    │   ├── ConfigNotFoundError (also LookupError)
    │   ├── VersionNotFoundError (also LookupError)
    │   ├── VersionConflictError (expected, actual)
    │   ├── ConfigContentError (also ValueError)
    │   │   ├── ContentTooLargeError
    │   │   └── ConfigValidationError (errors)
    │   ├── RetentionError
    │   └── RolloutError
    ├── ReleaseError (release_id)
    │   ├── ReleaseLockedError (scope, holder)
    │   ├── ReleaseNotFoundError (also LookupError)
    │   ├── ReleaseStateError
    │   ├── RollbackTriggered (trigger)
    │   └── RollbackFailedError (report, original)
    ├── CheckpointError
    │   ├── SnapshotTamperedError
    │   ├── RestoreBlockedError
    │   ├── SnapshotMissingError
    │   └── CheckpointNotFoundError (also LookupError)
    ├── SigningKeyError
    ├── RecordTamperedError (table, key)
    │   └── UnsignedRecordError
    ├── MigrationError (revision)
    │   ├── IrreversibleMigrationError
    │   ├── ContractBlockedError (app, version)
    │   ├── MigrationEnvironmentError
    │   └── UnverifiedRevisionError (also CheckpointError; revisions)
    └── MarketplaceError (marketplace, operation)
        ├── MarketplaceHTTPError (status, code, request_id)
        │   ├── RateLimitedError (retry_after)
        │   │   └── QuotaExhaustedError (quota, reset_at)
        │   └── MarketplaceAuthError
        │       └── ReauthorizationRequired (shop, authorization_url)
        ├── MarketplaceResponseError
        ├── MarketplaceTransportError
        │   └── MarketplaceTimeoutError
        ├── AmbiguousWriteError
        ├── CircuitOpenError (retry_at)
        ├── TokenRefreshError
        ├── UnknownOperationError (also LookupError)
        └── PayloadTooLargeError (also ValueError)

Messages say what was wrong and what to do about it. They never contain
passwords, tokens or other secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

__all__ = [
    "AmbiguousWriteError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CircuitOpenError",
    "ConfigContentError",
    "ConfigError",
    "ConfigNotFoundError",
    "ConfigValidationError",
    "ContentTooLargeError",
    "ContractBlockedError",
    "InvalidArgumentError",
    "InvalidConfigNameError",
    "IrreversibleMigrationError",
    "MarketplaceAuthError",
    "MarketplaceError",
    "MarketplaceHTTPError",
    "MarketplaceResponseError",
    "MarketplaceTimeoutError",
    "MarketplaceTransportError",
    "MigrationEnvironmentError",
    "MigrationError",
    "PayloadTooLargeError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "ReauthorizationRequired",
    "RecordTamperedError",
    "ReleaseError",
    "ReleaseLockedError",
    "ReleaseNotFoundError",
    "ReleaseStateError",
    "RestoreBlockedError",
    "RetentionError",
    "RollbackFailedError",
    "RollbackTriggered",
    "RolloutError",
    "SafeReleaseError",
    "SchemaOutOfDateError",
    "SigningKeyError",
    "SnapshotMissingError",
    "SnapshotTamperedError",
    "StoreConfigurationError",
    "StoreError",
    "TokenRefreshError",
    "UnknownOperationError",
    "UnknownSchemaRevisionError",
    "UnsignedRecordError",
    "UnverifiedRevisionError",
    "VersionConflictError",
    "VersionNotFoundError",
]


class SafeReleaseError(Exception):
    """Root of every error raised by safe_release."""


class InvalidArgumentError(SafeReleaseError, ValueError):
    """An argument is out of range or of the wrong kind."""


class StoreError(SafeReleaseError):
    """The store cannot be reached, configured or used."""


class StoreConfigurationError(StoreError):
    """The store URL, engine or options are not usable."""


class SchemaOutOfDateError(StoreError):
    """The SDK's tables are older than this version of safe_release expects."""

    def __init__(self, message: str, *, current: str | None, head: str) -> None:
        super().__init__(message)
        self.current = current
        self.head = head


class UnknownSchemaRevisionError(StoreError):
    """The SDK's tables were written by a newer safe_release than this one."""

    def __init__(self, message: str, *, current: str, head: str) -> None:
        super().__init__(message)
        self.current = current
        self.head = head


class ConfigError(SafeReleaseError):
    """A versioned-config operation was refused."""


class InvalidConfigNameError(ConfigError, ValueError):
    """A config name does not follow the naming rules."""


class ConfigNotFoundError(ConfigError, LookupError):
    """The config has no versions yet (or no such config exists)."""


class VersionNotFoundError(ConfigError, LookupError):
    """The requested version does not exist or was pruned."""


class VersionConflictError(ConfigError):
    """``expected_version`` did not match the head: somebody published first."""

    def __init__(self, message: str, *, expected: int, actual: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class ConfigContentError(ConfigError, ValueError):
    """Config content is not JSON-compatible."""


class ContentTooLargeError(ConfigContentError):
    """Config content is larger than the store's size limit."""


class ConfigValidationError(ConfigContentError):
    """Config content does not validate against the config's schema.

    ``errors`` lists one entry per invalid field: ``(location, message)``.
    """

    def __init__(self, message: str, *, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.errors = tuple(errors)

    @property
    def fields(self) -> tuple[str, ...]:
        """The dotted locations of the invalid fields."""
        return tuple(loc for loc, _ in self.errors)


class RetentionError(ConfigError):
    """A prune would break the retention rules; nothing was deleted."""


class RolloutError(ConfigError):
    """A staged-rollout operation does not fit the rollout's state."""


class ReleaseError(SafeReleaseError):
    """A release could not start, run, roll back or be found."""

    def __init__(self, message: str, *, release_id: str | None = None) -> None:
        super().__init__(message)
        self.release_id = release_id


class ReleaseLockedError(ReleaseError):
    """Another release holds the scope's lock (``holder`` is its release id)."""

    def __init__(
        self, message: str, *, scope: str, holder: str | None, release_id: str | None = None
    ) -> None:
        super().__init__(message, release_id=release_id)
        self.scope = scope
        self.holder = holder


class ReleaseNotFoundError(ReleaseError, LookupError):
    """No release with that id is recorded in the store."""


class ReleaseStateError(ReleaseError):
    """The release is not in a state that allows the operation (e.g. roll back a success)."""


class RollbackTriggered(ReleaseError):  # noqa: N818 - a signal, named for what happened
    """A trigger tripped: raised inside the release so that it rolls back at once."""

    def __init__(self, message: str, *, trigger: str, release_id: str | None = None) -> None:
        super().__init__(message, release_id=release_id)
        self.trigger = trigger


class RollbackFailedError(ReleaseError):
    """Part of a rollback failed; ``report`` says what was and was not restored.

    It is chained to the failure of the rollback; the job's own exception is on
    ``original``. Run `Store.recover` (``safe-release recover``) once the cause
    is fixed: it finishes the steps that are left, and is safe to run twice.
    """

    def __init__(
        self,
        message: str,
        *,
        release_id: str | None = None,
        report: object = None,
        original: BaseException | None = None,
    ) -> None:
        super().__init__(message, release_id=release_id)
        self.report = report
        self.original = original


class CheckpointError(SafeReleaseError):
    """A checkpoint could not be captured, verified or restored."""


class SnapshotTamperedError(CheckpointError):
    """A snapshot's signed manifest does not match its content; it was not restored."""


class RestoreBlockedError(CheckpointError):
    """A restore waited its bounded time for a lock another transaction holds, and gave up.

    Often the job's own session still holds uncommitted changes: roll it back
    (or pass it as ``release(..., sessions=[...])``), then run `Store.recover`.
    """


class SnapshotMissingError(CheckpointError):
    """A snapshot's stored copy is gone (dropped table, pruned); it was not restored."""


class CheckpointNotFoundError(CheckpointError, LookupError):
    """A recorded checkpoint has no live object to restore it with (pass it to recover)."""


class SigningKeyError(SafeReleaseError):
    """The store's signing key is missing, unreadable or too short."""


class RecordTamperedError(SafeReleaseError):
    """A stored record that decides a rollback does not verify with the signing key.

    ``table`` and ``key`` name the row (``sr_ledger``, ``(release id, entry id)``).
    Nothing is sent or restored from it; the rollback reports it as a failed step.
    """

    def __init__(self, message: str, *, table: str, key: tuple[object, ...]) -> None:
        super().__init__(message)
        self.table = table
        self.key = key


class UnsignedRecordError(RecordTamperedError):
    """A record written before records were sealed: check it, then re-seal it.

    ``safe-release releases resign ID`` (``store.resign_release``) seals the rows
    of one release again once a person has checked them.
    """


class MigrationError(SafeReleaseError):
    """A schema migration helper, check or runner refused or failed."""

    def __init__(self, message: str, *, revision: str | None = None) -> None:
        super().__init__(message)
        self.revision = revision


class IrreversibleMigrationError(MigrationError):
    """A downgrade cannot restore what its upgrade removed (archive missing or unusable)."""


class ContractBlockedError(MigrationError):
    """A contract revision was refused: an application version that needs the old shape is live."""

    def __init__(
        self,
        message: str,
        *,
        app: str,
        version: str,
        revision: str | None = None,
    ) -> None:
        super().__init__(message, revision=revision)
        self.app = app
        self.version = version


class MigrationEnvironmentError(MigrationError):
    """The Alembic project cannot be run as asked (env.py ignored the scratch database, ...)."""


class UnverifiedRevisionError(MigrationError, CheckpointError):
    """A downgrade would pass revisions the migration checker has not verified."""

    def __init__(self, message: str, *, revisions: Sequence[str]) -> None:
        super().__init__(message, revision=revisions[0] if revisions else None)
        self.revisions = tuple(revisions)


class MarketplaceError(SafeReleaseError):
    """A marketplace call failed; ``marketplace`` and ``operation`` say which.

    Messages and attributes never carry tokens, secrets or request bodies.
    """

    def __init__(self, message: str, *, marketplace: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.marketplace = marketplace
        self.operation = operation


class MarketplaceHTTPError(MarketplaceError):
    """The marketplace answered with an error status (after any retries)."""

    def __init__(
        self,
        message: str,
        *,
        marketplace: str = "",
        operation: str = "",
        status: int,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, marketplace=marketplace, operation=operation)
        self.status = status
        self.code = code
        self.request_id = request_id


class RateLimitedError(MarketplaceHTTPError):
    """Throttled (HTTP 429 or the platform's equivalent) and out of retries."""

    def __init__(
        self,
        message: str,
        *,
        marketplace: str = "",
        operation: str = "",
        status: int = 429,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            marketplace=marketplace,
            operation=operation,
            status=status,
            code=code,
            request_id=request_id,
        )
        self.retry_after = retry_after


class QuotaExhaustedError(RateLimitedError):
    """A daily budget is spent: nothing was sent, and nothing should be until it resets.

    ``quota`` is the budget's key, ``reset_at`` when it resets (an aware UTC
    datetime) and ``retry_after`` the seconds until then. Raised before sending
    when a call would overrun the budget, and when the marketplace says it is spent.
    """

    def __init__(
        self,
        message: str,
        *,
        marketplace: str = "",
        operation: str = "",
        status: int = 429,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        quota: str = "",
        reset_at: datetime | None = None,
    ) -> None:
        super().__init__(
            message,
            marketplace=marketplace,
            operation=operation,
            status=status,
            code=code,
            request_id=request_id,
            retry_after=retry_after,
        )
        self.quota = quota
        self.reset_at = reset_at


class MarketplaceAuthError(MarketplaceHTTPError):
    """The marketplace refused the credentials (expired, revoked or missing token)."""


class ReauthorizationRequired(MarketplaceAuthError):  # noqa: N818 - names what to do
    """The shop must be authorised again: its refresh token is spent, lost or expired.

    Raised when a single-use refresh token was used but its answer was lost (a
    crash between the refresh and saving it, a timeout after sending), when the
    marketplace says the refresh token is used or invalid, and when no token is
    stored. It is raised at once, without another refresh, for every call until
    the token store holds a new refresh token. ``shop`` names the shop,
    ``authorization_url`` is the consent link to send its owner ("" if unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        marketplace: str = "",
        operation: str = "",
        status: int = 401,
        code: str | None = None,
        request_id: str | None = None,
        shop: str = "",
        authorization_url: str = "",
    ) -> None:
        super().__init__(
            message,
            marketplace=marketplace,
            operation=operation,
            status=status,
            code=code,
            request_id=request_id,
        )
        self.shop = shop
        self.authorization_url = authorization_url


class MarketplaceResponseError(MarketplaceError):
    """The marketplace's answer could not be understood (not JSON, an HTML page …)."""


class MarketplaceTransportError(MarketplaceError):
    """The request could not be delivered (connection refused, DNS, timeout before send)."""


class MarketplaceTimeoutError(MarketplaceTransportError):
    """No complete answer within the attempt's deadline, on every attempt the call had."""


class AmbiguousWriteError(MarketplaceError):
    """A non-idempotent write may or may not have happened, and reconciling could not tell.

    It was not retried: retrying could apply it twice. Check the marketplace (the
    message says how) before sending it again.
    """


class CircuitOpenError(MarketplaceError):
    """The circuit breaker is open after sustained failures; no request was sent."""

    def __init__(
        self, message: str, *, marketplace: str = "", operation: str = "", retry_at: float
    ) -> None:
        super().__init__(message, marketplace=marketplace, operation=operation)
        self.retry_at = retry_at


class TokenRefreshError(MarketplaceError):
    """Refreshing the access token failed (invalid grant, rotated client secret …)."""


class UnknownOperationError(MarketplaceError, LookupError):
    """The adapter declares no operation of that name."""


class PayloadTooLargeError(MarketplaceError, ValueError):
    """The request body is over the operation's size limit; nothing was sent."""
