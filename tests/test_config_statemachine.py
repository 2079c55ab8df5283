"""Stateful property test: the versioned config store against an in-Python model.

A hypothesis ``RuleBasedStateMachine`` drives random sequences of publishes
(plain, compare-and-set with a right or wrong ``expected_version``, staged
rollouts), rollbacks (default target and explicit ``to=``), prunes (including
an invalid ``keep``), ``mark_good``, ``promote``, ``abort`` and cached reads
(``current()``, ``value``, ``for_key``, ``rollout``, ``refresh()``) through two
stores on the same database, each with its own read cache, while a
``FakeClock`` advances. Every step is checked against a plain Python model,
and after every step the store's invariants are checked:

* versions are immutable and append-only: a version read again equals what was
  written (content, hash, lineage, timestamp) and numbers grow by one;
* the content hash is SHA-256 of canonical JSON;
* a rollback rolls forward: a new version carrying the target's content, with
  ``rolled_back_from`` = the old head, and the default target is the parent of
  the version whose content the head carries;
* a wrong ``expected_version`` raises ``VersionConflictError``;
* a staged rollout needs a stable head, and only one runs at a time;
* prune keeps at least 3 versions, the head, the last-good version and a
  rollout candidate; ``keep < 3`` raises ``RetentionError``;
* a failed operation leaves the stored versions, pointers and audit trail as
  they were;
* cached reads follow the ttl exactly: fresh after a local write, otherwise the
  database head once the ttl has passed;
* ``last_good()`` matches the model and pruned versions raise
  ``VersionNotFoundError``.

The machine runs on SQLite (a fresh file per example) and on PostgreSQL (a
fresh schema per example, dropped afterwards). A last test pins a bug the
machine's content strategy has to step around (lone surrogates).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import rfc8785
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import create_engine, func, select, text

import safe_release as sr
from safe_release._config._rollout import BUCKETS, bucket
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "pricing/sm"
TTL = 1.0
MIN_KEEP = 3
CLIENTS = 2  # two stores on one database: writes by one are "remote" to the other

# -- strategies -----------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
# A small key space so that equal contents (and equal hashes) recur.
CONTENTS = st.dictionaries(st.sampled_from(["floor", "mode", "rules"]), _JSON, max_size=2)
WHO = st.integers(0, CLIENTS - 1)
CAS = st.sampled_from([None, None, 0, 0, 1, -1, 2, -3])  # expected_version = head + CAS
PERCENTS = st.sampled_from([0.01, 1, 12.5, 33.33, 50, 99.99, 100]) | st.integers(1, 10_000).map(
    lambda bp: bp / 100
)
BAD_PERCENTS = st.sampled_from([0, -5, 100.5, 0.001])
KEEPS = st.sampled_from([-1, 0, 2, 3, 3, 3, 4, 5, True, 3.0])
KEYS = st.integers(0, 10**6) | _TEXT
# Content the store must refuse with ConfigContentError before writing anything.
# Lone surrogates ("\ud800") belong here too but raise UnicodeEncodeError instead:
# see test_lone_surrogate_is_a_content_error below.
_DEEP: Any = 0
for _ in range(70):
    _DEEP = [_DEEP]
BAD_CONTENTS = st.sampled_from(
    [
        ({"price": float("nan")}, sr.ConfigContentError),
        ({"x": [1, float("-inf")]}, sr.ConfigContentError),
        ({1: "int key"}, sr.ConfigContentError),
        ({"s": {1, 2}}, sr.ConfigContentError),
        ({"b": b"bytes"}, sr.ConfigContentError),
        ({"deep": _DEEP}, sr.ConfigContentError),
        ({"blob": "x" * (1024 * 1024)}, sr.ContentTooLargeError),
    ]
)
STEPS = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 2.5])
READS = ("current", "value", "for_key", "rollout", "refresh")


def canonical_hash(content: object) -> str:
    """SHA-256 of the RFC 8785 encoding, computed independently of the SDK.

    Content with an integer beyond RFC 8785's range is hashed over sorted-key JSON
    (the "legacy" kind), as the SDK documents.
    """
    try:
        return hashlib.sha256(rfc8785.dumps(content)).hexdigest()  # type: ignore[arg-type]
    except rfc8785.IntegerDomainError:
        pass
    encoded = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def hash_kind(content: object) -> str:
    """The kind `canonical_hash` took for ``content``."""
    try:
        rfc8785.dumps(content)  # type: ignore[arg-type]
    except rfc8785.IntegerDomainError:
        return "legacy"
    return "jcs"


# -- the model ---------------------------------------------------------------------


@dataclass
class CacheView:
    """What one store's read cache holds, as the model expects it."""

    head: int
    candidate: int | None
    bp: int | None
    checked_at: float


