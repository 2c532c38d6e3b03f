"""Bodies refused before routing: too large, or not UTF-8 text. Powertools would fail on either while parsing it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from tour_booking.api.errors import error_response
from tour_booking.api.json_response import JSON

MAX_BODY_BYTES = 64 * 1024


def refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """The proxy answer refusing the event's body, or None when the body may be routed."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        return _proxy_answer(413, "payload_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded") and not _is_utf8(body):
        # API Gateway base64-encodes a body that is not text; JSON is text, so this one can only be refused.
        not_text = [{"loc": ["body"], "type": "json_invalid", "msg": "the body is not UTF-8 text"}]
        return _proxy_answer(422, "validation_error", "the request is not valid", not_text)
    return None


def _is_utf8(base64_body: str) -> bool:
    try:
        base64.b64decode(base64_body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return True


def _proxy_answer(status: int, code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    answer = error_response(status, code, message, details)
    return {
        "statusCode": answer.status_code,
        "headers": {"Content-Type": JSON},
        "multiValueHeaders": {},
        "body": answer.body,
        "isBase64Encoded": False,
    }
