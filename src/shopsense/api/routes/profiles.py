"""``GET /analytics/user-profile/{user_id}`` and ``GET /analytics/user-segments``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import DbDep, SecretKey, SettingsDep
from shopsense.api.params import (
    AsOf,
    Cursor,
    Limit,
    answer,
    decode_cursor,
    encode_cursor,
    parse_as_of,
)
from shopsense.profiles import ProfileEngine

router = APIRouter(tags=["customer intelligence"])


@router.get("/analytics/user-profile/{user_id}")
async def user_profile(
    user_id: str, _: SecretKey, db: DbDep, settings: SettingsDep, as_of: AsOf = None
) -> dict[str, Any]:
    """The user's behaviour profile, predicted value and segments, fresh from the events."""
    engine = ProfileEngine(db, settings)
    return answer(await run_in_threadpool(engine.profile, user_id, parse_as_of(as_of)))


@router.get("/analytics/user-segments")
async def user_segments(
    _: SecretKey,
    db: DbDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    segment: str | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every segment with its definition, size, revenue share, mean CLV, strategy and expected
    value; with ``segment=NAME`` that segment's users, paged. Without ``as_of`` the answer is
    the latest ``shopsense profiles rebuild``."""
    engine = ProfileEngine(db, settings)
    when = parse_as_of(as_of)
    if segment is None:
        return answer(await run_in_threadpool(engine.segments, when))
    page = await run_in_threadpool(
        engine.segment_users, segment, when, limit, decode_cursor(cursor)
    )
    page["next_cursor"] = encode_cursor(page.pop("next_after"))
    return answer(page)
