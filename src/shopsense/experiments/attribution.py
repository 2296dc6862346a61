"""Attribution of recommendations: which add-to-carts and purchases each answer earned.

Definitions (docs/metrics.md, "Recommendation attribution"):

- an **impression** is a ``recommendation_view`` event carrying the answer's
  ``recommendation_id``; its items are the logged answer's (``recommendation_log``), else the
  event's ``properties.items``. A shop that sends no view events at all gets every logged
  answer counted as one impression, at its creation time, and the report says so
  (``impressions_source``);
- a **click** is a ``recommendation_click`` with the id and the item's ``position`` (its rank
  in the answer, 1 = first; the clicked ``product_id`` decides when the position is absent);
- a **conversion** is an add-to-cart or a purchased order line of a recommended product by
  the same person (user, or the browser merged into them) within the click window
  (``CLICK_WINDOW``, 7 days) after a click on it, else within the view window
  (``VIEW_WINDOW``, 1 day) after an impression of it. Each conversion is credited once: to the
  latest click before it, else to the latest impression (last touch wins), so overlapping
  recommendations never count the same revenue twice;
- revenue is the purchased line's price × quantity; margin is (price − the product's cost) ×
  quantity.

Everything is set-based on polars frames: one query per source, and an as-of join by
(person, product) on time picks the crediting touch for every conversion at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, select

from shopsense.db.models import activity_table as A
from shopsense.db.models import identities_table as I
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O
from shopsense.db.models import products_table as P
from shopsense.db.models import recommendation_log_table as L

CLICK_WINDOW = timedelta(days=7)
VIEW_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Windows:
    """How long after a click, and after a view, a conversion is credited (settings
    ``SHOPSENSE_ATTRIBUTION_CLICK_DAYS`` and ``_VIEW_DAYS``; 7 and 1 by default)."""

    click: timedelta = CLICK_WINDOW
    view: timedelta = VIEW_WINDOW

    @classmethod
    def from_settings(cls, settings: Any) -> Windows:
        return cls(
            timedelta(days=settings.attribution_click_days),
            timedelta(days=settings.attribution_view_days),
        )

    def as_dict(self) -> dict[str, float]:
        day = timedelta(days=1)
        return {"click_window_days": self.click / day, "view_window_days": self.view / day}


DEFAULT_WINDOWS = Windows()


TOUCH_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "recommendation_id": pl.String,
    "person": pl.String,
    "product_id": pl.String,
    "position": pl.Int64,
    "at": pl.Datetime("us"),
}
CONVERSION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "kind": pl.String,  # cart | purchase
    "person": pl.String,
    "product_id": pl.String,
    "at": pl.Datetime("us"),
    "order_id": pl.String,
    "quantity": pl.Int64,
    "revenue": pl.Float64,
    "margin": pl.Float64,
}


@dataclass(frozen=True)
class Attribution:
    """The period's recommendations (one row each, with their dimensions), their item
    impressions and clicks, and the conversions credited to them."""

    answers: pl.DataFrame  # recommendation_id, strategy, context, experiment, variant, shown_at
    impressions: pl.DataFrame  # TOUCH_SCHEMA: one row per item of each viewed list
    clicks: pl.DataFrame  # TOUCH_SCHEMA
    credited: pl.DataFrame  # CONVERSION_SCHEMA + recommendation_id, position, via (click|view)
    impressions_source: str  # "views" | "logged_answers"


def sends_views(conn: Connection) -> bool:
    """Whether the shop sends recommendation_view events at all (else logged answers are
    the impressions)."""
    found = conn.execute(
        select(A.c.id)
        .where(and_(A.c.type == "recommendation_view", A.c.recommendation_id.is_not(None)))
        .limit(1)
    ).first()
    return found is not None


def attribute(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    views_sent: bool | None = None,
    windows: Windows = DEFAULT_WINDOWS,
) -> Attribution:
    """Recommendations shown in [start, end) and what they earned (conversions may fall
    after ``end``, within their window). ``views_sent``: ``sends_views`` (read when None)."""
    persons = merged_persons(conn)
    reach = max(windows.click, windows.view)
    views = _events(conn, "recommendation_view", start - reach, end, persons)
    clicks = _events(conn, "recommendation_click", start - reach, end, persons)
    logged = _logged(conn, start - reach, end, persons)
    source = "views"
    if not (sends_views(conn) if views_sent is None else views_sent):
        source = "logged_answers"
        views = logged.select(
            "recommendation_id",
            "person",
            "at",
            pl.lit(None, views.schema["items"]).alias("items"),
            pl.lit(None, pl.String).alias("event_experiment"),
            pl.lit(None, pl.String).alias("event_variant"),
        )
    items = logged.select("recommendation_id", "logged_items")
    view_items = (
        views.join(items, on="recommendation_id", how="left")
        .with_columns(pl.coalesce("logged_items", "items").alias("list"))
        .filter(pl.col("list").is_not_null())
        .explode("list")
        .with_columns(
            pl.col("list").struct.field("product_id").alias("product_id"),
            pl.col("list").struct.field("position").alias("position"),
        )
        .select(list(TOUCH_SCHEMA))
        .cast(TOUCH_SCHEMA)  # type: ignore[arg-type]
    )
    click_rows = _click_positions(clicks, items)
    conversions = _conversions(conn, start, end + reach, persons)
    credited = _credit(conversions, click_rows, view_items, windows)
    answers = _answers(conn, views, clicks, logged, start, end)
    shown = answers["recommendation_id"]
    return Attribution(
        answers=answers,
        impressions=view_items.filter(
            pl.col("recommendation_id").is_in(shown) & (pl.col("at") >= start)
        ),
        clicks=click_rows.filter(
            pl.col("recommendation_id").is_in(shown) & (pl.col("at") >= start)
        ),
        credited=credited.filter(pl.col("recommendation_id").is_in(shown)),
        impressions_source=source,
    )


def merged_persons(conn: Connection) -> dict[str, str]:
    """Browser (anonymous id) -> the user it was merged into."""
    rows = conn.execute(select(I.c.anonymous_id, I.c.user_id)).all()
    return {str(anonymous): str(user) for anonymous, user in rows}


def person_key(persons: dict[str, str]) -> pl.Expr:
    merged = pl.col("anonymous_id").replace_strict(persons, default=None, return_dtype=pl.String)
    return pl.coalesce("user_id", merged, "anonymous_id").alias("person")


def _events(
    conn: Connection, kind: str, start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    rows = conn.execute(
        select(
            A.c.recommendation_id, A.c.user_id, A.c.anonymous_id, A.c.timestamp, A.c.product_id,
            A.c.position, A.c.properties, A.c.experiment, A.c.variant,
        ).where(
            and_(
                A.c.type == kind, A.c.is_bot.is_(False), A.c.recommendation_id.is_not(None),
                A.c.timestamp >= start, A.c.timestamp < end,
            )
        )
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [
            (r[0], r[1], r[2], r[3], r[4], r[5], _listed((r[6] or {}).get("items")), r[7], r[8])
            for r in rows
        ],
        schema={
            "recommendation_id": pl.String, "user_id": pl.String, "anonymous_id": pl.String,
            "at": pl.Datetime("us"), "product_id": pl.String, "position": pl.Int64,
            "items": pl.List(pl.Struct({"product_id": pl.String, "position": pl.Int64})),
            "event_experiment": pl.String, "event_variant": pl.String,
        },
        orient="row",
    )  # fmt: skip
    return frame.with_columns(person_key(persons)).drop("user_id", "anonymous_id")


def _listed(items: Any) -> list[dict[str, Any]] | None:
    """An event's ``properties.items`` (product ids, or objects with ``product_id``) as a
    ranked list; None when absent or unreadable."""
    if not isinstance(items, list):
        return None
    out = []
    for rank, item in enumerate(items, start=1):
        product = item.get("product_id") if isinstance(item, dict) else item
        if isinstance(product, str | int) and not isinstance(product, bool):
            out.append({"product_id": str(product), "position": rank})
    return out or None


def _logged(
    conn: Connection, start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    rows = conn.execute(
        select(
            L.c.recommendation_id, L.c.user_id, L.c.anonymous_id, L.c.created_at, L.c.strategy,
            L.c.context, L.c.experiment, L.c.variant, L.c["items"],
        ).where(and_(L.c.created_at >= start, L.c.created_at < end))
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [
            (
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                [{"product_id": str(i["product_id"]), "position": int(i["rank"])}
                 for i in (r[8] or [])],
            )
            for r in rows
        ],
        schema={
            "recommendation_id": pl.String, "user_id": pl.String, "anonymous_id": pl.String,
            "at": pl.Datetime("us"), "strategy": pl.String, "context": pl.String,
            "experiment": pl.String, "variant": pl.String,
            "logged_items": pl.List(pl.Struct({"product_id": pl.String, "position": pl.Int64})),
        },
        orient="row",
    )  # fmt: skip
    return frame.with_columns(person_key(persons)).drop("user_id", "anonymous_id")


def _click_positions(clicks: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Clicks with product and position both known: a missing product is read from the
    position in the logged list, a missing position from the product's place in it."""
    listed = items.explode("logged_items").select(
        "recommendation_id",
        pl.col("logged_items").struct.field("product_id").alias("listed_product"),
        pl.col("logged_items").struct.field("position").alias("listed_position"),
    )
    by_position = clicks.join(
        listed,
        left_on=["recommendation_id", "position"],
        right_on=["recommendation_id", "listed_position"],
        how="left",
    ).with_columns(pl.coalesce("product_id", "listed_product").alias("product_id"))
    by_product = (
        by_position.drop("listed_product")
        .join(
            listed,
            left_on=["recommendation_id", "product_id"],
            right_on=["recommendation_id", "listed_product"],
            how="left",
        )
        .with_columns(pl.coalesce("position", "listed_position").alias("position"))
        .unique(subset=["recommendation_id", "person", "at", "product_id"], keep="first")
    )
    return by_product.filter(pl.col("product_id").is_not_null()).select(list(TOUCH_SCHEMA))


