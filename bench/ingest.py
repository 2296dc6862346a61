"""Tracking throughput over HTTP against a floor: the same rows written with the driver's
``executemany``.

    uv run python bench/ingest.py [--events N] [--clients N] [--quick] [--pg URL]

A ``shopsense serve`` process is started on a free port with a fresh database (a new SQLite
file in a temporary folder, or with ``--pg`` the URL's database with its ``public`` schema
dropped and re-created), migrated with ``shopsense.db.migrate.upgrade``. A few client threads
post realistic contract events - page and product views with user agents, searches, carts,
logins that merge anonymous history, purchases with items - in batches of 500, each event
with its own ``event_id``.

The baseline takes the rows the server stores (``validate_events(...).rows``, in
``user_activity`` column order) and inserts them with the raw driver into a fresh database of
the same kind, migrated the same way and with the same PRAGMAs, one transaction per 500 rows.
``ratio`` = events/s over HTTP / rows/s of the baseline. Both slow down as the table and
its seven indexes outgrow SQLite's page cache, the baseline more (it has less else to do), so
compare ratios at the same ``--events``. The last line of output is a JSON object with the
figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import serving
from shopsense.clock import now
from shopsense.db.migrate import upgrade
from shopsense.settings import Settings
from shopsense.tracking.normalize import ROW_COLUMNS, validate_events

WRITE_KEY = "bench-write-key"
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)
CATEGORIES = ("Home/Kitchen/Mugs", "Home/Kitchen/Knives", "Garden/Tools", "Toys/Puzzles", "Books")
BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli")
SOURCES = (None, None, "google", "newsletter", "facebook")


# -- events ------------------------------------------------------------------------------------


def generate_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` contract events as shops send them: visits of anonymous or known shoppers
    browsing, searching, carting and sometimes buying (about 2 % purchases, 1 % logins)."""
    rng = random.Random(seed)
    products = [
        {
            "product_id": f"P{n:04d}",
            "category": rng.choice(CATEGORIES),
            "brand": rng.choice(BRANDS),
            "price": round(rng.uniform(2, 200), 2),
        }
        for n in range(500)
    ]
    start = datetime(2024, 5, 1, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    while len(events) < count:
        known = rng.random() < 0.4
        ids: dict[str, Any] = {"anonymous_id": f"anon-{rng.randrange(20_000):05d}"}
        user_id = f"U{rng.randrange(5_000):05d}"
        if known:
            ids["user_id"] = user_id
        session = uuid.UUID(int=rng.getrandbits(128)).hex
        at = start + timedelta(seconds=rng.randrange(30 * 86_400))
        context: dict[str, Any] = {
            "user_agent": rng.choice(USER_AGENTS),
            "locale": "en-US",
            "page_url": "https://shop.example/",
        }
        if source := rng.choice(SOURCES):
            context |= {"utm_source": source, "utm_medium": "cpc", "utm_campaign": "spring"}
        cart: list[dict[str, Any]] = []
        visit: list[dict[str, Any]] = [{"type": "page_view"}]
        if not known and rng.random() < 0.05:
            visit.append({"type": "login", "user_id": user_id})
        if rng.random() < 0.3:
            visit.append({"type": "search", "query": rng.choice(("mug", "knife", "gift"))})
            visit.append({"type": "product_list_view", "category": rng.choice(CATEGORIES)})
        for _ in range(rng.randint(1, 5)):
            p = rng.choice(products)
            visit.append({"type": "product_view", **p, "position": rng.randrange(20)})
            if rng.random() < 0.25:
                item = {"product_id": p["product_id"], "quantity": rng.randint(1, 3)}
                cart.append(item | {"price": p["price"]})
                visit.append({"type": "add_to_cart", **p, "quantity": item["quantity"]})
        if cart and rng.random() < 0.5:
            visit.append({"type": "cart_view"})
            visit.append({"type": "checkout_start"})
            visit.append(
                {
                    "type": "purchase",
                    "order_id": f"O-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}",
                    "items": cart,
                    "discount": rng.choice((0, 0, 5)),
                    "coupon": rng.choice((None, "SPRING5")),
                }
            )
        for step in visit:
            at += timedelta(seconds=rng.randint(5, 90))
            sent = at + timedelta(seconds=rng.uniform(0.1, 3))
            event = {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                **ids,
                "session_id": session,
                "timestamp": at.isoformat(),
                "sent_at": sent.isoformat(),
                "context": context | {"time_spent": round(rng.uniform(1, 120), 1)},
                **step,
            }
            events.append({k: v for k, v in event.items() if v is not None})
            if step["type"] == "login":
                ids["user_id"] = user_id
    return events[:count]


# -- databases ---------------------------------------------------------------------------------


def fresh_pg(url: str) -> None:
    """Drop and re-create the ``public`` schema of ``url``, then migrate it."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)


def row_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM user_activity")).scalar_one())
    engine.dispose()
    return count


# -- over HTTP ---------------------------------------------------------------------------------


@contextmanager
def running_server(url: str, log: Path) -> Iterator[str]:
    """``shopsense serve`` on a free port, logging to ``log``; yields its base URL once
    ``/health`` answers. On a failure the end of the log is printed."""
    env = {
        "SHOPSENSE_DATABASE_URL": url,
        "SHOPSENSE_WRITE_KEY": WRITE_KEY,
        "SHOPSENSE_LOG_JSON": "true",
    }
    with serving.running_server(env, log) as base:
        yield base


def post_all(base: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Seconds to post every body with ``clients`` threads, and the events accepted."""
    headers = {"Authorization": f"Bearer {WRITE_KEY}", "Content-Type": "application/json"}

    def worker(share: list[bytes]) -> int:
        accepted = 0
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            for body in share:
                answer = http.post("/analytics/track-activity", content=body)
                answer.raise_for_status()
                result = answer.json()
                if result["rejected"]:
                    raise RuntimeError(f"events rejected: {result['rejected'][:3]}")
                accepted += result["accepted"]
        return accepted

    shares = [bodies[n::clients] for n in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        accepted = sum(pool.map(worker, shares))
    return time.perf_counter() - started, accepted


# -- the baseline ------------------------------------------------------------------------------


def stored_rows(events: list[dict[str, Any]], batch: int) -> list[dict[str, Any]]:
    """The rows the server stores for ``events`` (validated a batch at a time, as it does)."""
    settings = Settings(datasets=None)
    out: list[dict[str, Any]] = []
    for start in range(0, len(events), batch):
        validated = validate_events(
            events[start : start + batch],
            received_at=now(),
            max_future=timedelta(seconds=settings.max_future_skew_seconds),
            max_event_bytes=settings.max_event_bytes,
        )
        assert not validated.rejected, validated.rejected[:3]
        out.extend(validated.rows)
    return out


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: ISO text times, JSON text, 0/1 booleans."""
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return int(value)
    return value


def sqlite_baseline(path: Path, rows: list[dict[str, Any]], batch: int, synchronous: str) -> float:
    """Seconds to insert ``rows`` with ``sqlite3`` executemany, 500 rows a transaction."""
    upgrade(f"sqlite:///{path}")
    tuples = [tuple(_sqlite_value(row[c]) for c in ROW_COLUMNS) for row in rows]
    sql = (
        f"INSERT INTO user_activity ({', '.join(ROW_COLUMNS)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join('?' * len(ROW_COLUMNS))})"
    )
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            conn.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        for start in range(0, len(tuples), batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, tuples[start : start + batch])
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def pg_baseline(url: str, rows: list[dict[str, Any]], batch: int) -> float:
    """Seconds to insert ``rows`` with psycopg executemany, 500 rows a transaction."""
    fresh_pg(url)
    tuples = [
        tuple(Jsonb(v) if isinstance(v := row[c], dict | list) else v for c in ROW_COLUMNS)
        for row in rows
    ]
    sql = (
        f"INSERT INTO user_activity ({', '.join(ROW_COLUMNS)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))})"
    )
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        for start in range(0, len(tuples), batch):
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(sql, tuples[start : start + batch])
        return time.perf_counter() - started


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40_000, help="events to send")
    parser.add_argument("--batch", type=int, default=500, help="events a request")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--quick", action="store_true", help="20,000 events: under 30 s")
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL URL (its schema is dropped)")
    args = parser.parse_args()
    count = 20_000 if args.quick else args.events

    events = generate_events(count)
    bodies = [
        orjson.dumps({"batch": events[start : start + args.batch]})
        for start in range(0, count, args.batch)
    ]
    synchronous = Settings(datasets=None).sqlite_synchronous
    with tempfile.TemporaryDirectory(prefix="shopsense-ingest-") as folder:
        if args.pg:
            server_url = args.pg
            fresh_pg(server_url)
        else:
            server_url = f"sqlite:///{Path(folder) / 'server.db'}"
            upgrade(server_url)
        with running_server(server_url, Path(folder) / "server.log") as base:
            http_seconds, accepted = post_all(base, bodies, args.clients)
        if accepted != count or row_count(server_url) != count:
            raise RuntimeError(f"{accepted} accepted of {count} events")

        rows = stored_rows(events, args.batch)
        if args.pg:
            raw_seconds = pg_baseline(args.pg, rows, args.batch)
        else:
            raw_seconds = sqlite_baseline(Path(folder) / "raw.db", rows, args.batch, synchronous)

    events_per_s = count / http_seconds
    raw_per_s = count / raw_seconds
    print(f"{count:,} events in batches of {args.batch} from {args.clients} clients")
    print(f"  over HTTP    {http_seconds:7.2f} s  {events_per_s:10,.0f} events/s")
    print(f"  raw driver   {raw_seconds:7.2f} s  {raw_per_s:10,.0f} rows/s")
    result = {
        "database": "postgresql" if args.pg else "sqlite",
        "events": count,
        "batch": args.batch,
        "clients": args.clients,
        "events_per_s": round(events_per_s, 1),
        "raw_per_s": round(raw_per_s, 1),
        "ratio": round(events_per_s / raw_per_s, 3),
        "date": datetime.now(UTC).date().isoformat(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
