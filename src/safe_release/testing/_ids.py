"""`SeededIds`: the random identifiers every fake marketplace makes, reproducible from a seed."""

from __future__ import annotations

import random

__all__ = ["SeededIds"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class SeededIds:
    """Digits, letters and hex drawn from a generator seeded with ``seed``.

    Each fake extends it with its own id shapes (order ids, feed ids).
    """

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - ids for a fake, not secrets

    def digits(self, count: int) -> str:
        """``count`` random digits, the first not 0."""
        first = str(self._rng.randrange(1, 10))
        return first + "".join(str(self._rng.randrange(10)) for _ in range(count - 1))

    def alnum(self, count: int) -> str:
        """``count`` random upper-case letters and digits."""
        return "".join(self._rng.choice(_ALNUM) for _ in range(count))

    def hex(self) -> str:
        """32 hex digits."""
        return f"{self._rng.getrandbits(128):032x}"
