"""An in-memory Lazada Open Platform for tests: `FakeLazada` and the records it shows."""

from __future__ import annotations

from safe_release.testing._lazada._lzd_fake import FakeLazada
from safe_release.testing._lazada._lzd_faults import FakeLazadaFaults
from safe_release.testing._lazada._lzd_values import (
    FakeLazadaCredentials,
    LazadaOrder,
    LazadaOrderItem,
    LazadaSku,
)

__all__ = [
    "FakeLazada",
    "FakeLazadaCredentials",
    "FakeLazadaFaults",
    "LazadaOrder",
    "LazadaOrderItem",
    "LazadaSku",
]
