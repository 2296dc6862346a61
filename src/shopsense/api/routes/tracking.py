"""``POST /analytics/track-activity``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from shopsense.api.body import read_json
from shopsense.api.deps import DbDep, SettingsDep, WriteKey
from shopsense.api.metrics import count_events
from shopsense.clock import now
from shopsense.errors import PayloadTooLarge, ValidationFailed
from shopsense.tracking.schema import Batch
from shopsense.tracking.service import TrackResult, track_events
from shopsense.validation import error_list

router = APIRouter(tags=["tracking"])


class TrackResponse(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


_BODY_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/Event"},
        {
            "type": "object",
            "properties": {
                "batch": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "sent_at": {"type": "string", "format": "date-time"},
            },
            "required": ["batch"],
        },
    ]
}


@router.post(
    "/analytics/track-activity",
    response_model=TrackResponse,
    summary="Track one event or a batch",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
    responses={413: {"description": "Body over 2 MiB or batch over 1,000 events"}},
)
async def track_activity(
    request: Request, _: WriteKey, db: DbDep, settings: SettingsDep
) -> TrackResponse:
    """One event, or ``{"batch": [...]}``. A batch accepts its good events and names the bad
    ones by index; a single invalid event is a 422. Accepted events are committed before the
    answer is sent; a repeated ``event_id`` is counted as a duplicate and stored once."""
    payload = await read_json(request, settings.max_body_bytes)
    received_at = now()
    if isinstance(payload, dict) and "batch" in payload:
        try:
            envelope = Batch.model_validate(payload)
        except ValidationError as exc:
            raise ValidationFailed("invalid batch envelope", errors=error_list(exc)) from None
        if len(envelope.batch) > settings.max_batch_events:
            raise PayloadTooLarge(
                f"{len(envelope.batch)} events in one batch; the limit is "
                f"{settings.max_batch_events}"
            )
        result: TrackResult = await run_in_threadpool(
            track_events,
            db,
            envelope.batch,
            settings=settings,
            received_at=received_at,
            batch_sent_at=envelope.sent_at,
        )
    else:
        result = await run_in_threadpool(
            track_events, db, [payload], settings=settings, received_at=received_at
        )
        if result.rejected:
            errors = result.rejected[0]["errors"]
            count_events(0, 0, 1)
            if errors and errors[0].get("type") == "too_large":
                raise PayloadTooLarge(errors[0]["msg"])
            for err in errors:
                err["loc"] = ["body", *err["loc"]]
            raise ValidationFailed(
                "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:3]),
                errors=errors,
            )
    count_events(result.accepted, result.duplicates, len(result.rejected))
    return TrackResponse(**result.as_dict())
