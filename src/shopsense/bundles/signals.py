"""Signals for two bundle types: seasonal lift (what sells in the coming weeks of the year)
and stock pressure (what is slow or overstocked and needs clearing).

Seasonal lift compares an item's share of baskets in a window with the share of all baskets
in it. With at least a year of history the window is the coming weeks' days of the year in
earlier years ("calendar"), so Christmas sets surface before Christmas; a younger store has no
earlier year, so the window is the weeks just before ``as_of`` ("lead_in"), which surfaces
items ramping into their season. Both shares are shrunk towards the overall share with a few
pseudo-baskets, so an item seen twice cannot reach a huge lift by chance.

Everything is computed on polars frames over all lines at once; only lines placed before
``as_of`` are read, so a score never sees the future it is meant to predict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

from shopsense.bundles.mining import basket_matrix
from shopsense.errors import ValidationFailed

# Pseudo-baskets at the overall window share added to every item (and pair): an item with no
# history gets lift 1, and a handful of baskets moves it only part of the way.
PRIOR_BASKETS = 5.0
MODES = ("calendar", "lead_in")

_AT = "_at"
_IN = "_in_window"


@dataclass(frozen=True)
class SeasonalWindow:
    """The coming window ``[start, end)`` and the (month, day) of each of its days; February
    29 is included whenever the window runs from February 28 into March, so leap-year sales
    in earlier years are never dropped from the middle of a window."""

    start: datetime
    end: datetime
    month_days: tuple[tuple[int, int], ...]

    def keys(self) -> list[int]:
        """The days as ``month * 100 + day``, the form the line filter compares against."""
        return [month * 100 + day for month, day in self.month_days]


@dataclass(frozen=True, eq=False)
class Seasonality:
    """Seasonal lift of every item seen before ``window_start``: ``items`` has item, baskets
    (n_i), window_baskets (k_i) and lift, highest lift first; ``share`` is the overall window
    share s the lifts are measured against."""

    mode: str
    window_start: datetime
    window_end: datetime
    share: float
    items: pl.DataFrame

    @property
    def horizon_days(self) -> int:
        return (self.window_end - self.window_start).days

    def lift_of(self, items: Sequence[str]) -> npt.NDArray[np.float64]:
        """Lift of each item in order; 1.0 (no seasonal signal) for items never sold."""
        wanted = pl.DataFrame({"item": list(items)}, schema={"item": pl.String})
        found = wanted.join(self.items, on="item", how="left", maintain_order="left")
        return found["lift"].fill_null(1.0).to_numpy().astype(np.float64)


def seasonal_window(as_of: datetime, horizon_days: int = 28) -> SeasonalWindow:
    """The coming window ``[as_of, as_of + horizon_days)`` and its days of the year, counted
    in whole days from ``as_of``'s date (so the window wraps across New Year naturally)."""
    _check_horizon(horizon_days)
    start = _naive_utc(as_of)
    first = start.date()
    days = [first + timedelta(days=k) for k in range(horizon_days)]
    month_days = [(d.month, d.day) for d in days]
    if (2, 28) in month_days and (3, 1) in month_days and (2, 29) not in month_days:
        month_days.insert(month_days.index((3, 1)), (2, 29))
    return SeasonalWindow(start, start + timedelta(days=horizon_days), tuple(month_days))


