"""Gross margin by product, category, brand, customer segment, channel and period.

Definitions, for the lines of the non-cancelled orders placed in ``[start, end)``:

- **revenue** = line price x quantity (the price paid per unit, as tracked on the line);
- **COGS** (cost of goods sold) = the product's ``cost`` x quantity. A line whose product
  has no catalog row is costed at ``price x (1 - default_margin)`` (0.6 x price with the
  default 40 % margin), the same rule the catalog applies to products sent without a cost;
- **refunds** are the order's ``refunded_amount`` (all its refunds, whenever they were made,
  count against the order's period). The part a refund names items for is booked on those
  items (quantity x refunded price, scaled down if the items add up to more than the
  order's refunded amount) and their cost goes back to stock: COGS falls by the refunded
  quantity x unit cost. The rest, refunded as an amount only, is spread over the order's
  lines in proportion to their revenue and reduces revenue only - without items nothing
  says which goods came back, so no cost is returned;
- **net revenue** = revenue - refunds; **gross margin** = net revenue - net COGS;
  **margin %** = gross margin / net revenue (``None`` when net revenue is 0);
- **estimated cost share** = the part of net COGS whose unit cost is estimated (the product
  is flagged ``cost_estimated`` or has no catalog row); ``cost_estimated`` is true when that
  share is above 0.

Order-level discounts (``orders.discount``) are not spread over lines: the line price is
taken as what was paid. Orders without lines contribute nothing.

Every figure is a sum of signed ledger entries (sold lines, refunded items), so the rows of
any grouping add up to the totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Select, and_, or_, select

from shopsense.db.models import order_items_table as ITEMS
from shopsense.db.models import orders_table as ORDERS
from shopsense.db.models import products_table as PRODUCTS
from shopsense.db.models import profiles_table as PROFILES
from shopsense.db.models import refund_items_table as REFUND_ITEMS
from shopsense.db.models import refunds_table as REFUNDS
from shopsense.errors import ValidationFailed

DEFAULT_MARGIN = 0.4
"""The margin assumed for a product without a catalog row (``Settings.default_margin``)."""

DIMENSIONS: dict[str, str] = {
    "product": "the product_id",
    "category": 'the full category path, e.g. "Home/Kitchen" ("uncategorized" without one)',
    "department": "the first level of the category path",
    "brand": 'the product\'s brand ("unknown" without one)',
    "segment": 'the buyer\'s value_segment from the behavior profile ("unknown" without one)',
    "channel": 'the order\'s "utm_source / utm_medium" ("direct" when both are missing)',
    "period": 'the calendar month of placed_at, "YYYY-MM" (UTC)',
    "week": 'the ISO week of placed_at, "YYYY-Www" (UTC)',
}

METRICS = (
    "revenue",
    "refunds",
    "net_revenue",
    "cogs",
    "gross_margin",
    "margin_pct",
    "units",
    "refunded_units",
    "orders",
    "estimated_cost_share",
    "cost_estimated",
)

_EPS = 1e-9
_LEDGER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "order_id": pl.String,
    "product_id": pl.String,
    "revenue": pl.Float64,
    "refunds": pl.Float64,
    "cogs": pl.Float64,
    "est_cogs": pl.Float64,
    "units": pl.Int64,
    "refunded_units": pl.Int64,
}


@dataclass(frozen=True)
class MarginReport:
    """Totals and one row per combination of the ``by`` dimensions, best margin first."""

    start: datetime
    end: datetime
    by: tuple[str, ...]
    totals: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": list(self.by),
            "totals": dict(self.totals),
            "rows": [dict(row) for row in self.rows],
        }


def margin_analysis(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    by: Sequence[str],
    default_margin: float = DEFAULT_MARGIN,
) -> MarginReport:
    """Gross margin of the orders placed in ``[start, end)``, in total and grouped ``by``
    any of ``DIMENSIONS`` (see the module docstring for the definitions).

    Raises ``ValidationFailed`` for an unknown or repeated dimension, an empty period or a
    default margin outside ``[0, 1)``."""
    dims = _check(start, end, by, default_margin)
    start, end = _naive_utc(start), _naive_utc(end)
    in_window = and_(
        ORDERS.c.status != "cancelled", ORDERS.c.placed_at >= start, ORDERS.c.placed_at < end
    )
    orders = _frame(
        conn,
        select(
            ORDERS.c.order_id,
            ORDERS.c.user_id,
            ORDERS.c.placed_at,
            ORDERS.c.utm_source,
            ORDERS.c.utm_medium,
            ORDERS.c.refunded_amount,
        ).where(in_window),
        {
            "order_id": pl.String,
            "user_id": pl.String,
            "placed_at": pl.Datetime("us"),
            "utm_source": pl.String,
            "utm_medium": pl.String,
            "refunded_amount": pl.Float64,
        },
    )
    item_schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "order_id": pl.String,
        "product_id": pl.String,
        "quantity": pl.Int64,
        "price": pl.Float64,
    }
    lines = _frame(
        conn,
        select(ITEMS.c.order_id, ITEMS.c.product_id, ITEMS.c.quantity, ITEMS.c.price)
        .join(ORDERS, ORDERS.c.order_id == ITEMS.c.order_id)
        .where(in_window),
        item_schema,
    )
    refunded = _frame(
        conn,
        select(
            REFUNDS.c.order_id,
            REFUND_ITEMS.c.product_id,
            REFUND_ITEMS.c.quantity,
            REFUND_ITEMS.c.price,
        )
        .join(REFUNDS, REFUNDS.c.refund_id == REFUND_ITEMS.c.refund_id)
        .join(ORDERS, ORDERS.c.order_id == REFUNDS.c.order_id)
        .where(in_window),
        item_schema,
    )
    sold_ids = select(ITEMS.c.product_id).join(ORDERS, ORDERS.c.order_id == ITEMS.c.order_id)
    refunded_ids = (
        select(REFUND_ITEMS.c.product_id)
        .join(REFUNDS, REFUNDS.c.refund_id == REFUND_ITEMS.c.refund_id)
        .join(ORDERS, ORDERS.c.order_id == REFUNDS.c.order_id)
    )
    products = _frame(
        conn,
        select(
            PRODUCTS.c.product_id,
            PRODUCTS.c.cost,
            PRODUCTS.c.cost_estimated,
            PRODUCTS.c.category,
            PRODUCTS.c.brand,
        ).where(
            or_(
                PRODUCTS.c.product_id.in_(sold_ids.where(in_window)),
                PRODUCTS.c.product_id.in_(refunded_ids.where(in_window)),
            )
        ),
        {
            "product_id": pl.String,
            "cost": pl.Float64,
            "cost_estimated": pl.Boolean,
            "category": pl.String,
            "brand": pl.String,
        },
    )
    segments = (
        _frame(
            conn,
            select(PROFILES.c.user_id, PROFILES.c.value_segment).where(
                PROFILES.c.user_id.in_(select(ORDERS.c.user_id).where(in_window))
            ),
            {"user_id": pl.String, "value_segment": pl.String},
        )
        if "segment" in dims
        else pl.DataFrame(schema={"user_id": pl.String, "value_segment": pl.String})
    )
    ledger = _ledger(orders, lines, refunded, products, default_margin)
    keyed = _with_dimensions(ledger, orders, products, segments, dims)
    totals = _summarise(keyed, [])[0]
    rows = _summarise(keyed, list(dims)) if dims else []
    rows.sort(key=lambda r: (-r["gross_margin"], tuple(str(r[d]) for d in dims)))
    return MarginReport(start=start, end=end, by=dims, totals=totals, rows=rows)


def _check(
    start: datetime, end: datetime, by: Sequence[str], default_margin: float
) -> tuple[str, ...]:
    dims = (by,) if isinstance(by, str) else tuple(by)
    errors: list[dict[str, Any]] = []
    for pos, name in enumerate(dims):
        if name not in DIMENSIONS:
            errors.append(
                {
                    "loc": ["by", pos],
                    "msg": f"unknown dimension {name!r}; one of {', '.join(DIMENSIONS)}",
                    "type": "value_error",
                }
            )
        elif dims.index(name) != pos:
            errors.append(
                {"loc": ["by", pos], "msg": f"{name!r} given twice", "type": "value_error"}
            )
    if _naive_utc(start) >= _naive_utc(end):
        errors.append({"loc": ["from"], "msg": "must be before to", "type": "value_error"})
    if not 0.0 <= default_margin < 1.0:
        errors.append(
            {"loc": ["default_margin"], "msg": "must be in [0, 1)", "type": "value_error"}
        )
    if errors:
        raise ValidationFailed("invalid margin analysis request", errors=errors)
    return dims


def _naive_utc(value: datetime) -> datetime:
    """Storage form of a time: UTC without tzinfo."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _frame(
    conn: Connection,
    stmt: Select[Any],
    schema: dict[str, pl.DataType | type[pl.DataType]],
) -> pl.DataFrame:
    return pl.DataFrame(conn.execute(stmt).all(), schema=schema, orient="row")


