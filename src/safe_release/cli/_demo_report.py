"""What the demo says about its rollback: what tripped, what was put back, per kind."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safe_release._keys import ENV_KEY, ENV_KEY_FILE, default_key_file
from safe_release.cli._output import Table, table

if TYPE_CHECKING:
    from collections.abc import Sequence

    import safe_release as sr

__all__ = ["Tally", "key_file", "key_location", "restored_by_kind", "trip_text"]

_TABLE_COUNTS = re.compile(r"(\d+) changed, (\d+) inserted, (\d+) deleted")


@dataclass
class Tally:
    """The job's own outcomes: prices pushed to the marketplaces, prices refused as too low."""

    pushed: int = 0
    refused: int = 0

    @property
    def priced(self) -> int:
        """SKUs the job got through."""
        return self.pushed + self.refused


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def trip_text(trigger: sr.ErrorRate, observations: Sequence[sr.Observation], job: Tally) -> str:
    """Which outcomes the trigger counted, whose they were, and why it tripped.

    The release observes the job's own outcomes (``rel.observe``) and every call
    the marketplace adapters make (the reads that capture a price and the writes);
    the trigger counts both together.
    """
    failed = sum(not o.ok for o in observations)
    calls = len(observations) - job.priced
    return (
        f"the error-rate trigger tripped: {failed} of the release's {len(observations)} "
        f"observed outcomes failed ({_share(failed, len(observations))}; it allows "
        f"{trigger.max * 100:g} % once {trigger.min_calls} are in)\n"
        f"  from the job: {job.priced} SKUs priced, {job.pushed} pushed to every marketplace, "
        f"{job.refused} refused as under the margin floor (these are the failures)\n"
        f"  from the Amazon, eBay and Walmart adapters: {calls} API calls (reading and "
        f"setting the prices pushed), {failed - job.refused} failed"
    )


def restored_by_kind(report: sr.RollbackReport) -> Table:
    """What the rollback put back, one line per table, config and marketplace."""
    rows: list[tuple[str, str, str]] = []
    writes: Counter[str] = Counter()
    for step in report.restored:
        if step.kind == "compensation":
            writes[step.name.split(" ", 1)[0]] += 1
        elif step.name.startswith("table "):
            counts = _TABLE_COUNTS.search(step.detail)
            rows_back = sum(int(n) for n in counts.groups()) if counts else 0
            rows.append((step.name, f"{rows_back} row(s) restored", step.detail))
        elif step.name.startswith("config "):
            rows.append((step.name, "1 config version", step.detail))
        else:
            rows.append((step.name, "restored", step.detail))
    rows += [
        (f"{market} prices", f"{n} write(s) compensated", f"each price set back on {market}")
        for market, n in sorted(writes.items())
    ]
    rows += [(s.name, "FAILED", s.detail) for s in report.failed]
    rows += [(s.name, "kept (cannot be undone)", s.detail) for s in report.kept]
    return table(("RESTORED", "HOW MUCH", "DETAIL"), rows)


def key_file() -> Path | None:
    """The key file the store reads, or creates on first use; None when the key is in the env.

    Resolved as `safe_release._keys` resolves it: ``$SAFE_RELEASE_KEY_FILE``, else
    ``$XDG_CONFIG_HOME/safe_release/signing.key`` (``~/.config`` by default).
    """
    if os.environ.get(ENV_KEY):
        return None
    configured = os.environ.get(ENV_KEY_FILE)
    return Path(configured) if configured else default_key_file()


def key_location(path: Path | None, *, existed_before: bool) -> str:
    """Where the store's signing key lives (the path, never the key)."""
    if path is None:
        return f"from ${ENV_KEY} (no file is written)"
    source = f" (from ${ENV_KEY_FILE})" if os.environ.get(ENV_KEY_FILE) else ""
    state = "already there, reused" if existed_before else "created now, mode 0600"
    return f"{path}{source}, {state}; it seals the release records, keep it private"
