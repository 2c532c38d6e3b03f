"""Prints the booking API's OpenAPI document, generated from the Powertools resolver (`make openapi`)."""

from __future__ import annotations

import json
import sys
from typing import Any

TITLE = "Tour booking API"
VERSION = "1.0.0"
DESCRIPTION = (
    "DomIQ's API for tour availability and bookings. Errors always have the shape "
    '{"error": {"code", "message", "details"}}; times are ISO 8601 with the property\'s local offset.'
)


def _unreferenced_schemas(document: dict[str, Any]) -> set[str]:
    """Powertools always defines its own 422 schemas; every route answers ErrorResponse instead."""
    schemas = document.get("components", {}).get("schemas", {})
    text = json.dumps({k: v for k, v in document.items() if k != "components"})
    used: set[str] = set()
    pending = [name for name in schemas if f'"#/components/schemas/{name}"' in text]
    while pending:
        name = pending.pop()
        if name in used:
            continue
        used.add(name)
        body = json.dumps(schemas[name])
        pending += [other for other in schemas if f'"#/components/schemas/{other}"' in body]
    return set(schemas) - used


def document() -> dict[str, Any]:
    from tour_booking.api.app import app  # noqa: PLC0415

    generated: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)
    )
    schemas = generated.get("components", {}).get("schemas", {})
    for name in _unreferenced_schemas(generated):
        del schemas[name]
    generated.setdefault("components", {})["securitySchemes"] = {
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
    }
    generated["security"] = [{"api_key": []}]
    generated["paths"]["/health"]["get"]["security"] = []
    for operation in (op for methods in generated["paths"].values() for op in methods.values()):
        # Powertools gives every success a body schema from the return annotation; a 204 has no body.
        operation["responses"].get("204", {}).pop("content", None)
        if operation.get("security", generated["security"]):
            # API Gateway refuses a missing or wrong key itself, in the shape template.yaml's GatewayResponses give it.
            operation["responses"]["403"] = {
                "description": "forbidden: the x-api-key header is missing or not a valid key",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
            }
    return generated


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
