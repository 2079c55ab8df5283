"""Feeds API: submitFeed (multipart), getFeedStatus, listFeeds; ingestion on the fake clock."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from safe_release.testing._walmart._wm_request import Reply, WmRequest, integer, not_found
from safe_release.testing._walmart._wm_routes import FEED_TYPES
from safe_release.testing._walmart._wm_state import FeedRecord
from safe_release.testing._walmart._wm_wire import FEED_NS, GATEWAY, RECEIVER, Reject, epoch_ms

if TYPE_CHECKING:
    from email.message import EmailMessage

    from safe_release.testing._walmart._wm_state import WalmartState
    from safe_release.testing._walmart._wm_values import WalmartFeed, WalmartFeedItem

__all__ = ["feed_bucket", "get_feed_status", "list_feeds", "read_file", "submit_feed"]

_MAX_DETAILS = 50
# The top-level array of each feed type's JSON file (case matters: 1.4 vs 1.5).
_ARRAYS = {"price": "Price", "inventory": "Inventory", "MP_INVENTORY": "inventory"}
_ERROR_CODE = "ERR_EXT_DATA_0801001"  # [U] Walmart's item error codes are not documented


def feed_bucket(query: dict[str, str]) -> str:
    """The bucket a submission spends (``feeds:<feedType>``), or a 400 for the feedType."""
    feed_type = query.get("feedType", "")
    if not feed_type:
        msg = "feedType is required."
        raise Reject(400, "MISSING_REQUEST_PARAM" + RECEIVER, msg, field="feedType")
    if feed_type not in FEED_TYPES:
        msg = f"feedType {feed_type!r} is not supported; use one of {sorted(FEED_TYPES)}."
        raise Reject(400, "INVALID_REQUEST_PARAM" + RECEIVER, msg, field="feedType")
    return f"feeds:{feed_type}"


def read_file(content_type: str, content: bytes) -> bytes:
    """The ``file`` part of a multipart/form-data body, or the `Reject` a gateway sends."""
    if not content_type.lower().startswith("multipart/form-data"):
        msg = "A feed is sent as multipart/form-data with a part named file."
        raise Reject(415, "UNSUPPORTED_MEDIA_TYPE" + GATEWAY, msg)
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message: EmailMessage = email.message_from_bytes(head + content, policy=email.policy.HTTP)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                return payload if isinstance(payload, bytes) else b""
    msg = "The multipart body has no part named file."
    raise Reject(400, "MISSING_REQUEST_PARAM" + RECEIVER, msg, field="file")


def _entries(feed_type: str, file: bytes) -> tuple[list[Any] | None, Any]:
    """(the items of the file, or None if unreadable; the parsed file for the call log)."""
    try:
        document = json.loads(file, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None, file.decode("utf-8", "replace")
    entries = document.get(_ARRAYS[feed_type]) if isinstance(document, dict) else None
    return (entries if isinstance(entries, list) and entries else None), document


def submit_feed(state: WalmartState, request: WmRequest) -> Reply:
    """POST /v3/feeds?feedType=: a new feed (a new feedId every time), ingested later.

    An oversize file is 413 after the feed type's bucket was spent (the gateway
    counts the call before the receiver reads the file [U]). A file that is not a
    JSON feed of its type is accepted and ends ERROR.
    """
    feed_type = request.query["feedType"]
    file = read_file(request.content_type, request.content)
    if len(file) > FEED_TYPES[feed_type].max_bytes:
        msg = f"The {feed_type} feed file is larger than {FEED_TYPES[feed_type].max_bytes} bytes."
        raise Reject(413, "REQUEST_ENTITY_TOO_LARGE" + RECEIVER, msg, field="file")
    entries, _ = _entries(feed_type, file)
    feed = FeedRecord(
        feed_id=state.ids.feed_id(),
        feed_type=feed_type,
        seller_id=request.seller_id,
        submitted=request.now,
        done_at=request.now + state.feed_seconds,
        entries=entries,
        failing=state.failing_skus,
        digest=hashlib.sha256(file).hexdigest(),
    )
    state.feeds[feed.feed_id] = feed
    state.settle(request.now)
    return Reply(200, {"feedId": feed.feed_id}, "FeedAcknowledgement", FEED_NS, applied=True)


def parsed_file(feed_type: str, file: bytes) -> Any:
    """The file as the call log shows it: parsed JSON, or its text."""
    return _entries(feed_type, file)[1]


def _error(description: str) -> dict[str, Any]:
    return {"type": "DATA_ERROR", "code": _ERROR_CODE, "description": description}


def _item_document(state: WalmartState, feed: WalmartFeed, item: WalmartFeedItem) -> Any:
    document: dict[str, Any] = {"martId": 0}
    if item.sku is not None:
        document["sku"] = item.sku
        known = state.items.get((feed.seller_id, item.sku))
        if known is not None:
            document["wpid"] = known.wpid
    document["index"] = item.index
    document["ingestionStatus"] = item.status
    errors = [_error(item.error)] if item.error else []
    document["ingestionErrors"] = {"ingestionError": errors}
    return document


def _counts(feed: WalmartFeed) -> dict[str, int]:
    done = feed.status in {"PROCESSED", "ERROR"}
    succeeded = sum(1 for i in feed.items if i.status == "SUCCESS")
    return {
        "itemsReceived": len(feed.items),
        "itemsSucceeded": succeeded,
        "itemsFailed": len(feed.items) - succeeded if done else 0,
        "itemsProcessing": 0 if done else len(feed.items),
    }


def _feed(state: WalmartState, request: WmRequest, feed_id: str) -> WalmartFeed:
    record = state.feeds.get(feed_id)
    if record is None or record.seller_id != request.seller_id:
        raise not_found(RECEIVER, f"Feed {feed_id} was not found.")
    return record.snapshot(request.now)


def get_feed_status(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/feeds/{feedId}?includeDetails=&offset=&limit= (limit <= 50)."""
    feed = _feed(state, request, request.params["feedId"])
    details = request.query.get("includeDetails", "false").lower()
    if details not in {"true", "false"}:
        msg = f"includeDetails must be true or false, not {details!r}."
        raise Reject(400, "INVALID_REQUEST_PARAM" + RECEIVER, msg, field="includeDetails")
    offset = integer(request, "offset", default=0, low=0, high=10**9, service=RECEIVER)
    limit = integer(
        request, "limit", default=_MAX_DETAILS, low=1, high=_MAX_DETAILS, service=RECEIVER
    )
    errors = [_error(feed.ingestion_error)] if feed.ingestion_error else []
    document: dict[str, Any] = {
        "feedId": feed.feed_id,
        "feedStatus": feed.status,
        "feedSubmissionDate": epoch_ms(feed.submitted),
        "ingestionErrors": {"ingestionError": errors},
        **_counts(feed),
        "offset": offset,
        "limit": limit,
    }
    if details == "true":
        page = feed.items[offset : offset + limit]
        document["itemDetails"] = {
            "itemIngestionStatus": [_item_document(state, feed, item) for item in page]
        }
    return Reply(200, document, "PartnerFeedResponse", FEED_NS)


