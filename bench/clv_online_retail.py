"""Who buys in the next 90 days? BG/NBD on Online Retail against a recency-only baseline.

    uv run python bench/clv_online_retail.py

Calibration: every identified customer's invoices (non-cancelled, net of nothing: gross
invoice value) up to 2011-09-09; holdout: the 90 days after. Scores for "purchases in the
holdout": BG/NBD expected purchases in 90 days and P(alive), against the recency-only
baseline (days since the last purchase, fewer = more likely). Reported: ROC AUC of each, and
the 90-day revenue predicted (expected purchases x Gamma-Gamma expected spend) against the
actual, in total and per customer (MAE). Last output line: JSON. Exits 0 with a message when
the data set is absent.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import rankdata

from shopsense.clv import BetaGeoModel, GammaGammaModel, summary_from_transactions

CALIBRATION_END = date(2011, 9, 9)
HORIZON_DAYS = 90


def data_file() -> Path | None:
    configured = os.environ.get("SHOPSENSE_DATASETS")
    root = (
        Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared/datasets"
    )
    path = root / "online_retail" / "online_retail.csv.gz"
    return path if path.is_file() else None


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half)."""
    ranks = rankdata(score)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def invoices(path: Path) -> pl.DataFrame:
    lines = pl.read_csv(
        path,
        schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String, "CustomerID": pl.String},
        null_values=["", "NA"],
    )
    return (
        lines.filter(
            pl.col("CustomerID").is_not_null()
            & ~pl.col("InvoiceNo").str.starts_with("C")
            & (pl.col("Quantity") > 0)
        )
        .with_columns(
            pl.col("CustomerID").cast(pl.Float64).cast(pl.Int64).cast(pl.String),
            pl.col("InvoiceDate").str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False),
        )
        .group_by("InvoiceNo", "CustomerID")
        .agg(
            pl.col("InvoiceDate").min(),
            (pl.col("Quantity") * pl.col("UnitPrice")).sum().alias("value"),
        )
        .filter(pl.col("value") > 0)
    )


def main() -> int:
    path = data_file()
    if path is None:
        print("data set absent: no online_retail/online_retail.csv.gz; nothing to measure")
        return 0
    tx = invoices(path)
    end = CALIBRATION_END + timedelta(days=HORIZON_DAYS)
    s = summary_from_transactions(
        tx,
        "CustomerID",
        "InvoiceDate",
        "value",
        calibration_period_end=CALIBRATION_END,
        observation_period_end=end,
        freq="D",
    )
    x, t_x, big_t = s["frequency_cal"], s["recency_cal"], s["T_cal"]
    bgf = BetaGeoModel().fit(x, t_x, big_t)
    repeat = s.filter((pl.col("frequency_cal") > 0) & (pl.col("monetary_value_cal") > 0))
    ggf = GammaGammaModel().fit(repeat["frequency_cal"], repeat["monetary_value_cal"])
    expected = bgf.conditional_expected_purchases(HORIZON_DAYS, x, t_x, big_t)
    alive = bgf.probability_alive(x, t_x, big_t)
    monetary = s["monetary_value_cal"].to_numpy()
    spend = ggf.conditional_expected_average_profit(
        np.where(monetary > 0, x.to_numpy(), 0), monetary
    )
    bought = (s["frequency_holdout"] > 0).to_numpy()
    days_since = (big_t - t_x).to_numpy()
    actual_revenue = (s["frequency_holdout"] * s["monetary_value_holdout"]).fill_null(0.0)
    predicted_revenue = expected * spend
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "customers": s.height,
        "bought_in_holdout": int(bought.sum()),
        "params": {k: round(v, 6) for k, v in (bgf.params_ or {}).items()}
        | {k: round(v, 6) for k, v in (ggf.params_ or {}).items()},
        "auc_expected_purchases": round(auc(expected, bought), 4),
        "auc_probability_alive": round(auc(alive, bought), 4),
        "auc_recency_only": round(auc(-days_since, bought), 4),
        "revenue_actual": round(float(actual_revenue.sum()), 2),
        "revenue_predicted": round(float(predicted_revenue.sum()), 2),
        "revenue_mae": round(
            float(np.abs(predicted_revenue - actual_revenue.to_numpy()).mean()), 2
        ),
    }
    print(
        f"customers {result['customers']:,}, bought in the 90 days after 2011-09-09: "
        f"{result['bought_in_holdout']:,}"
    )
    print(
        f"ROC AUC  expected purchases {result['auc_expected_purchases']:.4f}   "
        f"P(alive) {result['auc_probability_alive']:.4f}   "
        f"recency only {result['auc_recency_only']:.4f}"
    )
    print(
        f"90-day revenue  predicted {result['revenue_predicted']:,.0f}   "
        f"actual {result['revenue_actual']:,.0f}   MAE per customer {result['revenue_mae']:,.2f}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
