"""Frequent itemsets on Online Retail: the sparse miner against mlxtend in the same run.

Baskets: non-cancelled invoices' lines with quantity > 0, distinct StockCodes (20,728 baskets,
3,941 items). Settings: min support 0.01 up to pairs, then 0.005 up to triples (``--quick``:
the first only). mlxtend's fpgrowth and apriori (``low_memory=True``) run on the same one-hot
frame; the result must be identical (same itemsets, same supports). Peak memory is measured
with tracemalloc around each call (numpy, scipy and pandas allocate through it). Needs the
bench dependency group: ``uv run --group bench python bench/itemsets.py [--quick]``.
Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from shopsense.bundles import basket_matrix, frequent_itemsets

SETTINGS = [(0.01, 2), (0.005, 3)]


def _measure(call: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    """Result, best wall time of ``repeats`` runs and peak traced MiB of the first."""
    tracemalloc.start()
    result = call()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return result, best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(os.environ.get("SHOPSENSE_DATASETS", "../shared/datasets"))
    path = root / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        print(f"{path} not found: set SHOPSENSE_DATASETS")
        sys.exit(0)
    try:
        import pandas as pd
        from mlxtend.frequent_patterns import apriori, fpgrowth
    except ImportError:
        print("mlxtend is a bench dependency: uv run --group bench python bench/itemsets.py")
        sys.exit(1)

    lines = pl.read_csv(path, infer_schema_length=0, columns=["InvoiceNo", "StockCode", "Quantity"])
    lines = lines.filter(
        ~pl.col("InvoiceNo").str.starts_with("C") & (pl.col("Quantity").cast(pl.Int64) > 0)
    )
    x, names = basket_matrix(lines, "InvoiceNo", "StockCode")
    onehot = pd.DataFrame.sparse.from_spmatrix(x.astype(bool), columns=names)
    dense = pd.DataFrame(x.toarray().astype(bool), columns=names)
    print(f"{x.shape[0]:,} baskets, {x.shape[1]:,} items")
    results = []
    for support, max_len in SETTINGS[:1] if args.quick else SETTINGS:
        ours, ours_s, ours_mib = _measure(
            lambda s=support, k=max_len: frequent_itemsets(x, s, k), args.repeats
        )
        fp, fp_s, fp_mib = _measure(
            lambda s=support, k=max_len: fpgrowth(
                dense, min_support=s, max_len=k, use_colnames=True
            ),
            1,
        )
        ap, ap_s, _ = _measure(
            lambda s=support, k=max_len: apriori(
                onehot, min_support=s, max_len=k, low_memory=True, use_colnames=True
            ),
            1,
        )
        mine = {
            frozenset(names[i] for i in items): count
            for items, count in ours.frame.select("items", "count").iter_rows()
        }
        n = x.shape[0]
        theirs = {
            frozenset(s): round(v * n) for s, v in zip(fp["itemsets"], fp["support"], strict=True)
        }
        theirs_ap = {
            frozenset(s): round(v * n) for s, v in zip(ap["itemsets"], ap["support"], strict=True)
        }
        identical = mine == theirs == theirs_ap
        faster = min(fp_s, ap_s)
        row = {
            "min_support": support,
            "max_len": max_len,
            "itemsets": len(mine),
            "ours_s": round(ours_s, 4),
            "fpgrowth_s": round(fp_s, 3),
            "apriori_s": round(ap_s, 3),
            "mlxtend_s": round(faster, 3),
            "ratio": round(faster / ours_s, 1),
            "identical": identical,
            "peak_mib": round(ours_mib, 1),
            "fpgrowth_peak_mib": round(fp_mib, 1),
        }
        results.append(row)
        print(
            f"support {support} up to {max_len}: {len(mine):,} itemsets; ours {ours_s:.3f} s "
            f"({ours_mib:.0f} MiB), fpgrowth {fp_s:.2f} s ({fp_mib:.0f} MiB), apriori "
            f"{ap_s:.2f} s -> {faster / ours_s:.0f}x; identical: {identical}"
        )
    last = results[-1]
    summary = {
        "date": date.today().isoformat(),
        "baskets": x.shape[0],
        "items": x.shape[1],
        "settings": results,
        "ours_s": last["ours_s"],
        "mlxtend_s": last["mlxtend_s"],
        "ratio": min(r["ratio"] for r in results),
        "identical": all(r["identical"] for r in results),
        "peak_mib": max(r["peak_mib"] for r in results),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
