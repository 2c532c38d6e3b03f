"""`make dev`'s tour events bus: what EventBridge and the rule to DomIQ's API destination do, in one object.

The publisher (functions/event_publisher) gets this in place of boto3's `events` client. Each entry is printed as
the EventBridge event DomIQ's webhook would receive (`source`, `detail-type`, `detail`, ...) and, when a webhook URL
is set (DEV_WEBHOOK_URL), POSTed to it as JSON with the `x-api-key` header of the API destination's connection
(DEV_WEBHOOK_API_KEY). As in AWS, PutEvents accepts every well-formed entry: delivery to the webhook is the rule's
business, so a webhook that fails is logged and does not send the event back to the outbox.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("tools.local_event_bus")

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def eventbridge_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The event a rule's target receives for a PutEvents entry."""
    moment = entry.get("Time") or datetime.now(UTC)
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT_ID,
        "time": moment,
        "region": REGION,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }


class LocalEventBus:
    def __init__(self, webhook_url: str | None = None, api_key: str | None = None, timeout: float = 5.0) -> None:
        self.webhook_url = webhook_url or None
        self.api_key = api_key
        self.timeout = timeout

    def put_events(self, *, Entries: Sequence[Any]) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        for entry in Entries:
            event = eventbridge_event(entry)
            logger.info("%s %s", event["detail-type"], json.dumps(event["detail"], separators=(",", ":")))
            if self.webhook_url:
                self._forward(event)
            results.append({"EventId": event["id"]})
        return {"FailedEntryCount": 0, "Entries": results}

    def _forward(self, event: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        request = urllib.request.Request(  # noqa: S310 - the developer's own URL
            str(self.webhook_url), data=json.dumps(event).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310  # nosec B310
                logger.info("forwarded %s to %s: HTTP %s", event["detail"]["event_id"], self.webhook_url, answer.status)
        except (urllib.error.URLError, OSError) as error:
            logger.warning("webhook %s did not take %s: %s", self.webhook_url, event["detail"]["event_id"], error)
