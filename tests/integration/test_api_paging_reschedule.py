"""GET /tours paging never skips or repeats a tour that a reschedule moved while a client pages."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, tour_body


def _page(query: str, cursor: str | None) -> dict[str, Any]:
    answer = call("GET", query + (f"&cursor={cursor}" if cursor else ""))
    assert answer.status == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def test_tours_moved_between_pages_are_listed_once_each(clean_db: str) -> None:
    # given six tours of one property, booked 10:00 to 15:00 in that order
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    ids = [
        call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=hour))).json["id"]
        for hour in range(10, 16)
    ]
    query = f"/tours?property_id={property_id}&limit=2"
    # when a client has read the first page
    page = _page(query, None)
    seen = [tour["id"] for tour in page["items"]]
    assert seen == ids[:2]
    # and a tour it has seen moves later (16:00) while one it has not seen moves earlier (09:00): paging on the
    # start would list the first again and never list the second
    for tour_id, hour in ((ids[0], 16), (ids[5], 9)):
        moved = call("PATCH", f"/tours/{tour_id}", {"scheduled_datetime": future_slot(hour=hour)})
        assert moved.status == 200, moved.json
    # and it reads the remaining pages, with one more reschedule between them
    cursor = page["next_cursor"]
    while cursor is not None:
        page = _page(query, cursor)
        seen += [tour["id"] for tour in page["items"]]
        cursor = page["next_cursor"]
        if ids[3] not in seen:
            assert call("PATCH", f"/tours/{ids[3]}", {"scheduled_datetime": future_slot(days_ahead=4)}).status == 200
    # then every tour came exactly once, in the order they were booked
    assert Counter(seen) == Counter(ids)
    assert seen == ids


def test_status_changes_between_pages_neither_skip_nor_repeat(clean_db: str) -> None:
    # given five tours and a client that read the first page
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    ids = [
        call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=hour))).json["id"]
        for hour in range(10, 15)
    ]
    query = f"/tours?conversation_id={conversation_id}&limit=2"
    page = _page(query, None)
    seen = [tour["id"] for tour in page["items"]]
    # when tours on both sides of the cursor are confirmed, cancelled and rescheduled
    call("PATCH", f"/tours/{ids[0]}", {"status": "cancelled"})
    call("PATCH", f"/tours/{ids[4]}", {"status": "confirmed", "staff_notes": "moved"})
    call("PATCH", f"/tours/{ids[1]}", {"scheduled_datetime": future_slot(days_ahead=5)})
    cursor = page["next_cursor"]
    while cursor is not None:
        page = _page(query, cursor)
        seen += [tour["id"] for tour in page["items"]]
        cursor = page["next_cursor"]
    # then the listing is complete and has no repeats
    assert seen == ids


def test_created_at_the_paging_key_never_changes(clean_db: str, conn: psycopg.Connection[Any]) -> None:
    # given a booked tour
    property_id = new_property()
    tour = call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), future_slot())).json
    # when it is rescheduled through the API, and an UPDATE tries to rewrite created_at
    call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": future_slot(hour=12)})
    conn.execute(
        b"UPDATE tour_booking_sync SET created_at = created_at - interval '1 day' WHERE id = %s", (tour["id"],)
    )
    # then created_at is the booking's own, as the first answer gave it
    assert call("GET", f"/tours/{tour['id']}").json["created_at"] == tour["created_at"]
