"""Client clocks are corrected by ``received_at - (sent_at - timestamp)``.

The server's clock is pinned to ``RECEIVED`` (2024-05-01 12:00 UTC) by ``frozen_clock``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from trackingkit import RECEIVED_NAIVE, Rows, Track

from shopsense.db.models import activity_table


def view(event_id: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "page_view", "anonymous_id": "A1", **extra}


def stored(rows: Rows) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: r for r in rows(activity_table)}


def test_the_skew_between_sent_at_and_received_at_is_removed(track: Track, rows: Rows) -> None:
    # The client's clock is 50 minutes slow: it sent at 11:10 what the server got at 12:00.
    event = view("e1", timestamp="2024-05-01T11:00:00Z", sent_at="2024-05-01T11:10:00Z")
    assert track(event).json()["accepted"] == 1
    row = stored(rows)["e1"]
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 50)
    assert row["client_timestamp"] == datetime(2024, 5, 1, 11, 0)
    assert row["sent_at"] == datetime(2024, 5, 1, 11, 10)
    assert row["received_at"] == RECEIVED_NAIVE
    assert row["timestamp_clamped"] is False


def test_a_fast_client_clock_is_moved_back(track: Track, rows: Rows) -> None:
    # Two hours fast, in another zone: 15:30+01:00 is 14:30 UTC; sent 14:45 UTC.
    event = view("e1", timestamp="2024-05-01T15:30:00+01:00", sent_at="2024-05-01T14:45:00Z")
    track(event)
    row = stored(rows)["e1"]
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 45)
    assert row["client_timestamp"] == datetime(2024, 5, 1, 14, 30)
    assert row["timestamp_clamped"] is False


def test_a_batch_sent_at_applies_to_events_without_one(track: Track, rows: Rows) -> None:
    batch = {
        "sent_at": "2024-05-01T11:00:00Z",  # one hour slow
        "batch": [
            view("inherits", timestamp="2024-05-01T10:30:00Z"),
            view("own", timestamp="2024-05-01T10:30:00Z", sent_at="2024-05-01T10:40:00Z"),
            view("no-timestamp"),
        ],
    }
    assert track(batch).json()["accepted"] == 3
    by_id = stored(rows)
    assert by_id["inherits"]["timestamp"] == datetime(2024, 5, 1, 11, 30)
    assert by_id["inherits"]["sent_at"] == datetime(2024, 5, 1, 11, 0)
    assert by_id["own"]["timestamp"] == datetime(2024, 5, 1, 11, 50)
    assert by_id["own"]["sent_at"] == datetime(2024, 5, 1, 10, 40)
    assert by_id["no-timestamp"]["timestamp"] == RECEIVED_NAIVE
    assert by_id["no-timestamp"]["client_timestamp"] is None


def test_without_sent_at_the_timestamp_is_kept(track: Track, rows: Rows) -> None:
    track(view("e1", timestamp="2021-03-04T05:06:07.250Z"))
    row = stored(rows)["e1"]
    assert row["timestamp"] == datetime(2021, 3, 4, 5, 6, 7, 250_000)
    assert row["client_timestamp"] == row["timestamp"]
    assert row["sent_at"] is None


def test_without_timestamp_the_event_happened_when_received(track: Track, rows: Rows) -> None:
    track(view("e1", sent_at="2024-05-01T09:00:00Z"))
    row = stored(rows)["e1"]
    assert row["timestamp"] == RECEIVED_NAIVE
    assert row["client_timestamp"] is None
    assert row["sent_at"] == datetime(2024, 5, 1, 9, 0)


@pytest.mark.parametrize(
    ("event", "clamped"),
    [
        (view("e1", timestamp="2024-05-01T13:00:00Z"), True),
        (view("e1", timestamp="2030-01-01T00:00:00Z"), True),
        (view("e1", timestamp="2024-05-01T12:05:01Z"), True),  # just past the 300 s allowed
        (view("e1", timestamp="2024-05-01T12:05:00Z"), False),
        # Corrected into the future: sent before it happened, by the client's own clock.
        (view("e1", timestamp="2024-05-01T12:00:00Z", sent_at="2024-05-01T11:00:00Z"), True),
        # A clock centuries ahead is still corrected into the present.
        (view("e1", timestamp="8999-01-01T00:00:00Z", sent_at="8999-01-01T00:10:00Z"), False),
        (view("e1", timestamp="8999-01-01T00:00:00Z", sent_at="1990-01-01T00:00:00Z"), True),
    ],
)
def test_far_future_times_are_clamped_and_flagged(
    event: dict[str, Any], clamped: bool, track: Track, rows: Rows
) -> None:
    assert track(event).json()["accepted"] == 1
    row = stored(rows)["e1"]
    assert row["timestamp_clamped"] is clamped
    if clamped:
        assert row["timestamp"] == RECEIVED_NAIVE
    else:
        assert row["timestamp"] <= datetime(2024, 5, 1, 12, 5)


def test_naive_times_are_taken_as_utc(track: Track, rows: Rows) -> None:
    track(view("e1", timestamp="2024-05-01T10:00:00", sent_at="2024-05-01T10:00:00"))
    track(view("e2", timestamp="2024-05-01T10:00:00"))
    by_id = stored(rows)
    assert by_id["e1"]["timestamp"] == RECEIVED_NAIVE
    assert by_id["e1"]["client_timestamp"] == datetime(2024, 5, 1, 10, 0)
    assert by_id["e2"]["timestamp"] == datetime(2024, 5, 1, 10, 0)
