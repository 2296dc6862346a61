"""summary_from_transactions on a hand-made log, against figures worked out by hand."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from shopsense.clv import InvalidInput, summary_from_transactions

# 2024-01-01 is a Monday, so calendar weeks start on the 1st, 8th, 15th, 22nd and 29th.
LOG = pl.DataFrame(
    [
        ("A", "2024-01-01 10:00", 10.0),
        ("A", "2024-01-01 15:00", 5.0),  # same day as the first: one purchase worth 15
        ("A", "2024-01-05 09:00", 20.0),
        ("A", "2024-01-11 12:00", 30.0),
        ("A", "2024-01-11 13:00", 10.0),  # same day: one purchase worth 40
        ("A", "2024-01-20 16:00", 50.0),
        ("B", "2024-01-20 08:00", 40.0),
        ("C", "2024-01-10 11:00", 8.0),
        ("C", "2024-01-10 19:00", 12.0),
        ("D", "2024-02-05 10:00", 99.0),  # after the end of observation
        ("E", "2024-01-02 10:00", 10.0),
        ("E", "2024-01-31 23:00", 7.0),  # on the last day, after midnight
    ],
    schema={"customer": pl.String, "at": pl.String, "amount": pl.Float64},
    orient="row",
).with_columns(pl.col("at").str.to_datetime("%Y-%m-%d %H:%M"))


def rows(frame: pl.DataFrame) -> dict[str, dict[str, float]]:
    return {r.pop("customer"): r for r in frame.to_dicts()}


def test_daily_summary() -> None:
    """Up to 2024-01-31 by day. A: purchases on days 0, 4, 10, 19 (15, 20, 40, 50);
    B and C: one purchase day each; D: later; E: days 1 and 30 (10, 7)."""
    summary = summary_from_transactions(
        LOG, "customer", "at", "amount", observation_period_end="2024-01-31"
    )
    assert summary.columns == ["customer", "frequency", "recency", "T", "monetary_value"]
    assert summary.schema["frequency"] == pl.Int64
    assert rows(summary) == {
        "A": {"frequency": 3, "recency": 19.0, "T": 30.0, "monetary_value": pytest.approx(110 / 3)},
        "B": {"frequency": 0, "recency": 0.0, "T": 11.0, "monetary_value": 0.0},
        "C": {"frequency": 0, "recency": 0.0, "T": 21.0, "monetary_value": 0.0},
        # The end of observation is truncated to its day, so the 23:00 purchase counts.
        "E": {"frequency": 1, "recency": 29.0, "T": 29.0, "monetary_value": 7.0},
    }


def test_weekly_summary_and_multiplier() -> None:
    """By Monday-based week: A buys in weeks 0 (35), 1 (40), 2 (50); the end is in week 4."""
    weekly = summary_from_transactions(
        LOG, "customer", "at", "amount", observation_period_end="2024-01-31", freq="W"
    )
    assert rows(weekly)["A"] == {"frequency": 2, "recency": 2.0, "T": 4.0, "monetary_value": 45.0}
    assert rows(weekly)["B"] == {"frequency": 0, "recency": 0.0, "T": 2.0, "monetary_value": 0.0}
    # Days counted, weeks reported.
    in_weeks = summary_from_transactions(
        LOG,
        "customer",
        "at",
        observation_period_end=datetime(2024, 1, 31),
        freq="D",
        freq_multiplier=7,
    )
    assert in_weeks.columns == ["customer", "frequency", "recency", "T"]
    a = rows(in_weeks)["A"]
    assert (a["frequency"], a["recency"], a["T"]) == (
        3,
        pytest.approx(19 / 7),
        pytest.approx(30 / 7),
    )


def test_observation_ends_with_the_last_transaction_by_default() -> None:
    summary = rows(summary_from_transactions(LOG, "customer", "at", "amount"))
    assert summary["D"] == {"frequency": 0, "recency": 0.0, "T": 0.0, "monetary_value": 0.0}
    assert summary["A"]["T"] == 35.0


def test_calibration_and_holdout() -> None:
    """Calibration up to 2024-01-10 00:00, holdout to 2024-01-31 00:00 (21 days).
    A: calibration days 0 and 4 (15, 20), holdout purchases of 40 and 50. E: calibration
    day 1; its 23:00 purchase on the 31st is after the holdout's end. B and C first bought
    after the calibration period, so they are not in it (as in lifetimes)."""
    summary = summary_from_transactions(
        LOG,
        "customer",
        "at",
        "amount",
        observation_period_end="2024-01-31",
        calibration_period_end="2024-01-10",
    )
    assert summary.columns == [
        "customer",
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    assert rows(summary) == {
        "A": {
            "frequency_cal": 1,
            "recency_cal": 4.0,
            "T_cal": 9.0,
            "monetary_value_cal": 20.0,
            "frequency_holdout": 2,
            "monetary_value_holdout": 45.0,
            "duration_holdout": 21.0,
        },
        "E": {
            "frequency_cal": 0,
            "recency_cal": 0.0,
            "T_cal": 8.0,
            "monetary_value_cal": 0.0,
            "frequency_holdout": 0,
            "monetary_value_holdout": 0.0,
            "duration_holdout": 21.0,
        },
    }


def test_dates_and_pandas_input() -> None:
    pd = pytest.importorskip("pandas")
    log = LOG.with_columns(pl.col("at").dt.date())
    expected = summary_from_transactions(log, "customer", "at", "amount", "2024-01-31")
    frame = pd.DataFrame(
        {
            "customer": log["customer"].to_list(),
            "at": pd.to_datetime(log["at"].to_list()),
            "amount": log["amount"].to_list(),
        }
    )
    assert summary_from_transactions(frame, "customer", "at", "amount", "2024-01-31").equals(
        expected
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer_id_col": "who"}, "no column 'who'"),
        ({"freq": "M"}, "freq must be one of"),
        ({"freq_multiplier": 0}, "freq_multiplier must be > 0"),
        ({"calibration_period_end": "2024-02-10"}, "must be before observation_period_end"),
        ({"calibration_period_end": "2023-12-01"}, "no transactions in the calibration period"),
        ({"observation_period_end": "31/01/2024"}, "not an ISO date"),
        ({"observation_period_end": "2023-01-01"}, "no transactions up to"),
    ],
)
def test_argument_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"customer_id_col": "customer", "datetime_col": "at"} | kwargs
    with pytest.raises(InvalidInput, match=message):
        summary_from_transactions(LOG, **arguments)  # type: ignore[arg-type]


def test_null_values_are_counted() -> None:
    log = LOG.with_columns(
        pl.when(pl.col("customer") == "C").then(None).otherwise(pl.col("amount")).alias("amount")
    )
    with pytest.raises(InvalidInput, match="null amount in 2 transactions"):
        summary_from_transactions(log, "customer", "at", "amount")
    log = LOG.with_columns(
        pl.when(pl.col("customer") == "B")
        .then(float("nan"))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    with pytest.raises(InvalidInput, match="NaN amount in 1 transaction$"):
        summary_from_transactions(log, "customer", "at", "amount")


def test_non_datetime_column_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="must hold dates or datetimes"):
        summary_from_transactions(LOG, "customer", "amount")
