"""Incident figures: time-to-restore and change failure rate, from the release records."""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from safe_release._release._release_rows import releases
from safe_release._report import ReleaseStatus

if TYPE_CHECKING:
    from safe_release._store import StoreCore

__all__ = ["IncidentReport", "incident_report"]


class IncidentReport(BaseModel):
    """How often releases fail and how fast they are restored (DORA's two stability keys)."""

    model_config = ConfigDict(frozen=True)

    scope: str | None = None
    since: datetime | None = None
    releases: int
    """Finished releases: succeeded, or failed (rolled back, failed to, or pending)."""
    failed: int
    """Releases whose failure was seen (exception, trigger, crash)."""
    restored: int
    """Failed releases fully restored (they have a time-to-restore)."""
    change_failure_rate: float
    """``failed / releases`` (0.0 when there are none)."""
    ttr_median: float | None = None
    """Median seconds from the failure being seen to everything restored."""
    ttr_p90: float | None = None
    """90th percentile (nearest rank) of the same."""


def incident_report(
    store: StoreCore, *, scope: str | None = None, since: datetime | None = None
) -> IncidentReport:
    """Time-to-restore median and p90, and change failure rate, of releases since ``since``."""
    records = releases(store, scope=scope, since=since, limit=0)
    failed = [r for r in records if r.detected_at is not None]
    finished = len(failed) + sum(r.status is ReleaseStatus.SUCCEEDED for r in records)
    ttrs = sorted(t for r in failed if (t := r.time_to_restore) is not None)
    return IncidentReport(
        scope=scope,
        since=since,
        releases=finished,
        failed=len(failed),
        restored=len(ttrs),
        change_failure_rate=len(failed) / finished if finished else 0.0,
        ttr_median=statistics.median(ttrs) if ttrs else None,
        ttr_p90=ttrs[math.ceil(0.9 * len(ttrs)) - 1] if ttrs else None,
    )
