"""`Secret`: a credential that is never shown, logged, compared in variable time or pickled.

On the ground floor: the signing key (`_signing`), the store's connection and the
marketplace adapters' credentials all hold their secrets in it.
"""

from __future__ import annotations

import hmac
from typing import NoReturn

from safe_release.exceptions import InvalidArgumentError

__all__ = ["Secret"]

_MASK = "Secret('***')"


class Secret:
    """A credential (token, client secret): shown as ``Secret('***')``, read with `reveal`.

    It is never printed, logged or formatted with its value, compares equal only to
    another `Secret` with the same value (in constant time), and refuses to be
    pickled so that it can never land in a checkpoint.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            msg = f"Secret(…) takes a str, not {type(value).__name__}"
            raise InvalidArgumentError(msg)
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret value: use it only to build the request that needs it."""
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(_MASK, format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(
            self._value.encode("utf-8", "surrogatepass"),
            other._value.encode("utf-8", "surrogatepass"),
        )

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        msg = "a Secret is immutable; create a new one"
        raise AttributeError(msg)

    def __reduce__(self) -> NoReturn:
        msg = (
            "a Secret cannot be pickled or copied into a checkpoint; persist credentials "
            "through your own secret storage (for example the on_rotate callback)"
        )
        raise TypeError(msg)

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        self.__reduce__()

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self