def _costed(items: pl.DataFrame, products: pl.DataFrame, default_margin: float) -> pl.DataFrame:
    """Items with ``value`` (quantity x price), ``unit_cost`` and ``estimated``."""
    known = pl.col("cost").is_not_null()
    return items.join(
        products.select("product_id", "cost", "cost_estimated"), on="product_id", how="left"
    ).with_columns(
        value=pl.col("quantity") * pl.col("price"),
        unit_cost=pl.when(known)
        .then(pl.col("cost"))
        .otherwise(pl.col("price") * (1.0 - default_margin)),
        estimated=pl.when(known).then(pl.col("cost_estimated")).otherwise(pl.lit(True)),
    )


def _ledger(
    orders: pl.DataFrame,
    lines: pl.DataFrame,
    refunded: pl.DataFrame,
    products: pl.DataFrame,
    default_margin: float,
) -> pl.DataFrame:
    """Signed entries: one per sold line, one per refunded item."""
    refunded_amount = orders.select("order_id", "refunded_amount")
    # Refunded items: their value, scaled so an order's items never refund more than its
    # refunded amount; their cost returns to stock.
    back = (
        _costed(refunded, products, default_margin)
        .join(refunded_amount, on="order_id", how="inner")
        .with_columns(item_total=pl.col("value").sum().over("order_id"))
        .with_columns(
            scale=pl.when(pl.col("item_total") > pl.col("refunded_amount"))
            .then(pl.col("refunded_amount") / pl.col("item_total"))
            .otherwise(1.0)
        )
    )
    by_items = back.group_by("order_id").agg(item_refunds=(pl.col("value") * pl.col("scale")).sum())
    # The rest of each order's refunded amount, spread over its lines by revenue.
    rest = (
        refunded_amount.join(by_items, on="order_id", how="left")
        .with_columns(
            rest=(pl.col("refunded_amount") - pl.col("item_refunds").fill_null(0.0)).clip(
                lower_bound=0.0
            )
        )
        .select("order_id", "rest")
    )
    sold = (
        _costed(lines, products, default_margin)
        .join(rest, on="order_id", how="left")
        .with_columns(order_value=pl.col("value").sum().over("order_id"))
        .with_columns(
            refunds=pl.when(pl.col("order_value") > 0)
            .then(pl.col("rest").fill_null(0.0) * pl.col("value") / pl.col("order_value"))
            .otherwise(0.0),
            cogs=pl.col("quantity") * pl.col("unit_cost"),
        )
    )
    sold_entries = sold.select(
        "order_id",
        "product_id",
        revenue=pl.col("value"),
        refunds=pl.col("refunds"),
        cogs=pl.col("cogs"),
        est_cogs=pl.when(pl.col("estimated")).then(pl.col("cogs")).otherwise(0.0),
        units=pl.col("quantity"),
        refunded_units=pl.lit(0, dtype=pl.Int64),
    )
    back_cogs = -pl.col("quantity") * pl.col("unit_cost")
    back_entries = back.select(
        "order_id",
        "product_id",
        revenue=pl.lit(0.0),
        refunds=pl.col("value") * pl.col("scale"),
        cogs=back_cogs,
        est_cogs=pl.when(pl.col("estimated")).then(back_cogs).otherwise(0.0),
        units=pl.lit(0, dtype=pl.Int64),
        refunded_units=pl.col("quantity"),
    )
    return pl.concat(
        [
            sold_entries.cast(pl.Schema(_LEDGER_SCHEMA)),
            back_entries.cast(pl.Schema(_LEDGER_SCHEMA)),
        ],
        how="vertical",
    )


