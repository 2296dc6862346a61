"""Behaviour profiles from events and orders, for all users at once (polars, set-based).

The same function serves the full rebuild (every user) and the on-read profile of one user
(the frames then hold that user's rows only), so both always agree. Every dimension is
defined, with its formula, in ``docs/metrics.md``.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from shopsense.profiles.frames import ProfileFrames

TOP_N = 5
RECENT_DAYS = 30
SECONDS_PER_DAY = 86_400.0
# Interest weights for top categories and brands: a purchase says more than a view.
INTEREST = {"product_view": 1.0, "add_to_cart": 2.0, "wishlist_add": 2.0}
PURCHASE_INTEREST = 3.0
# Brand-loyalty score: the top brand's share of brand choices, shrunk toward a prior share
# by a few pseudo-choices, so a user seen twice does not rank as devoted as one seen fifty times.
LOYALTY_PRIOR_SHARE = 0.2
LOYALTY_PRIOR_WEIGHT = 3.0


def _days(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds() / (SECONDS_PER_DAY * 1e6)


def product_price_percentiles(products: pl.DataFrame) -> pl.DataFrame:
    """Each product's place in its category's price distribution: 0 the cheapest, 1 the
    dearest (mid-rank, so ties share a value; a category of one product gives 0.5)."""
    return products.with_columns(
        pl.when(pl.len().over("category") > 1)
        .then(
            (pl.col("price").rank("average").over("category") - 1) / (pl.len().over("category") - 1)
        )
        .otherwise(0.5)
        .alias("price_percentile")
    ).select("product_id", "category", "brand", "price_percentile")


def _shares(frame: pl.DataFrame, key: str, weight: str | None, name: str) -> pl.DataFrame:
    """Per user, ``[{key, share}]`` sorted by share, from (weighted) counts of ``key``."""
    n = pl.col(weight).sum() if weight else pl.len().cast(pl.Float64)
    counted = (
        frame.filter(pl.col(key).is_not_null())
        .group_by("user_id", key)
        .agg(n.alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over("user_id")).alias("share"))
        .sort(["user_id", "share", key], descending=[False, True, False])
    )
    return counted.group_by("user_id", maintain_order=True).agg(
        pl.struct(pl.col(key).alias("name"), pl.col("share").round(4)).head(TOP_N).alias(name),
        pl.col(key).first().alias(f"main_{name}"),
    )


def _histogram(frame: pl.DataFrame, column: str, bins: int, name: str, mode: str) -> pl.DataFrame:
    """Per user, the share of rows in each of ``bins`` values of ``column`` and the mode."""
    counts = frame.group_by("user_id").agg(
        *[(pl.col(column) == b).sum().alias(f"_{b}") for b in range(bins)], pl.len().alias("_n")
    )
    cols = [f"_{b}" for b in range(bins)]
    return counts.select(
        "user_id",
        pl.concat_list([(pl.col(c) / pl.col("_n")).round(4) for c in cols]).alias(name),
        pl.concat_list(cols).list.arg_max().cast(pl.Int32).alias(mode),
    )


def compute_profiles(frames: ProfileFrames, as_of: datetime, timezone: str) -> pl.DataFrame:
    """One row per user seen in the events up to ``as_of`` (naive UTC)."""
    events = frames.events.with_columns(
        pl.col("timestamp")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
        .alias("_local")
    ).with_columns(
        pl.col("_local").dt.hour().cast(pl.Int32).alias("hour"),
        (pl.col("_local").dt.weekday().cast(pl.Int32) - 1).alias("weekday"),
        # A visit without a session id counts as one session per user and day.
        pl.coalesce(
            pl.col("session_id"),
            pl.col("user_id") + pl.lit("@") + pl.col("_local").dt.date().cast(pl.String),
        ).alias("session"),
    )
    as_of_lit = pl.lit(as_of, dtype=pl.Datetime("us"))
    recent = as_of_lit - pl.duration(days=RECENT_DAYS)

    base = events.group_by("user_id").agg(
        pl.col("timestamp").min().alias("first_seen"),
        pl.col("timestamp").max().alias("last_seen"),
        pl.len().alias("events"),
        pl.col("session").n_unique().alias("sessions"),
        pl.col("session").filter(pl.col("timestamp") > recent).n_unique().alias("sessions_30d"),
        (pl.col("type") == "product_view").sum().alias("_views"),
        (pl.col("type") == "add_to_cart").sum().alias("_carts"),
        (pl.col("type") == "recommendation_view").sum().alias("_rec_views"),
        (pl.col("type") == "recommendation_click").sum().alias("_rec_clicks"),
        (pl.col("type") == "promotion_view").sum().alias("_promo_views"),
        (pl.col("type") == "promotion_click").sum().alias("_promo_clicks"),
    )
    by_type = (
        events.group_by("user_id", "type")
        .len()
        .sort("user_id", "type")
        .group_by("user_id", maintain_order=True)
        .agg(
            pl.struct(pl.col("type").alias("name"), pl.col("len").alias("n")).alias(
                "events_by_type"
            )
        )
    )
    sessions = (
        events.sort("timestamp")
        .group_by("user_id", "session")
        .agg(
            (
                _days(pl.col("timestamp").max() - pl.col("timestamp").min()) * SECONDS_PER_DAY
                + pl.col("time_spent").last().fill_null(0.0)
            ).alias("duration"),
            pl.len().alias("n"),
        )
        .group_by("user_id")
        .agg(
            pl.col("duration").mean().round(1).alias("mean_session_seconds"),
            pl.col("n").mean().round(2).alias("events_per_session"),
        )
    )
    # When a user shops is when their visits start: a long session should not outvote a
    # habit, so hours and days are counted over session starts.
    starts = (
        events.sort("timestamp")
        .group_by("user_id", "session")
        .agg(pl.col("hour").first(), pl.col("weekday").first())
    )
    hours = _histogram(starts, "hour", 24, "preferred_hours", "preferred_hour")
    days = _histogram(starts, "weekday", 7, "preferred_days", "preferred_day")
    devices = _shares(events, "device_type", None, "devices")
    browsers = _shares(events, "browser", None, "browsers")

    orders = frames.orders.group_by("user_id").agg(
        pl.len().alias("orders"),
        (pl.col("revenue").sum() - pl.col("refunded_amount").sum()).alias("revenue"),
        pl.col("refunded_amount").sum().alias("refunded"),
        pl.col("placed_at").min().alias("first_order_at"),
        pl.col("placed_at").max().alias("last_order_at"),
        ((pl.col("discount") > 0) | pl.col("coupon").is_not_null()).mean().alias("discount_share"),
    )

    priced = product_price_percentiles(frames.products)
    lines = frames.lines.join(priced, on="product_id", how="left")
    interest = pl.concat(
        [
            events.filter(pl.col("type").is_in(list(INTEREST)))
            .drop("brand")  # the product's brand, from the catalog, is the one that counts
            .join(priced, on="product_id", how="inner")
            .select(
                "user_id",
                "category",
                "brand",
                pl.col("type").replace_strict(INTEREST, return_dtype=pl.Float64).alias("w"),
            ),
            lines.select("user_id", "category", "brand", pl.lit(PURCHASE_INTEREST).alias("w")),
        ]
    )
    categories = _shares(interest, "category", "w", "categories")
    brands = _shares(interest, "brand", "w", "brands")

    bought_price = lines.group_by("user_id").agg(
        pl.col("price_percentile").mean().alias("_bought_pct")
    )
    viewed_price = (
        events.filter(pl.col("type") == "product_view")
        .drop("brand")
        .join(priced, on="product_id", how="inner")
        .group_by("user_id")
        .agg(pl.col("price_percentile").mean().alias("_viewed_pct"))
    )
    loyalty = _brand_loyalty(events, lines, priced)

    profile = (
        base.join(by_type, on="user_id", how="left")
        .join(sessions, on="user_id", how="left")
        .join(hours, on="user_id", how="left")
        .join(days, on="user_id", how="left")
        .join(devices, on="user_id", how="left")
        .join(browsers.drop("main_browsers"), on="user_id", how="left")
        .join(orders, on="user_id", how="left")
        .join(categories.drop("main_categories"), on="user_id", how="left")
        .join(brands.drop("main_brands"), on="user_id", how="left")
        .join(bought_price, on="user_id", how="left")
        .join(viewed_price, on="user_id", how="left")
        .join(loyalty, on="user_id", how="left")
    )
    return _derive(profile, as_of_lit)


def _brand_loyalty(events: pl.DataFrame, lines: pl.DataFrame, priced: pl.DataFrame) -> pl.DataFrame:
    """Purchase-based brand measures plus the loyalty score over every brand choice.

    Purchases alone are too few to rank loyalty (a customer buys a handful of times a
    quarter), so the score counts each choice of a brand: a product view the user reached on
    their own (one reached from a recommendation says what was recommended), a brand page
    visit and a purchased line."""
    branded = lines.filter(pl.col("brand").is_not_null()).sort("user_id", "placed_at", "order_id")
    bought = (
        branded.group_by("user_id", "brand")
        .len()
        .with_columns((pl.col("len") / pl.col("len").sum().over("user_id")).alias("s"))
        .group_by("user_id")
        .agg(
            pl.col("s").max().alias("top_brand_share"),
            (pl.col("s") ** 2).sum().alias("brand_hhi"),
        )
    )
    switches = branded.group_by("user_id", maintain_order=True).agg(
        (pl.col("brand") != pl.col("brand").shift(1))
        .drop_nulls()
        .mean()
        .round(4)
        .alias("brand_switch_rate")
    )
    viewed = (
        events.filter((pl.col("type") == "product_view") & pl.col("recommendation_id").is_null())
        .join(priced.select("product_id", pl.col("brand").alias("_product_brand")), on="product_id")
        .select("user_id", pl.col("_product_brand").alias("brand"))
    )
    browsed = events.filter(pl.col("type") == "brand_browse").select("user_id", "brand")
    choices = (
        pl.concat([viewed, browsed, branded.select("user_id", "brand")])
        .filter(pl.col("brand").is_not_null())
        .group_by("user_id", "brand")
        .len()
        .group_by("user_id")
        .agg(pl.col("len").max().alias("_top"), pl.col("len").sum().alias("brand_choices"))
        .select(
            "user_id",
            "brand_choices",
            (
                (pl.col("_top") + LOYALTY_PRIOR_WEIGHT * LOYALTY_PRIOR_SHARE)
                / (pl.col("brand_choices") + LOYALTY_PRIOR_WEIGHT)
            )
            .round(4)
            .alias("brand_loyalty"),
        )
    )
    return choices.join(bought, on="user_id", how="full", coalesce=True).join(
        switches, on="user_id", how="left"
    )


def _derive(profile: pl.DataFrame, as_of: pl.Expr) -> pl.DataFrame:
    tenure_days = _days(as_of - pl.col("first_seen"))
    orders = pl.col("orders").fill_null(0)
    price_pct = pl.coalesce(pl.col("_bought_pct"), pl.col("_viewed_pct"))
    promo = pl.when(pl.col("_promo_views") > 0).then(
        (pl.col("_promo_clicks") / pl.col("_promo_views")).clip(0, 1)
    )
    # Where in the price range a user buys is the main evidence; coupon use and reaction to
    # promotions refine it.
    sensitivity = (
        0.8 * (1 - price_pct)
        + 0.1 * pl.col("discount_share").fill_null(0)
        + 0.1 * promo.fill_null(0)
    )
    engagement = (
        (1 - (-pl.col("sessions_30d").cast(pl.Float64) / 4).exp())
        + (1 - (-pl.col("events_per_session").fill_null(0) / 10).exp())
        + (1 - (-pl.col("mean_session_seconds").fill_null(0) / 300).exp())
    ) / 3
    return (
        profile.with_columns(
            orders.alias("orders"),
            pl.col("revenue").fill_null(0.0).round(2),
            pl.col("refunded").fill_null(0.0).round(2),
            pl.when(orders > 0).then((pl.col("revenue") / orders).round(2)).alias("aov"),
            (30 * orders / pl.max_horizontal(tenure_days, pl.lit(30.0)))
            .round(4)
            .alias("orders_per_30d"),
            pl.when(orders > 1)
            .then(
                (_days(pl.col("last_order_at") - pl.col("first_order_at")) / (orders - 1)).round(2)
            )
            .alias("mean_interpurchase_days"),
            _days(as_of - pl.col("last_order_at")).round(2).alias("recency_days"),
            _days(as_of - pl.col("last_seen")).round(2).alias("days_since_seen"),
            price_pct.round(4).alias("price_percentile"),
            pl.col("discount_share").round(4),
            promo.round(4).alias("promotion_response"),
            sensitivity.clip(0, 1).round(4).alias("price_sensitivity"),
            pl.when(price_pct < 1 / 3)
            .then(pl.lit("budget"))
            .when(price_pct > 2 / 3)
            .then(pl.lit("premium"))
            .when(price_pct.is_not_null())
            .then(pl.lit("mid"))
            .alias("price_tier"),
            pl.when(pl.col("_views") > 0)
            .then((pl.col("_carts") / pl.col("_views")).round(4))
            .alias("view_to_cart"),
            pl.when(pl.col("_rec_views") > 0)
            .then((pl.col("_rec_clicks") / pl.col("_rec_views")).round(4))
            .alias("recommendation_ctr"),
            engagement.round(4).alias("engagement_score"),
            pl.when((pl.col("sessions_30d") >= 2) & (engagement >= 0.5))
            .then(pl.lit("active"))
            .otherwise(pl.lit("passive"))
            .alias("engagement_level"),
            pl.col("top_brand_share").round(4),
            pl.col("brand_hhi").round(4),
            pl.col("brand_switch_rate").round(4),
        )
        .drop([c for c in profile.columns if c.startswith("_")])
        .rename({"main_devices": "main_device"})
    )


__all__ = ["compute_profiles", "product_price_percentiles"]
