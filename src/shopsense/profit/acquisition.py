"""Customer acquisition by channel: who each new customer came from, what each channel cost
per customer (CAC).

- A person's **first session** is the session of their earliest event (their browser's
  events count once it is merged into them). **First touch** is the ``utm_source`` /
  ``utm_medium`` of that session's first event that carries one; a first session without
  campaign tags is ``(none)``. **Last touch** is the tags of the last tagged event before
  their first order (the first touch when they never ordered).
- A **new customer** of a period is a user (an identified person) first seen in it.
- **CAC** of a channel = its spend in the period (``marketing_spend``, channel named as the
  ``utm_source``) / its new customers by first touch.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, func, select

from shopsense.db.models import activity_table as A
from shopsense.db.models import orders_table as O
from shopsense.db.models import spend_table as S
from shopsense.experiments.attribution import merged_persons, person_key

NONE = "(none)"


def touches(conn: Connection, end: datetime) -> pl.DataFrame:
    """Per person seen before ``end``: first_seen, whether they are a user, first-touch and
    last-touch source and medium."""
    persons = merged_persons(conn)
    rows = conn.execute(
        select(
            A.c.user_id, A.c.anonymous_id, A.c.session_id, A.c.timestamp, A.c.utm_source,
            A.c.utm_medium,
        ).where(and_(A.c.is_bot.is_(False), A.c.timestamp < end))
    ).all()  # fmt: skip
    events = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"user_id": pl.String, "anonymous_id": pl.String, "session_id": pl.String,
                "at": pl.Datetime("us"), "utm_source": pl.String, "utm_medium": pl.String},
        orient="row",
    ).with_columns(person_key(persons)).filter(pl.col("person").is_not_null())  # fmt: skip
    users = set(persons.values()) | set(events["user_id"].drop_nulls().unique().to_list())
    ordered = conn.execute(
        select(O.c.user_id, func.min(O.c.placed_at))
        .where(and_(O.c.user_id.is_not(None), O.c.status != "cancelled", O.c.placed_at < end))
        .group_by(O.c.user_id)
    ).all()
    first_order = pl.DataFrame(
        [tuple(r) for r in ordered],
        schema={"person": pl.String, "first_order_at": pl.Datetime("us")},
        orient="row",
    )
    events = events.sort("person", "at")
    first = events.group_by("person", maintain_order=True).agg(
        pl.col("at").first().alias("first_seen"),
        pl.col("session_id").first().alias("first_session"),
    )
    tagged = events.filter(pl.col("utm_source").is_not_null() | pl.col("utm_medium").is_not_null())
    first_touch = (
        tagged.join(first, on="person")
        .filter(pl.col("session_id") == pl.col("first_session"))
        .group_by("person", maintain_order=True)
        .agg(
            pl.col("utm_source").first().alias("first_source"),
            pl.col("utm_medium").first().alias("first_medium"),
        )
    )
    last_touch = (
        tagged.join(first_order, on="person", how="left")
        .filter(pl.col("first_order_at").is_null() | (pl.col("at") <= pl.col("first_order_at")))
        .group_by("person", maintain_order=True)
        .agg(
            pl.col("utm_source").last().alias("last_source"),
            pl.col("utm_medium").last().alias("last_medium"),
        )
    )
    return (
        first.join(first_touch, on="person", how="left")
        .join(last_touch, on="person", how="left")
        .with_columns(
            pl.col("person").is_in(list(users)).alias("is_user"),
            pl.col("first_source").fill_null(NONE),
            pl.col("last_source").fill_null(pl.col("first_source")).fill_null(NONE),
        )
    )


def _days_through(end: datetime) -> date:
    """The first day a spend line is past ``end`` (exclusive): a day that has begun by
    ``end`` is in, so ``to=2026-01-09`` (the end of the 9th) keeps the 9th's spend."""
    return end.date() if end.time() == time.min else end.date() + timedelta(days=1)


def cac_by_channel(
    conn: Connection, start: datetime, end: datetime, people: pl.DataFrame | None = None
) -> list[dict[str, Any]]:
    """Per channel (first-touch ``utm_source``, and every channel with spend): spend, new
    customers by first and by last touch, and CAC by first touch (null without customers).
    ``people`` is ``touches(conn, end)`` when the caller already has it."""
    people = (touches(conn, end) if people is None else people).filter(
        pl.col("is_user") & (pl.col("first_seen") >= start) & (pl.col("first_seen") < end)
    )
    by_first = people.group_by(pl.col("first_source").alias("channel")).agg(
        pl.len().alias("new_customers")
    )
    by_last = people.group_by(pl.col("last_source").alias("channel")).agg(
        pl.len().alias("new_customers_last_touch")
    )
    spent = conn.execute(
        select(S.c.channel, func.sum(S.c.amount))
        .where(and_(S.c.date >= start.date(), S.c.date < _days_through(end)))
        .group_by(S.c.channel)
    ).all()
    spend = pl.DataFrame(
        [(c, float(a)) for c, a in spent],
        schema={"channel": pl.String, "spend": pl.Float64},
        orient="row",
    )
    table = (
        by_first.join(by_last, on="channel", how="full", coalesce=True)
        .join(spend, on="channel", how="full", coalesce=True)
        .with_columns(
            pl.col("new_customers", "new_customers_last_touch").fill_null(0),
            pl.col("spend").fill_null(0.0).round(2),
        )
        .with_columns(
            pl.when((pl.col("spend") > 0) & (pl.col("new_customers") > 0))
            .then(pl.col("spend") / pl.col("new_customers"))
            .otherwise(None)
            .round(2)
            .alias("cac")
        )
        .sort(["spend", "new_customers", "channel"], descending=[True, True, False])
    )
    return table.to_dicts()


__all__ = ["NONE", "cac_by_channel", "touches"]
