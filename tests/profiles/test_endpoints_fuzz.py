"""No query or path value makes the profile endpoints answer 5xx."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TEXT = st.text(max_size=40)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=TEXT.filter(lambda s: s.strip("/") != ""), as_of=TEXT, segment=TEXT, cursor=TEXT)
def test_profile_endpoints_never_fail(
    client: TestClient,
    secret_headers: dict[str, str],
    user: str,
    as_of: str,
    segment: str,
    cursor: str,
) -> None:
    urls = [
        f"/analytics/user-profile/{quote(user, safe='')}?as_of={quote(as_of)}",
        f"/analytics/user-segments?as_of={quote(as_of)}",
        f"/analytics/user-segments?segment={quote(segment)}&cursor={quote(cursor)}&limit=5",
    ]
    seed = [
        {"event_id": f"s{i}", "type": "purchase", "user_id": f"u{i % 3}", "order_id": f"o{i}",
         "items": [{"product_id": "p", "price": 3.0 + i}], "timestamp": f"2026-10-{i + 1:02d}"}
        for i in range(9)
    ]  # fmt: skip
    client.post("/analytics/track-activity", json={"batch": seed}, headers=secret_headers)
    urls.append(f"/analytics/user-profile/u1?as_of={quote(as_of)}")
    for url in urls:
        answer = client.get(url, headers=secret_headers)
        assert answer.status_code < 500, (url, answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json"