def _with_dimensions(
    ledger: pl.DataFrame,
    orders: pl.DataFrame,
    products: pl.DataFrame,
    segments: pl.DataFrame,
    dims: tuple[str, ...],
) -> pl.DataFrame:
    source, medium = pl.col("utm_source"), pl.col("utm_medium")
    order_dims = orders.join(segments, on="user_id", how="left").select(
        "order_id",
        segment=pl.col("value_segment").fill_null("unknown"),
        channel=pl.when(source.is_null() & medium.is_null())
        .then(pl.lit("direct"))
        .otherwise(
            pl.concat_str(source.fill_null("(none)"), medium.fill_null("(none)"), separator=" / ")
        ),
        period=pl.col("placed_at").dt.strftime("%Y-%m"),
        week=pl.col("placed_at").dt.strftime("%G-W%V"),
    )
    category = pl.col("category").fill_null("").str.strip_chars("/")
    product_dims = products.select(
        "product_id",
        category=pl.when(category == "").then(pl.lit("uncategorized")).otherwise(category),
        department=pl.when(category == "")
        .then(pl.lit("uncategorized"))
        .otherwise(category.str.split("/").list.first()),
        brand=pl.col("brand").fill_null("unknown"),
    )
    keyed = ledger.join(order_dims, on="order_id", how="left").join(
        product_dims, on="product_id", how="left"
    )
    return keyed.with_columns(
        product=pl.col("product_id"),
        category=pl.col("category").fill_null("uncategorized"),
        department=pl.col("department").fill_null("uncategorized"),
        brand=pl.col("brand").fill_null("unknown"),
    ).select(*dims, *(c for c in _LEDGER_SCHEMA if c not in dims))


def _summarise(keyed: pl.DataFrame, dims: list[str]) -> list[dict[str, Any]]:
    sums = [
        pl.col("revenue").sum(),
        pl.col("refunds").sum(),
        pl.col("cogs").sum(),
        pl.col("est_cogs").sum(),
        pl.col("units").sum(),
        pl.col("refunded_units").sum(),
        pl.col("order_id").n_unique().alias("orders"),
    ]
    grouped = keyed.group_by(dims).agg(sums) if dims else keyed.select(sums)
    net = pl.col("revenue") - pl.col("refunds")
    margin = net - pl.col("cogs")
    share = (
        pl.when(pl.col("cogs").abs() > _EPS)
        .then(pl.col("est_cogs") / pl.col("cogs"))
        .otherwise(0.0)
    )
    done = grouped.with_columns(
        net_revenue=net,
        gross_margin=margin,
        margin_pct=pl.when(net.abs() > _EPS).then(margin / net).otherwise(None),
        estimated_cost_share=share,
    ).with_columns(cost_estimated=pl.col("estimated_cost_share") > _EPS)
    return done.select(*dims, *METRICS).to_dicts()
