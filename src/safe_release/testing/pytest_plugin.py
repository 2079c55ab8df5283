"""safe_release's pytest fixtures, for ``pytest_plugins = [...]`` lists.

The fixtures live in the top-level ``safe_release_pytest`` module, which the
``pytest11`` entry point registers for every project that installs safe-release
(and which imports safe_release only when a fixture is used). This module names
them under the package, for a project that lists its plugins explicitly.
"""

from __future__ import annotations

from safe_release_pytest import (
    amazon_adapter,
    ebay_adapter,
    fake_amazon,
    fake_clock,
    fake_ebay,
    fake_walmart,
    migration_check,
    sr_store,
    walmart_adapter,
)

__all__ = [
    "amazon_adapter",
    "ebay_adapter",
    "fake_amazon",
    "fake_clock",
    "fake_ebay",
    "fake_walmart",
    "migration_check",
    "sr_store",
    "walmart_adapter",
]
