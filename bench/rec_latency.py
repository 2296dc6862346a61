"""Latency of ``POST /analytics/recommendations`` against ``GET /health`` on the same server,
in the same run.

    uv run python bench/rec_latency.py [--requests N] [--clients N] [--quick] [--folder DIR]

A fresh SQLite database in a temporary folder is filled with the Online Retail file
(``shopsense import online-retail``) and every default model, the hybrid ranker included, is
trained at as_of 2011-12-10 into a temporary models folder; ``--quick`` generates a demo
store (1,000 users, 200 products, 90 days, seed 7) instead. A ``shopsense serve`` process
(uvicorn, one worker) is started on a free port with those settings; two product views are
tracked for each of a few hundred anonymous sessions through ``/analytics/track-activity``.

The recommendation requests are a mix, in turn: a known customer's home page (strategy
auto: the hybrid), a visitor's product page, a known customer's cart of three items, and an
anonymous session's home page (the two tracked views); ``limit`` 10. Each client alternates
one recommendation request and one ``/health`` request, so whatever slows the machine slows
both series alike: first one client (sequential), then ``--clients`` threads with an
``httpx.Client`` each (concurrent), after warm-up requests that are not counted.
Each series has 2,000 recommendation requests (500 with ``--quick``) and as many health
requests, after 100 (50) warm-up requests of each. ``ratio`` = recommendation p99 / health
p99 of the concurrent series (``single_ratio``: the sequential one); p50 and p99 per request
kind are printed too. ``--folder`` keeps the database and the trained version there and
reuses them on the next run (for profiling; recorded figures come from fresh runs). The
last line of output is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import serving
from shopsense.api.params import parse_as_of
from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.importers.online_retail import import_online_retail
from shopsense.recommend.artifacts import newest
from shopsense.recommend.training import train
from shopsense.settings import Settings

RELATIVE = Path("online_retail") / "online_retail.csv.gz"
AS_OF = "2011-12-10"  # as `shopsense train --as-of 2011-12-10`: the end of that day
QUICK_SPEC = StoreSpec(users=1000, products=200, days=90, seed=7)
WRITE_KEY = "bench-write-key"
SECRET_KEY = "bench-secret-key"  # noqa: S105 - a throwaway key for a local server
KINDS = ("home", "product", "cart", "session")
SESSIONS = 300
POPULAR_ITEMS = 500  # pages and carts show items among the most interacted-with


def dataset_path() -> Path | None:
    """``$SHOPSENSE_DATASETS`` or the shared data sets beside the checkout."""
    root = Settings().datasets
    path = root / RELATIVE if root is not None else None
    return path if path is not None and path.is_file() else None


# -- setup -------------------------------------------------------------------------------------


def prepare(folder: Path, quick: bool) -> tuple[Settings, str, Path]:
    """A migrated database with data and a trained version; answers the settings, a
    description of the data and the version's folder. A folder prepared before (``--folder``)
    is reused as it is."""
    url = f"sqlite:///{folder / 'shop.db'}"
    settings = Settings(database_url=url, models_dir=folder / "models", datasets=None)
    described = folder / "data.txt"
    if (version := newest(settings.models_dir)) is not None and described.is_file():
        print(f"reusing {folder}")
        return settings, described.read_text(), version
    upgrade(url)
    db = Database.from_settings(settings)
    try:
        started = time.perf_counter()
        if quick:
            generate_store(db, QUICK_SPEC, settings=settings)
            as_of = parse_as_of(QUICK_SPEC.end.isoformat())
            data = (
                f"demo store ({QUICK_SPEC.users:,} users, {QUICK_SPEC.products} products, "
                f"{QUICK_SPEC.days} days, seed {QUICK_SPEC.seed})"
            )
        else:
            path = dataset_path()
            if path is None:
                sys.exit(f"no {RELATIVE} under SHOPSENSE_DATASETS; use --quick")
            import_online_retail(db, path, settings=settings)
            as_of, data = parse_as_of(AS_OF), "Online Retail (UCI)"
        print(f"data: {data}, loaded in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        version = train(db, settings, as_of)
        meta = json.loads((version / "metadata.json").read_text())
        print(
            f"trained {', '.join(meta['models'])} at as_of {as_of:%Y-%m-%d} "
            f"in {time.perf_counter() - started:.1f} s"
        )
    finally:
        db.dispose()
    described.write_text(data)
    return settings, data, version


def request_mix(
    version: Path, sessions: list[tuple[str, str]], seed: int = 7
) -> list[dict[str, Any]]:
    """Request bodies in turn of ``KINDS``, from the version's known customers (with
    history) and its most interacted-with items."""
    with np.load(version / "index.npz", allow_pickle=False) as saved:
        users = saved["user_ids"].astype(str)
        items = saved["item_ids"].astype(str)
        indptr = saved["matrix.indptr"]
        columns = saved["matrix.indices"]
    customers = users[np.diff(indptr) > 0].tolist()
    counts = np.bincount(columns, minlength=len(items))
    popular = items[np.argsort(-counts, kind="stable")[:POPULAR_ITEMS]].tolist()
    rng = random.Random(seed)
    bodies: list[dict[str, Any]] = []
    for n in range(4 * 1000):
        kind = KINDS[n % len(KINDS)]
        if kind == "home":
            body = {"user_id": rng.choice(customers), "context": "home", "strategy": "auto"}
        elif kind == "product":
            body = {
                "anonymous_id": f"visitor-{rng.randrange(1_000_000):06d}",
                "context": "product",
                "product_id": rng.choice(popular),
            }
        elif kind == "cart":
            body = {
                "user_id": rng.choice(customers),
                "context": "cart",
                "cart": rng.sample(popular, 3),
            }
        else:
            anonymous_id, session_id = rng.choice(sessions)
            body = {"anonymous_id": anonymous_id, "session_id": session_id, "context": "home"}
        bodies.append(body | {"limit": 10})
    return bodies


def track_sessions(base: str, version: Path, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Two product views for each of ``count`` anonymous sessions, tracked through the API
    a moment before the measurement; answers (anonymous_id, session_id) pairs."""
    with np.load(version / "index.npz", allow_pickle=False) as saved:
        items = saved["item_ids"].astype(str).tolist()
    rng = random.Random(seed)
    at = datetime.now(UTC) - timedelta(minutes=5)
    events, pairs = [], []
    for n in range(count):
        anonymous_id, session_id = f"anon-{n:05d}", uuid.UUID(int=rng.getrandbits(128)).hex
        pairs.append((anonymous_id, session_id))
        for step in range(2):
            stamp = (at + timedelta(seconds=30 * step)).isoformat()
            events.append(
                {
                    "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "type": "product_view",
                    "anonymous_id": anonymous_id,
                    "session_id": session_id,
                    "product_id": rng.choice(items),
                    "timestamp": stamp,
                    "sent_at": stamp,
                    "context": {"page_url": "https://shop.example/p"},
                }
            )
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    for start in range(0, len(events), 500):
        answer = httpx.post(
            f"{base}/analytics/track-activity",
            json={"batch": events[start : start + 500]},
            headers=headers,
            timeout=60,
        )
        answer.raise_for_status()
        if answer.json()["rejected"]:
            raise RuntimeError(f"events rejected: {answer.json()['rejected'][:3]}")
    return pairs


