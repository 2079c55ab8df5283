"""Stable, evenly spread assignment of keys to a staged rollout."""

from __future__ import annotations

import hashlib

__all__ = ["BUCKETS", "bucket"]

BUCKETS = 10_000  # basis points: 0.01 % resolution


def bucket(name: str, candidate: int, key: str) -> int:
    """The key's bucket in ``[0, BUCKETS)`` for one rollout of one config.

    The hash is salted with the config name and the candidate version, so each
    rollout samples its own keys, while a key stays in the same bucket for the
    whole rollout: raising the percentage only ever adds keys.
    """
    digest = hashlib.blake2b(
        f"{name}\x00{candidate}\x00{key}".encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") % BUCKETS
