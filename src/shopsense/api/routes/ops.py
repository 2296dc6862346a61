"""``GET /health`` (no auth) and ``GET /metrics`` (Prometheus text, no auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shopsense import __version__
from shopsense.api.deps import DbDep
from shopsense.api.metrics import REGISTRY
from shopsense.errors import ServiceUnavailable

router = APIRouter(tags=["operations"])


@router.get("/health")
def health(db: DbDep) -> dict[str, Any]:
    """Liveness and database reachability; 503 when the database does not answer."""
    try:
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise ServiceUnavailable("the database does not answer") from None
    return {"status": "ok", "database": db.dialect, "version": __version__}


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
