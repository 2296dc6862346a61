"""Recommendation performance as the logs grow: the rollup path against live attribution.

Generates demo stores of growing size (the simulated recommendation lists, clicks and
attributed purchases grow with the customers), then times ``recommendation_performance``
over the whole history grouped by strategy, context, position and variant — the endpoint's
path, with the closed days kept in ``recommendation_rollup`` — against computing the same
report live from the events (the baseline), and checks both give the same figures.

    uv run python bench/measurement.py [--users 3000 10000]

Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.experiments.attribution import attribute
from shopsense.experiments.performance import (
    daily_rows,
    recommendation_performance,
    refresh_rollup,
    summarise,
)
from shopsense.settings import Settings

GROUP_BY = ["strategy", "context", "position", "variant"]


def best(call: Any, repeats: int = 3) -> tuple[Any, float]:
    result, fastest = None, float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        fastest = min(fastest, time.perf_counter() - started)
    return result, fastest


def _live(db: Database, start: datetime, end: datetime) -> dict[str, Any]:
    """The same report computed from the events alone."""
    with db.read() as conn:
        rows = daily_rows(attribute(conn, start, end))
    return {"totals": summarise(rows, [])[0], "groups": summarise(rows, GROUP_BY)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[3_000, 10_000])
    args = parser.parse_args()
    results = []
    for users in args.users:
        spec = StoreSpec(users=users, products=400, days=90, seed=42)
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'store.db'}"
            upgrade(url)
            db = Database(url, sqlite_synchronous="OFF")
            truth = generate_store(db, spec, settings=Settings(database_url=url))
            start = datetime.combine(spec.start, datetime.min.time())
            end = datetime.combine(spec.end, datetime.min.time()) + timedelta(days=1)
            now = end + timedelta(days=9)  # every day of the history is closed
            started = time.perf_counter()
            refresh_rollup(db, now)
            first_fill = time.perf_counter() - started

            baseline, live_s = best(lambda d=db, a=start, b=end: _live(d, a, b))
            report, stored_s = best(
                lambda d=db, a=start, b=end, n=now: recommendation_performance(
                    d, a, b, GROUP_BY, now=n
                )
            )
            same = baseline["totals"] == report["totals"] and baseline["groups"] == report["groups"]
            events = int(truth["counts"]["events"])
            db.dispose()
        row = {
            "users": users,
            "events": events,
            "impressions": report["totals"]["impressions"],
            "live_s": round(live_s, 4),
            "rollup_s": round(stored_s, 4),
            "ratio": round(live_s / stored_s, 1),
            "first_fill_s": round(first_fill, 2),
            "identical": same,
        }
        results.append(row)
        print(
            f"{users:,} customers, {events:,} events, {row['impressions']:,} list views: live "
            f"{live_s:.3f} s, from the rollup {stored_s:.4f} s -> {row['ratio']}x; same figures: "
            f"{same} (first fill {first_fill:.1f} s)"
        )
    print(json.dumps({"date": datetime.now().date().isoformat(), "stores": results}))


if __name__ == "__main__":
    main()
