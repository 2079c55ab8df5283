"""The versioned config store, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel, ConfigDict, Field

import safe_release as sr

if TYPE_CHECKING:
    from safe_release.testing import FakeClock
    from tests.conftest import Backend


class PricingRules(BaseModel):
    """A seller's pricing config, as an ERP would declare it."""

    model_config = ConfigDict(frozen=True)

    min_margin: float = Field(gt=0, lt=1)
    max_discount: float = Field(ge=0, le=0.9)
    floor: dict[str, Decimal] = Field(default_factory=dict)


RULES = {"min_margin": 0.12, "max_discount": 0.3, "floor": {"US": "9.99"}}


def _canonical_hash(content: object) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class TestPublish:
    def test_versions_are_numbered_and_carry_metadata(self, store: sr.Store) -> None:
        """Each publish appends the next number with author, message, parent and hash."""
        cfg = store.config("pricing")
        v1 = cfg.publish({"a": 1}, author="ana", message="first")
        v2 = cfg.publish({"a": 2, "b": [1, 2]}, author="bo", message="second")
        assert (v1.version, v2.version) == (1, 2)
        assert (v2.author, v2.message, v2.parent) == ("bo", "second", 1)
        assert v1.parent is None
        assert v2.content_hash == _canonical_hash({"a": 2, "b": [1, 2]})
        assert v2.created_at.tzinfo is not None
        assert cfg.get(1) == v1
        assert cfg.current() == v2

    def test_versions_are_immutable(self, store: sr.Store) -> None:
        """A stored version reads back identically after later publishes."""
        cfg = store.config("pricing")
        v1 = cfg.publish({"nested": {"x": [1, {"y": None}]}}, author="a")
        cfg.publish({"other": True}, author="a")
        assert cfg.get(1) == v1
        with pytest.raises(Exception):  # noqa: B017, PT011 - pydantic's frozen error
            v1.version = 5  # type: ignore[misc]

    def test_unicode_and_numbers_round_trip(self, store: sr.Store) -> None:
        """Non-ASCII text, big ints and floats come back exactly."""
        content = {"名前": "ショップ", "big": 2**62, "f": 0.1, "neg": -3.5e-7}
        store.config("i18n").publish(content, author="a")
        assert store.config("i18n").get(1).content == content

    def test_expected_version_conflict_stores_nothing(self, store: sr.Store) -> None:
        """A compare-and-set against a stale head raises and writes no version."""
        cfg = store.config("pricing")
        cfg.publish({"a": 1}, author="a")
        cfg.publish({"a": 2}, author="a", expected_version=1)
        with pytest.raises(sr.VersionConflictError, match="is at v2, not v1") as info:
            cfg.publish({"a": 3}, author="a", expected_version=1)
        assert (info.value.expected, info.value.actual) == (1, 2)
        assert [v.version for v in cfg.history()] == [2, 1]

    def test_expected_version_zero_means_create(self, store: sr.Store) -> None:
        """expected_version=0 succeeds only while the config has no versions."""
        cfg = store.config("fresh")
        assert cfg.publish({"a": 1}, author="a", expected_version=0).version == 1
        with pytest.raises(sr.VersionConflictError):
            cfg.publish({"a": 1}, author="a", expected_version=0)

    def test_model_instances_are_accepted(self, store: sr.Store) -> None:
        """A pydantic instance is validated and stored as its JSON form."""
        cfg = store.config("pricing", schema=PricingRules)
        cfg.publish(PricingRules.model_validate(RULES), author="a")
        assert cfg.value == PricingRules.model_validate(RULES)
        assert cfg.current().content == {
            "min_margin": 0.12,
            "max_discount": 0.3,
            "floor": {"US": "9.99"},
        }


