"""Applies sql/ after each deploy, as a CloudFormation custom resource (or when invoked directly)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.observability import logger

SQL_DIR = Path(__file__).resolve().parent / "sql"


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Cold start: psycopg and the migrations are imported by the invocation.
    from tour_booking.db import conninfo  # noqa: PLC0415
    from tour_booking.db.migrations import apply_migrations  # noqa: PLC0415

    if "RequestType" not in event:
        applied = apply_migrations(conninfo(), SQL_DIR)
        logger.info("migrations applied", extra={"applied": applied})
        return {"applied": applied}
    status, reason, data = "SUCCESS", "", {}
    try:
        # Deleting the stack must not touch the data; only Create and Update migrate.
        if event["RequestType"] in {"Create", "Update"}:
            applied = apply_migrations(conninfo(), SQL_DIR)
            data = {"Applied": ",".join(applied)}
            logger.info("migrations applied", extra={"applied": applied})
    except Exception as error:
        logger.exception("migration failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:500]
    _answer_cloudformation(event, context, status, reason, data)
    return {"Status": status}


def _answer_cloudformation(
    event: dict[str, Any], context: LambdaContext, status: str, reason: str, data: dict[str, str]
) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"see log stream {context.log_stream_name}",
            "PhysicalResourceId": event.get("PhysicalResourceId", "schema-migrations"),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    url = str(event["ResponseURL"])
    # CloudFormation's pre-signed S3 URL; refuse file:// and other schemes urllib would also open.
    if not url.startswith(("https://", "http://")):
        raise ValueError("ResponseURL must be an http(s) URL")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310  # nosec B310 - scheme checked above
        pass
