"""Latency of the dashboard's JSON endpoints against ``GET /health`` on the same server, in
the same run, on a generated store of about 1,000,000 events.

    uv run python bench/dashboard.py [--users N] [--requests N] [--quick] [--folder DIR]

A demo store (23,000 customers, 500 products, 90 days, seed 42: about 1,000,000 events) is
generated into a fresh SQLite database in a temporary folder and its profiles are rebuilt;
``--quick`` makes a 2,000-customer store instead, ``--folder`` keeps the database there and
reuses it on the next run. A ``shopsense serve`` process (uvicorn, one worker) is started
on it. The period asked for is the store's last 30 days (with the 30 before as the
comparison), as a merchandiser's dashboard would show it.

For each endpoint, the first request (which computes the figures and fills the rollups and
the cache) is timed on its own (``first_s``). Then two series, each of ``--requests``
rounds (default 300) after 10 warm-up rounds; a round asks every endpoint once and
``/health`` once, in turn, from one client, so whatever slows the machine slows all of them
alike:

- ``idle``: nothing else happens;
- ``ingesting``: a second client tracks a purchase and a page view through
  ``/analytics/track-activity`` every 50 ms meanwhile, so the figures keep changing and
  are recomputed in the background while they are being read.

Per endpoint and series: p50 and p99 in ms and ``ratio`` = endpoint p99 / health p99 (goal:
under 20). The last line of output is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import serving
from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings

ENDPOINTS = (
    "/dashboard/overview",
    "/dashboard/user-analytics",
    "/dashboard/recommendation-analytics",
    "/dashboard/profit-analytics",
)
SECRET_KEY = "bench-secret-key"  # noqa: S105 - a throwaway key for a local server
WRITE_KEY = "bench-write-key"
WARMUP = 10
PERIOD_DAYS = 30


def prepare(folder: Path, spec: StoreSpec) -> tuple[str, int]:
    """A migrated database holding the store, profiles rebuilt; answers its URL and the
    number of events. A folder prepared before is reused as it is."""
    url = f"sqlite:///{folder / 'shop.db'}"
    marker = folder / "events.txt"
    if marker.is_file():
        print(f"reusing {folder}")
        return url, int(marker.read_text())
    upgrade(url)
    settings = Settings(database_url=url, datasets=None)
    db = Database.from_settings(settings)
    try:
        started = time.perf_counter()
        truth = generate_store(db, spec, settings=settings)
        events = int(truth["counts"]["events"])
        print(f"generated {events:,} events in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        ProfileEngine(db, settings).rebuild(datetime.combine(spec.end, datetime.max.time()))
        print(f"profiles rebuilt in {time.perf_counter() - started:.1f} s")
    finally:
        db.dispose()
    marker.write_text(str(events))
    return url, events


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}  # fmt: skip


def timed(client: httpx.Client, path: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
    return elapsed


def series(client: httpx.Client, params: dict[str, str], rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {path: [] for path in (*ENDPOINTS, "/health")}
    for n in range(WARMUP + rounds):
        for path in ENDPOINTS:
            elapsed = timed(client, path, params)
            health = timed(client, "/health", {})
            if n >= WARMUP:
                samples[path].append(elapsed)
                samples["/health"].append(health)
    return samples


def ingest(base: str, stop: threading.Event, end: date) -> Callable[[], int]:
    """Track a page view and a purchase every 50 ms until ``stop``; answers a function
    giving how many batches were accepted."""
    sent = [0]
    at = datetime.combine(end, datetime.min.time(), UTC) - timedelta(hours=1)

    def run() -> None:
        headers = {"Authorization": f"Bearer {WRITE_KEY}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while not stop.is_set():
                key = uuid.uuid4().hex
                stamp = (at + timedelta(seconds=sent[0])).isoformat()
                batch = [
                    {"event_id": f"v-{key}", "type": "page_view", "user_id": "bench-user",
                     "session_id": f"s-{key}", "timestamp": stamp},
                    {"event_id": f"b-{key}", "type": "purchase", "user_id": "bench-user",
                     "session_id": f"s-{key}", "order_id": f"o-{key}", "timestamp": stamp,
                     "items": [{"product_id": "P0001", "quantity": 1, "price": 10.0}]},
                ]  # fmt: skip
                client.post("/analytics/track-activity", json={"batch": batch}).raise_for_status()
                sent[0] += 1
                stop.wait(0.05)

    threading.Thread(target=run, daemon=True).start()
    return lambda: sent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=23_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="2,000 customers")
    parser.add_argument("--folder", type=Path, help="keep (and reuse) the database here")
    args = parser.parse_args()
    spec = StoreSpec(users=2_000 if args.quick else args.users, products=500, days=90, seed=42)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="shopsense-dashboard-"))
    folder.mkdir(parents=True, exist_ok=True)
    url, events = prepare(folder, spec)
    data = f"demo store, {spec.users:,} customers, {events:,} events"
    end = datetime.combine(spec.end + timedelta(days=1), datetime.min.time())
    params = {"from": (end - timedelta(days=PERIOD_DAYS)).isoformat(), "to": end.isoformat()}
    env = {"SHOPSENSE_DATABASE_URL": url, "SHOPSENSE_SECRET_KEY": SECRET_KEY,
           "SHOPSENSE_WRITE_KEY": WRITE_KEY, "SHOPSENSE_LOG_JSON": "false"}  # fmt: skip
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    results: dict[str, Any] = {"endpoints": {}}
    with (
        serving.running_server(env, folder / "server.log") as base,
        httpx.Client(base_url=base, headers=headers, timeout=600) as client,
    ):
        for path in ENDPOINTS:
            first = timed(client, path, params)
            results["endpoints"][path] = {"first_s": round(first, 3)}
            print(f"{path}: first request {first:.2f} s")
        idle = series(client, params, args.requests)
        stop = threading.Event()
        batches = ingest(base, stop, spec.end)
        try:
            busy = series(client, params, args.requests)
        finally:
            stop.set()
        results["ingested_batches"] = batches()
    for name, samples in (("idle", idle), ("ingesting", busy)):
        health = percentiles(samples["/health"])
        results[f"health_{name}"] = health
        print(f"-- {name}: /health p50 {health['p50_ms']} ms, p99 {health['p99_ms']} ms")
        for path in ENDPOINTS:
            figures = percentiles(samples[path])
            ratio = round(figures["p99_ms"] / health["p99_ms"], 2)
            results["endpoints"][path][name] = {**figures, "ratio": ratio}
            print(f"   {path}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
                  f"ratio {ratio}")  # fmt: skip
    worst = max(
        results["endpoints"][p][s]["ratio"] for p in ENDPOINTS for s in ("idle", "ingesting")
    )
    results |= {"date": date.today().isoformat(), "data": data, "rounds": args.requests,
                "worst_ratio": worst, "goal": 20, "met": worst < 20}  # fmt: skip
    print(json.dumps(results))
    if worst >= 20:
        sys.exit(1)


if __name__ == "__main__":
    main()