def seasonal_lift(
    lines: pl.DataFrame,
    as_of: datetime,
    *,
    horizon_days: int = 28,
    min_window_baskets: int = 30,
) -> Seasonality:
    """Seasonal lift of every item for the ``horizon_days`` from ``as_of``.

    "calendar" mode when the history reaches back a full year before ``as_of`` and at least
    ``min_window_baskets`` baskets fall on the window's days of the year in earlier years;
    "lead_in" mode (the last ``horizon_days`` before ``as_of``) otherwise. With k_i the item's
    baskets in the window, n_i its baskets and s the overall window share,
    lift_i = (k_i + α·s) / (n_i + α) / s with α = ``PRIOR_BASKETS``; 1 when s is 0.
    """
    if min_window_baskets < 1:
        raise ValidationFailed(f"min_window_baskets must be at least 1, not {min_window_baskets!r}")
    window = seasonal_window(as_of, horizon_days)
    used = _history(lines, window.start)
    baskets = used.group_by("basket").agg(pl.col(_AT).min())
    mode = _choose_mode(baskets, window, min_window_baskets)
    flagged = baskets.with_columns(_window_flag(mode, window).alias(_IN))
    n_baskets = flagged.height
    share = float(flagged[_IN].sum()) / n_baskets if n_baskets else 0.0
    counts = (
        used.select("basket", "item")
        .unique()
        .join(flagged.select("basket", _IN), on="basket")
        .group_by("item")
        .agg(
            pl.len().cast(pl.Int64).alias("baskets"),
            pl.col(_IN).sum().cast(pl.Int64).alias("window_baskets"),
        )
    )
    items = counts.with_columns(_lift(share).alias("lift")).sort(
        ["lift", "item"], descending=[True, False]
    )
    return Seasonality(mode, window.start, window.end, share, items)


def pair_seasonal_lift(
    lines: pl.DataFrame,
    pairs: pl.DataFrame,
    as_of: datetime,
    seasonality: Seasonality,
) -> pl.DataFrame:
    """Seasonal lift of baskets holding both ``a`` and ``b`` of each pair, in the window and
    against the overall share of ``seasonality`` (the same measure and shrinkage as its items),
    so a seasonal bundle scores the set rather than its most seasonal member. One row per
    given pair, in order: a, b, baskets, window_baskets, lift (1.0 for pairs never bought
    together)."""
    _require(pairs, ("a", "b"), "pairs")
    window = seasonal_window(as_of, seasonality.horizon_days)
    if window.start != seasonality.window_start:
        raise ValidationFailed(
            f"as_of {window.start.isoformat()} is not the seasonality's window start "
            f"{seasonality.window_start.isoformat()}"
        )
    if seasonality.mode not in MODES:
        raise ValidationFailed(f"unknown seasonal mode {seasonality.mode!r}; known: {MODES}")
    wanted = pairs.select(pl.col("a").cast(pl.String), pl.col("b").cast(pl.String))
    used = _history(lines, window.start)
    baskets = np.zeros(wanted.height, dtype=np.int64)
    in_window = np.zeros(wanted.height, dtype=np.int64)
    if used.height and wanted.height:
        # One 0/1 baskets x items matrix; a pair's baskets are the element-wise product of
        # its two columns, summed over all rows and over the window's rows, in blocks of
        # pairs so memory stays bounded however many pairs are asked for.
        flagged = (
            used.group_by("basket")
            .agg(pl.col(_AT).min())
            .select("basket", _window_flag(seasonality.mode, window).alias(_IN))
            .sort("basket")
        )
        x, names = basket_matrix(used, "basket", "item")
        x = sp.csc_matrix(x)
        window_rows = flagged[_IN].to_numpy().astype(np.int64)
        index = {name: k for k, name in enumerate(names)}
        a = wanted["a"].replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()
        b = wanted["b"].replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()
        known = np.flatnonzero((a >= 0) & (b >= 0))
        for lo in range(0, len(known), _PAIR_BLOCK):
            chosen = known[lo : lo + _PAIR_BLOCK]
            both = x[:, a[chosen]].multiply(x[:, b[chosen]])
            baskets[chosen] = np.asarray(both.sum(axis=0)).ravel()
            in_window[chosen] = np.asarray(both.T @ window_rows).ravel()
    out = wanted.with_columns(pl.Series("baskets", baskets), pl.Series("window_baskets", in_window))
    return out.with_columns(_lift(seasonality.share).alias("lift"))


_PAIR_BLOCK = 4096