# -- the server --------------------------------------------------------------------------------


@contextmanager
def running_server(settings: Settings, log: Path) -> Iterator[str]:
    """``shopsense serve`` (uvicorn, one worker) on a free port with ``settings``' database
    and models, logging to ``log``; yields its base URL once ``/health`` answers."""
    env = {
        "SHOPSENSE_DATABASE_URL": settings.database_url,
        "SHOPSENSE_MODELS_DIR": str(settings.models_dir),
        "SHOPSENSE_WRITE_KEY": WRITE_KEY,
        "SHOPSENSE_SECRET_KEY": SECRET_KEY,
        "SHOPSENSE_RETRAIN_INTERVAL_MINUTES": "0",
        "SHOPSENSE_LOG_JSON": "true",
    }
    with serving.running_server(env, log) as base:
        yield base


# -- measuring ---------------------------------------------------------------------------------


def alternate(
    base: str, bodies: list[dict[str, Any]], health_first: bool
) -> tuple[list[float], list[float], list[str]]:
    """One client posting each body, each followed (or preceded) by a ``/health`` request;
    answers the recommendation and health latencies in ms and the strategies answered."""
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    rec, health, strategies = [], [], []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for body in bodies:
            for which in ("health", "rec") if health_first else ("rec", "health"):
                started = time.perf_counter()
                if which == "rec":
                    answer = http.post("/analytics/recommendations", json=body)
                else:
                    answer = http.get("/health")
                elapsed = (time.perf_counter() - started) * 1000.0
                if answer.status_code != 200:
                    raise RuntimeError(f"{which}: {answer.status_code} {answer.text[:300]}")
                if which == "rec":
                    rec.append(elapsed)
                    strategies.append(answer.json()["strategy"])
                else:
                    health.append(elapsed)
    return rec, health, strategies


