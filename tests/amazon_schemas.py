"""Amazon's published SP-API models, as JSON Schema validators for tests.

The models (swagger 2.0, Apache-2.0, amzn/selling-partner-api-models) live in
``../shared/reference/amazon-sp-api`` beside the repository; only tests read
them. ``#/definitions/...`` references resolve inside each model file.
getMarketplaceParticipations is not covered: the Sellers API model is not
among the shipped files.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(
    os.environ.get("SAFE_RELEASE_MODELS_DIR")
    or ROOT.parent / "shared" / "reference" / "amazon-sp-api"
)
REQUEST_BODIES = {
    "patchListingsItem": "ListingsItemPatchRequest",
    "confirmShipment": "ConfirmShipmentRequest",
    "createInboundPlan": "CreateInboundPlanRequest",
}


def _require_models() -> None:
    """Skip (fail in CI) when Amazon's published models are not beside the checkout."""
    if any(MODELS.glob("*.json")):
        return
    reason = (
        f"Amazon's SP-API models are not at {MODELS} (../shared/reference/amazon-sp-api); "
        "set SAFE_RELEASE_MODELS_DIR to run the schema checks"
    )
    if os.environ.get("SAFE_RELEASE_REQUIRE_MODELS") == "1":
        raise FileNotFoundError(reason)
    pytest.skip(reason, allow_module_level=True)


@cache
def _operations() -> dict[str, tuple[str, dict[str, Any]]]:
    """operationId -> (model file name, the operation object)."""
    _require_models()
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(MODELS.glob("*.json")):
        model = json.loads(path.read_text(encoding="utf-8"))
        for methods in model.get("paths", {}).values():
            for operation in methods.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    found.setdefault(operation["operationId"], (path.name, operation))
    return found


@cache
def _definitions(file_name: str) -> dict[str, Any]:
    model = json.loads((MODELS / file_name).read_text(encoding="utf-8"))
    return model["definitions"]


def has_model(operation: str) -> bool:
    """Whether a shipped model declares ``operation``."""
    return operation in _operations()


def usage_plan(operation: str) -> tuple[float, int]:
    """(rate, burst) from the operation's "Usage Plan" table in the model."""
    description = _operations()[operation][1]["description"]
    row = description.split("| ---- | ---- |")[1].split("|")
    return float(row[1]), int(row[2])


def _validator(file_name: str, schema: dict[str, Any]) -> Draft4Validator:
    return Draft4Validator({**schema, "definitions": _definitions(file_name)})


def response_schema(operation: str, status: int) -> dict[str, Any] | None:
    """The model's body schema for ``status`` (``None``: no body, as for a 204).

    A status the model does not list (a 404 where only 400 is declared) gets the
    operation's 400 schema: SP-API error documents share one shape per model.
    """
    responses = _operations()[operation][1]["responses"]
    response = responses.get(str(status)) or responses["400"]
    return response.get("schema")


def validate_response(operation: str, status: int, body: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` fits the model."""
    schema = response_schema(operation, status)
    if schema is None:
        assert body is None, f"{operation} {status} must have no body"
        return
    file_name = _operations()[operation][0]
    _validator(file_name, schema).validate(body)


def validate_request(operation: str, body: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` fits the request schema."""
    file_name = _operations()[operation][0]
    schema = {"$ref": f"#/definitions/{REQUEST_BODIES[operation]}"}
    _validator(file_name, schema).validate(body)