@dataclass
class Model:
    """The config as it should be: every version ever written, and the pointers."""

    versions: dict[int, sr.ConfigVersion] = field(default_factory=dict)
    stored: set[int] = field(default_factory=set)
    latest: int = 0
    head: int = 0
    last_good: int | None = None
    candidate: int | None = None
    bp: int | None = None
    aborted: set[int] = field(default_factory=set)
    caches: list[CacheView | None] = field(default_factory=lambda: [None] * CLIENTS)

    def pruned(self) -> list[int]:
        """Numbers written once and deleted since."""
        return sorted(set(self.versions) - self.stored)

    def load(self, number: int) -> sr.ConfigVersion | type[sr.SafeReleaseError]:
        """The version, or the error ``get``-like loads raise for it."""
        if number in self.stored:
            return self.versions[number]
        return sr.VersionNotFoundError

    def rollback_path(self) -> set[int]:
        """What the default rollback needs: the version the head restores and its parent."""
        head = self.versions[self.head]
        if head.restores is not None and head.restores not in self.stored:
            return set()  # its source was pruned: no default rollback to keep safe
        base = self.versions[head.restores] if head.restores is not None else head
        return {base.version} | ({base.parent} if base.parent is not None else set())

    def default_target(self) -> int | type[sr.SafeReleaseError]:
        """The default rollback target, exactly as ``_ops._default_target`` picks it."""
        head = self.versions[self.head]
        if head.restores is None:
            base = head
        else:
            loaded = self.load(head.restores)
            if not isinstance(loaded, sr.ConfigVersion):
                return loaded
            base = loaded
        if base.parent is None:
            return sr.ConfigError
        return base.parent


def _read(cfg: sr.ConfigStore[Any], kind: str, key: str | int) -> object:
    """One cached read of ``kind`` (see ``READS``)."""
    if kind == "current":
        return cfg.current()
    if kind == "value":
        return cfg.value
    if kind == "for_key":
        return cfg.for_key(key)
    if kind == "rollout":
        return cfg.rollout
    return cfg.refresh()


# -- backends ----------------------------------------------------------------------

Backend = tuple[str, "str | None", "Callable[[], None]"]  # url, schema, cleanup


def sqlite_backend() -> Backend:
    """A fresh SQLite file in its own temp directory."""
    directory = Path(tempfile.mkdtemp(prefix="sr-sm-"))
    return (
        f"sqlite:///{directory / 'store.db'}",
        None,
        lambda: shutil.rmtree(directory, ignore_errors=True),
    )


def postgres_backend(url: str) -> Callable[[], Backend]:
    """A factory of fresh PostgreSQL schemas on the session's server."""

    def make() -> Backend:
        schema = f"sm_{uuid.uuid4().hex[:12]}"

        def drop() -> None:
            engine = create_engine(url)
            try:
                with engine.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            finally:
                engine.dispose()

        return url, schema, drop

    return make


# -- the machine -------------------------------------------------------------------