def series(
    base: str, bodies: list[dict[str, Any]], clients: int
) -> tuple[list[float], list[float], list[str], list[str]]:
    """Every body once, spread over ``clients`` threads started together; answers latencies,
    strategies and the kind of each recommendation request."""
    shares = [list(range(n, len(bodies), clients)) for n in range(clients)]
    gate = threading.Barrier(clients)

    def worker(n: int) -> tuple[list[float], list[float], list[str]]:
        gate.wait()
        return alternate(base, [bodies[k] for k in shares[n]], health_first=n % 2 == 1)

    rec: list[float] = []
    health: list[float] = []
    strategies: list[str] = []
    kinds: list[str] = []
    with ThreadPoolExecutor(clients) as pool:
        for n, (r, h, s) in enumerate(pool.map(worker, range(clients))):
            rec += r
            health += h
            strategies += s
            kinds += [_kind(bodies[k]) for k in shares[n]]
    return rec, health, strategies, kinds


def _kind(body: dict[str, Any]) -> str:
    if body["context"] != "home":
        return str(body["context"])
    return "session" if "session_id" in body else "home"


def summary(rec: list[float], health: list[float], kinds: list[str]) -> dict[str, Any]:
    r, h = np.asarray(rec), np.asarray(health)
    out: dict[str, Any] = {
        "requests": len(r),
        "p50_ms": round(float(np.percentile(r, 50)), 2),
        "p99_ms": round(float(np.percentile(r, 99)), 2),
        "health_p50_ms": round(float(np.percentile(h, 50)), 2),
        "health_p99_ms": round(float(np.percentile(h, 99)), 2),
    }
    out["ratio"] = round(out["p99_ms"] / out["health_p99_ms"], 2)
    labels = np.asarray(kinds)
    out["by_kind_p50_p99_ms"] = {
        kind: [
            round(float(np.percentile(r[labels == kind], 50)), 2),
            round(float(np.percentile(r[labels == kind], 99)), 2),
        ]
        for kind in KINDS
        if (labels == kind).any()
    }
    return out


def _show(title: str, s: dict[str, Any]) -> None:
    print(
        f"{title:<24} recommendations p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms | "
        f"health p50 {s['health_p50_ms']:6.2f} ms  p99 {s['health_p99_ms']:6.2f} ms | "
        f"ratio {s['ratio']:.2f}"
    )
    for kind, (p50, p99) in s["by_kind_p50_p99_ms"].items():
        print(f"    {kind:<8} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a demo store: under 30 s")
    parser.add_argument("--requests", type=int, help="recommendations a series (default 2,000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--warmup", type=int, help="uncounted requests first (default 100)")
    parser.add_argument(
        "--folder", type=Path, help="keep the database and models here and reuse them next time"
    )
    args = parser.parse_args()
    count = args.requests or (500 if args.quick else 2_000)
    warmup = args.warmup if args.warmup is not None else (50 if args.quick else 100)
    began = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="shopsense-rec-latency-") as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        settings, data, version = prepare(folder, args.quick)
        started = time.perf_counter()
        with running_server(settings, folder / "server.log") as base:
            print(f"server up in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            sessions = track_sessions(base, version, SESSIONS)
            bodies = request_mix(version, sessions)
            need = warmup + 2 * count
            bodies = (bodies * (need // len(bodies) + 1))[:need]
            warm, single_bodies = bodies[:warmup], bodies[warmup:][:count]
            concurrent_bodies = bodies[warmup + count :]
            series(base, warm, 1)
            series(base, warm, args.clients)
            rec, health, strategies, kinds = series(base, single_bodies, 1)
            single = summary(rec, health, kinds)
            rec, health, more, kinds = series(base, concurrent_bodies, args.clients)
            concurrent = summary(rec, health, kinds)
            strategies += more
            print(f"measured in {time.perf_counter() - started:.1f} s")

    used = {s: strategies.count(s) for s in sorted(set(strategies))}
    print(f"data: {data}; strategies answered: {used}")
    _show("1 client", single)
    _show(f"{args.clients} clients", concurrent)
    goal = concurrent["ratio"] <= 3.0 and single["ratio"] <= 3.0
    print(f"goal (p99 <= 3x health p99, both series): {'met' if goal else 'not met'}")
    load = os.getloadavg()[0]
    print(f"whole run {time.perf_counter() - began:.1f} s; load average {load:.2f} on this machine")
    result = {
        "data": data,
        "mode": "quick" if args.quick else "full",
        "clients": args.clients,
        "requests": concurrent["requests"],
        "p50_ms": concurrent["p50_ms"],
        "p99_ms": concurrent["p99_ms"],
        "health_p50_ms": concurrent["health_p50_ms"],
        "health_p99_ms": concurrent["health_p99_ms"],
        "ratio": concurrent["ratio"],
        "single_requests": single["requests"],
        "single_p50_ms": single["p50_ms"],
        "single_p99_ms": single["p99_ms"],
        "single_health_p50_ms": single["health_p50_ms"],
        "single_health_p99_ms": single["health_p99_ms"],
        "single_ratio": single["ratio"],
        "goal_met": goal,
        "strategies": used,
        "load_average": round(load, 2),
        "date": datetime.now(UTC).date().isoformat(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
