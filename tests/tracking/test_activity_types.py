"""Every activity type of the contract, and the alias names accepted for them."""

from __future__ import annotations

from typing import Any

import pytest
from trackingkit import FIELD_VALUES, Rows, Track, assert_problem, minimal_event

from shopsense.db.models import activity_table
from shopsense.tracking.activity_types import ACTIVITY_TYPES, REQUIRED_FIELDS, SEGMENT_NAMES


def test_the_contract_lists_52_types() -> None:
    assert len(ACTIVITY_TYPES) == len(set(ACTIVITY_TYPES)) == 52


@pytest.mark.parametrize("activity_type", ACTIVITY_TYPES)
def test_each_type_is_accepted_with_its_minimal_fields(
    activity_type: str, track: Track, rows: Rows
) -> None:
    event = minimal_event(activity_type)
    answer = track(event)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    [stored] = rows(activity_table)
    assert stored["event_id"] == event["event_id"]
    assert stored["type"] == activity_type
    assert stored["anonymous_id"] == "A1"
    for field in REQUIRED_FIELDS.get(activity_type, ()):
        assert stored[field] == FIELD_VALUES[field]


def test_seed_upper_case_names_map_to_their_type(track: Track, rows: Rows) -> None:
    batch = [
        minimal_event(t, f"e-{i:02d}") | {"type": t.upper()} for i, t in enumerate(ACTIVITY_TYPES)
    ]
    assert batch[2]["type"] == "PRODUCT_VIEW"
    answer = track({"batch": batch})
    assert answer.json() == {"accepted": 52, "duplicates": 0, "rejected": []}
    assert [(r["event_id"], r["type"]) for r in rows(activity_table)] == [
        (f"e-{i:02d}", t) for i, t in enumerate(ACTIVITY_TYPES)
    ]


@pytest.mark.parametrize(("name", "activity_type"), sorted(SEGMENT_NAMES.items()))
def test_segment_names_map_to_their_type(
    name: str, activity_type: str, track: Track, rows: Rows
) -> None:
    answer = track(minimal_event(activity_type) | {"type": name})
    assert answer.json()["accepted"] == 1, answer.text
    assert [r["type"] for r in rows(activity_table)] == [activity_type]


@pytest.mark.parametrize("spelling", ["Product-Viewed", "  product viewed ", "Product_View"])
def test_names_fold_case_and_separators(spelling: str, track: Track, rows: Rows) -> None:
    answer = track(minimal_event("product_view") | {"type": spelling})
    assert answer.json()["accepted"] == 1, answer.text
    assert [r["type"] for r in rows(activity_table)] == ["product_view"]


@pytest.mark.parametrize("name", ["page_viewing", "Product Exploded", "", 7, None])
def test_an_unknown_type_is_rejected_naming_the_field(name: Any, track: Track, rows: Rows) -> None:
    answer = track({"type": name, "anonymous_id": "A1"})
    assert_problem(answer, 422, ["body", "type"])
    assert rows(activity_table) == []


def test_a_missing_type_is_rejected_naming_the_field(track: Track) -> None:
    answer = track({"anonymous_id": "A1"})
    body = assert_problem(answer, 422, ["body", "type"])
    assert body["errors"][0]["type"] == "missing"
