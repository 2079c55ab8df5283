"""Stand-ins for the checkpoint set and the side-effect journal, used by the release tests.

They follow the contract of ``safe_release._checkpoints.CheckpointSet`` and
``safe_release._ledger.Journal`` (resumable, newest first, a step per item) and
keep their records in a `FakeRecords` shared by every instance of one test, as
the real ones keep theirs in the store.
"""

# ruff: noqa: ARG002 - the stand-ins keep the real signatures
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from safe_release._release import _parts
from safe_release._report import StepResult
from safe_release.exceptions import CheckpointError


class Box:
    """A checkpointable value (``kind`` custom), with fault switches."""

    kind = "custom"

    def __init__(self, name: str, value: Any = 0) -> None:
        self.name, self.value = name, value
        self.restores = 0
        self.fail_capture = False
        self.fail_restore = False
        self.on_restore: Any = None

    def describe(self) -> str:
        return f"box {self.name}"

    def capture(self, ctx: object) -> dict[str, Any]:
        if self.fail_capture:
            msg = f"cannot capture box {self.name}"
            raise CheckpointError(msg)
        return {"value": self.value}

    def restore(self, state: dict[str, Any], ctx: object) -> str:
        if self.on_restore is not None:
            self.on_restore()
        if self.fail_restore:
            msg = f"cannot restore box {self.name}"
            raise CheckpointError(msg)
        self.restores += 1
        self.value = state["value"]
        return "1 changed"

    def verify(self, state: dict[str, Any], ctx: object) -> tuple[bool, str]:
        return self.value == state["value"], ""


@dataclass
class FakeRecords:
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ledger: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail_store: bool = False


class FakeCheckpointSet:
    def __init__(self, records: FakeRecords, store: object, release_id: str, scope: str) -> None:
        self.records, self.release_id = records, release_id

    def _rows(self) -> list[dict[str, Any]]:
        return self.records.checkpoints.setdefault(self.release_id, [])

    def capture(self, items: Any) -> None:
        for seq, item in enumerate(items):
            state = item.capture(None)
            self._rows().append(
                {
                    "seq": seq,
                    "key": (item.kind, item.describe()),
                    "state": state,
                    "status": "captured",
                }
            )

    def restore(self, live: Any, on_step: Any = None) -> list[StepResult]:
        if self.records.fail_store:
            raise RuntimeError("the store is unreachable")
        by_key = {(item.kind, item.describe()): item for item in live}
        steps = []
        for row in reversed(self._rows()):
            if row["status"] == "restored":
                continue
            item = by_key.get(row["key"])
            try:
                detail = _restore(item, row)
            except CheckpointError as exc:
                step = StepResult(kind="checkpoint", name=row["key"][1], ok=False, detail=str(exc))
            else:
                row["status"] = "restored"
                step = StepResult(kind="checkpoint", name=row["key"][1], ok=True, detail=detail)
            steps.append(step)
            if on_step is not None:
                on_step(step)
        return steps

    def verify(self, live: Any) -> list[StepResult]:
        by_key = {(item.kind, item.describe()): item for item in live}
        out = []
        for row in self._rows():
            item = by_key.get(row["key"])
            if row["status"] == "restored" and item is not None:
                ok, detail = item.verify(row["state"], None)
                out.append(
                    StepResult(
                        kind="check", name=f"restored {row['key'][1]}", ok=ok, detail=detail
                    )
                )
        return out

    def finish(self, live: Any) -> None:
        del live
        for row in self._rows():
            if row["status"] == "captured":
                row["finished"] = True


def _restore(item: Any, row: dict[str, Any]) -> str:
    if item is None:
        msg = f"no live object for {row['key'][1]}"
        raise CheckpointError(msg)
    return str(item.restore(row["state"], None))


def _restore(item: Any, row: dict[str, Any]) -> str:
    if item is None:
        msg = f"no live object for {row['key'][1]}"
        raise CheckpointError(msg)
    return str(item.restore(row["state"], None))


class FakeMarket:
    """A marketplace adapter stand-in: prices, a bound journal, a health switch."""

    def __init__(self, identity: str = "fake|S1|app|eu") -> None:
        self.identity = identity
        self.prices: dict[str, float] = {}
        self.journal: Any = None
        self.healthy = True
        self.sent: list[tuple[str, float | None]] = []

    def bind_journal(self, journal: Any) -> None:
        self.journal = journal

    def update_price(self, sku: str, price: float, *, ok: bool = True) -> None:
        journal = self.journal
        if ok and journal is not None:
            journal.record(self, sku, self.prices.get(sku))
        if ok:
            self.prices[sku] = price
            self.sent.append((sku, price))
        if journal is not None and journal.observer is not None:
            journal.observer(ok, 0.01)

    def health(self) -> bool:
        return self.healthy


class FakeJournal:
    def __init__(
        self, records: FakeRecords, store: object, *, release_id: str, scope: str
    ) -> None:
        self.records, self.release_id = records, release_id
        self.observer: Any = None

    def _entries(self) -> list[dict[str, Any]]:
        return self.records.ledger.setdefault(self.release_id, [])

    def record(self, market: FakeMarket, sku: str, old: float | None) -> None:
        self._entries().append({"adapter": market.identity, "sku": sku, "old": old, "comp": None})

    def compensate(self, adapters: Any, on_step: Any = None) -> list[StepResult]:
        by_id = {a.identity: a for a in adapters}
        steps, seen = [], set()
        for entry in reversed(self._entries()):
            if entry["comp"] == "done":
                continue
            market = by_id.get(entry["adapter"])
            name = f"fake price {entry['sku']}"
            if market is None:
                step = StepResult(
                    kind="compensation", name=name, ok=False, detail="no adapter given"
                )
            else:
                first = next(e for e in self._entries() if e["sku"] == entry["sku"])
                if first is entry:
                    if entry["old"] is None:
                        market.prices.pop(entry["sku"], None)
                    else:
                        market.prices[entry["sku"]] = entry["old"]
                    market.sent.append((entry["sku"], entry["old"]))
                entry["comp"] = "done"
                step = StepResult(kind="compensation", name=name, ok=True)
            seen.add(entry["sku"])
            steps.append(step)
            if on_step is not None:
                on_step(step)
        return steps

    def verify(self, adapters: Any) -> list[StepResult]:
        by_id = {a.identity: a for a in adapters}
        out = []
        for entry in self._entries():
            market = by_id.get(entry["adapter"])
            first = next(e for e in self._entries() if e["sku"] == entry["sku"])
            if market is None or first is not entry or entry["comp"] != "done":
                continue
            ok = market.prices.get(entry["sku"]) == entry["old"]
            out.append(StepResult(kind="check", name=f"compensated {entry['sku']}", ok=ok))
        return out


@pytest.fixture(name="fakes")
def fixture_fakes(monkeypatch: pytest.MonkeyPatch) -> FakeRecords:
    """Route the release's checkpoint set and journal to the in-memory stand-ins."""
    records = FakeRecords()
    monkeypatch.setattr(
        _parts,
        "checkpoints_for",
        lambda store, rid, scope: FakeCheckpointSet(records, store, rid, scope),
    )
    monkeypatch.setattr(
        _parts,
        "journal_for",
        lambda store, rid, scope: FakeJournal(records, store, release_id=rid, scope=scope),
    )
    monkeypatch.setattr(_parts, "activate_journal", lambda _journal: lambda: None)
    return records
