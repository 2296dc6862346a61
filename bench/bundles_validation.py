"""Validation: do complementary bundles hold items that are really bought together?

Part 1, Online Retail (``--part retail``): rules mined (``mine_rules`` at the default settings:
min support 0.002, min lift 1.5, up to triples) from the non-cancelled lines with quantity > 0
before 2011-11-09, then the last 30 days held out. For each held-out basket of two or more
distinct items and each of its items the training data knows (an anchor), the engine's
complementary bundle for that anchor (``complementary``, max size 2, then 3) against two
baselines for the same anchors: a random partner (seeded) and the best seller (by baskets; the
second best for the best seller itself). Figures: basket hit rate (share of held-out baskets
where an offered set for one of its items lies wholly in the basket), anchor precision (share
of offers lying wholly in their basket) and coverage (share of anchors with an offer).

Part 2, demo store (``--part demo``): a store generated with planted co-purchase groups
(3,000 customers x 400 products x 90 days; without ``--quick`` also 10,000 customers), mined
with ``mine`` and asked through ``BundleAutomationEngine``. A group is eligible when at least
the run's ``min_count`` non-cancelled orders hold all of it (it is at the mined support).
Group recall: share of eligible groups whose first product's complementary bundle (limit 1,
max size = the group's size) is exactly the group; pair recall: share of the eligible groups'
pairs that are mined rules; precision: share of the products' complementary bundles (limit 1,
max size 4) that lie wholly inside one planted group.

    uv run python bench/bundles_validation.py [--part retail|demo|all] [--quick]

Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shopsense.bundles import BundleAutomationEngine, BundleRequest, load_rules, mine, mine_rules
from shopsense.bundles.baskets import LINE_SCHEMA, order_lines
from shopsense.bundles.candidates import complementary
from shopsense.bundles.rules import RULE_SCHEMA, StoredRules
from shopsense.bundles.state import BundleData, build_data
from shopsense.clock import utcnow
from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.recommend.interactions import ITEM_SCHEMA
from shopsense.settings import Settings

SPLIT = datetime(2011, 11, 9)  # the last 30 days of Online Retail are held out
SEED = 7
DEFAULTS = ("min_support", "min_lift", "max_len")  # the project's mining settings, unchanged
METHODS = ("ours", "random", "popular")
DEMO_STORES = (3_000, 10_000)  # customers; 400 products x 90 days, seed 42


# -- Part 1: Online Retail, temporal split --------------------------------------------------


def _retail_lines(path: Path) -> pl.DataFrame:
    """Non-cancelled lines with quantity > 0, typed."""
    raw = pl.read_csv(
        path,
        infer_schema_length=0,
        columns=[
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
        ],
    )
    return raw.filter(
        ~pl.col("InvoiceNo").str.starts_with("C") & (pl.col("Quantity").cast(pl.Int64) > 0)
    ).select(
        pl.col("InvoiceNo").alias("basket"),
        pl.col("StockCode").alias("item"),
        pl.col("InvoiceDate")
        .str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
        .alias("placed_at"),
        pl.col("Quantity").cast(pl.Int64).alias("quantity"),
        pl.col("CustomerID").alias("user_id"),
        pl.col("Description").alias("description"),
        pl.col("UnitPrice").cast(pl.Float64).alias("price"),
    )


def _retail_items(train: pl.DataFrame) -> pl.DataFrame:
    """The training catalog in ``ITEM_SCHEMA``: the most common description as the name, the
    median unit price, a 40 % margin, stock not tracked."""
    names = (
        train.filter(pl.col("description").is_not_null())
        .group_by("item", "description")
        .len()
        .sort(["item", "len", "description"], descending=[False, True, False])
        .group_by("item", maintain_order=True)
        .first()
        .select("item", pl.col("description").alias("name"))
    )
    prices = train.group_by("item").agg(pl.col("price").median())
    items = prices.join(names, on="item", how="left").sort("item")
    return items.select(
        pl.col("item").alias("item_id"),
        pl.col("name"),
        pl.lit(None, pl.String).alias("description"),
        pl.lit(None, pl.String).alias("category"),
        pl.lit(None, pl.String).alias("brand"),
        pl.col("price"),
        (0.6 * pl.col("price")).alias("cost"),
        pl.lit(None, pl.Int64).alias("stock"),
        pl.lit(True).alias("active"),
        pl.lit(None, pl.String).alias("attributes"),
    ).cast(ITEM_SCHEMA)  # type: ignore[arg-type]


def _offers(
    data: BundleData,
    baskets: list[tuple[str, ...]],
    popular: list[str],
    size: int,
    rng: np.random.Generator,
) -> dict[str, list[list[frozenset[str] | None]]]:
    """Per method, per basket, the set offered for each known anchor (None: no offer)."""
    ids = data.catalog.ids
    index = data.catalog.index
    ours: dict[str, frozenset[str] | None] = {}
    found: dict[str, list[list[frozenset[str] | None]]] = {m: [] for m in METHODS}
    for basket in baskets:
        per: dict[str, list[frozenset[str] | None]] = {m: [] for m in METHODS}
        for anchor in basket:
            if anchor not in index:
                continue
            if anchor not in ours:
                candidates = complementary(data, [index[anchor]], set(), size)
                ours[anchor] = (
                    frozenset(ids[i] for i in candidates[0].items) if candidates else None
                )
            per["ours"].append(ours[anchor])
            others: set[str] = set()
            while len(others) < size - 1:
                pick = ids[int(rng.integers(len(ids)))]
                if pick != anchor:
                    others.add(pick)
            per["random"].append(frozenset({anchor, *others}))
            top = [p for p in popular if p != anchor][: size - 1]
            per["popular"].append(frozenset({anchor, *top}))
        for m in METHODS:
            found[m].append(per[m])
    return found


def _score(
    baskets: list[tuple[str, ...]],
    offers: list[list[frozenset[str] | None]],
    size: int | None = None,
) -> dict[str, float | int]:
    """Basket hit rate, anchor precision and coverage; ``size``: only offers of that many
    items count (a smaller offer is no offer)."""
    hits = anchors = offered = contained = 0
    for basket, per in zip(baskets, offers, strict=True):
        items = set(basket)
        hit = False
        for offer in per:
            anchors += 1
            if offer is None or (size is not None and len(offer) != size):
                continue
            offered += 1
            if offer <= items:
                contained += 1
                hit = True
        hits += hit
    return {
        "hit_rate": round(hits / max(len(baskets), 1), 4),
        "precision": round(contained / max(offered, 1), 4),
        "coverage": round(offered / max(anchors, 1), 4),
        "basket_hits": hits,
        "offers": offered,
        "anchors": anchors,
    }


def retail(root: Path) -> dict[str, Any]:
    path = root / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        print(f"Online Retail: {path} not found (set SHOPSENSE_DATASETS); part skipped")
        return {"skipped": f"{path} not found"}
    started = time.perf_counter()
    lines = _retail_lines(path)
    train = lines.filter(pl.col("placed_at") < SPLIT)
    test = lines.filter(pl.col("placed_at") >= SPLIT)
    defaults = {k: Settings.model_fields[f"bundle_{k}"].default for k in DEFAULTS}
    rules, n_train, n_itemsets, min_count = mine_rules(
        train.select("basket", "item"),
        defaults["min_support"],
        defaults["min_lift"],
        defaults["max_len"],
    )
    mined_s = time.perf_counter() - started
    as_of = train["placed_at"].max()
    assert isinstance(as_of, datetime)
    orders = StoredRules("retail", "orders", as_of + timedelta(seconds=1), n_train, rules)
    sessions = StoredRules(None, "sessions", None, 0, pl.DataFrame(schema=RULE_SCHEMA))
    items = _retail_items(train)
    data = build_data(items, orders, sessions, train.select(list(LINE_SCHEMA)).cast(LINE_SCHEMA))  # type: ignore[arg-type]
    popular = (
        train.select("basket", "item")
        .unique()
        .group_by("item")
        .len()
        .sort(["len", "item"], descending=[True, False])
        .head(3)["item"]
        .to_list()
    )
    grouped = (
        test.select("basket", "item")
        .unique()
        .group_by("basket")
        .agg(pl.col("item").sort())
        .filter(pl.col("item").list.len() >= 2)
        .sort("basket")
    )
    baskets = [tuple(b) for b in grouped["item"].to_list()]
    known = set(data.catalog.index)
    with_anchor = sum(any(i in known for i in b) for b in baskets)
    print(
        f"Online Retail: {n_train:,} training baskets before {SPLIT:%Y-%m-%d}, "
        f"{data.catalog.size:,} items, {rules.height:,} rules "
        f"({int((rules['size'] == 2).sum()):,} pair, {int((rules['size'] == 3).sum()):,} "
        f"triple; min count {min_count}) in {mined_s:.1f} s"
    )
    print(
        f"  held out: {len(baskets):,} baskets of 2+ items from {SPLIT:%Y-%m-%d} "
        f"({with_anchor:,} with a known item)"
    )
    result: dict[str, Any] = {
        "split": SPLIT.date().isoformat(),
        "train_baskets": n_train,
        "train_items": data.catalog.size,
        "min_count": min_count,
        "itemsets": n_itemsets,
        "rules": rules.height,
        "pair_rules": int((rules["size"] == 2).sum()),
        "triple_rules": int((rules["size"] == 3).sum()),
        "test_baskets": len(baskets),
        "test_baskets_with_known_item": with_anchor,
        "popular": popular[:2],
    }
    for size in (2, 3):
        offers = _offers(data, baskets, popular, size, np.random.default_rng(SEED))
        scores = {m: _score(baskets, offers[m], size) for m in METHODS}
        block: dict[str, Any] = dict(scores)
        if size == 3:  # ours as offered: a pair when no third item was mined with both
            block["ours_as_offered"] = _score(baskets, offers["ours"])
            sizes = Counter(len(o) for per in offers["ours"] for o in per if o is not None)
            block["ours_offer_sizes"] = {str(k): v for k, v in sorted(sizes.items())}
        for base in ("random", "popular"):
            block[f"ratio_{base}"] = round(
                scores["ours"]["hit_rate"] / max(scores[base]["hit_rate"], 1e-9), 2
            )
        result[f"size_{size}"] = block
        print(f"  max size {size}:")
        for m in METHODS:
            s = scores[m]
            print(
                f"    {m:8s} basket hit rate {s['hit_rate']:.4f}  anchor precision "
                f"{s['precision']:.4f}  coverage {s['coverage']:.4f}"
            )
        if size == 3:
            s = block["ours_as_offered"]
            print(
                f"    ours as offered (pairs included) hit rate {s['hit_rate']:.4f}  precision "
                f"{s['precision']:.4f}  coverage {s['coverage']:.4f}; sizes "
                f"{block['ours_offer_sizes']}"
            )
        print(
            f"    ours / random {block['ratio_random']}x, ours / popular "
            f"{block['ratio_popular']}x (basket hit rate)"
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# -- Part 2: demo store, planted co-purchase groups ----------------------------------------


def _products(answer: dict[str, Any]) -> frozenset[str] | None:
    bundles = answer["bundles"]
    if not bundles:
        return None
    return frozenset(p["product_id"] for p in bundles[0]["products"])


def demo(users: int) -> dict[str, Any]:
    spec = StoreSpec(users=users, products=400, days=90, seed=42)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        upgrade(url)
        settings = Settings(database_url=url)
        db = Database(url, sqlite_synchronous="OFF")
        started = time.perf_counter()
        truth = generate_store(db, spec, settings=settings)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        summary = next(s for s in mine(db, settings) if s.source == "orders")
        mined = time.perf_counter() - started
        with db.read() as conn:
            lines = order_lines(conn, utcnow())
            rules = load_rules(conn, "orders").rules
        groups = [list(g["products"]) for g in truth["co_purchase_groups"]]
        pairs = lines.select("basket", "item").unique()
        support = []
        for group in groups:
            holding = (
                pairs.filter(pl.col("item").is_in(group))
                .group_by("basket")
                .len()
                .filter(pl.col("len") == len(group))
            )
            support.append(holding.height)
        eligible = [g for g, n in zip(groups, support, strict=True) if n >= summary.min_count]
        mined_pairs = {
            frozenset([*a, c])
            for a, c, lift in rules.filter(pl.col("size") == 2)
            .select("antecedent", "consequent", "lift")
            .iter_rows()
            if lift >= settings.bundle_min_lift
        }
        engine = BundleAutomationEngine(db, settings)
        started = time.perf_counter()
        exact = subset = 0
        answers = []
        for group in eligible:
            request = BundleRequest(
                product_id=group[0], types=["complementary"], max_size=len(group), limit=1
            )
            offered = _products(engine.bundles(request))
            answers.append(sorted(offered) if offered else None)
            exact += offered == frozenset(group)
            subset += offered is not None and len(offered) >= 2 and offered <= frozenset(group)
        group_pairs = [frozenset(p) for g in eligible for p in combinations(g, 2)]
        pair_hits = sum(p in mined_pairs for p in group_pairs)
        planted = [frozenset(g) for g in groups]
        catalog = engine.served().data.catalog.ids
        offered_all = inside = 0
        for product in catalog:
            request = BundleRequest(
                product_id=product, types=["complementary"], max_size=4, limit=1
            )
            offered = _products(engine.bundles(request))
            if offered is None:
                continue
            offered_all += 1
            inside += any(offered <= g for g in planted)
        asked = time.perf_counter() - started
        # Seasonal and promotional bundles against what was planted: the Christmas products
        # (demand peaking on 15 December, rising through the last weeks of the history) and
        # the overstocked slow movers; baselines are their shares of the catalog.
        as_of = datetime(spec.end.year, spec.end.month, spec.end.day, 23, 59)
        christmas = set(truth["seasonal_products"]["christmas"]["products"])
        slow = set(truth["slow_movers"])
        answer = engine.bundles(BundleRequest(types=["seasonal"], limit=10), as_of=as_of)
        seasonal_items = [p["product_id"] for b in answer["bundles"] for p in b["products"]]
        answer = engine.bundles(BundleRequest(types=["promotional"], limit=20), as_of=as_of)
        leads = [b["products"][0]["product_id"] for b in answer["bundles"]]
        db.dispose()
    result = {
        "users": users,
        "products": spec.products,
        "days": spec.days,
        "seed": spec.seed,
        "orders": lines["basket"].n_unique(),
        "mined_baskets": summary.baskets,
        "min_count": summary.min_count,
        "rules": summary.rules,
        "groups": len(groups),
        "group_sizes": [len(g) for g in groups],
        "group_support": support,
        "eligible_groups": len(eligible),
        "group_recall": round(exact / max(len(eligible), 1), 4),
        "group_subset_recall": round(subset / max(len(eligible), 1), 4),
        "pair_recall": round(pair_hits / max(len(group_pairs), 1), 4),
        "eligible_pairs": len(group_pairs),
        "products_with_bundle": offered_all,
        "precision": round(inside / max(offered_all, 1), 4),
        "bundles_inside_group": inside,
        "seasonal_items": len(seasonal_items),
        "seasonal_christmas_share": round(
            sum(p in christmas for p in seasonal_items) / max(len(seasonal_items), 1), 4
        ),
        "christmas_catalog_share": round(len(christmas) / spec.products, 4),
        "promotional_leads": len(leads),
        "slow_mover_recall": round(sum(p in leads for p in slow) / max(len(slow), 1), 4),
        "slow_mover_precision": round(sum(p in slow for p in leads) / max(len(leads), 1), 4),
        "slow_mover_catalog_share": round(len(slow) / spec.products, 4),
        "generate_s": round(generated, 1),
        "mine_s": round(mined, 1),
        "requests_s": round(asked, 1),
    }
    print(
        f"demo store {users:,} customers x {spec.products} products x {spec.days} days: "
        f"{result['orders']:,} orders, min count {summary.min_count}, {summary.rules:,} rules "
        f"(generated {generated:.0f} s, mined {mined:.1f} s)"
    )
    print(
        f"  planted groups {len(groups)} (sizes {result['group_sizes']}), orders holding each "
        f"{support}; eligible {len(eligible)}"
    )
    print(
        f"  group recall {result['group_recall']:.3f} ({exact}/{len(eligible)} exact), subset "
        f"{result['group_subset_recall']:.3f}, pair recall {result['pair_recall']:.3f} "
        f"({pair_hits}/{len(group_pairs)})"
    )
    for group, answer in zip(eligible, answers, strict=True):
        if answer is None or frozenset(answer) != frozenset(group):
            print(f"    missed {group}: offered {answer}")
    print(
        f"  precision {result['precision']:.3f} ({inside}/{offered_all} products' bundles "
        f"inside a planted group)"
    )
    print(
        f"  seasonal bundles: {result['seasonal_christmas_share']:.2f} of their "
        f"{len(seasonal_items)} items are planted Christmas products (catalog share "
        f"{result['christmas_catalog_share']:.2f}); promotional leads: "
        f"{result['slow_mover_precision']:.2f} planted slow movers (catalog share "
        f"{result['slow_mover_catalog_share']:.2f}), recall {result['slow_mover_recall']:.2f} "
        f"of {len(slow)}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("retail", "demo", "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="only the smaller demo store")
    args = parser.parse_args()
    root = Path(os.environ.get("SHOPSENSE_DATASETS", "../shared/datasets"))
    summary: dict[str, Any] = {"date": date.today().isoformat()}
    if args.part in ("retail", "all"):
        summary["retail"] = retail(root)
    if args.part in ("demo", "all"):
        stores = DEMO_STORES[:1] if args.quick else DEMO_STORES
        summary["demo"] = [demo(users) for users in stores]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
