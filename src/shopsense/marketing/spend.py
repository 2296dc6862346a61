"""Marketing spend per day, channel and campaign: the denominator of CAC and ROI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shopsense.db.models import spend_table as SPEND
from shopsense.db.upsert import insert
from shopsense.tracking.schema import Money, Text


class SpendIn(BaseModel):
    """One line of ``POST /marketing/spend``; ``channel`` matches ``utm_source``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: date
    channel: Annotated[Text, Field(min_length=1, max_length=255)]
    campaign: Annotated[Text, Field(max_length=255)] = ""
    amount: Money


def upsert_spend(conn: Connection, lines: list[SpendIn], now: datetime) -> int:
    """A repeat of the same (date, channel, campaign) replaces its amount: re-sending a
    day's spend report is safe."""
    if not lines:
        return 0
    merged: dict[tuple[date, str, str], dict[str, Any]] = {}
    for line in lines:
        merged[(line.date, line.channel, line.campaign)] = {**line.model_dump(), "updated_at": now}
    stmt = insert(conn, SPEND)
    stmt = stmt.on_conflict_do_update(
        index_elements=["date", "channel", "campaign"],
        set_={"amount": stmt.excluded.amount, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, list(merged.values()))
    return len(merged)
