"""The body-level rules: JSON, size limits, batch limits and the batch envelope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from trackingkit import TRACK, Rows, Track, assert_problem

from shopsense.db.models import activity_table

MIB = 1024 * 1024


def view(i: int, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{i:05d}", "type": "page_view", "anonymous_id": "A1", **extra}


@pytest.fixture
def post_raw(client: TestClient, write_headers: dict[str, str]) -> Any:
    """POST raw bytes (or a byte iterator, sent chunked without Content-Length)."""

    def post(content: bytes | Iterator[bytes]) -> Any:
        headers = write_headers | {"content-type": "application/json"}
        return client.post(TRACK, content=content, headers=headers)

    return post


@pytest.mark.parametrize(
    "content", [b"{", b'{"type": "page_view",}', b"nul", b"\xff\xfe", b'"\\ud800"', b"[1] [2]"]
)
def test_malformed_json_is_400(content: bytes, post_raw: Any, rows: Rows) -> None:
    body = assert_problem(post_raw(content), 400)
    assert body["title"] == "Malformed request body"
    assert rows(activity_table) == []


@pytest.mark.parametrize("content", [b"", b"null"])
def test_an_empty_body_is_rejected(content: bytes, post_raw: Any) -> None:
    answer = post_raw(content)
    if content:
        assert_problem(answer, 422, ["body"])
    else:
        assert "empty" in assert_problem(answer, 400)["detail"]


def _big_batch() -> bytes:
    """A valid batch of 1,000 events just over 2 MiB."""
    padding = "x" * (2 * MIB // 1000)
    body = orjson.dumps({"batch": [view(i, properties={"p": padding}) for i in range(1000)]})
    assert 2 * MIB < len(body) < 2 * MIB + 100_000
    return body


def test_a_body_over_2_mib_is_413_by_its_content_length(post_raw: Any, rows: Rows) -> None:
    body = assert_problem(post_raw(_big_batch()), 413)
    assert str(2 * MIB) in body["detail"]
    assert rows(activity_table) == []


def test_a_body_over_2_mib_is_413_without_a_content_length(post_raw: Any, rows: Rows) -> None:
    content = _big_batch()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    assert_problem(post_raw(chunks()), 413)
    assert rows(activity_table) == []


def test_a_chunked_body_under_the_limit_is_read(post_raw: Any, rows: Rows) -> None:
    content = orjson.dumps({"batch": [view(i) for i in range(3)]})
    answer = post_raw(iter([content[:10], content[10:]]))
    assert answer.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert len(rows(activity_table)) == 3


def test_a_batch_of_1001_events_is_413(track: Track, rows: Rows) -> None:
    body = assert_problem(track({"batch": [view(i) for i in range(1001)]}), 413)
    assert "1001" in body["detail"]
    assert rows(activity_table) == []


def test_a_batch_of_1000_events_is_accepted(track: Track, rows: Rows) -> None:
    answer = track({"batch": [view(i) for i in range(1000)]})
    assert answer.json() == {"accepted": 1000, "duplicates": 0, "rejected": []}
    assert len(rows(activity_table)) == 1000


def _event_of(size: int, event_id: str = "e00000") -> dict[str, Any]:
    event = view(0, properties={"p": ""}) | {"event_id": event_id}
    event["properties"]["p"] = "x" * (size - len(orjson.dumps(event)))
    assert len(orjson.dumps(event)) == size
    return event


def test_one_event_over_32_kib_is_413(track: Track, rows: Rows) -> None:
    body = assert_problem(track(_event_of(32 * 1024 + 1)), 413)
    assert str(32 * 1024) in body["detail"]
    assert rows(activity_table) == []


def test_one_event_of_32_kib_is_accepted(track: Track, rows: Rows) -> None:
    assert track(_event_of(32 * 1024)).json()["accepted"] == 1
    assert len(rows(activity_table)) == 1


def test_an_event_over_32_kib_in_a_batch_is_rejected_by_index(track: Track, rows: Rows) -> None:
    big = _event_of(32 * 1024 + 1, "big")
    answer = track({"batch": [view(1), big, view(2)]})
    assert answer.status_code == 200
    result = answer.json()
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    [rejected] = result["rejected"]
    assert rejected["index"] == 1
    assert rejected["errors"][0]["type"] == "too_large"
    assert [r["event_id"] for r in rows(activity_table)] == ["e00001", "e00002"]


@pytest.mark.parametrize(
    ("envelope", "loc"),
    [
        ({"batch": "not a list"}, ["batch"]),
        ({"batch": {"0": view(0)}}, ["batch"]),
        ({"batch": [view(0)], "extra": 1}, ["extra"]),
        ({"batch": [view(0)], "sent_at": "soon"}, ["sent_at"]),
        ({"batch": None}, ["batch"]),
    ],
)
def test_a_wrong_batch_envelope_is_422(
    envelope: dict[str, Any], loc: list[Any], track: Track, rows: Rows
) -> None:
    body = assert_problem(track(envelope), 422, loc)
    assert body["detail"] == "invalid batch envelope"
    assert rows(activity_table) == []


def test_an_empty_batch_is_accepted_as_nothing(track: Track) -> None:
    assert track({"batch": []}).json() == {"accepted": 0, "duplicates": 0, "rejected": []}
