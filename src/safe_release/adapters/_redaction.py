"""Masking credentials in the URLs that httpx logs.

httpx logs every request line (``HTTP Request: GET https://…?access_token=…``) at
INFO. Shopee and Lazada put the access token and the signature in the query, so a
service that logs httpx at INFO would write them out. Every adapter installs
`RedactQuery` on the ``httpx`` logger (once per process): query values whose name
looks secret (it holds ``token``, ``secret``, ``sign`` or ``pass``, ends in
``key``, or is ``code``) are shown as ``***``. Records are rewritten, never dropped.
"""

from __future__ import annotations

import logging
import re

import httpx

__all__ = ["RedactQuery", "redact_http_logs"]

_IN_URL = re.compile(
    r"((?:[\w.]*(?:token|secret|sign|pass)[\w.]*|[\w.]*key|code)=)[^&\s\"']*", re.IGNORECASE
)


class RedactQuery(logging.Filter):
    """Masks secret-looking query values in log records (httpx's request lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = _IN_URL.sub(r"\1***", record.msg)
        return True


def _masked(arg: object) -> object:
    text = str(arg) if isinstance(arg, (str, httpx.URL)) else None
    if text is None or "=" not in text:
        return arg
    return _IN_URL.sub(r"\1***", text)


_REDACTION = RedactQuery()


def redact_http_logs() -> None:
    """Install `RedactQuery` on the ``httpx`` logger (once)."""
    logger = logging.getLogger("httpx")
    if _REDACTION not in logger.filters:
        logger.addFilter(_REDACTION)
