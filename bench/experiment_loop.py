"""The measurement loop end to end: an experiment created, run on simulated traffic through
the real recommendation engine, and read out.

A demo store is generated and the recommenders trained; then an experiment is created
(A = hybrid, B = popular, a 10 % holdout with no personalization). Each simulated visit is a
``POST /analytics/recommendations`` call through ``PersonalizationEngine`` (strategy auto, so
the experiment routes it), a ``recommendation_view`` event, and with a planted probability per
strategy a ``recommendation_click`` on one of the items and, with a planted probability, a
purchase of it — all through the tracking service. The read-out (``experiment_results``) must
find the planted CTRs inside its intervals and rank B below A; the sample-ratio check must pass.
The read-out is timed against the live attribution of the same period (the baseline), after
the rollup has stored the closed days.

    uv run python bench/experiment_loop.py [--users 3000] [--visits 12000]

Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shopsense.clock import utcnow
from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.experiments import registry
from shopsense.experiments.results import experiment_results
from shopsense.recommend.engine import PersonalizationEngine
from shopsense.recommend.request import RecommendationRequest
from shopsense.recommend.training import train
from shopsense.settings import Settings
from shopsense.tracking.service import track_events

CTR = {"hybrid": 0.15, "popular": 0.10}  # planted click probability per list, by strategy
BUY = 0.3  # planted purchase probability after a click


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "< 1e-12" if value < 1e-12 else f"{value:.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3_000)
    parser.add_argument("--visits", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    spec = StoreSpec(users=args.users, products=300, days=60, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        upgrade(url)
        settings = Settings(database_url=url, models_dir=Path(tmp) / "models", log_json=False)
        db = Database(url, sqlite_synchronous="OFF")
        truth = generate_store(db, spec, settings=settings)
        as_of = datetime.combine(spec.end, datetime.min.time()) + timedelta(days=1)
        train(db, settings, as_of)
        started = utcnow() - timedelta(seconds=1)  # the answers are logged at the wall clock
        experiment = registry.ExperimentIn.model_validate(
            {"name": "loop", "holdout": 0.1, "baseline_rate": CTR["popular"],
             "variants": [{"name": "A", "strategy": "hybrid"},
                          {"name": "B", "strategy": "popular"}]}
        )  # fmt: skip
        with db.write() as conn:
            registry.create(conn, experiment, started)
        engine = PersonalizationEngine(db, settings)
        users = sorted(truth["users"])
        clock = started
        events: list[dict[str, Any]] = []
        served = time.perf_counter()
        for visit in range(args.visits):
            user = rng.choice(users)
            clock = max(clock + timedelta(milliseconds=1), utcnow())
            answer = engine.recommend(RecommendationRequest(user_id=user, limit=4))
            rid = answer["recommendation_id"]
            at = clock.isoformat() + "Z"
            events.append({"event_id": f"v{visit}", "type": "recommendation_view",
                           "user_id": user, "recommendation_id": rid, "timestamp": at})  # fmt: skip
            strategy = "hybrid" if answer["experiment"]["variant"] == "A" else "popular"
            if answer["items"] and rng.random() < CTR[strategy]:
                item = rng.choice(answer["items"])
                events.append({"event_id": f"c{visit}", "type": "recommendation_click",
                               "user_id": user, "recommendation_id": rid,
                               "position": item["rank"], "product_id": item["product_id"],
                               "timestamp": at})  # fmt: skip
                if rng.random() < BUY:
                    events.append({"event_id": f"p{visit}", "type": "purchase", "user_id": user,
                                   "order_id": f"loop-{visit}", "timestamp": at,
                                   "items": [{"product_id": item["product_id"],
                                              "price": item["price"] or 1.0}]})  # fmt: skip
            if len(events) >= 900:
                track_events(db, events, settings=settings, received_at=clock.replace(tzinfo=UTC))
                events = []
        track_events(db, events, settings=settings, received_at=clock.replace(tzinfo=UTC))
        served = time.perf_counter() - served
        t = time.perf_counter()
        report = experiment_results(db, "loop", now=clock + timedelta(minutes=1))
        read_out = time.perf_counter() - t
        db.dispose()
    rows = {v["variant"]: v for v in report["variants"]}
    print(f"{args.visits:,} visits served and tracked in {served:.0f} s; read-out {read_out:.2f} s")
    for name, v in rows.items():
        m = v["metrics"]["ctr"]
        lift = m.get("lift")
        ci = m.get("lift_ci") or [None, None]
        print(
            f"  {name:8s} {v['strategy']:8s} users {v['users']:5,}  impressions "
            f"{v['impressions']:6,}  CTR {m['value']:.4f}"
            + (
                f"  lift {100 * lift:+.1f} % [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]  "
                f"p {_p(m['p_value'])}  always-valid p {_p(m['sequential_p_value'])}"
                if lift is not None
                else "  (control)"
            )
        )
    print(
        f"  sample ratio p = {report['srm']['p_value']:.3g}, mismatch: {report['srm']['mismatch']}"
    )
    planted_b = CTR["popular"] / CTR["hybrid"] - 1
    summary = {
        "date": datetime.now().date().isoformat(),
        "visits": args.visits,
        "ctr": {k: v["metrics"]["ctr"]["value"] for k, v in rows.items()},
        "planted_ctr": {"A": CTR["hybrid"], "B": CTR["popular"], "holdout": CTR["popular"]},
        "lift_B": rows["B"]["metrics"]["ctr"]["lift"],
        "lift_B_ci": rows["B"]["metrics"]["ctr"]["lift_ci"],
        "planted_lift_B": round(planted_b, 4),
        "p_value_B": rows["B"]["metrics"]["ctr"]["p_value"],
        "sequential_p_value_B": rows["B"]["metrics"]["ctr"]["sequential_p_value"],
        "srm_p": report["srm"]["p_value"],
        "users": {k: v["users"] for k, v in rows.items()},
        "read_out_s": round(read_out, 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