def _conversions(
    conn: Connection, start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    """Add-to-carts and purchased lines in [start, end), with revenue and margin."""
    carts = conn.execute(
        select(A.c.user_id, A.c.anonymous_id, A.c.product_id, A.c.timestamp, A.c.quantity).where(
            and_(
                A.c.type == "add_to_cart", A.c.is_bot.is_(False), A.c.product_id.is_not(None),
                A.c.timestamp >= start, A.c.timestamp < end,
            )
        )
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [("cart", r[0], r[1], r[2], r[3], None, r[4] or 1, 0.0, 0.0) for r in carts],
        schema={
            "kind": pl.String, "user_id": pl.String, "anonymous_id": pl.String,
            "product_id": pl.String, "at": pl.Datetime("us"), "order_id": pl.String,
            "quantity": pl.Int64, "revenue": pl.Float64, "margin": pl.Float64,
        },
        orient="row",
    ).with_columns(person_key(persons))  # fmt: skip
    bought = purchased_lines(conn, start, end, persons).select(
        pl.lit("purchase").alias("kind"),
        "person",
        "product_id",
        "at",
        "order_id",
        "quantity",
        pl.col("paid").alias("revenue"),
        (pl.col("paid") - pl.col("cost")).alias("margin"),
    )
    return pl.concat(
        [frame.select(list(CONVERSION_SCHEMA)), bought.select(list(CONVERSION_SCHEMA))],
        how="vertical_relaxed",
    )


def purchased_lines(
    conn: Connection, start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    """Lines of the non-cancelled orders placed in [start, end): person, product_id, at,
    order_id, quantity, paid (price x quantity), list_value (the catalog price x quantity)
    and cost (the product's cost x quantity; the price when the product is unknown)."""
    rows = conn.execute(
        select(
            O.c.user_id, O.c.anonymous_id, OI.c.product_id, O.c.placed_at, O.c.order_id,
            OI.c.quantity, OI.c.price, P.c.price, P.c.cost,
        )
        .join(O, O.c.order_id == OI.c.order_id)
        .join(P, P.c.product_id == OI.c.product_id, isouter=True)
        .where(and_(O.c.status != "cancelled", O.c.placed_at >= start, O.c.placed_at < end))
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [
            (r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]) * r[5],
             float(r[7] if r[7] is not None else r[6]) * r[5],
             float(r[8] if r[8] is not None else r[6]) * r[5])
            for r in rows
        ],
        schema={
            "user_id": pl.String, "anonymous_id": pl.String, "product_id": pl.String,
            "at": pl.Datetime("us"), "order_id": pl.String, "quantity": pl.Int64,
            "paid": pl.Float64, "list_value": pl.Float64, "cost": pl.Float64,
        },
        orient="row",
    )  # fmt: skip
    return frame.with_columns(person_key(persons)).drop("user_id", "anonymous_id")


