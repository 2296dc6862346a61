"""Validation: the profiles recover what the demo generator planted.

Generates a store (default 2,000 customers x 90 days) into a fresh SQLite file, computes
every profile at the end of its history and prints the recovery figures: preferred hour and
main device (exact share), price sensitivity and brand loyalty (Spearman against the planted
values) and planted churners flagged at_risk/churned (precision, recall), with the
Bayes-optimal churn posterior that knows the true visit rates as the yardstick.
Last line: JSON.

    uv run python bench/planted_recovery.py [--users 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.demo.recovery import evaluate
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        upgrade(url)
        settings = Settings(database_url=url)
        db = Database(url, sqlite_synchronous="OFF")
        spec = StoreSpec(users=args.users, products=args.products, days=args.days, seed=args.seed)
        started = time.perf_counter()
        truth = generate_store(db, spec, settings=settings)
        generated = time.perf_counter() - started
        as_of = datetime.combine(spec.end, dtime(23, 59))
        with db.read() as conn:
            profiles, _ = ProfileEngine(db, settings).compute(conn, as_of)
        db.dispose()
    figures = evaluate(profiles, json.loads(json.dumps(truth, default=str)))
    figures["store"] = {
        "users": args.users,
        "products": args.products,
        "days": args.days,
        "seed": args.seed,
    }
    figures["generate_s"] = round(generated, 1)
    for key, value in figures.items():
        print(f"{key:32s} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
