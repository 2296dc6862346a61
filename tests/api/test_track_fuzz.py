"""Whatever JSON arrives at the tracking endpoint, the answer is 200 or a 4xx problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TRACK = "/analytics/track-activity"
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))])
times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
).map(datetime.isoformat)
# Times the schema accepts, so pairs of them exercise the clock-skew arithmetic.
valid_times = st.datetimes(
    min_value=datetime(1990, 1, 2), max_value=datetime(8999, 12, 30), timezones=zones
).map(datetime.isoformat)
edge_values = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "P1",
        "x" * 256,
        "x" * 2001,
        0,
        -1,
        1,
        5,
        6,
        101,
        2**31,
        2**63,
        2**64 - 1,
        1e9,
        1e10,
        1e300,
        -0.0,
        True,
        [],
        {},
        [{}],
        "1989-12-31T23:59:59Z",
        "2024-02-30T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ]
)
anything = json_values | edge_values | times

ITEMS = [{"product_id": "P1", "quantity": 2, "price": 9.5}, {"product_id": "P2", "price": 3}]
CONTEXT = {
    "device_type": "mobile",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
    "ip": "203.0.113.9",
    "country": "DE",
    "page_url": "https://shop.example/p/1",
    "utm_source": "google",
    "time_spent": 12.5,
    "scroll_depth": 80,
}
VALID: list[dict[str, Any]] = [
    {"type": "page_view", "anonymous_id": "A1", "context": CONTEXT},
    {"type": "product_view", "user_id": "U1", "product_id": "P1", "price": 9.5, "context": CONTEXT},
    {"type": "add_to_cart", "anonymous_id": "A1", "product_id": "P1", "quantity": 2},
    {"type": "search", "anonymous_id": "A1", "query": "mug", "position": 3},
    {"type": "review", "user_id": "U1", "product_id": "P1", "rating": 5, "review_text": "ok"},
    {"type": "login", "user_id": "U1", "anonymous_id": "A1"},
    {"type": "signup", "user_id": "U2", "anonymous_id": "A2", "properties": {"channel": "ads"}},
    {
        "type": "purchase",
        "user_id": "U1",
        "order_id": "O1",
        "items": ITEMS,
        "discount": 1,
        "coupon": "C",
        "revenue": 20,
    },
    {"type": "order_refunded", "user_id": "U1", "order_id": "O1", "items": ITEMS[:1]},
    {"type": "order_cancelled", "anonymous_id": "A1", "order_id": "O2"},
    {"type": "recommendation_click", "user_id": "U1", "recommendation_id": "R1", "position": 0},
]
TOP_FIELDS = [
    "event_id", "type", "user_id", "anonymous_id", "session_id", "timestamp", "sent_at",
    "product_id", "category", "brand", "price", "quantity", "order_id", "revenue", "discount",
    "coupon", "items", "query", "rating", "review_text", "value", "recommendation_id",
    "bundle_id", "position", "experiment", "variant", "context", "properties", "unknown",
]  # fmt: skip
CONTEXT_FIELDS = [*CONTEXT, "browser", "os", "region", "locale", "referrer", "unknown"]
PATHS = (
    [(f,) for f in TOP_FIELDS]
    + [("context", f) for f in CONTEXT_FIELDS]
    + [("items", i, f) for i in (0, 1) for f in ("product_id", "quantity", "price", "x")]
)


def _set(event: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> None:
    """Replace (or delete) the value at ``path``, creating the containers on the way."""
    target: Any = event
    for step in path[:-1]:
        if isinstance(target, dict):
            if not isinstance(target.get(step), dict | list):
                target[step] = {}
            target = target[step]
        elif isinstance(target, list) and isinstance(step, int) and step < len(target):
            target = target[step]
        else:
            return
    last = path[-1]
    if isinstance(target, dict):
        if delete:
            target.pop(last, None)
        else:
            target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        target[last] = value


@st.composite
def near_valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with a fresh id, then one to three fields replaced or removed."""
    event = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    event["event_id"] = str(draw(st.uuids()))
    if draw(st.booleans()):
        event["timestamp"] = draw(valid_times | times)
        if draw(st.booleans()):
            event["sent_at"] = draw(valid_times | times)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        _set(event, path, draw(anything), delete=draw(st.integers(0, 5)) == 0)
    return event


batches = st.fixed_dictionaries(
    {"batch": st.lists(near_valid_events() | json_values, max_size=12)},
    optional={"sent_at": valid_times | anything, "extra": anything},
)


def _post(client: TestClient, headers: dict[str, str], body: Any) -> None:
    content = json.dumps(body).encode()
    answer = client.post(
        TRACK, content=content, headers=headers | {"content-type": "application/json"}
    )
    status = answer.status_code
    assert status == 200 or 400 <= status < 500, (status, answer.text, content[:2000])
    if status == 200:
        result = answer.json()
        assert set(result) == {"accepted", "duplicates", "rejected"}
        if isinstance(body, dict) and isinstance(body.get("batch"), list):
            total = result["accepted"] + result["duplicates"] + len(result["rejected"])
            assert total == len(body["batch"])
    else:
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == status


@FUZZ
@given(body=json_values)
def test_any_json_value_is_answered_without_a_server_error(
    client: TestClient, write_headers: dict[str, str], body: Any
) -> None:
    _post(client, write_headers, body)


@FUZZ
@given(body=near_valid_events() | batches)
def test_near_valid_events_and_batches_are_answered_without_a_server_error(
    client: TestClient, write_headers: dict[str, str], body: Any
) -> None:
    _post(client, write_headers, body)
