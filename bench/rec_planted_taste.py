"""Validation: recommendations carry the demo store's planted tastes.

Generates a store (default 2,000 customers x 90 days), fits every recommender on it and
prints, per model, the mean share of each customer's top 10 (own items excluded) that lies
in the customer's planted favourite departments, and — over brand-loyal customers (planted
loyalty >= 0.5) — in their favourite brand; popularity is the baseline in the same run.
Last line: JSON.

    uv run python bench/rec_planted_taste.py [--users 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

import numpy as np

from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.recommend.data import load_interactions
from shopsense.recommend.models import MODELS
from shopsense.settings import Settings

MODELS_SHOWN = ("popular", "item_knn", "als", "ease", "content", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    spec = StoreSpec(users=args.users, products=args.products, days=90, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        upgrade(url)
        db = Database(url, sqlite_synchronous="OFF")
        truth = generate_store(db, spec, settings=Settings(database_url=url))
        with db.read() as conn:
            data = load_interactions(conn, datetime.combine(spec.end, dtime(23, 59)))
        db.dispose()
    users = json.loads(json.dumps(truth["users"], default=str))
    known = [u for u in users if data.user_index(u) >= 0]
    rows = np.array([data.user_index(u) for u in known])
    department = np.array([(c or "").split("/")[0] for c in data.items["category"].to_list()])
    brand = np.array(data.items["brand"].fill_null("").to_list())
    loyal = np.array([users[u]["brand_loyalty"] >= 0.5 for u in known])
    figures: dict[str, dict[str, float]] = {}
    for name in MODELS_SHOWN:
        started = time.perf_counter()
        model = MODELS[name]().fit(data)
        fit = time.perf_counter() - started
        ids, _ = model.recommend(rows, data.user_items(rows), n=10, filter_seen=True)
        dept = [
            np.isin(department[r[r >= 0]], users[u]["favourite_categories"]).mean()
            for u, r in zip(known, ids, strict=True)
        ]
        fav = [
            (brand[r[r >= 0]] == users[u]["favourite_brand"]).mean()
            for u, r, ok in zip(known, ids, loyal, strict=True)
            if ok
        ]
        figures[name] = {
            "favourite_department_share": round(float(np.mean(dept)), 4),
            "favourite_brand_share": round(float(np.mean(fav)), 4),
            "fit_seconds": round(fit, 1),
        }
        print(f"{name:10s} {figures[name]}")
    base = figures["popular"]
    for f in figures.values():
        f["department_vs_popular"] = round(
            f["favourite_department_share"] / base["favourite_department_share"], 2
        )
        f["brand_vs_popular"] = round(
            f["favourite_brand_share"] / max(base["favourite_brand_share"], 1e-9), 1
        )
    print(json.dumps({"store": vars(args), "customers": len(known), "models": figures}))


if __name__ == "__main__":
    main()