def _credit(
    conversions: pl.DataFrame, clicks: pl.DataFrame, impressions: pl.DataFrame, windows: Windows
) -> pl.DataFrame:
    """Each conversion with the touch that earns it: the latest click on the product by the
    person within the click window before it, else the latest impression within the view
    window."""
    known = conversions.filter(pl.col("person").is_not_null())
    by_click = _latest(known, clicks, windows.click, "click")
    key = ["kind", "person", "product_id", "at", "order_id"]
    rest = known.join(by_click.select(key), on=key, how="anti", nulls_equal=True)
    by_view = _latest(rest, impressions, windows.view, "view")
    return pl.concat([by_click, by_view], how="vertical_relaxed").drop("touched_at")


def _latest(
    conversions: pl.DataFrame, touches: pl.DataFrame, window: timedelta, via: str
) -> pl.DataFrame:
    """``conversions`` that have a touch of ``touches`` on the same (person, product) within
    ``window`` before them, each with the latest such touch."""
    candidates = (
        touches.filter(pl.col("person").is_not_null())
        .select("person", "product_id", "recommendation_id", "position",
                pl.col("at").alias("touched_at"))
        .sort("touched_at")
    )  # fmt: skip
    return (
        conversions.sort("at")
        .join_asof(
            candidates,
            left_on="at",
            right_on="touched_at",
            by=["person", "product_id"],
            strategy="backward",
            tolerance=window,
            check_sortedness=False,  # sorted above; polars cannot check it within groups
        )
        .filter(pl.col("recommendation_id").is_not_null())
        .with_columns(pl.lit(via).alias("via"))
    )


