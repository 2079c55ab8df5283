"""What the fake-marketplace tests share: the client set-up and the stand-alone check."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

import safe_release.testing

if TYPE_CHECKING:
    from types import ModuleType

C = TypeVar("C")

TESTING = Path(safe_release.testing.__path__[0])


def fake_modules(package: ModuleType) -> list[Path]:
    """The modules of a fake's package and the private ones every fake shares."""
    shared = [p for p in TESTING.glob("_*.py") if not p.name.startswith("__")]
    return sorted([*Path(package.__path__[0]).glob("*.py"), *shared])


def imported(file: Path) -> set[str]:
    """The absolute module names ``file`` imports at any depth, and ``module.name`` of each."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


class FakeClient(Generic[C]):
    """A minimal client of one fake: its credentials, an httpx client and a token slot.

    ``http`` replaces the client on the fake's ``transport`` (e.g. one on ``serve()``);
    ``transport`` replaces the fake's own transport in that client.
    """

    base_url = "https://fake.test"

    def __init__(
        self,
        fake: Any,
        creds: C | None = None,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.fake = fake
        self.creds: C = creds or fake.credentials
        self.http = http or httpx.Client(
            transport=transport or fake.transport, base_url=self.base_url
        )
        self.access: str | None = None
