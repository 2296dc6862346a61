"""``DELETE /users/{user_id}``: erasure."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from shopsense.api.deps import DbDep, SecretKey
from shopsense.dashboard.cache import CACHE
from shopsense.privacy.erase import erase_user

router = APIRouter(tags=["privacy"])


class EraseResponse(BaseModel):
    user_id: str
    erased: dict[str, int]


@router.delete("/users/{user_id}", response_model=EraseResponse)
def delete_user(user_id: str, _: SecretKey, db: DbDep) -> EraseResponse:
    """Erase everything shopsense holds about the user; answers the rows erased per table."""
    with db.write() as conn:
        erased = erase_user(conn, user_id)
    CACHE.clear()  # no dashboard answer computed before the erasure is served after it
    return EraseResponse(user_id=user_id, erased=erased)
