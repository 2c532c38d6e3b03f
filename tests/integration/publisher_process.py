"""A publisher process that SIGKILLs itself mid-batch, for the crash test: `python -m
tests.integration.publisher_process <sent.jsonl> <calls>` runs the publisher against DATABASE_URL with a bus that
appends each entry's detail to the file (it was sent) and, on its `calls`-th PutEvents call, kills its own process
once the entries are written, before the publisher can mark them published (0: before sending anything)."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from tour_booking.events.event_publisher import publish_pending


class KillingBus:
    def __init__(self, path: str, calls: int) -> None:
        self.path = path
        self.calls = calls
        self.made = 0

    def put_events(self, *, Entries: Sequence[Any]) -> dict[str, Any]:
        if self.calls == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        with open(self.path, "a", encoding="utf-8") as sent:
            for entry in Entries:
                sent.write(entry["Detail"] + "\n")
            sent.flush()
            os.fsync(sent.fileno())
        self.made += 1
        if self.made == self.calls:
            os.kill(os.getpid(), signal.SIGKILL)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"local-{i}"} for i in range(len(Entries))]}


def main(argv: list[str]) -> int:
    path, calls = argv[0], int(argv[1])
    report = publish_pending(KillingBus(path, calls))
    print(json.dumps(report.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
