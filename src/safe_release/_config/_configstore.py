"""``ConfigStore``: one named, versioned, validated config."""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from safe_release._clock import utc_now
from safe_release._config import _arguments, _checkpoint, _ops
from safe_release._config._cache import CacheEntry, CacheKey
from safe_release._config._diff import diff_json
from safe_release._config._models import ConfigDiff, ConfigVersion, Rollout, RolloutState
from safe_release._config._repo import ConfigRepo
from safe_release._config._rollout import BUCKETS, bucket
from safe_release._json import content_hash_of, encode_content
from safe_release._store import read_tx, write_tx
from safe_release.exceptions import (
    ConfigValidationError,
    InvalidArgumentError,
)

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from pydantic import JsonValue

    from safe_release._checkpoints import CheckpointContext
    from safe_release._store import StoreCore

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TTL", "ConfigStore"]

T = TypeVar("T")
log = logging.getLogger("safe_release.config")
_UNPARSED: Any = object()
_INVALID: Any = object()
# pydantic >= 2.12 can leave @computed_field values out of a dump; older ones cannot
_NO_COMPUTED: dict[str, Any] = (
    {"exclude_computed_fields": True}
    if "exclude_computed_fields" in inspect.signature(BaseModel.model_dump).parameters
    else {}
)
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_TTL = 1.0


