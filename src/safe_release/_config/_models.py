"""Public value objects of the versioned config store."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from safe_release._json import HashKind, canonical_dumps
from safe_release.exceptions import InvalidArgumentError

__all__ = ["Change", "ConfigDiff", "ConfigVersion", "Rollout", "RolloutState"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ConfigVersion(BaseModel):
    """One immutable version of a named config.

    Treat ``content`` as read-only: it is shared with the per-process cache.
    """

    model_config = _FROZEN

    name: str
    version: int = Field(ge=1)
    content: JsonValue
    content_hash: str = Field(
        description="SHA-256 of the content's canonical encoding (the kind in hash_kind)"
    )
    hash_kind: HashKind = Field(
        default="jcs",
        description=(
            "how content_hash was taken: 'jcs', over the RFC 8785 encoding (1 and 1.0 "
            "hash alike); 'legacy', over the SDK's own canonical JSON (versions stored "
            "before revision 0006)"
        ),
    )
    author: str
    message: str
    created_at: datetime
    parent: int | None = Field(
        default=None, description="the head this version was published on top of"
    )
    rolled_back_from: int | None = Field(
        default=None, description="for a rollback: the head that was rolled back"
    )
    restores: int | None = Field(
        default=None, description="for a rollback: the version whose content it restores"
    )

    @property
    def is_rollback(self) -> bool:
        """Whether this version was written by `ConfigStore.rollback`."""
        return self.rolled_back_from is not None

    def __repr__(self) -> str:
        return (
            f"<ConfigVersion {self.name!r} v{self.version} "
            f"hash={self.content_hash[:12]} by {self.author!r}>"
        )


class Rollout(BaseModel):
    """Ask `ConfigStore.publish` for a staged rollout to ``percent`` of keys."""

    model_config = _FROZEN

    percent: float

    def __init__(self, *, percent: float) -> None:
        if isinstance(percent, bool) or not isinstance(percent, (int, float)):
            msg = f"Rollout(percent=…) must be a number, not {type(percent).__name__}"
            raise InvalidArgumentError(msg)
        if not 0 < percent <= 100:  # noqa: PLR2004 - a percentage
            msg = (
                f"Rollout(percent={percent!r}) is out of range; give a share of keys "
                "greater than 0 and at most 100"
            )
            raise InvalidArgumentError(msg)
        if round(percent * 100) == 0:
            msg = f"Rollout(percent={percent!r}) is below the 0.01 % resolution"
            raise InvalidArgumentError(msg)
        super().__init__(percent=float(percent))

    @property
    def basis_points(self) -> int:
        """The share of keys in hundredths of a percent (1..10000)."""
        return round(self.percent * 100)


class RolloutState(BaseModel):
    """A staged rollout in progress: ``candidate`` served to ``percent`` of keys."""

    model_config = _FROZEN

    stable: int
    candidate: int
    percent: float


class Change(BaseModel):
    """One difference between two versions, at a JSON path."""

    model_config = _FROZEN

    path: tuple[str | int, ...]
    kind: Literal["added", "removed", "changed"]
    old: JsonValue = None
    new: JsonValue = None

    @property
    def location(self) -> str:
        """The path as a dotted string, e.g. ``rules[2].price``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out or "$"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.location}: {_short(self.new)}"
        if self.kind == "removed":
            return f"- {self.location}: {_short(self.old)}"
        return f"~ {self.location}: {_short(self.old)} -> {_short(self.new)}"


class ConfigDiff(BaseModel):
    """Per-key changes from version ``a`` to version ``b`` (nested)."""

    model_config = _FROZEN

    name: str
    a: int
    b: int
    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __str__(self) -> str:
        head = f"{self.name}: v{self.a} -> v{self.b}"
        if not self.changes:
            return f"{head} (no changes)"
        return "\n".join([head, *(f"  {c}" for c in self.changes)])


def _short(value: Any, limit: int = 60) -> str:

    text = canonical_dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
