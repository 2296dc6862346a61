from fastapi.testclient import TestClient


def test_health_answers_without_a_key(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_documents_the_tracking_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/analytics/track-activity" in schema["paths"]
    assert "Event" in schema["components"]["schemas"]