class ConfigStoreMachine(RuleBasedStateMachine):
    """Random operations on one config, checked step by step against ``Model``."""

    make_backend: Callable[[], Backend]  # set by ``build_machine``

    def __init__(self) -> None:
        super().__init__()
        url, schema, self._cleanup = self.make_backend()
        self.clock = FakeClock()
        self.stores: list[sr.Store] = []
        for _ in range(CLIENTS):
            self.stores.append(sr.connect(url, schema=schema, clock=self.clock))
        self.cfgs = [s.config(NAME, ttl=TTL) for s in self.stores]
        self.m = Model()

    def teardown(self) -> None:
        """Close both stores and drop the example's database."""
        for store in self.stores:
            store.close()
        self._cleanup()

    # -- helpers -------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), tz=timezone.utc)

    def _snapshot(self) -> tuple[Any, ...]:
        cfg, store = self.cfgs[0], self.stores[0]
        events = store.tables.config_event
        with store.engine.connect() as conn:
            row = cfg._repo.head_row(conn)
            n_events = conn.execute(
                select(func.count()).select_from(events).where(events.c.name == NAME)
            ).scalar_one()
        return self._history(), row, n_events

    def _history(self) -> list[sr.ConfigVersion]:
        """Every stored version; a config with none raises ConfigNotFoundError."""
        if not self.m.stored:
            with pytest.raises(sr.ConfigNotFoundError):
                self.cfgs[0].history(limit=10_000)
            return []
        return self.cfgs[0].history(limit=10_000)

    def _fails(self, error: type[sr.SafeReleaseError], call: Callable[[], object]) -> None:
        before = self._snapshot()
        with pytest.raises(sr.SafeReleaseError) as info:
            call()
        assert type(info.value) is error, info.value
        assert self._snapshot() == before, "a failed operation changed the store"

    def _expect_new(
        self,
        content: Any,
        *,
        author: str,
        message: str,
        parent: int | None,
        content_hash: str | None = None,
        kind: str | None = None,
        rolled_back_from: int | None = None,
        restores: int | None = None,
    ) -> sr.ConfigVersion:
        return sr.ConfigVersion(
            name=NAME,
            version=self.m.latest + 1,
            content=content,
            content_hash=content_hash or canonical_hash(content),
            hash_kind=kind or hash_kind(content),
            author=author,
            message=message,
            created_at=self._now(),
            parent=parent,
            rolled_back_from=rolled_back_from,
            restores=restores,
        )

    def _append(self, got: sr.ConfigVersion, want: sr.ConfigVersion) -> None:
        assert got == want
        assert got.version == self.m.latest + 1, "version numbers must grow by one"
        assert got.content_hash == canonical_hash(got.content)
        self.m.versions[got.version] = want
        self.m.stored.add(got.version)
        self.m.latest = got.version

    def _entry(self, who: int, *, force: bool = False) -> CacheView | None:
        """Advance the cache model as a read by ``who`` would; ``None``: no head."""
        entry = self.m.caches[who]
        now = self.clock.monotonic()
        if not force and entry is not None and now - entry.checked_at < TTL:
            return entry
        if self.m.head == 0:
            return None
        entry = CacheView(self.m.head, self.m.candidate, self.m.bp, now)
        self.m.caches[who] = entry
        return entry

    def _read_back(self, who: int, version: sr.ConfigVersion) -> None:
        """A local write shows in ``current()`` at once, however fresh the cache was."""
        entry = self._entry(who)
        assert entry is not None
        assert self.m.versions[entry.head] == version
        assert self.cfgs[who].current() == version

    # -- writes --------------------------------------------------------------

    @initialize(contents=st.lists(CONTENTS, max_size=6), good=st.none() | st.integers(1, 6))
    def seed(self, contents: list[Any], good: int | None) -> None:
        """Start from zero to six plain publishes (one maybe marked good)."""
        for content in contents:
            self.publish(0, content, None, read_back=False)
        if good is not None and good <= self.m.latest:
            assert self.cfgs[0].mark_good(good, author="seed") == self.m.versions[good]
            self.m.last_good = good
            self.m.caches[0] = None

    @rule(who=WHO, content=CONTENTS, cas=CAS, read_back=st.booleans())
    def publish(self, who: int, content: Any, cas: int | None, read_back: bool) -> None:
        """Publish, maybe compare-and-set: ``cas`` 0 is right, other offsets are wrong."""
        m = self.m
        if read_back:  # make the cache fresh first: the write must still show at once
            self.read(who, "current", 0)
        expected = None if cas is None else m.head + cas if m.head + cas >= 0 else m.head - cas
        author = f"client{who}"

        def call() -> sr.ConfigVersion:
            return self.cfgs[who].publish(
                content, author=author, message="sm", expected_version=expected
            )

        if m.candidate is not None:
            self._fails(sr.RolloutError, call)
            return
        if expected is not None and expected != m.head:
            before = self._snapshot()
            with pytest.raises(sr.VersionConflictError) as info:
                call()
            assert (info.value.expected, info.value.actual) == (expected, m.head)
            assert self._snapshot() == before, "a refused publish stored something"
            return
        want = self._expect_new(content, author=author, message="sm", parent=m.head or None)
        self._append(call(), want)
        m.head = want.version
        m.caches[who] = None
        if read_back:
            self._read_back(who, want)

    @rule(who=WHO, bad=BAD_CONTENTS, percent=st.none() | PERCENTS)
    def publish_bad_content(
        self, who: int, bad: tuple[Any, type[sr.SafeReleaseError]], percent: float | None
    ) -> None:
        """Content JSON cannot hold (or too large) is refused before anything is written."""
        content, error = bad
        rollout = None if percent is None else sr.Rollout(percent=percent)
        self._fails(
            error,
            lambda: self.cfgs[who].publish(content, author=f"client{who}", rollout=rollout),
        )

    @precondition(lambda self: self.m.candidate is None)
    @rule(who=WHO, content=CONTENTS, percent=PERCENTS)
    def start_rollout(self, who: int, content: Any, percent: float) -> None:
        """Publish a staged-rollout candidate to ``percent`` of keys."""
        m = self.m
        author = f"client{who}"

        def call() -> sr.ConfigVersion:
            return self.cfgs[who].publish(
                content, author=author, message="canary", rollout=sr.Rollout(percent=percent)
            )

        if m.head == 0:  # no stable version to serve the other keys
            self._fails(sr.RolloutError, call)
            return
        want = self._expect_new(content, author=author, message="canary", parent=m.head)
        self._append(call(), want)
        m.candidate, m.bp = want.version, round(percent * 100)
        m.caches[who] = None

    @precondition(lambda self: self.m.candidate is not None)
    @rule(who=WHO, percent=st.none() | PERCENTS | BAD_PERCENTS, read_back=st.booleans())
    def promote(self, who: int, percent: float | None, read_back: bool) -> None:
        """Widen the rollout to ``percent`` (must grow), or finish it (``None``)."""
        m = self.m
        assert m.candidate is not None
        assert m.bp is not None
        candidate = m.versions[m.candidate]
        if read_back:
            self.read(who, "current", 0)

        def call() -> sr.ConfigVersion:
            return self.cfgs[who].promote(percent=percent, author=f"client{who}")

        if percent is not None and not (0 < percent <= 100 and round(percent * 100) > 0):
            self._fails(sr.InvalidArgumentError, call)
        elif percent is None:
            assert call() == candidate
            m.head, m.candidate, m.bp = candidate.version, None, None
            m.caches[who] = None
            if read_back:
                self._read_back(who, candidate)
        elif round(percent * 100) <= m.bp:
            self._fails(sr.RolloutError, call)
        else:
            assert call() == candidate
            m.bp = round(percent * 100)
            m.caches[who] = None

    @precondition(lambda self: self.m.candidate is not None)
    @rule(who=WHO)
    def abort(self, who: int) -> None:
        """Abort the staged rollout; the stable head stays."""
        m = self.m
        assert self.cfgs[who].abort(author=f"client{who}") == m.versions[m.head]
        assert m.candidate is not None
        m.aborted.add(m.candidate)
        m.candidate = m.bp = None
        m.caches[who] = None

    @precondition(lambda self: self.m.candidate is None)
    @rule(who=WHO, action=st.sampled_from(["promote", "widen", "widen-bad", "abort"]))
    def no_rollout(self, who: int, action: str) -> None:
        """Promote, widen or abort without a rollout in progress is refused."""
        cfg, author = self.cfgs[who], f"client{who}"
        missing = sr.ConfigNotFoundError if self.m.head == 0 else sr.RolloutError
        if action == "abort":
            self._fails(missing, lambda: cfg.abort(author=author))
        elif action == "widen-bad":  # the percentage is checked first
            self._fails(sr.InvalidArgumentError, lambda: cfg.promote(percent=0, author=author))
        else:
            percent = 50 if action == "widen" else None
            self._fails(missing, lambda: cfg.promote(percent=percent, author=author))

    @rule(who=WHO, data=st.data(), read_back=st.booleans())
    def rollback_to(self, who: int, data: st.DataObject, read_back: bool) -> None:
        """Roll back to an explicit ``to=`` (maybe 0, pruned, the head or unwritten)."""
        to = data.draw(st.integers(0, self.m.latest + 1), label="to")
        self._rollback(who, to, read_back=read_back)

    @rule(who=WHO, read_back=st.booleans())
    def rollback_default(self, who: int, read_back: bool) -> None:
        """Roll back to the default target (repeated, this keeps walking back)."""
        self._rollback(who, None, read_back=read_back)

    def _rollback(self, who: int, to: int | None, *, read_back: bool) -> None:
        m = self.m
        if read_back:
            self.read(who, "current", 0)
        author = f"client{who}"

        def call() -> sr.ConfigVersion:
            return self.cfgs[who].rollback(to, author=author)

        if to == 0:
            self._fails(sr.InvalidArgumentError, call)
            return
        if m.head == 0:
            self._fails(sr.ConfigNotFoundError, call)
            return
        head = m.versions[m.head]
        if m.candidate is not None and to is None:
            # Aborting the rollout is the whole rollback: the head stays.
            assert call() == head
            m.aborted.add(m.candidate)
            m.candidate = m.bp = None
            m.caches[who] = None
            return
        number = m.default_target() if to is None else to
        target = number if isinstance(number, type) else m.load(number)
        if isinstance(target, type):
            self._fails(target, call)
            return
        if target.version == head.version:
            self._fails(sr.InvalidArgumentError, call)
            return
        want = self._expect_new(
            target.content,
            author=author,
            message=f"rollback v{head.version} to v{target.version}",
            parent=head.version,
            content_hash=target.content_hash,
            kind=target.hash_kind,
            rolled_back_from=head.version,
            restores=target.restores if target.restores is not None else target.version,
        )
        got = call()
        assert got.content == target.content
        assert got.content_hash == target.content_hash
        assert got.rolled_back_from == head.version
        assert got.is_rollback
        self._append(got, want)
        m.head = want.version
        if m.candidate is not None:  # an explicit rollback aborts a rollout first
            m.aborted.add(m.candidate)
        m.candidate = m.bp = None
        m.caches[who] = None
        if read_back:
            self._read_back(who, want)

    @rule(who=WHO, keep=KEEPS)
    def prune(self, who: int, keep: Any) -> None:
        """Prune old versions, with a valid or an invalid ``keep``."""
        m = self.m

        def call() -> list[int]:
            return self.cfgs[who].prune(keep=keep, author=f"client{who}")

        if isinstance(keep, bool) or not isinstance(keep, int):
            self._fails(sr.InvalidArgumentError, call)
            return
        if keep < MIN_KEEP:
            self._fails(sr.RetentionError, call)
            return
        if m.head == 0:
            self._fails(sr.ConfigNotFoundError, call)
            return
        newest = sorted(m.stored, reverse=True)
        deployable = [n for n in newest if n not in m.aborted]
        protected = set(deployable[:keep]) | {m.head, m.last_good, m.candidate}
        protected |= m.rollback_path()
        doomed = sorted(n for n in newest if n not in protected)
        before = len([n for n in m.stored if n not in m.aborted])
        target_before = m.default_target()
        assert call() == doomed
        m.stored -= set(doomed)
        assert len([n for n in m.stored if n not in m.aborted]) >= min(MIN_KEEP, before)
        assert {m.head, m.last_good, m.candidate} - {None} <= m.stored
        assert m.default_target() == target_before, "a prune broke the default rollback"

    @rule(who=WHO, data=st.data())
    def mark_good(self, who: int, data: st.DataObject) -> None:
        """Mark the head (default) or an explicit version (maybe invalid) good."""
        m = self.m
        number = data.draw(st.none() | st.integers(0, m.latest + 1), label="version")

        def call() -> sr.ConfigVersion:
            return self.cfgs[who].mark_good(number, author=f"client{who}")

        if number == 0:
            self._fails(sr.InvalidArgumentError, call)
            return
        if m.head == 0:
            self._fails(sr.ConfigNotFoundError, call)
            return
        want = m.load(m.head if number is None else number)
        if isinstance(want, type):
            self._fails(want, call)
            return
        assert call() == want
        m.last_good = want.version
        m.caches[who] = None

    # -- time and cached reads -------------------------------------------------

    @rule(seconds=STEPS)
    def advance(self, seconds: float) -> None:
        """Move the fake clock forward."""
        self.clock.advance(seconds)

    @rule(who=WHO, kind=st.sampled_from(READS), key=KEYS)
    def read(self, who: int, kind: str, key: str | int) -> None:
        """A cached read serves the cached head, re-checked once the ttl has passed."""
        cfg = self.cfgs[who]
        entry = self._entry(who, force=kind == "refresh")
        if entry is None:
            with pytest.raises(sr.ConfigNotFoundError):
                _read(cfg, kind, key)
            return
        got = _read(cfg, kind, key)
        head = self.m.versions[entry.head]
        if kind in {"current", "refresh"}:
            assert got == head
        elif kind == "value":
            assert got == head.content
        elif kind == "for_key":
            serves = head
            if (
                entry.candidate is not None
                and entry.bp is not None
                and (entry.bp >= BUCKETS or bucket(NAME, entry.candidate, str(key)) < entry.bp)
            ):
                serves = self.m.versions[entry.candidate]
            assert got == serves
        elif entry.candidate is None:
            assert got is None
        else:
            assert entry.bp is not None
            assert got == sr.RolloutState(
                stable=entry.head, candidate=entry.candidate, percent=entry.bp / 100
            )

    @precondition(lambda self: self.m.head != 0 and self.m.candidate is None)
    @rule(reader=WHO, content=CONTENTS)
    def remote_publish(self, reader: int, content: Any) -> None:
        """Another store's publish shows in cached reads only once the ttl has passed."""
        cfg = self.cfgs[reader]
        self.read(reader, "refresh", 0)
        old = self.m.versions[self.m.head]
        self.publish(1 - reader, content, None, read_back=False)
        assert cfg.current() == old, "a fresh cache entry must be served until the ttl"
        assert cfg.value == old.content
        self.advance(TTL)
        self.read(reader, "current", 0)
        assert cfg.current() == self.m.versions[self.m.head]

    # -- invariants --------------------------------------------------------------

    @invariant()
    def versions_match_model(self) -> None:
        """Stored versions are exactly the model's kept versions, unchanged."""
        m = self.m
        history = self._history()
        assert [v.version for v in history] == sorted(m.stored, reverse=True)
        for version in history:
            assert version == m.versions[version.version], "a stored version changed"
            assert version.content_hash == canonical_hash(version.content)

    @invariant()
    def pointers_match_model(self) -> None:
        """Head, latest, last-good and rollout pointers match the model."""
        m = self.m
        with self.stores[0].engine.connect() as conn:
            row = self.cfgs[0]._repo.head_row(conn)
        if m.latest == 0:
            assert row is None
            return
        assert row is not None
        assert tuple(row) == (m.head, m.latest, m.last_good, m.candidate, m.bp)
        assert m.candidate is None or m.head != 0, "a rollout needs a stable head"
        assert {m.head, m.last_good, m.candidate} - {None, 0} <= m.stored

    @invariant()
    def last_good_matches_model(self) -> None:
        """``last_good()`` is the version last marked good."""
        cfg = self.cfgs[CLIENTS - 1]
        if self.m.head == 0:
            with pytest.raises(sr.ConfigNotFoundError):
                cfg.last_good()
            return
        want = None if self.m.last_good is None else self.m.versions[self.m.last_good]
        assert cfg.last_good() == want

    @invariant()
    def pruned_versions_are_gone(self) -> None:
        """``get`` raises VersionNotFoundError for pruned and unwritten numbers."""
        cfg = self.cfgs[0]
        for number in [*self.m.pruned(), self.m.latest + 1]:
            with pytest.raises(sr.VersionNotFoundError):
                cfg.get(number)


