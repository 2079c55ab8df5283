"""Releases: run a job so that a failure puts everything it changed back."""

from __future__ import annotations

from safe_release._release._guarded import guarded, override
from safe_release._release._incidents import IncidentReport, incident_report
from safe_release._release._recover import recover, rollback
from safe_release._release._release import OnFailure, Release, current_release, release
from safe_release._release._release_rows import (
    ReleaseEvent,
    ReleaseRecord,
    release_record,
    releases,
)
from safe_release._release._resign import ResignResult, resign_release

__all__ = [
    "IncidentReport",
    "OnFailure",
    "Release",
    "ReleaseEvent",
    "ReleaseRecord",
    "ResignResult",
    "current_release",
    "guarded",
    "incident_report",
    "override",
    "recover",
    "release",
    "release_record",
    "releases",
    "resign_release",
    "rollback",
]