def list_feeds(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/feeds?feedId=&offset=&limit=: the seller's feeds, newest first."""
    offset = integer(request, "offset", default=0, low=0, high=10**9, service=RECEIVER)
    limit = integer(
        request, "limit", default=_MAX_DETAILS, low=1, high=_MAX_DETAILS, service=RECEIVER
    )
    wanted = request.query.get("feedId")
    feeds = [
        record.snapshot(request.now)
        for record in reversed(state.feeds.values())
        if record.seller_id == request.seller_id and wanted in {None, "", record.feed_id}
    ]
    if wanted and not feeds:
        raise not_found(RECEIVER, f"Feed {wanted} was not found.")
    results = [
        {
            "feedId": feed.feed_id,
            "feedSource": "MARKETPLACE_PARTNER",
            "feedType": feed.feed_type,
            "partnerId": feed.seller_id,
            **_counts(feed),
            "feedStatus": feed.status,
            "feedDate": epoch_ms(feed.submitted),
            "batchId": "HP_REQUEST_BATCH",
            "modifiedDtm": epoch_ms(min(request.now, feed.done_at)),
        }
        for feed in feeds[offset : offset + limit]
    ]
    document = {
        "totalResults": len(feeds),
        "offset": offset,
        "limit": limit,
        "results": {"feed": results},
    }
    return Reply(200, document, "FeedRecordResponse", FEED_NS)