def build_machine(make_backend: Callable[[], Backend]) -> type[ConfigStoreMachine]:
    """The state machine class, bound to one backend factory."""
    return type(
        "ConfigStoreMachine", (ConfigStoreMachine,), {"make_backend": staticmethod(make_backend)}
    )


SETTINGS = settings(max_examples=40, stateful_step_count=25, deadline=None)


@pytest.mark.parametrize(
    "backend_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_config_store_state_machine(backend_name: str, request: pytest.FixtureRequest) -> None:
    """Random operation sequences keep every config-store invariant on both backends."""
    if backend_name == "sqlite":
        make: Callable[[], Backend] = sqlite_backend
    else:
        make = postgres_backend(request.getfixturevalue("pg_url"))
    run_state_machine_as_test(build_machine(make), settings=SETTINGS)


def test_lone_surrogate_is_a_content_error(tmp_path: Path) -> None:
    """A string JSON cannot encode as UTF-8 raises ConfigContentError, like NaN does."""
    store = sr.connect(f"sqlite:///{tmp_path / 'store.db'}", clock=FakeClock())
    try:
        cfg = store.config(NAME)
        with pytest.raises(sr.ConfigContentError):
            cfg.publish({"name": "\ud800"}, author="ops")
        with pytest.raises(sr.ConfigContentError):
            cfg.publish({"\udc00": 1}, author="ops")
        assert store.configs() == []
    finally:
        store.close()