def _answers(
    conn: Connection,
    views: pl.DataFrame,
    clicks: pl.DataFrame,
    logged: pl.DataFrame,
    start: datetime,
    end: datetime,
) -> pl.DataFrame:
    """One row per recommendation shown (viewed, or clicked, or logged) in [start, end):
    its strategy, context, experiment and variant (from the log; events' own experiment and
    variant otherwise; "unknown" when the answer was not logged)."""
    del conn
    events = pl.concat(
        [
            views.select("recommendation_id", "at", "event_experiment", "event_variant"),
            clicks.select("recommendation_id", "at", "event_experiment", "event_variant"),
            logged.select(
                "recommendation_id",
                "at",
                pl.lit(None, pl.String).alias("event_experiment"),
                pl.lit(None, pl.String).alias("event_variant"),
            ),
        ]
    )
    first = (
        events.group_by("recommendation_id")
        .agg(
            pl.col("at").min().alias("shown_at"),
            pl.col("event_experiment").drop_nulls().first(),
            pl.col("event_variant").drop_nulls().first(),
        )
        .filter((pl.col("shown_at") >= start) & (pl.col("shown_at") < end))
    )
    return (
        first.join(
            logged.select("recommendation_id", "strategy", "context", "experiment", "variant"),
            on="recommendation_id",
            how="left",
        )
        .with_columns(
            pl.col("strategy").fill_null("unknown"),
            pl.col("context").fill_null("unknown"),
            pl.coalesce("experiment", "event_experiment").alias("experiment"),
            pl.coalesce("variant", "event_variant").alias("variant"),
        )
        .drop("event_experiment", "event_variant")
    )


__all__ = [
    "CLICK_WINDOW",
    "VIEW_WINDOW",
    "DEFAULT_WINDOWS",
    "Attribution",
    "Windows",
    "attribute",
    "merged_persons",
    "sends_views",
    "person_key",
]
