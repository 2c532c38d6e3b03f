"""The handler serves requests of several threads at once (the local stack's warm containers are threads of one
process, and the race tests call it from threads): each answer must be about its own request."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, tour_body
from tour_booking import db


def test_concurrent_requests_of_threads_are_each_answered_about_themselves(clean_db: str) -> None:
    # given 8 tours, one per thread
    property_id = new_property(capacity=10)
    conversation_id = new_conversation(clean_db)
    tours = [
        call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=9 + i))).json["id"]
        for i in range(8)
    ]
    barrier = threading.Barrier(len(tours))

    # when each thread reads and annotates its own tour many times, all at once
    def own_tour(index: int) -> list[str]:
        wrong: list[str] = []
        barrier.wait()
        try:
            for round_ in range(40):
                note = f"thread {index} round {round_}"
                answer = call("PATCH", f"/tours/{tours[index]}", {"staff_notes": note})
                if answer.status != 200 or answer.json["id"] != tours[index] or answer.json["staff_notes"] != note:
                    wrong.append(f"{answer.status}")
                answer = call("GET", f"/tours/{tours[index]}")
                if answer.status != 200 or answer.json["id"] != tours[index]:
                    wrong.append(f"{answer.status}")
        finally:
            db.close()
        return wrong

    # (threads switch every microsecond instead of every 5 ms, so the requests interleave everywhere)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=len(tours)) as pool:
            wrong = [problem for problems in pool.map(own_tour, range(len(tours))) for problem in problems]
    finally:
        sys.setswitchinterval(interval)
    # then every answer was 200 and about the thread's own tour, with its own change
    assert wrong == []
