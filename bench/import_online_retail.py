"""Import speed of ``shopsense import online-retail`` against a floor: the same file read
with ``polars.read_csv`` and its 541,909 lines (all 8 columns) written with the driver's
``executemany`` into a plain table, in one transaction, on the same kind of database.

    uv run python bench/import_online_retail.py [--repeat N] [--pg postgresql+psycopg://...]

Both runs start from a fresh database: a new SQLite file in a temporary folder (WAL,
synchronous=FULL, as shopsense runs), or with ``--pg`` a new database created next to the
one the URL names and dropped afterwards (the URL's own database is only used to connect).
``ratio`` = baseline time / shopsense time: shopsense's speed as a fraction of the floor's.

On SQLite a second floor is measured too: the rows shopsense itself stored (products, users,
events, orders and refunds with their items) written back with raw ``executemany`` into a
fresh database with the same schema and indexes, in one transaction, after the same polars
read. Its ratio (``stored_rows_ratio``) isolates shopsense's own overhead from what the
database must do for the richer schema. The last line of output is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import psycopg
from sqlalchemy.engine import make_url

from shopsense.db.migrate import upgrade
from shopsense.db.session import Database
from shopsense.importers.online_retail import import_online_retail
from shopsense.settings import Settings

RELATIVE = Path("online_retail") / "online_retail.csv.gz"
BASELINE_TABLE = """CREATE TABLE lines (
    invoice_no TEXT, stock_code TEXT, description TEXT, quantity BIGINT,
    invoice_date TEXT, unit_price DOUBLE PRECISION, customer_id BIGINT, country TEXT
)"""
BASELINE_SCHEMA = {
    "InvoiceNo": pl.String, "StockCode": pl.String, "Description": pl.String,
    "Quantity": pl.Int64, "InvoiceDate": pl.String, "UnitPrice": pl.Float64,
    "CustomerID": pl.Int64, "Country": pl.String,
}  # fmt: skip
BASELINE_INSERT = "INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def dataset_path() -> Path | None:
    """``$SHOPSENSE_DATASETS`` or ``../shared/datasets`` beside the checkout."""
    configured = os.environ.get("SHOPSENSE_DATASETS")
    root = (
        Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared/datasets"
    )
    path = root / RELATIVE
    return path if path.is_file() else None


def baseline_rows(path: Path) -> Iterator[tuple[object, ...]]:
    """The file typed as the plain table holds it (the invoice column is text: "C536379")."""
    return pl.read_csv(path, schema=BASELINE_SCHEMA, null_values=["", "NA"]).iter_rows()


def time_shopsense(url: str, path: Path) -> tuple[float, dict[str, int]]:
    upgrade(url)
    settings = Settings(database_url=url, datasets=None)
    db = Database.from_settings(settings)
    try:
        started = time.perf_counter()
        summary = import_online_retail(db, path, settings=settings)
        return time.perf_counter() - started, summary.counts
    finally:
        db.dispose()


def sqlite_baseline(folder: Path, path: Path) -> float:
    conn = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(BASELINE_TABLE)
        started = time.perf_counter()
        rows = baseline_rows(path)
        conn.execute("BEGIN")
        conn.executemany(BASELINE_INSERT, rows)
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


STORED_TABLES = (
    "products", "users", "user_activity", "orders", "order_items", "refunds", "refund_items",
)  # fmt: skip


def stored_rows_baseline(stored: Path, folder: Path, path: Path) -> float:
    """Raw ``executemany`` of every row shopsense stored, into a fresh migrated database."""
    source = sqlite3.connect(stored)
    tables = {t: source.execute(f"SELECT * FROM {t}").fetchall() for t in STORED_TABLES}  # noqa: S608
    source.close()
    target = folder / "stored.db"
    upgrade(f"sqlite:///{target}")
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        started = time.perf_counter()
        pl.read_csv(path, schema=BASELINE_SCHEMA, null_values=["", "NA"])
        conn.execute("BEGIN")
        for table, rows in tables.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # noqa: S608
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def pg_baseline(url: str, path: Path) -> float:
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute(BASELINE_TABLE)
        conn.commit()
        started = time.perf_counter()
        rows = baseline_rows(path)
        with conn.cursor() as cur:
            cur.executemany(BASELINE_INSERT.replace("?", "%s"), rows)
        conn.commit()
        return time.perf_counter() - started


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq one for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_pg_database(url: str) -> Iterator[str]:
    """A new, empty database on the URL's server, dropped on exit."""
    name = f"shopsense_bench_{uuid.uuid4().hex[:10]}"
    admin = _libpq(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", metavar="URL", help="measure on PostgreSQL instead of SQLite")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    args = parser.parse_args()
    path = dataset_path()
    if path is None:
        print(
            f"data set absent: no {RELATIVE} under $SHOPSENSE_DATASETS or ../shared/datasets;"
            " nothing to measure"
        )
        return 0
    counts: dict[str, int] = {}
    stored_floor: list[float] = []

    def shopsense_once() -> float:
        if args.pg:
            with fresh_pg_database(args.pg) as url:
                seconds, found = time_shopsense(url, path)
        else:
            with tempfile.TemporaryDirectory() as folder:
                db_file = Path(folder) / "shopsense.db"
                seconds, found = time_shopsense(f"sqlite:///{db_file}", path)
                stored_floor.append(stored_rows_baseline(db_file, Path(folder), path))
        counts.update(found)
        return seconds

    def baseline_once() -> float:
        if args.pg:
            with fresh_pg_database(args.pg) as url:
                return pg_baseline(url, path)
        with tempfile.TemporaryDirectory() as folder:
            return sqlite_baseline(Path(folder), path)

    # Alternated, so a busy machine slows both sides alike; the best run of each counts.
    runs = [(baseline_once(), shopsense_once()) for _ in range(max(1, args.repeat))]
    baseline_s = min(b for b, _ in runs)
    shopsense_s = min(s for _, s in runs)
    ratio = baseline_s / shopsense_s
    database = "postgresql" if args.pg else "sqlite"
    print(f"dataset   {path} ({counts.get('invoices', 0):,} invoices)")
    print(f"database  {database}")
    print(f"baseline  {baseline_s:7.2f} s  polars.read_csv + executemany into a plain table")
    print(f"shopsense {shopsense_s:7.2f} s  import_online_retail")
    print(f"ratio     {ratio:7.2f}  (baseline / shopsense; goal >= 0.50)")
    if stored_floor:
        stored_s = min(stored_floor)
        print(f"stored    {stored_s:7.2f} s  polars.read_csv + executemany of the rows stored")
        print(f"ratio     {stored_s / shopsense_s:7.2f}  (stored-rows floor / shopsense)")
    result = {
        "shopsense_s": round(shopsense_s, 3),
        "baseline_s": round(baseline_s, 3),
        "ratio": round(ratio, 3),
        "dataset": str(path),
        "database": database,
        "date": datetime.now(UTC).date().isoformat(),
        "counts": counts,
    }
    if stored_floor:
        result["stored_rows_s"] = round(min(stored_floor), 3)
        result["stored_rows_ratio"] = round(min(stored_floor) / shopsense_s, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
