"""The fake's route table and the adapter's, each pinned to Amazon's published models.

`FakeAmazon` keeps its own table (``testing/_amazon/_routes.py``) so that a
mistake in the adapter's (``adapters/_amazon_ops.py``) is not served back to it.
Each table is checked here on its own against the models in
``../shared/reference/amazon-sp-api`` (found by tests/amazon_schemas.py); the
two are never compared with each other.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING

import pytest

import safe_release.testing._amazon as fake_package
from safe_release.adapters._amazon_ops import AMAZON_OPERATIONS
from safe_release.testing._amazon._handlers import HANDLERS, route
from safe_release.testing._amazon._routes import ROUTES
from tests.amazon_schemas import MODELS, has_model, usage_plan
from tests.fakes_util import fake_modules, imported

if TYPE_CHECKING:
    from pathlib import Path

Row = tuple[str, str, float, int]
"""(method, path template, usage-plan rate, usage-plan burst)."""

UNMODELLED: dict[str, Row] = {
    # Sellers API v1 is not among the shipped models; these are the figures of
    # Amazon's sellers model as the docs.rs amazon-spapi client carries them.
    "getMarketplaceParticipations": ("GET", "/sellers/v1/marketplaceParticipations", 0.016, 15),
}
TABLES: dict[str, dict[str, Row]] = {
    "fake": {name: (r.method, r.path, r.limit.rate, r.limit.burst) for name, r in ROUTES.items()},
    "adapter": {
        name: (op.method, op.path, op.limit.rate, op.limit.burst)
        for name, op in AMAZON_OPERATIONS.items()
    },
}
ROWS = [
    pytest.param(table, name, id=f"{table}-{name}")
    for table, rows in TABLES.items()
    for name in sorted(rows)
]
# the small Limit type, through the package's __init__ (never a route table)
ALLOWED_FROM_ADAPTERS = frozenset({"safe_release.adapters", "safe_release.adapters.Limit"})


@cache
def _published_routes() -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, path template), from the "paths" of every model."""
    found: dict[str, tuple[str, str]] = {}
    for file in sorted(MODELS.glob("*.json")):
        model = json.loads(file.read_text(encoding="utf-8"))
        for path, methods in model["paths"].items():
            for method, operation in methods.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    found.setdefault(operation["operationId"], (method.upper(), path))
    return found


def _published(operation: str) -> Row:
    """What Amazon publishes for ``operation`` (skips when the models are absent)."""
    if operation in UNMODELLED:
        return UNMODELLED[operation]
    assert has_model(operation), f"{operation} is in none of the models at {MODELS}"
    method, path = _published_routes()[operation]
    rate, burst = usage_plan(operation)
    return method, path, rate, burst


class TestAgainstTheModels:
    @pytest.mark.parametrize(("table", "operation"), ROWS)
    def test_method_path_and_usage_plan(self, table: str, operation: str) -> None:
        """Method, path template, rate and burst are the published ones."""
        assert TABLES[table][operation] == _published(operation)

    @pytest.mark.parametrize("table", sorted(TABLES))
    def test_only_the_sellers_api_is_unmodelled(self, table: str) -> None:
        """Every operation of the table but getMarketplaceParticipations has a model."""
        unmodelled = {name for name in TABLES[table] if not has_model(name)}
        assert unmodelled == set(UNMODELLED)


class TestFakeRouting:
    @pytest.mark.parametrize("operation", sorted(ROUTES))
    def test_published_path_reaches_the_operation(self, operation: str) -> None:
        """A request on the published method and path is routed to the operation."""
        method, path, _, _ = _published(operation)
        names = re.findall(r"{(\w+)}", path)
        raw = re.sub(r"{(\w+)}", lambda m: f"{m.group(1)}-value", path)
        assert route(method, raw) == (operation, {n: f"{n}-value" for n in names}, True)

    def test_every_route_has_a_handler(self) -> None:
        """The fake answers exactly the operations of its route table."""
        assert set(HANDLERS) == set(ROUTES)


class TestStandsAlone:
    @pytest.mark.parametrize("file", fake_modules(fake_package), ids=lambda p: p.name)
    def test_no_adapter_tables_imported(self, file: Path) -> None:
        """The fake imports nothing from the adapters but the small `Limit` type."""
        from_adapters = {
            name
            for name in imported(file)
            if name.startswith("safe_release.adapters") and name not in ALLOWED_FROM_ADAPTERS
        }
        assert from_adapters == set()
