"""Fault injection for `FakeShopee`: errors, latency, outages, throttling, odd answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import whole
from safe_release.testing._fault_core import OutageFaults
from safe_release.testing._shopee._shp_routes import check_operation

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["EXPIRED_FORMS", "THROTTLE_ERRORS", "FakeShopeeFaults"]

EXPIRED_FORMS = ("invalid_acceess_token", "error_auth")
THROTTLE_ERRORS = ("error_server", "error_system_busy")
_THROTTLE_STATUSES = (200, 429)


class FakeShopeeFaults(OutageFaults):
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of calls answered 500 ``error_server``), ``latency``
    (seconds each request takes, on the fake clock), ``token_endpoint_throttled``
    (the two token calls answer throttled), ``reject_valid_signatures`` (a correct
    signature answers ``error_sign`` "Wrong sign.", as the legacy test host does),
    ``expired_token_error`` (``invalid_acceess_token``, the production form and the
    default, or ``error_auth``, the documented one), ``throttle_error``
    (``error_server`` or ``error_system_busy``) and ``throttle_status`` (200, the
    default, or 429) directly; call the methods for the rest. `clear` turns
    everything off. An outage answers 503 with an empty body; after `revoke_auth`
    every access token issued so far answers ``error_auth`` "Invalid access_token.";
    a ``garbage_next`` call (a 502 HTML page) is not applied.
    """

    _KINDS: ClassVar[tuple[str, ...]] = ("ambiguous", "garbage", "hollow")

    def __init__(self, seed: int) -> None:
        super().__init__(seed, check_operation)
        self.reject_valid_signatures = False
        """When true, every signed call answers ``error_sign`` "Wrong sign."."""
        self._expired = EXPIRED_FORMS[0]
        self._throttle_error = THROTTLE_ERRORS[0]
        self._throttle_status = 200
        self._failing: dict[tuple[int, int], str] = {}

    @property
    def expired_token_error(self) -> str:
        """An expired access token's ``error``: ``invalid_acceess_token`` or ``error_auth``."""
        return self._expired

    @expired_token_error.setter
    def expired_token_error(self, value: str) -> None:
        if value not in EXPIRED_FORMS:
            msg = f"faults.expired_token_error must be one of {EXPIRED_FORMS}, not {value!r}"
            raise InvalidArgumentError(msg)
        self._expired = value

    @property
    def throttle_error(self) -> str:
        """The ``error`` of a throttled answer: ``error_server`` or ``error_system_busy``."""
        return self._throttle_error

    @throttle_error.setter
    def throttle_error(self, value: str) -> None:
        if value not in THROTTLE_ERRORS:
            msg = f"faults.throttle_error must be one of {THROTTLE_ERRORS}, not {value!r}"
            raise InvalidArgumentError(msg)
        self._throttle_error = value

    @property
    def throttle_status(self) -> int:
        """The HTTP status of a throttled answer: 200 (the default) or 429."""
        return self._throttle_status

    @throttle_status.setter
    def throttle_status(self, value: int) -> None:
        if isinstance(value, bool) or value not in _THROTTLE_STATUSES:
            msg = f"faults.throttle_status must be 200 or 429, not {value!r}"
            raise InvalidArgumentError(msg)
        self._throttle_status = value

    def lose_refresh_answer(self, *, times: int = 1) -> None:
        """The next ``times`` refreshes are applied (the old refresh token is spent), then lost.

        The same as ``ambiguous_next("access_token_get")``: the client sees
        `httpx.ReadTimeout` and never learns the new pair.
        """
        self.ambiguous_next("access_token_get", times=times)

    def hollow_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` successes of ``operation`` answer 200 with an empty envelope.

        The call is processed (a write is applied, a refresh spends its token),
        then the answer holds only ``request_id``, ``error: ""`` and ``message: ""``:
        no ``response`` and, for the token calls, no tokens.
        """
        self._add("hollow", operation, times)

    def fail_models(
        self, item_id: int, model_ids: Iterable[int], *, reason: str = "error_update_price_fail"
    ) -> None:
        """Price and stock updates of these models land in ``failure_list`` with ``reason``."""
        item = whole(item_id, what="item_id", minimum=1)
        models = [whole(m, what="model_id") for m in model_ids]
        if not isinstance(reason, str) or not reason:
            msg = f"reason must be a non-empty string, not {reason!r}"
            raise InvalidArgumentError(msg)
        for model_id in models:
            self._failing[item, model_id] = reason

    @property
    def failing_models(self) -> dict[tuple[int, int], str]:
        """``(item_id, model_id)`` -> reason, as `fail_models` set them (a copy)."""
        return dict(self._failing)

    def take(self, kind: str, operation: str) -> bool:
        """Consume one pending fault of ``kind`` for ``operation``."""
        return self._take(kind, operation)

    def clear(self) -> None:
        """Turn every fault off (revoked tokens stay revoked)."""
        super().clear()
        self.reject_valid_signatures = False
        self._expired, self._throttle_error = EXPIRED_FORMS[0], THROTTLE_ERRORS[0]
        self._throttle_status = 200
        self._failing.clear()

    def _active(self) -> list[tuple[str, object]]:
        return [
            *super()._active(),
            ("reject_valid_signatures", self.reject_valid_signatures),
            ("failing_models", len(self._failing)),
        ]
