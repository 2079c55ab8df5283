"""Marketplace adapters: paced, retried, journaled calls to Amazon, eBay, Shopee and others."""

from __future__ import annotations

from safe_release.adapters._operation import Limit, Operation, SideEffect

__all__ = ["Limit", "Operation", "SideEffect"]