class ConfigStore(Generic[T]):
    """A named config with immutable, append-only versions.

    Obtain one with `Store.config`. Reads of the head (`current`,
    `value`, `for_key`) are served from a per-process cache that checks
    the database at most every ``ttl`` seconds, and at once after a publish or
    rollback made through this store.
    """

    def __init__(
        self,
        store: StoreCore,
        name: str,
        *,
        schema: type[BaseModel] | None,
        max_bytes: int,
        ttl: float | timedelta,
    ) -> None:
        if schema is not None and not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            msg = f"schema= must be a pydantic model class, not {schema!r}"
            raise InvalidArgumentError(msg)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            msg = f"max_bytes= must be a positive number of bytes (got {max_bytes!r})"
            raise InvalidArgumentError(msg)
        self._store = store
        self._name = _arguments.check_name(name)
        self._schema = schema
        self._max_bytes = max_bytes
        self._ttl = _arguments.seconds(ttl, "ttl")
        self._repo = ConfigRepo(store.tables, self._name)
        self._key: CacheKey = (self._name, schema)
        self._entries: dict[CacheKey, CacheEntry] = store.read_cache.entries
        self._monotonic = store.clock.monotonic

    # -- identity -------------------------------------------------------------

    @property
    def name(self) -> str:
        """The config's name."""
        return self._name

    @property
    def schema(self) -> type[BaseModel] | None:
        """The pydantic model content is validated against, if any."""
        return self._schema

    @property
    def max_bytes(self) -> int:
        """The size limit of one version's canonical JSON encoding."""
        return self._max_bytes

    def __repr__(self) -> str:
        entry = self._entries.get(self._key)
        head = entry.version.version if entry is not None else "?"
        return f"<ConfigStore {self._name!r} head={head}>"

    # -- hot-path reads -------------------------------------------------------

    def current(self) -> ConfigVersion:
        """The head version (the stable one while a rollout is in progress)."""
        entry = self._entries.get(self._key)
        if entry is not None and self._monotonic() - entry.checked_at < self._ttl:
            return entry.version
        return self._refresh(entry).version

    @property
    def value(self) -> T:
        """The head's content: a ``schema`` instance when a schema was given.

        The instance is shared by every reader in the process: do not mutate it
        (declare the schema with ``frozen=True`` to have pydantic enforce this).
        """
        entry = self._entries.get(self._key)
        if entry is None or self._monotonic() - entry.checked_at >= self._ttl:
            entry = self._refresh(entry)
        value: T = entry.value
        return value

    def for_key(self, key: str | int) -> ConfigVersion:
        """The version serving ``key`` (a SKU, shop id …) under a staged rollout."""
        return self._pick(key)[0]

    def value_for(self, key: str | int) -> T:
        """The content serving ``key``: like `value`, rollout-aware."""
        value: T = self._pick(key)[1]
        return value

    @property
    def rollout(self) -> RolloutState | None:
        """The rollout in progress (as of the last head check), or ``None``."""
        entry = self._fresh_entry()
        if entry.candidate is None or entry.rollout_bp is None:
            return None
        return RolloutState(
            stable=entry.version.version,
            candidate=entry.candidate.version,
            percent=entry.rollout_bp / 100,
        )

    def refresh(self) -> ConfigVersion:
        """Check the database now, ignoring the cache's ``ttl``."""
        return self._refresh(self._entries.get(self._key)).version

    def _fresh_entry(self) -> CacheEntry:
        entry = self._entries.get(self._key)
        if entry is None or self._monotonic() - entry.checked_at >= self._ttl:
            entry = self._refresh(entry)
        return entry

    def _pick(self, key: str | int) -> tuple[ConfigVersion, Any]:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            msg = f"for_key() takes a str or int key (a SKU, shop id …), not {key!r}"
            raise InvalidArgumentError(msg)
        entry = self._fresh_entry()
        cand = entry.candidate
        if (
            cand is not None
            and entry.rollout_bp is not None
            and (
                entry.rollout_bp >= BUCKETS
                or bucket(self._name, cand.version, str(key)) < entry.rollout_bp
            )
        ):
            value = self._candidate_value(entry, cand)
            if value is not _INVALID:
                return cand, value
        return entry.version, entry.value

    def _candidate_value(self, entry: CacheEntry, cand: ConfigVersion) -> Any:
        """The candidate's value, parsed on first use; `_INVALID` if this schema rejects it.

        A canary this code cannot read must not take the stable keys down with it:
        its keys keep the stable version and the problem is logged once.
        """
        if entry.candidate_value is _UNPARSED:
            try:
                entry.candidate_value = self._parse(cand)
            except ConfigValidationError as exc:
                log.warning(
                    "serving the stable version instead of candidate v%s: %s", cand.version, exc
                )
                entry.candidate_value = _INVALID
        return entry.candidate_value

    def _refresh(self, entry: CacheEntry | None) -> CacheEntry:
        checked_at = self._monotonic()
        with read_tx(self._store.engine) as conn:
            row = self._repo.require(conn)
            if (
                entry is not None
                and entry.version.version == row.head
                and (entry.candidate.version if entry.candidate else None) == row.candidate
                and entry.rollout_bp == row.rollout_bp
            ):
                entry.checked_at = checked_at
                return entry
            version = self._repo.load(conn, row.head, row.latest)
            candidate = (
                self._repo.load(conn, row.candidate, row.latest)
                if row.candidate is not None
                else None
            )
        fresh = CacheEntry(
            version=version,
            value=self._parse(version),
            checked_at=checked_at,
            candidate=candidate,
            candidate_value=_UNPARSED,
            rollout_bp=row.rollout_bp,
        )
        self._entries[self._key] = fresh
        return fresh

    def _parse(self, version: ConfigVersion) -> Any:
        if self._schema is None:
            return version.content
        try:
            return self._schema.model_validate(version.content)
        except ValidationError as exc:
            msg = (
                f"stored version {version.version} of config {self._name!r} does not "
                f"validate against {self._schema.__name__}"
            )
            raise _arguments.validation_error(
                msg,
                "publish a version that does, or deploy code whose schema accepts it",
                exc,
            ) from exc

    # -- uncached reads -------------------------------------------------------

    def get(self, version: int) -> ConfigVersion:
        """Version ``version`` (a fresh read, never cached)."""
        number = _arguments.version_number(version, "version")
        with read_tx(self._store.engine) as conn:
            return self._repo.load(conn, number)

    def history(self, *, limit: int = 20, before: int | None = None) -> list[ConfigVersion]:
        """Up to ``limit`` versions, newest first (below ``before`` when given)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:  # noqa: PLR2004
            msg = f"history(limit=…) must be an int from 1 to 10000 (got {limit!r})"
            raise InvalidArgumentError(msg)
        if before is not None:
            before = _arguments.version_number(before, "before")
        with read_tx(self._store.engine) as conn:
            versions = self._repo.history(conn, limit, before)
            if not versions:
                self._repo.require(conn)
            return versions

    def diff(self, a: int, b: int) -> ConfigDiff:
        """Per-key changes from version ``a`` to version ``b`` (nested)."""
        va, vb = self.get(a), self.get(b)
        return ConfigDiff(
            name=self._name, a=va.version, b=vb.version, changes=diff_json(va.content, vb.content)
        )

    def last_good(self) -> ConfigVersion | None:
        """The version last marked good with `mark_good`, if any."""
        with read_tx(self._store.engine) as conn:
            row = self._repo.require(conn)
            if row.last_good is None:
                return None
            return self._repo.load(conn, row.last_good, row.latest)

    # -- writes -----------------------------------------------------------------

    def publish(
        self,
        content: object,
        *,
        author: str,
        message: str = "",
        expected_version: int | None = None,
        rollout: Rollout | None = None,
    ) -> ConfigVersion:
        """Append a new version and make it the head (or a rollout candidate).

        ``expected_version`` makes the publish a compare-and-set: it fails with
        `VersionConflictError` unless the head is that version (``0``:
        the config must have no versions yet). Invalid content raises before
        anything is written.
        """
        author, message = _arguments.check_author(author), _arguments.check_message(message)
        if expected_version is not None:
            expected_version = _arguments.version_number(
                expected_version, "expected_version", zero=True
            )
        if rollout is not None and not (
            isinstance(rollout, Rollout) and 1 <= rollout.basis_points <= BUCKETS
        ):
            msg = f"rollout= must be a Rollout(percent=…), not {rollout!r}"
            raise InvalidArgumentError(msg)
        data, text = self._encode(content)
        draft = _Draft(self._name, data, text, author, message)
        with write_tx(self._store.engine) as conn:
            version = _ops.publish(
                self._repo,
                conn,
                draft=draft,
                expected=expected_version,
                rollout=rollout,
                now=self._now(),
            )
        self._store.read_cache.invalidate(self._name)
        return version

    def rollback(
        self,
        to: int | None = None,
        *,
        author: str = "safe_release",
        message: str = "",
        expected_version: int | None = None,
    ) -> ConfigVersion:
        """Roll the head back by publishing a new version equal to the target.

        ``to`` defaults to the version before the head's content was introduced,
        so repeated rollbacks keep walking back instead of toggling. Give
        ``expected_version`` (the head you saw) so that two people or jobs rolling
        back at once do not walk back two steps: the second gets
        `VersionConflictError`. A staged rollout in progress is aborted first;
        with ``to=None`` that abort is the whole rollback and the (unchanged)
        stable head is returned.
        """
        author, message = _arguments.check_author(author), _arguments.check_message(message)
        target = None if to is None else _arguments.version_number(to, "to")
        if expected_version is not None:
            expected_version = _arguments.version_number(expected_version, "expected_version")
        with write_tx(self._store.engine) as conn:
            version = _ops.rollback(
                self._repo,
                conn,
                to=target,
                author=author,
                message=message,
                check=self._check_stored,
                now=self._now(),
                expected=expected_version,
            )
        self._store.read_cache.invalidate(self._name)
        return version

    def mark_good(
        self, version: int | None = None, *, author: str = "safe_release"
    ) -> ConfigVersion:
        """Record ``version`` (default: the head) as the last known good one."""
        author = _arguments.check_author(author)
        number = None if version is None else _arguments.version_number(version, "version")
        with write_tx(self._store.engine) as conn:
            marked = _ops.mark_good(self._repo, conn, number, author, self._now())
        self._store.read_cache.invalidate(self._name)
        return marked

    def prune(self, *, keep: int = 10, author: str = "safe_release") -> list[int]:
        """Delete old versions, keeping the newest ``keep`` (at least 3).

        The head, the last-good version and a rollout candidate are always kept.
        Returns the deleted version numbers. A ``keep`` under 3 raises
        `RetentionError` and deletes nothing.
        """
        author = _arguments.check_author(author)
        with write_tx(self._store.engine) as conn:
            return _ops.prune(self._repo, conn, keep, author, self._now())

    def promote(
        self, *, percent: float | None = None, author: str = "safe_release"
    ) -> ConfigVersion:
        """Widen the rollout to ``percent``, or (default) make the candidate the head."""
        author = _arguments.check_author(author)
        bp = None if percent is None else Rollout(percent=percent).basis_points
        with write_tx(self._store.engine) as conn:
            version = _ops.promote(self._repo, conn, bp, author, self._now())
        self._store.read_cache.invalidate(self._name)
        return version

    def abort(self, *, author: str = "safe_release") -> ConfigVersion:
        """Stop serving the rollout candidate; returns the stable head."""
        author = _arguments.check_author(author)
        with write_tx(self._store.engine) as conn:
            version = _ops.abort(self._repo, conn, author, self._now())
        self._store.read_cache.invalidate(self._name)
        return version

    # -- checkpoint (the Checkpointable protocol) ---------------------------------

    @property
    def kind(self) -> str:
        """``"config"``: a config is a checkpoint of a release."""
        return "config"

    def describe(self) -> str:
        """``config <name>``: how a release's records name this checkpoint."""
        return f"config {self._name}"

    def capture(self, ctx: CheckpointContext) -> dict[str, JsonValue]:
        """The head's version and content hash, for a release's checkpoint."""
        return _checkpoint.capture(self, ctx)

    def restore(self, state: dict[str, JsonValue], ctx: CheckpointContext) -> str:
        """Roll the head back to the captured version unless it already carries it."""
        return _checkpoint.restore(self, state, ctx)

    def verify(self, state: dict[str, JsonValue], ctx: CheckpointContext) -> tuple[bool, str]:
        """Whether the head carries the captured version's content."""
        return _checkpoint.verify(self, state, ctx)

    # -- helpers ----------------------------------------------------------------

    def _now(self) -> datetime:
        return utc_now(self._store.clock)

    def _encode(self, content: object) -> tuple[Any, str]:
        if self._schema is not None:
            content = self._validate(content)
        elif isinstance(content, BaseModel):
            content = content.model_dump(mode="json")
        return encode_content(content, max_bytes=self._max_bytes, what=f"config {self._name!r}")

    def _validate(self, content: object) -> object:
        schema = self._schema
        assert schema is not None  # noqa: S101 - narrowed by the caller
        try:
            if isinstance(content, schema):
                content = content.model_dump(by_alias=True, **_NO_COMPUTED)
            model = schema.model_validate(content)
        except ValidationError as exc:
            msg = f"config {self._name!r} content is invalid for {schema.__name__}"
            raise _arguments.validation_error(
                msg, "fix those fields; nothing was stored", exc
            ) from exc
        dumped = model.model_dump(mode="json", by_alias=True, **_NO_COMPUTED)
        _arguments.round_trips(schema, model, dumped, self._name)
        return dumped

    def _check_stored(self, version: ConfigVersion) -> None:
        if self._schema is not None:
            self._parse(version)


class _Draft:
    """Checked content waiting to be written."""

    __slots__ = ("author", "content", "content_hash", "hash_kind", "message", "name", "text")

    def __init__(self, name: str, content: Any, text: str, author: str, message: str) -> None:
        self.name, self.content, self.text = name, content, text
        self.content_hash, self.hash_kind = content_hash_of(content)
        self.author, self.message = author, message