class TestValidation:
    def test_schema_errors_name_fields_and_store_nothing(self, store: sr.Store) -> None:
        """Invalid content raises ConfigValidationError naming each bad field."""
        cfg = store.config("pricing", schema=PricingRules)
        bad = {"min_margin": -1, "max_discount": 2, "floor": {}}
        with pytest.raises(sr.ConfigValidationError) as info:
            cfg.publish(bad, author="a")
        assert set(info.value.fields) == {"min_margin", "max_discount"}
        assert "min_margin" in str(info.value)
        assert "nothing was stored" in str(info.value)
        assert store.configs() == []

    def test_value_is_typed_model(self, store: sr.Store) -> None:
        """value returns an instance of the schema."""
        cfg = store.config("pricing", schema=PricingRules)
        cfg.publish(RULES, author="a")
        assert isinstance(cfg.value, PricingRules)
        assert cfg.value.floor["US"] == Decimal("9.99")

    def test_value_without_schema_is_json(self, store: sr.Store) -> None:
        """Without a schema value is the plain JSON content."""
        cfg = store.config("flags")
        cfg.publish({"on": True}, author="a")
        assert cfg.value == {"on": True}

    @pytest.mark.parametrize(
        ("content", "where"),
        [
            ({"price": float("nan")}, "$.price"),
            ({"x": [1, float("inf")]}, "$.x[1]"),
            ({1: "int key"}, "key 1"),
            ({"when": object()}, "$.when"),
            ({"s": {1, 2}}, "$.s"),
        ],
    )
    def test_non_json_content_is_refused(
        self, store: sr.Store, content: object, where: str
    ) -> None:
        """Content JSON cannot represent raises ConfigContentError naming the spot."""
        with pytest.raises(sr.ConfigContentError, match=__import__("re").escape(where)):
            store.config("bad").publish(content, author="a")
        assert store.configs() == []

    def test_size_limit(self, store: sr.Store) -> None:
        """Content over max_bytes raises ContentTooLargeError; the limit is configurable."""
        big = {"blob": "x" * 2000}
        with pytest.raises(sr.ContentTooLargeError, match="over the limit of 1,000 bytes"):
            store.config("big", max_bytes=1000).publish(big, author="a")
        assert store.config("big", max_bytes=4000).publish(big, author="a").version == 1

    def test_default_size_limit_is_one_mib(self, store: sr.Store) -> None:
        """The default limit is 1 MiB."""
        with pytest.raises(sr.ContentTooLargeError):
            store.config("big").publish({"blob": "x" * (1024 * 1024)}, author="a")

    @pytest.mark.parametrize("name", ["", " pricing", "a" * 201, "bad name", "-x", 7])
    def test_invalid_names(self, store: sr.Store, name: object) -> None:
        """Names outside the naming rules raise InvalidConfigNameError."""
        with pytest.raises(sr.InvalidConfigNameError, match="not a valid config name"):
            store.config(name)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "kwargs", [{"author": ""}, {"author": "x" * 300}, {"author": "a", "message": 3}]
    )
    def test_invalid_author_or_message(self, store: sr.Store, kwargs: dict[str, object]) -> None:
        """A missing author or non-string message is refused before writing."""
        with pytest.raises(sr.InvalidArgumentError):
            store.config("p").publish({"a": 1}, **kwargs)  # type: ignore[arg-type]

    def test_schema_must_be_a_model(self, store: sr.Store) -> None:
        """schema= must be a pydantic model class."""
        with pytest.raises(sr.InvalidArgumentError, match="pydantic model class"):
            store.config("p", schema=dict)  # type: ignore[call-overload]


