"""From a transaction log to the per-customer summaries (frequency, recency, T, spend) models fit.

Same definitions as ``lifetimes``' ``summary_data_from_transaction_data`` and
``calibration_and_holdout_data``, computed set-wise with polars:

- Transactions are grouped into periods of ``freq`` (days by default); all of a customer's
  transactions in one period count as one purchase worth their sum.
- frequency: purchase periods after the first one (repeat purchases).
- recency: time from the first to the last purchase period; T: from the first purchase period
  to the end of observation; both in units of ``freq`` divided by ``freq_multiplier``.
- monetary_value: mean value of the repeat purchases (the first is excluded because it is
  typically different in kind), 0 when there is none.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

import polars as pl

from shopsense.clv.checks import InvalidInput, invalid

__all__ = ["summary_from_transactions"]

# Period length for truncation and its length in microseconds for durations.
_FREQ: dict[str, tuple[str, int]] = {
    "h": ("1h", 3_600_000_000),
    "H": ("1h", 3_600_000_000),
    "D": ("1d", 86_400_000_000),
    "W": ("1w", 7 * 86_400_000_000),
}

_AT, _PERIOD, _VALUE = "__at", "__period", "__value"
_MICROSECOND = timedelta(microseconds=1)


def _as_polars(transactions: Any, columns: list[str]) -> pl.DataFrame:
    if isinstance(transactions, pl.DataFrame):
        return transactions
    if isinstance(transactions, pl.LazyFrame):
        return transactions.collect()
    if type(transactions).__module__.split(".")[0] == "pandas":
        # Column by column through numpy: pl.from_pandas needs pyarrow for pandas' string
        # columns, and only the named columns are needed.
        present = [c for c in columns if c in transactions.columns]
        arrays = {c: transactions[c].to_numpy() for c in present}
        return pl.DataFrame(
            {c: a.astype("datetime64[us]") if a.dtype.kind == "M" else a for c, a in arrays.items()}
        )
    raise invalid(
        f"transactions must be a polars or pandas DataFrame, got {type(transactions).__name__}",
        "not a data frame",
        "transactions",
    )


def _moment(value: str | date | datetime, name: str, time_zone: str | None) -> datetime:
    """A user-given end of period as a naive datetime on the data's wall clock."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise invalid(
                f"{name} is not an ISO date or datetime: {value!r}", "bad date", name
            ) from exc
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        if time_zone is None:
            value = value.replace(tzinfo=None)
        else:
            from zoneinfo import ZoneInfo

            value = value.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)
    return value


def _timestamps(frame: pl.DataFrame, column: str) -> tuple[pl.Expr, str | None]:
    """An expression giving ``column`` as naive microsecond datetimes, and its time zone."""
    dtype = frame.schema[column]
    expr = pl.col(column)
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us")), None
    if isinstance(dtype, pl.Datetime):
        return expr.dt.replace_time_zone(None).cast(pl.Datetime("us")), dtype.time_zone
    if dtype == pl.String:
        return expr.str.to_datetime(time_unit="us", strict=True), None
    raise invalid(f"{column} must hold dates or datetimes, got {dtype}", "not a datetime", column)


def _truncate(moment: datetime, every: str) -> datetime:
    return cast(
        datetime, pl.select(pl.lit(moment, dtype=pl.Datetime("us")).dt.truncate(every)).item()
    )


def _per_customer(
    periods: pl.DataFrame, customer_id_col: str, end: datetime, unit: float
) -> pl.DataFrame:
    """frequency, recency, T, monetary_value from one row per (customer, period, value)."""
    first_value = pl.col(_VALUE).get(pl.col(_PERIOD).arg_min())
    stats = periods.group_by(customer_id_col).agg(
        pl.col(_PERIOD).min().alias("__first"),
        pl.col(_PERIOD).max().alias("__last"),
        pl.len().alias("__count"),
        (pl.col(_VALUE).sum() - first_value).alias("__repeat_total"),
    )
    first = pl.col("__first")
    frequency = pl.col("__count").cast(pl.Int64) - 1
    return stats.select(
        pl.col(customer_id_col),
        frequency.alias("frequency"),
        ((pl.col("__last") - first).dt.total_microseconds() / unit).alias("recency"),
        ((pl.lit(end, dtype=pl.Datetime("us")) - first).dt.total_microseconds() / unit).alias("T"),
        pl.when(frequency > 0)
        .then(pl.col("__repeat_total") / frequency)
        .otherwise(0.0)
        .alias("monetary_value"),
    )


