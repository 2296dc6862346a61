"""Own-price elasticities on Online Retail: what the estimator finds in real price variation.

    uv run python bench/elasticity_online_retail.py

Data: ``$SHOPSENSE_DATASETS/online_retail/online_retail.csv.gz`` (default
``../shared/datasets``); exits 0 with a message when it is absent. Lines kept: non-cancelled
invoices (InvoiceNo not starting with "C"), Quantity > 0, UnitPrice > 0, and merchandise only
(StockCode starting with five digits: postage, carriage, manual adjustments, fees and the
like are dropped). Observations: one row per StockCode and ISO week (``period`` = the Monday
of the week), ``quantity`` = units sold that week, ``price`` = revenue-weighted average unit
price (sum of price x quantity / sum of quantity), ``cost`` null (the data set has none).

Category: Online Retail has none. As a rough stand-in, a product's category is the first word
of its most common Description (e.g. "SET", "VINTAGE", "RED"). It groups products only
loosely, but it gives the season effects (shared within the category) and the pooled
fallback estimate something to pool over.

Fit: :func:`shopsense.profit.elasticity.estimate_elasticities` at the default thresholds,
three times: ``season="week"`` (ISO week of the year, shared within the category),
``"month"`` and ``"none"`` (no season controls). Reported for each: products with a
product-level estimate, confident estimates (confidence interval excluding 0), how many are
negative, elastic (< -1) and inelastic (-1..0), the distribution of the confident
elasticities, and the runtime of the fit.

Caveat: prices in Online Retail mostly vary for reasons other than demand (wholesale
quantity-break prices: the unit price is lower when more units are bought), so the weekly
average price falls when a big order comes in. That ties low prices to high quantities
mechanically and biases these estimates towards (large) negative values; they are not
causal demand elasticities. Last output line: JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from shopsense.profit.elasticity import Season, estimate_elasticities

SEASONS: list[Season] = ["week", "month", "none"]
QUANTILES = [("min", 0.0), ("p10", 0.10), ("p25", 0.25), ("median", 0.5), ("p75", 0.75)]
QUANTILES += [("p90", 0.90), ("max", 1.0)]


def weekly_observations(path: Path) -> tuple[pl.DataFrame, int]:
    """Per StockCode and ISO week observations, and the number of lines kept."""
    lines = pl.read_csv(
        path,
        infer_schema_length=0,
        columns=["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"],
    ).select(
        pl.col("InvoiceNo"),
        pl.col("StockCode"),
        pl.col("Description").str.strip_chars(),
        pl.col("Quantity").cast(pl.Int64),
        pl.col("InvoiceDate").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.date().alias("day"),
        pl.col("UnitPrice").cast(pl.Float64),
    )
    lines = lines.filter(
        ~pl.col("InvoiceNo").str.starts_with("C")
        & (pl.col("Quantity") > 0)
        & (pl.col("UnitPrice") > 0)
        & pl.col("StockCode").str.contains(r"^\d{5}")
    )
    # rough category: first word of the product's most common description
    category = (
        lines.filter(pl.col("Description").is_not_null() & (pl.col("Description") != ""))
        .group_by("StockCode", "Description")
        .len()
        .sort(["StockCode", "len", "Description"], descending=[False, True, False])
        .group_by("StockCode", maintain_order=True)
        .first()
        .select(
            "StockCode",
            pl.col("Description").str.split(" ").list.first().alias("category"),
        )
    )
    obs = (
        lines.with_columns(pl.col("day").dt.truncate("1w").alias("period"))
        .group_by("StockCode", "period")
        .agg(
            pl.col("Quantity").sum().alias("quantity"),
            (pl.col("UnitPrice") * pl.col("Quantity")).sum().alias("revenue"),
        )
        .join(category, on="StockCode", how="left")
        .select(
            pl.col("StockCode").alias("product_id"),
            pl.col("category"),
            pl.col("period"),
            (pl.col("revenue") / pl.col("quantity")).alias("price"),
            pl.col("quantity").cast(pl.Float64),
            pl.lit(None, dtype=pl.Float64).alias("cost"),
        )
        .sort("product_id", "period")
    )
    return obs, lines.height


def main() -> None:
    root = Path(os.environ.get("SHOPSENSE_DATASETS", "../shared/datasets"))
    path = root / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        print(f"{path} not found: set SHOPSENSE_DATASETS to the folder holding online_retail/")
        sys.exit(0)

    obs, n_lines = weekly_observations(path)
    n_categories = obs.get_column("category").n_unique()
    print(
        f"{n_lines:,} lines -> {obs.height:,} product-weeks, "
        f"{obs.get_column('product_id').n_unique():,} products, {n_categories:,} rough categories"
    )

    results = [fit(obs, season) for season in SEASONS]
    summary = {
        "date": date.today().isoformat(),
        "data": "online_retail",
        "lines": n_lines,
        "product_weeks": obs.height,
        "categories": n_categories,
        "fits": results,
    }
    print(json.dumps(summary))


def fit(obs: pl.DataFrame, season: Season) -> dict[str, object]:
    """One fit at the default thresholds, printed and summarised."""
    started = time.perf_counter()
    est = estimate_elasticities(obs, season=season)
    runtime = time.perf_counter() - started
    products = est.height
    by_source = dict(est.group_by("source").len().iter_rows())
    product_level = int(by_source.get("product", 0))
    confident = est.filter(pl.col("confident"))
    values = confident.get_column("elasticity").to_numpy().astype(np.float64)
    n_confident = int(values.size)
    negative = int((values < 0).sum())
    elastic = int((values < -1).sum())
    distribution = {
        name: (round(float(np.quantile(values, q)), 3) if n_confident else None)
        for name, q in QUANTILES
    }
    print(f"-- season={season!r}: fit {runtime:.2f} s")
    print(
        f"   product-level estimates: {product_level:,} of {products:,} "
        f"({100 * product_level / products:.1f} %); category fallback: "
        f"{by_source.get('category', 0):,}; none: {by_source.get('none', 0):,}"
    )
    print(f"   confident (CI excludes 0): {n_confident:,}; negative {negative:,}")
    if n_confident:
        print(
            "   confident elasticities: "
            + ", ".join(f"{name} {value:.2f}" for name, value in distribution.items())
        )
    return {
        "season": season,
        "products": products,
        "product_level": product_level,
        "category_fallback": int(by_source.get("category", 0)),
        "no_estimate": int(by_source.get("none", 0)),
        "confident": n_confident,
        "confident_negative": negative,
        "elastic": elastic,
        "inelastic": int(((values >= -1) & (values < 0)).sum()),
        "distribution": distribution,
        "runtime_s": round(runtime, 3),
    }


if __name__ == "__main__":
    main()
