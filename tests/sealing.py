"""Test helper: seal rows a test rewrote by hand to stage a state the SDK itself writes.

Tests that simulate a crash (a ledger row left ``sending``, a checkpoint left
``restoring``) write the row directly; the SDK would have sealed it, so the test
seals it too, with the library's own `resign_release`. Tests of tampering do not
call this.
"""

from __future__ import annotations

from sqlalchemy import select

import safe_release as sr


def reseal(store: sr.Store) -> None:
    """Seal every release's rows as they now are."""
    t = store.tables
    with store.engine.connect() as conn:
        ids = set(conn.execute(select(t.release.c.id)).scalars())
        ids |= set(conn.execute(select(t.checkpoint.c.release_id)).scalars())
        ids |= set(conn.execute(select(t.ledger.c.release_id)).scalars())
    for release_id in sorted(ids):
        sr.resign_release(store, release_id, force=True)
