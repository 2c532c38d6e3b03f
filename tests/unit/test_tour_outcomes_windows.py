"""ResMan's modified windows as the refresh walks them: halved on `buffer overflow`, in time order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tour_booking.refresh.prospect_source import WindowTooWideError
from tour_booking.refresh.resman_refresh import windows

START = datetime(2026, 12, 1, tzinfo=UTC)


class TooWideOver:
    def __init__(self, widest: timedelta) -> None:
        self.widest = widest
        self.asked: list[tuple[datetime, datetime]] = []

    def search_prospects_modified(
        self, account_id: str, property_id: str, start: datetime, end: datetime
    ) -> Sequence[Any]:
        self.asked.append((start, end))
        if end - start > self.widest:
            raise WindowTooWideError("buffer overflow")
        return []


def test_a_too_wide_window_is_halved_until_resman_answers_and_read_in_order() -> None:
    # given ResMan refusing windows over 6 hours
    source = TooWideOver(timedelta(hours=6))
    # when a day is read
    ends = [
        end
        for end, _ in windows(
            source,
            account_id="1",
            resman_property_id="p",
            start=START,
            end=START + timedelta(days=1),
            minimum=timedelta(minutes=1),
        )
    ]
    # then it is read as four consecutive 6-hour windows, in time order, after the refused wider ones
    assert ends == [START + timedelta(hours=h) for h in (6, 12, 18, 24)]
    answered = [(s, e) for s, e in source.asked if e - s <= timedelta(hours=6)]
    assert answered == [(START + timedelta(hours=h), START + timedelta(hours=h + 6)) for h in (0, 6, 12, 18)]


def test_halving_stops_at_the_minimum_window() -> None:
    # given ResMan refusing every window
    source = TooWideOver(timedelta(0))
    # then the walk gives up once a half would be shorter than the minimum
    with pytest.raises(WindowTooWideError):
        list(
            windows(
                source,
                account_id="1",
                resman_property_id="p",
                start=START,
                end=START + timedelta(hours=1),
                minimum=timedelta(minutes=10),
            )
        )
    assert min(e - s for s, e in source.asked) >= timedelta(minutes=10)
