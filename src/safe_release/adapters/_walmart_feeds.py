"""Walmart feeds: one POST with many items, polled until processed, a result per item.

`FeedRun` gives `MarketplaceAdapter.call_items` the two hooks it needs: the feed
file for the items being sent, and their results once Walmart has processed the
feed. A ``PROCESSED`` feed can still hold failed items, so the results are read
item by item from the feed's details, never assumed from the feed's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safe_release.adapters import _walmart_wire as wire
from safe_release.adapters._batch import ItemResult
from safe_release.adapters._walmart_ops import FEED_OPERATIONS
from safe_release.exceptions import AmbiguousWriteError, InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from safe_release.adapters._batch import BatchItem
    from safe_release.adapters.walmart import WalmartAdapter

__all__ = ["FEED_WAIT_S", "FeedRun", "check_wait"]

FEED_WAIT_S = 3600.0
"""How long a feed submission waits for Walmart to process the feed, by default."""
_POLL_FIRST, _POLL_MAX = 5.0, 60.0


@dataclass(frozen=True)
class FeedRun:
    """One feed submission of ``operation`` through ``adapter``, waiting at most ``wait`` s."""

    adapter: WalmartAdapter
    operation: str
    wait: float

    def hooks(self) -> dict[str, Any]:
        """``body`` and ``results`` for `call_items`: the feed file, then its polled outcome."""
        return {"body": self.body, "results": self.results}

    def body(self, sent: Sequence[BatchItem]) -> dict[str, Any]:
        """The feed file holding ``sent``."""
        return wire.feed_document(FEED_OPERATIONS[self.operation], [i.payload for i in sent])

    def results(self, response: httpx.Response, sent: Sequence[BatchItem]) -> list[ItemResult]:
        """One result per sent item, once the feed is ``PROCESSED`` (or ``ERROR``)."""
        feed_id = wire.answer(self.adapter.operation(self.operation), response).get("feedId")
        if not isinstance(feed_id, str) or not feed_id:
            raise wire.wrong_shape(self.operation, "feedId", feed_id, "a non-empty string")
        status = self._processed(feed_id)
        if status.get("feedStatus") == "ERROR":
            code, text = _feed_error(status)
            return [
                ItemResult(key=i.key, ok=False, code=code, message=text, raw=status) for i in sent
            ]
        by_sku = {e.get("sku"): e for e in self._details(feed_id)}
        out = []
        for item in sent:
            entry = by_sku.get(item.payload["sku"])
            if entry is None:
                msg = f"feed {feed_id} is PROCESSED but does not report SKU {item.payload['sku']}"
                raise wire.wrong_shape("getFeedStatus", "itemDetails", None, msg)
            out.append(_item_result(item.key, entry))
        return out

    def _processed(self, feed_id: str) -> dict[str, Any]:
        """The feed's status once it is ``PROCESSED`` or ``ERROR``, polled on the clock."""
        clock = self.adapter.clock
        deadline, pause = clock.monotonic() + self.wait, _POLL_FIRST
        while True:
            status = self.adapter.get_feed_status(feed_id)
            if status.get("feedStatus") in wire.FEED_DONE:
                return status
            if clock.monotonic() + pause > deadline:
                msg = (
                    f"walmart feed {feed_id} was submitted but is still "
                    f"{str(status.get('feedStatus'))[:20]} after {self.wait:g} s: which items "
                    f"applied is unknown; poll get_feed_status({feed_id!r}) before resending"
                )
                raise AmbiguousWriteError(msg, marketplace="walmart", operation="getFeedStatus")
            clock.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    def _details(self, feed_id: str) -> list[dict[str, Any]]:
        """Every item's ingestion status, page by page (at most 50 a page)."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.adapter.get_feed_status(
                feed_id, include_details=True, offset=len(out), limit=wire.FEED_PAGE
            )
            entries = wire.feed_items(page, "getFeedStatus")
            out.extend(entries)
            received = page.get("itemsReceived")
            total = received if isinstance(received, int) and not isinstance(received, bool) else 0
            if not entries or len(out) >= total:
                return out


def check_wait(wait: object) -> None:
    """``wait=`` must be a positive, finite number of seconds."""
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 < wait < float("inf"):
        msg = f"wait= must be a positive number of seconds, not {wait!r:.60}"
        raise InvalidArgumentError(msg)


def _item_result(key: str, entry: dict[str, Any]) -> ItemResult:
    status = entry.get("ingestionStatus")
    if status == "SUCCESS":
        return ItemResult(key=key, ok=True, raw=entry)
    code, text = wire.first_ingestion_error(entry, "getFeedStatus")
    shown = status if isinstance(status, str) else "UNKNOWN"
    return ItemResult(key=key, ok=False, code=code or shown[:40], message=text or shown, raw=entry)


def _feed_error(status: dict[str, Any]) -> tuple[str, str]:
    code, text = wire.first_ingestion_error(
        {"ingestionErrors": status.get("ingestionErrors")}, "getFeedStatus"
    )
    return code or "FEED_ERROR", text or "Walmart could not process the feed"