class TestReads:
    def test_unknown_config(self, store: sr.Store) -> None:
        """Reading a config with no versions says how to publish one."""
        with pytest.raises(sr.ConfigNotFoundError, match="publish one first"):
            store.config("nope").current()
        with pytest.raises(sr.ConfigNotFoundError):
            _ = store.config("nope").value

    def test_unknown_version(self, store: sr.Store) -> None:
        """get() of a version that never existed names the valid range."""
        cfg = store.config("p")
        cfg.publish({"a": 1}, author="a")
        with pytest.raises(sr.VersionNotFoundError, match="from 1 to 1"):
            cfg.get(9)
        with pytest.raises(sr.InvalidArgumentError):
            cfg.get(0)

    def test_history_newest_first_with_limit_and_paging(self, store: sr.Store) -> None:
        """history(limit=, before=) pages newest first."""
        cfg = store.config("p")
        for i in range(7):
            cfg.publish({"i": i}, author="a")
        assert [v.version for v in cfg.history(limit=3)] == [7, 6, 5]
        assert [v.version for v in cfg.history(limit=3, before=5)] == [4, 3, 2]
        with pytest.raises(sr.InvalidArgumentError):
            cfg.history(limit=0)

    def test_diff_is_nested_per_key(self, store: sr.Store) -> None:
        """diff() lists added, removed and changed keys at their nested paths."""
        cfg = store.config("p")
        cfg.publish({"floor": {"US": 9, "DE": 8}, "tiers": [1, 2], "old": 1}, author="a")
        cfg.publish({"floor": {"US": 10, "JP": 7}, "tiers": [1, 2, 3], "new": 1}, author="a")
        changes = {(c.location, c.kind, c.old, c.new) for c in cfg.diff(1, 2).changes}
        assert changes == {
            ("floor.US", "changed", 9, 10),
            ("floor.DE", "removed", 8, None),
            ("floor.JP", "added", None, 7),
            ("tiers[2]", "added", None, 3),
            ("old", "removed", 1, None),
            ("new", "added", None, 1),
        }
        assert not cfg.diff(2, 2)
        assert "~ floor.US: 9 -> 10" in str(cfg.diff(1, 2))

    def test_diff_type_change(self, store: sr.Store) -> None:
        """A value changing type (1 to True) is a change."""
        cfg = store.config("p")
        cfg.publish({"x": 1}, author="a")
        cfg.publish({"x": True}, author="a")
        assert [c.kind for c in cfg.diff(1, 2).changes] == ["changed"]

    def test_configs_lists_names(self, store: sr.Store) -> None:
        """configs() lists every config with versions, sorted."""
        store.config("b").publish({}, author="a")
        store.config("a/us").publish({}, author="a")
        assert store.configs() == ["a/us", "b"]

    def test_repr_shows_state(self, store: sr.Store) -> None:
        """Reprs show the name and head."""
        cfg = store.config("pricing")
        cfg.publish({"a": 1}, author="a")
        cfg.current()
        assert repr(cfg) == "<ConfigStore 'pricing' head=1>"
        assert "v1" in repr(cfg.current())


class TestRollback:
    def test_rollback_rolls_forward(self, store: sr.Store) -> None:
        """rollback() publishes a new version equal to the previous one."""
        cfg = store.config("p")
        v1 = cfg.publish({"price": 10}, author="a")
        cfg.publish({"price": 1}, author="a")
        v3 = cfg.rollback(author="oncall")
        assert v3.version == 3
        assert (v3.content, v3.content_hash) == (v1.content, v1.content_hash)
        assert (v3.rolled_back_from, v3.restores, v3.parent) == (2, 1, 2)
        assert v3.is_rollback
        assert cfg.current() == v3
        assert cfg.get(2).content == {"price": 1}

    def test_repeated_rollbacks_walk_back(self, store: sr.Store) -> None:
        """A second rollback goes further back instead of re-deploying the bad version."""
        cfg = store.config("p")
        for price in (10, 20, 30):
            cfg.publish({"price": price}, author="a")
        assert cfg.rollback().content == {"price": 20}
        assert cfg.rollback().content == {"price": 10}
        with pytest.raises(sr.ConfigError, match="nothing before v1"):
            cfg.rollback()

    def test_rollback_to_explicit_version(self, store: sr.Store) -> None:
        """rollback(to=n) restores version n's content."""
        cfg = store.config("p")
        for price in (10, 20, 30):
            cfg.publish({"price": price}, author="a")
        assert cfg.rollback(to=1).content == {"price": 10}
        with pytest.raises(sr.InvalidArgumentError, match="already the head"):
            cfg.rollback(to=4)
        with pytest.raises(sr.VersionNotFoundError):
            cfg.rollback(to=99)

    def test_rollback_of_empty_config(self, store: sr.Store) -> None:
        """Rolling back a config with no versions raises ConfigNotFoundError."""
        with pytest.raises(sr.ConfigNotFoundError):
            store.config("none").rollback()
        assert store.configs() == []

    def test_rollback_refuses_content_invalid_for_schema(self, store: sr.Store) -> None:
        """A rollback target that fails the current schema is refused; nothing stored."""
        store.config("p").publish({"min_margin": 5}, author="a")
        typed = store.config("p", schema=PricingRules)
        typed.publish(RULES, author="a")
        with pytest.raises(sr.ConfigValidationError, match="stored version 1"):
            typed.rollback()
        assert typed.current().version == 2


