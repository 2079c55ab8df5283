"""FBA Inventory v1, Fulfillment Inbound 2024-03-20, and Sellers v1 (the health probe)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from safe_release.testing._amazon import _bodies as b
from safe_release.testing._amazon._request import (
    Reply,
    SpRequest,
    csv,
    fields,
    flag,
    required,
)
from safe_release.testing._amazon._state import MARKETPLACES, InboundOperation
from safe_release.testing._amazon._values import AmazonInboundPlan

if TYPE_CHECKING:
    from safe_release.testing._amazon._state import AmazonState
    from safe_release.testing._amazon._values import AmazonInventory

__all__ = [
    "cancel_inbound_plan",
    "create_inbound_plan",
    "get_inbound_operation_status",
    "get_inventory_summaries",
    "get_marketplace_participations",
]

_PAGE = 50
_OWNERS = frozenset({"AMAZON", "SELLER", "NONE"})
_ADDRESS = ("addressLine1", "city", "countryCode", "name", "phoneNumber", "postalCode")
_MAX_UNITS = 500_000
_MAX_NAME = 40


def _summary(record: AmazonInventory, *, details: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "asin": record.asin,
        "fnSku": record.fn_sku,
        "sellerSku": record.sku,
        "condition": "NewItem",
        "lastUpdatedTime": b.iso(record.updated),
        "productName": f"Fake product {record.sku}",
        "totalQuantity": record.total,
    }
    if details:
        summary["inventoryDetails"] = {
            "fulfillableQuantity": record.fulfillable,
            "inboundWorkingQuantity": record.inbound_working,
            "inboundShippedQuantity": 0,
            "inboundReceivingQuantity": 0,
            "reservedQuantity": {"totalReservedQuantity": record.reserved},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": record.unfulfillable},
        }
    return summary


def get_inventory_summaries(state: AmazonState, request: SpRequest) -> Reply:
    """GET /fba/inventory/v1/summaries, 50 per page."""
    if required(request, "granularityType") != "Marketplace":
        raise b.invalid_input("granularityType must be Marketplace.")
    granularity_id = required(request, "granularityId")
    required(request, "marketplaceIds")
    details = flag(request, "details")
    token = request.query.get("nextToken")
    if token:
        if token not in state.pages:
            raise b.invalid_input("Invalid nextToken.")
        skus, next_token = state.resume(token)
    else:
        wanted = set(csv(request.query.get("sellerSkus")))
        if request.query.get("sellerSku"):
            wanted.add(request.query["sellerSku"])
        start = request.query.get("startDateTime")
        since = b.from_iso(start, name="startDateTime") if start else float("-inf")
        skus, next_token = state.paginate(
            sorted(
                sku
                for (seller, sku), record in state.inventory.items()
                if seller == request.seller_id
                and (not wanted or sku in wanted)
                and record.updated >= since
            ),
            per_page=_PAGE,
        )
    payload = {
        "granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
        "inventorySummaries": [
            _summary(state.inventory[request.seller_id, sku], details=details) for sku in skus
        ],
    }
    body: dict[str, Any] = {"payload": payload}
    if next_token:
        body["pagination"] = {"nextToken": next_token}
    return Reply(200, body)


def _plan_body(body: object) -> dict[str, Any]:
    document = fields(body, "body", destinationMarketplaces=list, items=list, sourceAddress=dict)
    if len(document["destinationMarketplaces"]) != 1:
        raise b.invalid_input("destinationMarketplaces must hold exactly one marketplace.")
    for index, item in enumerate(document["items"]):
        where = f"items[{index}]"
        fields(item, where, msku=str, quantity=int, labelOwner=str, prepOwner=str)
        if not 1 <= item["quantity"] <= _MAX_UNITS:
            msg = f"{where}.quantity must be from 1 to {_MAX_UNITS}."
            raise b.invalid_input(msg)
        if item["labelOwner"] not in _OWNERS or item["prepOwner"] not in _OWNERS:
            msg = f"{where}: labelOwner and prepOwner are AMAZON, SELLER or NONE."
            raise b.invalid_input(msg)
    fields(document["sourceAddress"], "sourceAddress", **dict.fromkeys(_ADDRESS, str))
    name = document.get("name")
    if name is not None and not (isinstance(name, str) and 1 <= len(name) <= _MAX_NAME):
        msg = f"name must be 1 to {_MAX_NAME} characters."
        raise b.invalid_input(msg)
    return document


def create_inbound_plan(state: AmazonState, request: SpRequest) -> Reply:
    """POST /inbound/fba/2024-03-20/inboundPlans: a NEW plan on every call (202)."""
    document = _plan_body(request.body)
    known = {
        sku for (seller, sku) in (*state.listings, *state.inventory) if seller == request.seller_id
    }
    problems = tuple(
        ("FBA_INB_0004", f"MSKU {item['msku']} is not a listing of this seller.")
        for item in document["items"]
        if item["msku"] not in known
    )
    plan_id, operation_id = "wf" + state.ids.uuid(), state.ids.uuid()
    state.plans[plan_id] = AmazonInboundPlan(
        inbound_plan_id=plan_id,
        seller_id=request.seller_id,
        operation_id=operation_id,
        name=document.get("name") or f"FBA ({b.iso(request.now)[:10]})",
        status="ERRORED" if problems else "ACTIVE",
        body=MappingProxyType(document),
        created=request.now,
    )
    state.operations[operation_id] = InboundOperation(
        operation_id,
        "createInboundPlan",
        plan_id,
        request.now + state.inbound_seconds,
        problems,
    )
    return Reply(202, {"inboundPlanId": plan_id, "operationId": operation_id}, applied=True)


def cancel_inbound_plan(state: AmazonState, request: SpRequest) -> Reply:
    """PUT .../inboundPlans/{inboundPlanId}/cancellation: voids the plan (202)."""
    plan_id = request.params["inboundPlanId"]
    plan = state.plans.get(plan_id)
    if plan is None or plan.seller_id != request.seller_id:
        msg = f"Inbound plan {plan_id} was not found."
        raise b.not_found(msg)
    if plan.status == "VOIDED":
        msg = f"Inbound plan {plan_id} is already cancelled."
        raise b.invalid_input(msg)
    operation_id = state.ids.uuid()
    state.plans[plan_id] = dataclasses.replace(plan, status="VOIDED")
    state.operations[operation_id] = InboundOperation(
        operation_id,
        "cancelInboundPlan",
        plan_id,
        request.now + state.inbound_seconds,
    )
    return Reply(202, {"operationId": operation_id}, applied=True)


def get_inbound_operation_status(state: AmazonState, request: SpRequest) -> Reply:
    """GET /inbound/fba/2024-03-20/operations/{operationId}."""
    operation_id = request.params["operationId"]
    operation = state.operations.get(operation_id)
    plan = state.plans.get(operation.inbound_plan_id) if operation else None
    if operation is None or plan is None or plan.seller_id != request.seller_id:
        msg = f"Operation {operation_id} was not found."
        raise b.not_found(msg)
    status = operation.status(request.now)
    problems = (
        [
            {"code": code, "message": message, "severity": "ERROR"}
            for code, message in operation.problems
        ]
        if status == "FAILED"
        else []
    )
    return Reply(
        200,
        {
            "operation": operation.operation,
            "operationId": operation_id,
            "operationProblems": problems,
            "operationStatus": status,
        },
    )


def get_marketplace_participations(state: AmazonState, request: SpRequest) -> Reply:
    """GET /sellers/v1/marketplaceParticipations: the marketplaces the seller sells in."""
    marketplaces = sorted(
        {
            listing.marketplace_id
            for listing in state.listings.values()
            if listing.seller_id == request.seller_id
        }
        | {state.home_marketplace(request.seller_id)}
    )
    return Reply(200, {"payload": [_participation(mp) for mp in marketplaces]})


def _participation(marketplace_id: str) -> dict[str, Any]:
    name, country, currency, language, domain = MARKETPLACES.get(
        marketplace_id, (marketplace_id, "US", "USD", "en_US", "www.amazon.com")
    )
    return {
        "marketplace": {
            "id": marketplace_id,
            "name": name,
            "countryCode": country,
            "defaultCurrencyCode": currency,
            "defaultLanguageCode": language,
            "domainName": domain,
        },
        "participation": {"isParticipating": True, "hasSuspendedListings": False},
    }
