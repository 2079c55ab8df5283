"""Helpers for an ERP's own Alembic project living beside the SDK's tables."""

from __future__ import annotations

from safe_release._store._tables import VERSION_TABLE

__all__ = ["exclude_sdk_tables"]


def exclude_sdk_tables(
    obj: object,
    name: str | None,
    type_: str,
    reflected: bool,  # noqa: FBT001 - Alembic's include_object signature
    compare_to: object,
) -> bool:
    """An Alembic ``include_object`` hook that hides the SDK's ``sr_`` tables.

    Pass it to ``context.configure(include_object=exclude_sdk_tables)`` in the
    ERP's ``env.py`` so ``alembic revision --autogenerate`` never proposes to drop
    the SDK's tables (or its version table) from a shared database.
    """
    del obj, reflected, compare_to
    if type_ == "table" and name is not None:
        return not (name.startswith("sr_") or name == VERSION_TABLE)
    return True