class TestRetention:
    def _versions(self, cfg: sr.ConfigStore[object], n: int) -> None:
        for i in range(n):
            cfg.publish({"i": i}, author="a")

    def test_head_restoring_a_pruned_version(self, store: sr.Store) -> None:
        """A head whose source was pruned needs no rollback path: prune may drop its parent.

        (Found by the state machine: rolling back to a rollback version restores the
        original, which an earlier prune may already have deleted.)
        """
        cfg = store.config("p")
        self._versions(cfg, 6)
        for target in (5, 6, 4):
            cfg.rollback(target, author="a")
        assert cfg.prune(keep=4) == [1, 2, 5]
        head = cfg.rollback(7, author="a")  # v7 restored v5: so does the new head
        assert (head.version, head.restores) == (10, 5)
        assert cfg.prune(keep=3) == [3, 4, 6, 7]
        with pytest.raises(sr.VersionNotFoundError):
            cfg.rollback(author="a")  # its source is gone: no default target

    def test_prune_keeps_newest(self, store: sr.Store) -> None:
        """prune(keep=3) deletes the older versions and returns their numbers."""
        cfg = store.config("p")
        self._versions(cfg, 6)
        assert cfg.prune(keep=3) == [1, 2, 3]
        assert [v.version for v in cfg.history()] == [6, 5, 4]
        with pytest.raises(sr.VersionNotFoundError, match="was pruned"):
            cfg.get(2)

    def test_prune_below_three_raises_and_deletes_nothing(self, store: sr.Store) -> None:
        """keep < 3 would break retention: RetentionError, nothing deleted."""
        cfg = store.config("p")
        self._versions(cfg, 5)
        with pytest.raises(sr.RetentionError, match="fewer than 3"):
            cfg.prune(keep=2)
        assert len(cfg.history()) == 5

    def test_prune_keeps_last_good(self, store: sr.Store) -> None:
        """The last-good version survives a prune even when old."""
        cfg = store.config("p")
        self._versions(cfg, 6)
        assert cfg.mark_good(2).version == 2
        assert cfg.prune(keep=3) == [1, 3]
        last_good = cfg.last_good()
        assert last_good is not None
        assert last_good.version == 2

    def test_prune_keeps_rollout_stable_head(self, store: sr.Store) -> None:
        """During a rollout, the stable head and the candidate are kept."""
        cfg = store.config("p")
        self._versions(cfg, 2)
        for i in range(4):
            cfg.publish({"c": i}, author="a", rollout=sr.Rollout(percent=5))
            cfg.abort()
        cfg.publish({"c": "live"}, author="a", rollout=sr.Rollout(percent=5))
        cfg.prune(keep=3)
        kept = [v.version for v in cfg.history()]
        assert 2 in kept  # the stable head
        assert 7 in kept  # the candidate

    def test_mark_good_unknown_version(self, store: sr.Store) -> None:
        """mark_good of a missing version raises and marks nothing."""
        cfg = store.config("p")
        self._versions(cfg, 1)
        with pytest.raises(sr.VersionNotFoundError):
            cfg.mark_good(5)
        assert cfg.last_good() is None
        assert cfg.mark_good().version == 1


