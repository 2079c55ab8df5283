"""The public surface: exports, the exception tree, reprs without secrets."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import safe_release as sr
from safe_release import exceptions, testing


def _isort(name: str) -> tuple[bool, str]:
    """Constants first, then classes and functions (ruff's RUF022 order)."""
    return (not name.isupper(), name)


class TestExports:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ is sorted and names exactly the public attributes."""
        public = {n for n in dir(sr) if not n.startswith(("_", "@"))} - {
            "annotations",
            "exceptions",
            "testing",
            "cli",
            "adapters",
            "migrations",
        }
        assert sr.__all__ == sorted(sr.__all__, key=_isort)
        assert set(sr.__all__) == public

    def test_exceptions_module_is_complete(self) -> None:
        """safe_release.exceptions exports every error class, all re-exported at the top."""
        classes = {
            n
            for n, obj in vars(exceptions).items()
            if inspect.isclass(obj) and issubclass(obj, Exception)
        }
        assert set(exceptions.__all__) == classes
        assert exceptions.__all__ == sorted(exceptions.__all__)
        assert classes <= set(sr.__all__)

    def test_one_error_root(self) -> None:
        """Every SDK error derives from SafeReleaseError and is documented in the tree."""
        for name in exceptions.__all__:
            cls = getattr(exceptions, name)
            assert issubclass(cls, sr.SafeReleaseError)
            assert name in (exceptions.__doc__ or "")

    def test_testing_exports(self) -> None:
        """safe_release.testing exports its helpers."""
        assert testing.__all__ == sorted(testing.__all__)
        assert "FakeClock" in testing.__all__


class TestFakeClock:
    def test_sleep_advances_instantly(self) -> None:
        """sleep() moves both clocks and is recorded."""
        clock = testing.FakeClock(start=100.0)
        clock.sleep(2.5)
        assert (clock.monotonic(), clock.time(), clock.slept) == (2.5, 102.5, [2.5])

    def test_never_goes_back(self) -> None:
        """advance() refuses negative steps."""
        import pytest  # noqa: PLC0415

        with pytest.raises(sr.InvalidArgumentError):
            testing.FakeClock().advance(-1)

    def test_is_a_clock(self) -> None:
        """FakeClock and SystemClock satisfy the Clock protocol."""
        assert isinstance(testing.FakeClock(), sr.Clock)
        assert isinstance(sr.SystemClock(), sr.Clock)


def test_the_licence_is_declared_and_shipped() -> None:
    """LICENSE is the Apache-2.0 text, and pyproject names it (the wheel carries it)."""
    root = Path(__file__).resolve().parent.parent
    licence = (root / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib on 3.10
    assert re.search(r'^license = "Apache-2\.0"$', pyproject, re.MULTILINE)
    assert re.search(r'^license-files = \["LICENSE"\]$', pyproject, re.MULTILINE)
