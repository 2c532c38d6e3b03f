"""One booking and its sync, end to end through both handlers: the API request id follows the tour to the
sync's logs, the metrics the alarms read are emitted, and no prospect detail reaches any log line."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import psycopg
import pytest

from functions.booking_api.app import lambda_handler as booking_api
from functions.resman_sync.app import lambda_handler as resman_sync
from tests.api_events import LambdaContext, api_event, call
from tests.builders import ACCOUNT, RESMAN_PROPERTY, future_slot, new_conversation, schedule_body, tour_body
from tests.integration.private_details import NOTES, PREFERENCES, PROSPECT, SECRETS
from tools.resman_double import DoubleHandle


def _sqs_records(client: Any) -> dict[str, Any]:
    answer = client.receive_message(
        QueueUrl=client.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    )
    records = []
    for message in answer.get("Messages", []):
        attributes = {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": attributes,
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tour-booking-sync-test",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def test_a_booking_and_its_sync_log_no_prospect_detail_and_carry_one_correlation_id(
    clean_db: str,
    sqs_queue: Any,
    *,
    resman_env: None,
    double: DoubleHandle,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # given a property known to ResMan and a conversation
    property_id = uuid.uuid4()
    put = call(
        "PUT",
        f"/properties/{property_id}/tour-schedule",
        schedule_body(resman_account_id=ACCOUNT, resman_property_id=RESMAN_PROPERTY),
    )
    assert put.status == 200, put.json
    conversation_id = new_conversation(clean_db)
    # and a guest card staff made for the prospect, under another first name (the chat's goes to the Comments)
    double.state.add_card(
        ACCOUNT, RESMAN_PROPERTY, first_name="Wrongname", last_name=PROSPECT["last_name"], email=PROSPECT["email"]
    )

    # when DomIQ books (one API request with a known request id) and the queued message is synced
    body = tour_body(
        property_id, conversation_id, future_slot(), prospect=PROSPECT, staff_notes=NOTES, preferences=PREFERENCES
    )
    event = api_event("POST", "/tours", body)
    request_id = event["requestContext"]["requestId"]
    answer = booking_api(event, LambdaContext())
    assert answer["statusCode"] == 201, answer["body"]
    tour_id = json.loads(answer["body"])["id"]
    batch = _sqs_records(sqs_queue)
    assert len(batch["Records"]) == 1
    assert batch["Records"][0]["messageAttributes"]["correlation_id"]["stringValue"] == request_id
    assert resman_sync(batch, LambdaContext()) == {"batchItemFailures": []}

    # then the tour reached ResMan: on the staff's card, with the notes, preferences and the chat's first name
    [card] = double.state.all_prospects()
    assert card.preferences["Comment"] == PREFERENCES["comment"]
    assert "first name: Zebulon" in (card.events[0].comments or "")
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(b"SELECT sync_status FROM tour_booking_sync WHERE id = %s", (tour_id,)).fetchone() == (
            "success",
        )
    out, err = capfd.readouterr()
    # every log record with all its extra keys: what the JSON formatter would write
    records = [json.dumps(vars(record), default=str) for record in caplog.records]
    logged = "\n".join([out, err, *records])
    # and the sync's log names the API request that booked the tour
    sync_done = [record for record in caplog.records if record.getMessage() == "tour sync done"]
    assert [getattr(record, "correlation_id", None) for record in sync_done] == [[request_id]]
    # and the metrics the dashboard and the sync failure-rate alarm read were emitted
    assert '"ToursBooked"' in out
    assert '"SyncSucceeded"' in out
    assert '"MatchRule":"email"' in out
    # and no log line holds the prospect's name, email or phone
    leaked = [secret for secret in SECRETS if secret.lower() in logged.lower()]
    assert leaked == []
