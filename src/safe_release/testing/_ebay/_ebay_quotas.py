"""eBay's daily call budgets on the fake clock, per app and (when set) per user.

A window ends at the next 07:00:00Z (midnight US Pacific in summer time) [U];
the same reset applies to the 250-revisions-a-day limit of each offer.
"""

from __future__ import annotations

from dataclasses import dataclass

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._ebay._ebay_routes import RESOURCES

__all__ = ["DAY", "Budget", "DailyQuotas", "check_resource", "next_reset"]

DAY = 86_400.0
_RESET_HOUR = 7 * 3600.0


def next_reset(now: float) -> float:
    """The first 07:00:00Z strictly after ``now``."""
    day = (now - _RESET_HOUR) // DAY
    return (day + 1) * DAY + _RESET_HOUR


def check_resource(resource: str) -> str:
    """``resource`` if the fake has such a quota, else `InvalidArgumentError`."""
    if resource not in RESOURCES:
        msg = f"FakeEbay has no quota resource {resource!r}; use one of {sorted(RESOURCES)}"
        raise InvalidArgumentError(msg)
    return resource


@dataclass
class Budget:
    """One daily window: calls counted since it opened, and when it resets."""

    limit: int
    count: int = 0
    reset: float = 0.0

    def roll(self, now: float) -> Budget:
        """Start a new window if this one is over."""
        if now >= self.reset:
            self.count, self.reset = 0, next_reset(now)
        return self


class DailyQuotas:
    """Budgets keyed ``(resource, "app", client_id)`` and ``(resource, "user", user_id)``."""

    def __init__(self) -> None:
        self._app_limits = {name: r.limit for name, r in RESOURCES.items()}
        self._user_limits: dict[tuple[str, str], int] = {}
        self._budgets: dict[tuple[str, str, str], Budget] = {}

    def set_limit(self, resource: str, limit: int, *, user: str | None) -> None:
        """A new limit (the window's count stays)."""
        check_resource(resource)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            msg = f"a daily limit must be a whole number >= 0, not {limit!r}"
            raise InvalidArgumentError(msg)
        if user is None:
            self._app_limits[resource] = limit
            for (name, kind, _), budget in self._budgets.items():
                if name == resource and kind == "app":
                    budget.limit = limit
        else:
            self._user_limits[(resource, user)] = limit
            found = self._budgets.get((resource, "user", user))
            if found is not None:
                found.limit = limit

    def budgets(self, resource: str, app: str, user: str | None, now: float) -> list[Budget]:
        """The app's budget for ``resource`` and the user's, if one is set."""
        found = [self.budget(resource, app, None, now)]
        if user is not None and (resource, user) in self._user_limits:
            found.append(self.budget(resource, app, user, now))
        return found

    def budget(self, resource: str, app: str, user: str | None, now: float) -> Budget:
        """One budget, rolled to ``now`` (created full if never used)."""
        key = (resource, "app", app) if user is None else (resource, "user", user)
        found = self._budgets.get(key)
        if found is None:
            limit = (
                self._app_limits[resource]
                if user is None
                else self._user_limits.get((resource, user), 0)
            )
            found = self._budgets[key] = Budget(limit, 0, next_reset(now))
        return found.roll(now)

    def user_resources(self, user: str) -> list[str]:
        """The resources with a budget set for ``user``, in table order."""
        return [name for name in RESOURCES if (name, user) in self._user_limits]

    def take(self, resource: str, app: str, user: str | None, now: float) -> bool:
        """Count one call against every budget that applies; ``False`` if one is spent."""
        found = self.budgets(resource, app, user, now)
        if any(b.count >= b.limit for b in found):
            return False
        for budget in found:
            budget.count += 1
        return True
