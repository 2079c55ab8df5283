"""What a handler gets and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safe_release.testing._lazada._lzd_wire import missing

if TYPE_CHECKING:
    from safe_release.testing._lazada._lzd_faults import FakeLazadaFaults

__all__ = ["LzdRequest", "Reply"]


@dataclass(frozen=True)
class LzdRequest:
    """A signed, authorised request within its quotas: its business parameters."""

    operation: str
    params: dict[str, str]
    now: float
    faults: FakeLazadaFaults

    @property
    def strings(self) -> bool:
        """Whether numeric scalars are rendered as strings."""
        return self.faults.numbers_as_strings

    def number(self, value: int) -> int | str:
        """``value``, or its string when ``numbers_as_strings`` is on."""
        return str(value) if self.strings else value

    def required(self, name: str) -> str:
        """A mandatory business parameter, or ``MissingParameter``."""
        value = self.params.get(name, "")
        if value == "":
            raise missing(name)
        return value


@dataclass
class Reply:
    """A successful answer (without ``request_id``), whether it wrote, and what it logged.

    ``logged`` becomes the call record's ``json``: the parsed business input of a
    write (never a token).
    """

    document: dict[str, Any]
    applied: bool = False
    logged: Any = None