class TestRollout:
    def test_share_is_even_within_tolerance(self, store: sr.Store) -> None:
        """About 10 % of 10,000 keys get the candidate."""
        cfg = store.config("p")
        cfg.publish({"v": "stable"}, author="a")
        cfg.publish({"v": "canary"}, author="a", rollout=sr.Rollout(percent=10))
        picked = [cfg.for_key(f"SKU-{i:05d}").version for i in range(10_000)]
        share = picked.count(2) / len(picked)
        assert 0.09 <= share <= 0.11
        assert cfg.current().version == 1  # the head stays stable

    def test_keys_never_flip_at_same_percentage(self, store: sr.Store, clock: FakeClock) -> None:
        """Repeated lookups (across cache refreshes and new handles) agree for every key."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        cfg.publish({"v": 2}, author="a", rollout=sr.Rollout(percent=25))
        first = {k: cfg.for_key(k).version for k in range(2000)}
        clock.advance(5)
        other = store.config("p")
        assert {k: other.for_key(k).version for k in range(2000)} == first

    def test_widening_only_adds_keys(self, store: sr.Store) -> None:
        """promote(percent=) keeps every key already on the candidate."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        cfg.publish({"v": 2}, author="a", rollout=sr.Rollout(percent=10))
        before = {k for k in range(5000) if cfg.for_key(k).version == 2}
        cfg.promote(percent=50)
        after = {k for k in range(5000) if cfg.for_key(k).version == 2}
        assert before < after
        assert 0.45 <= len(after) / 5000 <= 0.55
        with pytest.raises(sr.RolloutError, match="must widen"):
            cfg.promote(percent=20)

    def test_promote_makes_candidate_head(self, store: sr.Store) -> None:
        """promote() finishes the rollout: everyone gets the candidate."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        cfg.publish({"v": 2}, author="a", rollout=sr.Rollout(percent=10))
        assert cfg.rollout == sr.RolloutState(stable=1, candidate=2, percent=10.0)
        assert cfg.promote().version == 2
        assert cfg.current().version == 2
        assert cfg.rollout is None
        assert {cfg.for_key(k).version for k in range(100)} == {2}

    def test_abort_keeps_stable(self, store: sr.Store) -> None:
        """abort() stops serving the candidate to anyone."""
        cfg = store.config("p", schema=PricingRules)
        cfg.publish(RULES, author="a")
        cfg.publish({**RULES, "min_margin": 0.2}, author="a", rollout=sr.Rollout(percent=50))
        assert {cfg.value_for(k).min_margin for k in range(200)} == {0.12, 0.2}
        assert cfg.abort().version == 1
        assert {cfg.value_for(k).min_margin for k in range(200)} == {0.12}

    def test_publish_during_rollout_is_refused(self, store: sr.Store) -> None:
        """A second publish while a rollout runs raises RolloutError."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        cfg.publish({"v": 2}, author="a", rollout=sr.Rollout(percent=10))
        with pytest.raises(sr.RolloutError, match="promote\\(\\) or abort\\(\\)"):
            cfg.publish({"v": 3}, author="a")

    def test_rollback_during_rollout_aborts_it(self, store: sr.Store) -> None:
        """rollback() with a rollout running aborts it and keeps the stable head."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        cfg.publish({"v": 2}, author="a")
        cfg.publish({"v": 3}, author="a", rollout=sr.Rollout(percent=10))
        assert cfg.rollback().version == 2
        assert cfg.rollout is None
        assert cfg.rollback().content == {"v": 1}

    def test_no_rollout_to_promote_or_abort(self, store: sr.Store) -> None:
        """promote()/abort() without a rollout say how to start one."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        with pytest.raises(sr.RolloutError, match="Rollout\\(percent"):
            cfg.promote()
        with pytest.raises(sr.RolloutError):
            cfg.abort()

    @pytest.mark.parametrize("percent", [0, -5, 100.5, 0.001, "10", True])
    def test_bad_percent(self, percent: object) -> None:
        """Rollout percentages outside (0, 100] are refused with a typed error."""
        with pytest.raises(sr.InvalidArgumentError):
            sr.Rollout(percent=percent)  # type: ignore[arg-type]

    def test_bad_key(self, store: sr.Store) -> None:
        """for_key needs a str or int key."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        with pytest.raises(sr.InvalidArgumentError):
            cfg.for_key(1.5)  # type: ignore[arg-type]


class TestCache:
    def test_cached_reads_skip_the_database(self, store: sr.Store, clock: FakeClock) -> None:
        """Within ttl current() returns the cached head without a query."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        first = cfg.current()
        store.engine.dispose()
        queries: list[str] = []
        from sqlalchemy import event  # noqa: PLC0415

        event.listen(store.engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
        for _ in range(100):
            assert cfg.current() is first
        assert queries == []
        clock.advance(1.01)
        cfg.current()
        assert len(queries) == 1  # one cheap head check, no version reload

    def test_local_publish_is_seen_at_once(self, store: sr.Store) -> None:
        """A publish or rollback through the store invalidates every handle's cache."""
        reader = store.config("p")
        writer = store.config("p")
        writer.publish({"v": 1}, author="a")
        assert reader.value == {"v": 1}
        writer.publish({"v": 2}, author="a")
        assert reader.value == {"v": 2}
        writer.rollback()
        assert reader.value == {"v": 1}

    def test_other_process_seen_within_ttl(
        self, backend: Backend, store: sr.Store, clock: FakeClock
    ) -> None:
        """A publish by another process shows up once ttl has passed, not before."""
        reader = store.config("p", ttl=0.5)
        reader.publish({"v": 1}, author="a")
        assert reader.value == {"v": 1}
        code = (
            "import sys, safe_release as sr\n"
            "s = sr.connect(sys.argv[1], schema=sys.argv[2] or None)\n"
            "s.config('p').publish({'v': 2}, author='other-process')\n"
        )
        subprocess.run(
            [sys.executable, "-c", code, backend.url, backend.schema or ""], check=True, timeout=60
        )
        clock.advance(0.4)
        assert reader.value == {"v": 1}  # still within ttl: bounded staleness
        clock.advance(0.2)
        assert reader.value == {"v": 2}
        assert reader.current().author == "other-process"

    def test_refresh_ignores_ttl(self, backend: Backend, store: sr.Store) -> None:
        """refresh() checks the database now."""
        other = sr.connect(backend.url, schema=backend.schema)
        cfg = store.config("p")
        other.config("p").publish({"v": 1}, author="a")
        cfg.current()
        other.config("p").publish({"v": 2}, author="a")
        assert cfg.refresh().version == 2
        other.close()

    def test_ttl_accepts_timedelta_and_rejects_negative(self, store: sr.Store) -> None:
        """ttl takes seconds or a timedelta, never negative."""
        from datetime import timedelta  # noqa: PLC0415

        store.config("p", ttl=timedelta(seconds=2))
        with pytest.raises(sr.InvalidArgumentError):
            store.config("p", ttl=-1)

    def test_first_version_cannot_be_a_rollout(self, store: sr.Store) -> None:
        """A staged rollout needs a stable version for the other keys."""
        with pytest.raises(sr.RolloutError, match="no stable version yet"):
            store.config("p").publish({"v": 1}, author="a", rollout=sr.Rollout(percent=5))
        assert store.configs() == []


class TestHardening:
    """Regressions found by review: each once let bad input or bad timing through."""

    def test_invalid_canary_does_not_break_stable_keys(self, store: sr.Store) -> None:
        """A candidate this code's schema rejects is served to nobody; stable keys still read."""

        class Old(BaseModel):
            model_config = ConfigDict(extra="forbid", frozen=True)
            margin: float

        store.config("p", schema=Old).publish({"margin": 0.1}, author="a")
        store.config("p").publish(
            {"margin": 0.2, "new": 1}, author="a", rollout=sr.Rollout(percent=50)
        )
        reader = store.config("p", schema=Old)
        assert reader.value.margin == 0.1
        assert {reader.value_for(k).margin for k in range(200)} == {0.1}
        assert {reader.for_key(k).version for k in range(200)} == {1}

    def test_cached_content_is_read_only(self, store: sr.Store) -> None:
        """Mutating what a read returned raises instead of corrupting every reader."""
        import copy  # noqa: PLC0415

        cfg = store.config("p")
        cfg.publish({"floor": 10, "tiers": [1, 2]}, author="a")
        value = cfg.value
        with pytest.raises(TypeError, match="read-only"):
            value["floor"] = 0  # type: ignore[index]
        with pytest.raises(TypeError, match="read-only"):
            value["tiers"].append(3)  # type: ignore[index]
        mine = copy.deepcopy(value)
        mine["floor"] = 0  # type: ignore[index]
        assert cfg.refresh().content == {"floor": 10, "tiers": [1, 2]}
        assert json.loads(json.dumps(value)) == {"floor": 10, "tiers": [1, 2]}

    def test_aliases_are_stored_by_alias(self, store: sr.Store) -> None:
        """A schema with field aliases reads back what it wrote."""

        class Aliased(BaseModel):
            floor: float = Field(alias="Floor")

        cfg = store.config("p", schema=Aliased)
        cfg.publish({"Floor": 9.5}, author="a")
        assert store.config("p", schema=Aliased).value.floor == 9.5

    def test_secret_fields_are_refused(self, store: sr.Store) -> None:
        """A SecretStr would be stored masked and lost: refused, nothing stored."""
        from pydantic import SecretStr  # noqa: PLC0415

        class WithSecret(BaseModel):
            api_key: SecretStr

        with pytest.raises(sr.ConfigValidationError, match="api_key"):
            store.config("p", schema=WithSecret).publish({"api_key": "hunter2"}, author="a")
        assert store.configs() == []

    def test_prune_keeps_what_rollback_needs(self, store: sr.Store) -> None:
        """Aborted candidates do not count as deployable; the default rollback survives prune."""
        cfg = store.config("p")
        for i in range(1, 4):
            cfg.publish({"v": i}, author="a")
        for i in range(3):
            cfg.publish({"c": i}, author="a", rollout=sr.Rollout(percent=5))
            cfg.abort()
        cfg.prune(keep=3)
        assert {1, 2, 3} <= {v.version for v in cfg.history()}
        assert cfg.rollback().content == {"v": 2}

    def test_prune_after_rollback_to_keeps_its_source(self, store: sr.Store) -> None:
        """After rollback(to=k), a prune keeps k's parent so the next rollback still works."""
        cfg = store.config("p")
        for i in range(1, 8):
            cfg.publish({"v": i}, author="a")
        cfg.rollback(to=2)
        cfg.prune(keep=3)
        assert cfg.rollback().content == {"v": 1}

    def test_concurrent_rollbacks_with_expected_version(self, store: sr.Store) -> None:
        """Two operators rolling back the same head: the second gets a conflict."""
        cfg = store.config("p")
        for i in range(1, 4):
            cfg.publish({"v": i}, author="a")
        cfg.rollback(author="oncall", expected_version=3)
        with pytest.raises(sr.VersionConflictError, match="rolled back or published"):
            cfg.rollback(author="trigger", expected_version=3)
        assert cfg.current().content == {"v": 2}

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"author": "x\udc80"},
            {"author": "a", "message": "m\udc80"},
            {"author": "a\x00b"},
            {"author": "a", "message": "nul\x00"},
        ],
    )
    def test_unencodable_author_and_message(self, store: sr.Store, kwargs: dict[str, str]) -> None:
        """Surrogates and NUL in author/message are refused before writing."""
        with pytest.raises(sr.InvalidArgumentError):
            store.config("p").publish({"a": 1}, **kwargs)  # type: ignore[arg-type]

    def test_surrogate_rollout_key(self, store: sr.Store) -> None:
        """A key with a lone surrogate still buckets (keys come from ERP data)."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        cfg.publish({"v": 2}, author="a", rollout=sr.Rollout(percent=50))
        assert cfg.for_key("SKU-\udc80").version in {1, 2}

    def test_huge_int_is_a_content_error(self, store: sr.Store) -> None:
        """An int too long to encode is a ConfigContentError."""
        with pytest.raises(sr.ConfigContentError, match="store it as a string"):
            store.config("p").publish({"a": 10**5000}, author="a")

    def test_shared_references_hit_the_size_limit_early(self, store: sr.Store) -> None:
        """A small object referenced many times cannot expand past the limit."""
        row = ["x" * 10] * 100
        table = [row] * 100
        with pytest.raises(sr.ContentTooLargeError):
            store.config("p", max_bytes=10_000).publish({"t": [table] * 100}, author="a")

    @pytest.mark.parametrize("number", [10**30, 2**31])
    def test_version_numbers_out_of_range(self, store: sr.Store, number: int) -> None:
        """Absurd version numbers are argument errors on both backends."""
        cfg = store.config("p")
        cfg.publish({"a": 1}, author="a")
        with pytest.raises(sr.InvalidArgumentError):
            cfg.get(number)
        with pytest.raises(sr.InvalidArgumentError):
            cfg.rollback(to=number)

    @pytest.mark.parametrize("ttl", ["x", None, float("inf"), float("nan"), -1])
    def test_ttl_must_be_finite_seconds(self, store: sr.Store, ttl: object) -> None:
        """An unbounded or non-numeric ttl would break the staleness bound: refused."""
        with pytest.raises(sr.InvalidArgumentError):
            store.config("p", ttl=ttl)  # type: ignore[arg-type]

    def test_forged_rollout_is_refused(self, store: sr.Store) -> None:
        """A Rollout built around its validation cannot store an out-of-range share."""
        cfg = store.config("p")
        cfg.publish({"v": 1}, author="a")
        with pytest.raises(sr.InvalidArgumentError):
            cfg.publish({"v": 2}, author="a", rollout=sr.Rollout.model_construct(percent=500))

    def test_unknown_names_are_consistent(self, store: sr.Store) -> None:
        """Every read and write of a config with no versions says it has none."""
        cfg = store.config("typo")
        for call in (cfg.history, cfg.promote, cfg.abort, cfg.last_good, cfg.current):
            with pytest.raises(sr.ConfigNotFoundError):
                call()