def summary_from_transactions(
    transactions: Any,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None = None,
    observation_period_end: str | date | datetime | None = None,
    freq: Literal["h", "H", "D", "W"] = "D",
    freq_multiplier: float = 1,
    calibration_period_end: str | date | datetime | None = None,
) -> pl.DataFrame:
    """Summarise a transaction log per customer for the BG/NBD and Gamma-Gamma models.

    Parameters
    ----------
    transactions
        polars (or pandas) DataFrame, one row per transaction.
    customer_id_col, datetime_col
        Columns naming the customer and the moment (Date, Datetime, or ISO strings).
    monetary_value_col
        Column of transaction values; adds monetary_value (and monetary_value_holdout).
    observation_period_end
        End of observation (default: the last transaction); later transactions are ignored.
        Without a calibration period it is truncated to its period, as in ``lifetimes``.
    freq
        Period in which purchases are merged and unit of recency and T: "h", "D", "W"
        (weeks start on Monday, like pandas' weekly periods).
    freq_multiplier
        Divides recency, T and duration_holdout: ``freq="D", freq_multiplier=7`` counts
        purchases per distinct day but expresses times in weeks.
    calibration_period_end
        When given, returns ``lifetimes``-style calibration/holdout columns: the summary of
        the transactions up to and including this moment (``*_cal``, customers whose first
        purchase is in the calibration period only), the number of purchase periods after it
        up to ``observation_period_end`` (frequency_holdout), their mean value
        (monetary_value_holdout: per-period totals like monetary_value, where ``lifetimes``
        averages raw transaction rows) and the holdout length (duration_holdout).

    Returns
    -------
    polars.DataFrame
        One row per customer, sorted by customer id: customer id, frequency, recency, T
        [, monetary_value], or the calibration/holdout columns; frequencies are Int64, the
        rest Float64.
    """
    if freq not in _FREQ:
        raise invalid(f"freq must be one of {sorted(_FREQ)}, got {freq!r}", "unknown unit", "freq")
    if not freq_multiplier > 0:
        raise invalid(
            f"freq_multiplier must be > 0, got {freq_multiplier!r}",
            "non-positive multiplier",
            "freq_multiplier",
        )
    every, unit_us = _FREQ[freq]
    unit = unit_us * float(freq_multiplier)

    wanted = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col else [])
    frame = _as_polars(transactions, wanted)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"transactions have no column {', '.join(map(repr, missing))}",
            errors=[{"rule": "missing column", "field": c, "count": None} for c in missing],
        )
    at, time_zone = _timestamps(frame, datetime_col)
    value = pl.col(monetary_value_col).cast(pl.Float64) if monetary_value_col else pl.lit(0.0)
    try:
        log = frame.select(pl.col(customer_id_col), at.alias(_AT), value.alias(_VALUE))
    except pl.exceptions.PolarsError as exc:
        raise invalid(
            f"cannot read {datetime_col} as datetimes or {monetary_value_col} as numbers: {exc}",
            "unreadable column",
            datetime_col,
        ) from exc
    nulls = log.null_count().row(0, named=True)
    names = {customer_id_col: customer_id_col, _AT: datetime_col, _VALUE: monetary_value_col}
    broken = [("null", names[c], n) for c, n in nulls.items() if n]
    nans = int(log[_VALUE].is_nan().sum())
    if nans:
        broken.append(("NaN", monetary_value_col, nans))
    if broken:
        raise InvalidInput(
            "; ".join(f"{r} {c} in {n} transaction{'s' if n != 1 else ''}" for r, c, n in broken),
            errors=[{"rule": r, "field": c, "count": n} for r, c, n in broken],
        )
    if log.height == 0:
        raise invalid("no transactions", "empty", "transactions", 0)

    obs_end = (
        _moment(observation_period_end, "observation_period_end", time_zone)
        if observation_period_end is not None
        else cast(datetime, log[_AT].max())
    )
    log = log.with_columns(pl.col(_AT).dt.truncate(every).alias(_PERIOD))

    def periods(rows: pl.DataFrame) -> pl.DataFrame:
        return rows.group_by(customer_id_col, _PERIOD).agg(pl.col(_VALUE).sum())

    if calibration_period_end is None:
        end = _truncate(obs_end, every)
        summary = _per_customer(
            periods(log.filter(pl.col(_PERIOD) <= end)), customer_id_col, end, unit
        )
        if summary.height == 0:
            raise invalid(
                "no transactions up to observation_period_end", "empty", "observation_period_end", 0
            )
        if not monetary_value_col:
            summary = summary.drop("monetary_value")
        return summary.sort(customer_id_col)

    cal_end = _moment(calibration_period_end, "calibration_period_end", time_zone)
    if cal_end >= obs_end:
        raise invalid(
            f"calibration_period_end ({cal_end}) must be before observation_period_end ({obs_end})",
            "empty holdout",
            "calibration_period_end",
        )
    calibration = _per_customer(
        periods(log.filter(pl.col(_AT) <= cal_end)),
        customer_id_col,
        _truncate(cal_end, every),
        unit,
    )
    holdout_rows = log.filter((pl.col(_AT) > cal_end) & (pl.col(_AT) <= obs_end))
    if calibration.height == 0 or holdout_rows.height == 0:
        period = "calibration" if calibration.height == 0 else "holdout"
        raise invalid(f"no transactions in the {period} period", "empty", period, 0)
    holdout = (
        periods(holdout_rows)
        .group_by(customer_id_col)
        .agg(
            pl.len().cast(pl.Int64).alias("frequency_holdout"),
            pl.col(_VALUE).mean().alias("monetary_value_holdout"),
        )
    )
    duration = (_truncate(obs_end, every) - _truncate(cal_end, every)) / _MICROSECOND / unit
    summary = (
        calibration.rename({c: f"{c}_cal" for c in ("frequency", "recency", "T", "monetary_value")})
        .join(holdout, on=customer_id_col, how="left")
        .with_columns(
            pl.col("frequency_holdout").fill_null(0),
            pl.col("monetary_value_holdout").fill_null(0.0),
            pl.lit(duration, dtype=pl.Float64).alias("duration_holdout"),
        )
    )
    if not monetary_value_col:
        summary = summary.drop("monetary_value_cal", "monetary_value_holdout")
    return summary.sort(customer_id_col)
