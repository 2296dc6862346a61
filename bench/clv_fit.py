"""BG/NBD + Gamma-Gamma on the full CDNOW cohort: shopsense.clv against lifetimes 0.11.3.

Run with the benchmark dependencies: ``uv run --group bench python bench/clv_fit.py``.

1. Summarises CDNOW_master.txt (23,570 customers) with a 39-week calibration ending
   1997-09-30 and a 39-week holdout ending 1998-06-30, repeat purchases counted per distinct
   day, recency and T in weeks; checks the summary equals lifetimes' calibration_and_holdout_data.
2. Fits both models with both libraries on the same arrays, timing the fit calls only (median
   of several repeats), and compares the parameters.
3. Validates the BG/NBD forecast on the holdout as Fader, Hardie & Lee (2005) do: predicted
   versus actual repeat purchases per customer, in total and by calibration frequency.

The last line printed is JSON: ours_s, lifetimes_s, ratio, max_param_rel_diff and more.
Exits 0 with a message when the data set is absent.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shopsense.clv import BetaGeoModel, GammaGammaModel, summary_from_transactions

CALIBRATION_END = date(1997, 9, 30)
OBSERVATION_END = date(1998, 6, 30)
LIFETIMES_REPORTED = {"r": 0.2516, "alpha": 4.7889, "a": 0.7234, "b": 2.1611}


def datasets_root() -> Path | None:
    configured = os.environ.get("SHOPSENSE_DATASETS")
    root = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    )
    return root if root.is_dir() else None


def read_cdnow(path: Path) -> pl.DataFrame:
    """Whitespace-separated: customer id, date YYYYMMDD, number of CDs, dollar value."""
    lines = path.read_text().split("\n")
    fields = [line.split() for line in lines]
    fields = [f for f in fields if len(f) == 4 and f[0].isdigit()]
    return pl.DataFrame(
        {
            "customer_id": [f[0] for f in fields],
            "date": [f[1] for f in fields],
            "cds": [int(f[2]) for f in fields],
            "dollars": [float(f[3]) for f in fields],
        }
    ).with_columns(pl.col("date").str.to_date("%Y%m%d"))


def median_time(call: Callable[[], Any], repeats: int) -> float:
    call()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rel_diff(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs)


def main() -> int:
    root = datasets_root()
    path = root / "cdnow" / "CDNOW_master.txt" if root else None
    if path is None or not path.is_file():
        print(
            "CDNOW data set absent (looked for cdnow/CDNOW_master.txt under SHOPSENSE_DATASETS "
            "or ../shared/datasets): nothing to benchmark."
        )
        return 0
    try:
        import pandas as pd
        from lifetimes import BetaGeoFitter, GammaGammaFitter
        from lifetimes.utils import calibration_and_holdout_data
    except ImportError as exc:
        print(
            f"lifetimes is not installed ({exc}): run "
            "`uv run --group bench python bench/clv_fit.py`",
            file=sys.stderr,
        )
        return 1
    # lifetimes 0.11.3 predates pandas 3 and warns about options it sets; not our concern here.
    warnings.filterwarnings("ignore", module="lifetimes")
    warnings.filterwarnings("ignore", category=FutureWarning)

    transactions = read_cdnow(path)
    print(
        f"CDNOW: {transactions.height:,} transactions, "
        f"{transactions['customer_id'].n_unique():,} customers"
    )

    # 1. The summary, ours and lifetimes'.
    start = time.perf_counter()
    summary = summary_from_transactions(
        transactions,
        "customer_id",
        "date",
        "dollars",
        observation_period_end=OBSERVATION_END,
        freq="D",
        freq_multiplier=7,
        calibration_period_end=CALIBRATION_END,
    )
    ours_summary_s = time.perf_counter() - start
    frame = pd.DataFrame(
        {
            "customer_id": transactions["customer_id"].to_list(),
            "date": pd.to_datetime(transactions["date"].to_list()),
            "dollars": transactions["dollars"].to_list(),
        }
    )
    start = time.perf_counter()
    theirs_summary = calibration_and_holdout_data(
        frame,
        "customer_id",
        "date",
        calibration_period_end=str(CALIBRATION_END),
        observation_period_end=str(OBSERVATION_END),
        freq="D",
        freq_multiplier=7,
        monetary_value_col="dollars",
    ).sort_index()
    lifetimes_summary_s = time.perf_counter() - start
    compared = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]
    compared += ["frequency_holdout", "duration_holdout"]
    assert summary["customer_id"].to_list() == list(theirs_summary.index)
    summary_diff = max(
        float(np.max(np.abs(summary[c].to_numpy() - theirs_summary[c].to_numpy())))
        for c in compared
    )
    print(
        f"summary: {summary.height:,} customers; ours {ours_summary_s:.3f} s, lifetimes "
        f"{lifetimes_summary_s:.3f} s; largest difference over {', '.join(compared)}: "
        f"{summary_diff:.2e}"
    )

    # 2. The fits, on the same arrays.
    x = summary["frequency_cal"].to_numpy().astype(np.float64)
    t_x = summary["recency_cal"].to_numpy()
    t_obs = summary["T_cal"].to_numpy()
    spend = summary["monetary_value_cal"].to_numpy()
    repeat = (x > 0) & (spend > 0)
    print(
        f"Gamma-Gamma on {int(repeat.sum()):,} repeat buyers "
        f"({int(((x > 0) & (spend <= 0)).sum())} with only $0 repeat purchases left out)"
    )
    x_rep, m_rep = x[repeat], spend[repeat]

    ours_bg = BetaGeoModel().fit(x, t_x, t_obs)
    ours_gg = GammaGammaModel().fit(x_rep, m_rep)
    theirs_bg = BetaGeoFitter().fit(x, t_x, t_obs)
    theirs_gg = GammaGammaFitter().fit(x_rep, m_rep)
    assert ours_bg.params_ is not None and ours_gg.params_ is not None

    ours_bg_s = median_time(lambda: BetaGeoModel().fit(x, t_x, t_obs), 31)
    ours_gg_s = median_time(lambda: GammaGammaModel().fit(x_rep, m_rep), 31)
    theirs_bg_s = median_time(lambda: BetaGeoFitter().fit(x, t_x, t_obs), 7)
    theirs_gg_s = median_time(lambda: GammaGammaFitter().fit(x_rep, m_rep), 7)

    pairs = [(k, ours_bg.params_[k], float(theirs_bg.params_[k])) for k in ("r", "alpha", "a", "b")]
    pairs += [
        (k, ours_gg.params_[k], float(theirs_gg.params_[t]))
        for k, t in (("p", "p"), ("q", "q"), ("gamma", "v"))
    ]
    print(f"{'param':>6} {'shopsense':>12} {'lifetimes':>12} {'rel diff':>10}")
    for name, ours, theirs in pairs:
        print(f"{name:>6} {ours:12.6f} {theirs:12.6f} {rel_diff(ours, theirs):10.2e}")
    max_rel = max(rel_diff(ours, theirs) for _, ours, theirs in pairs)
    reported = max(rel_diff(ours_bg.params_[k], v) for k, v in LIFETIMES_REPORTED.items())
    print(f"BG/NBD vs lifetimes' reported 4-decimal figures: largest rel diff {reported:.1e}")
    print(f"BG/NBD log-likelihood {ours_bg.log_likelihood_:.2f} ({ours_bg.n_iter_} iterations)")

    ours_s = ours_bg_s + ours_gg_s
    theirs_s = theirs_bg_s + theirs_gg_s
    print(
        f"fit time (median): BG/NBD ours {ours_bg_s * 1e3:.2f} ms, lifetimes "
        f"{theirs_bg_s * 1e3:.1f} ms ({theirs_bg_s / ours_bg_s:.1f}x); Gamma-Gamma ours "
        f"{ours_gg_s * 1e3:.2f} ms, lifetimes {theirs_gg_s * 1e3:.1f} ms "
        f"({theirs_gg_s / ours_gg_s:.1f}x); both {theirs_s / ours_s:.1f}x"
    )

    # 3. Holdout validation, as Fader, Hardie & Lee (2005), section 5.
    duration = float(summary["duration_holdout"][0])
    actual = summary["frequency_holdout"].to_numpy().astype(np.float64)
    predicted = ours_bg.conditional_expected_purchases(duration, x, t_x, t_obs)
    mae = float(np.mean(np.abs(predicted - actual)))
    rmse = float(np.sqrt(np.mean((predicted - actual) ** 2)))
    # The cohort forecast without individual histories: each customer, T_cal weeks after
    # their first purchase, is expected to make E(T_cal + 39) - E(T_cal) purchases.
    cohort = ours_bg.expected_purchases(t_obs + duration) - ours_bg.expected_purchases(t_obs)
    print(
        f"holdout ({duration:.0f} weeks): actual {actual.sum():,.0f} repeat purchases, "
        f"conditional forecast {predicted.sum():,.0f} ({predicted.sum() / actual.sum() - 1:+.1%}), "
        f"cohort forecast {cohort.sum():,.0f}; per customer MAE {mae:.3f}, RMSE {rmse:.3f}"
    )
    print(f"{'x_cal':>6} {'customers':>10} {'actual':>8} {'predicted':>10}")
    by_x = []
    for k in range(8):
        chosen = x == k if k < 7 else x >= 7
        label = str(k) if k < 7 else "7+"
        row = (
            label,
            int(chosen.sum()),
            float(actual[chosen].mean()),
            float(predicted[chosen].mean()),
        )
        by_x.append(row)
        print(f"{row[0]:>6} {row[1]:>10,} {row[2]:8.3f} {row[3]:10.3f}")

    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "ours_s": round(ours_s, 6),
        "lifetimes_s": round(theirs_s, 6),
        "ratio": round(theirs_s / ours_s, 2),
        "max_param_rel_diff": float(f"{max_rel:.3g}"),
        "bg_ours_s": round(ours_bg_s, 6),
        "bg_lifetimes_s": round(theirs_bg_s, 6),
        "gg_ours_s": round(ours_gg_s, 6),
        "gg_lifetimes_s": round(theirs_gg_s, 6),
        "params": {name: round(ours, 6) for name, ours, _ in pairs},
        "summary_max_abs_diff": summary_diff,
        "holdout_actual": int(actual.sum()),
        "holdout_predicted": round(float(predicted.sum()), 1),
        "holdout_cohort_predicted": round(float(cohort.sum()), 1),
        "holdout_mae": round(mae, 4),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
