"""Show public objects under the module users import them from.

A class or function defined in a private module (``safe_release._facade.Store``)
and exported by a public one reports the public module in its ``repr``, in
tracebacks and in ``pickle`` (``safe_release.Store``): the name a user can import
and look up. Each public package calls `present` on its ``__all__`` once, at the end
of its ``__init__``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["present"]


def present(module: str, names: Iterable[str], namespace: Mapping[str, object]) -> None:
    """Set ``__module__`` to ``module`` on each class and function ``names`` exports.

    Only objects of safe_release defined in a private module are changed; one
    exported by two public modules keeps the first that presents it.
    """
    for name in names:
        obj = namespace[name]
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        current = getattr(obj, "__module__", "")
        if current.startswith("safe_release.") and any(
            part.startswith("_") for part in current.split(".")[1:]
        ):
            obj.__module__ = module