def stock_pressure(
    products: pl.DataFrame,
    lines: pl.DataFrame,
    as_of: datetime,
    *,
    window_days: int = 90,
    overstock_days: float = 120.0,
    slow_share: float = 0.1,
) -> pl.DataFrame:
    """Slow movers and overstock among active products, most in need of clearing first.

    Velocity is units sold per day over the ``window_days`` before ``as_of`` (over the span
    from the first line to ``as_of`` when the history is shorter, at least one day); days of
    cover = stock / velocity (inf when nothing sold). A product is slow when it is among the
    slowest ``ceil(slow_share · n)`` tracked products by velocity (ties included) or has at
    least ``overstock_days`` of cover. Pressure = 1 − exp(−cover / overstock_days), 1 for
    infinite cover. Untracked stock (null) is listed with velocity but is never slow and has
    pressure 0: there is nothing known to clear. Products out of stock or inactive are left out.
    """
    if window_days < 1:
        raise ValidationFailed(f"window_days must be at least 1, not {window_days!r}")
    if not overstock_days > 0:
        raise ValidationFailed(f"overstock_days must be > 0, not {overstock_days!r}")
    if not 0 <= slow_share <= 1:
        raise ValidationFailed(f"slow_share must be in [0, 1], not {slow_share!r}")
    _require(products, ("item", "stock", "price", "cost", "active"), "products")
    start = _naive_utc(as_of)
    used = _history(lines, start, extra=("quantity",))
    catalog = _products(products)

    window_start = start - timedelta(days=window_days)
    first = used[_AT].min()
    since = max(window_start, first) if isinstance(first, datetime) else window_start
    span_days = max(1.0, (start - since) / timedelta(days=1))
    sold = (
        used.filter(pl.col(_AT) >= window_start)
        .group_by("item")
        .agg(
            pl.col("quantity").fill_null(1).sum().clip(lower_bound=0).cast(pl.Int64).alias("units")
        )
    )

    tracked = pl.col("stock").is_not_null()
    velocity = pl.col("velocity")
    cover = (
        pl.when(~tracked)
        .then(None)
        .when(velocity > 0)
        .then(pl.col("stock") / velocity)
        .otherwise(float("inf"))
    )
    n_tracked = pl.col("stock").count()
    slowest = (
        pl.when(tracked).then(velocity).otherwise(None).rank("min")
        <= (pl.lit(slow_share) * n_tracked).ceil()
    )
    frame = (
        catalog.join(sold, on="item", how="left")
        .with_columns(pl.col("units").fill_null(0))
        .with_columns((pl.col("units") / span_days).alias("velocity"))
        .with_columns(
            cover.cast(pl.Float64).alias("days_of_cover"),
            (pl.col("stock") * pl.col("cost")).alias("stock_value"),
        )
        .with_columns(
            (tracked & (slowest.fill_null(False) | (pl.col("days_of_cover") >= overstock_days)))
            .fill_null(False)
            .alias("slow"),
            pl.when(tracked)
            .then(1.0 - (-pl.col("days_of_cover") / overstock_days).exp())
            .otherwise(0.0)
            .alias("pressure"),
        )
    )
    return frame.select(
        "item", "stock", "units", "velocity", "days_of_cover", "stock_value", "slow", "pressure"
    ).sort(
        ["pressure", "stock_value", "item"],
        descending=[True, True, False],
        nulls_last=True,
    )


def _lift(share: float) -> pl.Expr:
    """(k + α·s) / (n + α) / s over ``window_baskets`` and ``baskets``; 1 when s is 0, as
    there is then no window to concentrate in."""
    if share <= 0:
        return pl.lit(1.0, dtype=pl.Float64)
    k, n = pl.col("window_baskets"), pl.col("baskets")
    return ((k + PRIOR_BASKETS * share) / (n + PRIOR_BASKETS) / share).cast(pl.Float64)


