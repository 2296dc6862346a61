"""``GET /metrics``: event outcomes and request latency by route template."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

TRACK = "/analytics/track-activity"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_event_counters_move_by_outcome(client: TestClient, write_headers: dict[str, str]) -> None:
    before = scrape(client)
    view = {"event_id": "m1", "type": "page_view", "anonymous_id": "A1"}
    batch = [view, view, {"type": "page_view"}, {**view, "event_id": "m2"}, 3]
    assert client.post(TRACK, json={"batch": batch}, headers=write_headers).json()["accepted"] == 2
    # A single invalid event counts as rejected too.
    assert client.post(TRACK, json={"type": "nope"}, headers=write_headers).status_code == 422
    after = scrape(client)
    moved = {
        outcome: value(after, "shopsense_events_total", outcome=outcome)
        - value(before, "shopsense_events_total", outcome=outcome)
        for outcome in ("accepted", "duplicate", "rejected")
    }
    assert moved == {"accepted": 2.0, "duplicate": 1.0, "rejected": 3.0}


def test_latency_is_recorded_under_route_templates(
    client: TestClient, write_headers: dict[str, str], secret_headers: dict[str, str]
) -> None:
    before = scrape(client)
    view = {"type": "page_view", "anonymous_id": "A1"}
    client.post(TRACK, json=view, headers=write_headers)
    client.post(TRACK, json=view, headers=write_headers)
    client.get("/catalog/products/P-404", headers=secret_headers)
    client.get("/no/such/path")
    after = scrape(client)
    count = "shopsense_request_duration_seconds_count"

    def moved(**labels: str) -> float:
        return value(after, count, **labels) - value(before, count, **labels)

    assert moved(method="POST", route=TRACK, status="200") == 2
    assert moved(method="GET", route="/catalog/products/{product_id}", status="404") == 1
    assert moved(method="GET", route="unmatched", status="404") == 1
    routes = {dict(labels)["route"] for name, labels in after if name == count}
    assert "/catalog/products/P-404" not in routes
    assert "/no/such/path" not in routes
    buckets = {
        dict(labels)["le"]
        for name, labels in after
        if name == "shopsense_request_duration_seconds_bucket" and dict(labels)["route"] == TRACK
    }
    assert {"0.005", "0.1", "1.0", "+Inf"} <= buckets