def _choose_mode(baskets: pl.DataFrame, window: SeasonalWindow, min_window_baskets: int) -> str:
    """ "calendar" when an earlier occurrence of the window lies wholly in the history (the
    first basket is on or before ``as_of``'s date a year earlier) and it holds enough baskets;
    a window only partly covered would compare the store's first days with the rest."""
    first = baskets[_AT].min()
    if not isinstance(first, datetime) or first.date() > _year_before(window.start.date()):
        return "lead_in"
    in_window = int(baskets.select(_window_flag("calendar", window).sum()).item())
    return "calendar" if in_window >= min_window_baskets else "lead_in"


def _window_flag(mode: str, window: SeasonalWindow) -> pl.Expr:
    """Whether a basket (by its time ``_at``, always before ``as_of``) is in the mode's window:
    on one of the window's days of the year ("calendar"), or in the ``horizon`` days right
    before ``as_of`` ("lead_in")."""
    at = pl.col(_AT)
    if mode == "calendar":
        key = at.dt.month().cast(pl.Int32) * 100 + at.dt.day().cast(pl.Int32)
        return key.is_in(window.keys())
    return at >= window.start - (window.end - window.start)


def _history(lines: pl.DataFrame, as_of: datetime, extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """The lines placed before ``as_of`` with basket and item as strings and the time as a
    naive UTC ``_at``; lines without a basket, item or time are dropped."""
    _require(lines, ("basket", "item", "placed_at", *extra), "lines")
    at = _naive_utc_column(lines, "placed_at")
    return (
        lines.select(
            pl.col("basket").cast(pl.String),
            pl.col("item").cast(pl.String),
            at.alias(_AT),
            *[pl.col(c) for c in extra],
        )
        .drop_nulls(["basket", "item", _AT])
        .filter(pl.col(_AT) < as_of)
    )


def _products(products: pl.DataFrame) -> pl.DataFrame:
    """Active products that have stock or do not track it, with typed columns."""
    try:
        typed = products.select(
            pl.col("item").cast(pl.String),
            pl.col("stock").cast(pl.Int64, strict=True),
            pl.col("cost").cast(pl.Float64, strict=True),
            pl.col("active").cast(pl.Boolean, strict=True),
        )
    except pl.exceptions.PolarsError as exc:
        raise ValidationFailed(
            f"products: stock, cost or active has the wrong type: {exc}"
        ) from exc
    duplicated = typed.filter(pl.col("item").is_duplicated())["item"].unique().sort()
    if len(duplicated):
        raise ValidationFailed(f"products list item {duplicated[0]!r} more than once")
    return typed.filter(
        pl.col("active").fill_null(False) & (pl.col("stock").is_null() | (pl.col("stock") > 0))
    ).drop("active")


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"{name} have no column {', '.join(map(repr, missing))} "
            f"(expected {', '.join(columns)})",
            errors=[{"rule": "missing column", "field": c} for c in missing],
        )


def _check_horizon(horizon_days: int) -> None:
    # Beyond a year the window's days of the year would overlap the window itself.
    if not 1 <= horizon_days <= 365:
        raise ValidationFailed(f"horizon_days must be between 1 and 365, not {horizon_days!r}")


def _naive_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime, the form stored timestamps have."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _naive_utc_column(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    if isinstance(dtype, pl.Datetime):
        column = pl.col(name)
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return column
    if dtype == pl.Date:
        return pl.col(name).cast(pl.Datetime("us"))
    raise ValidationFailed(f"{name} must hold datetimes, not {dtype}")


def _year_before(day: date) -> date:
    # February 29 has no counterpart a year earlier; the 28th is the same point in the season.
    if (day.month, day.day) == (2, 29):
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


__all__ = [
    "MODES",
    "PRIOR_BASKETS",
    "SeasonalWindow",
    "Seasonality",
    "pair_seasonal_lift",
    "seasonal_lift",
    "seasonal_window",
    "stock_pressure",
]
