"""``shopsense import online-retail FILE``: the UCI Online Retail file (every invoice line of a
UK gift wholesaler, 2010-12 .. 2011-12) as products, customers, orders and refunds.

The file is parsed and grouped with polars and written through ``store_events`` in chunks of
whole invoices, so the derived tables come out exactly as if the events had been tracked.

How the file maps:

* every ``StockCode`` is a product: name = the most frequent non-empty ``Description`` of its
  priced lines (zero-price lines carry stock notes such as "damaged"), else of any line;
  price = median ``UnitPrice`` of its sold items with a price above 0, else 0; cost estimated
  from ``default_margin`` (``cost_estimated``);
* an invoice is a ``purchase`` (event id ``online-retail:<InvoiceNo>``, order id
  ``<InvoiceNo>``) with one item per sale line (quantity > 0, price >= 0, file order kept);
  lines of such an invoice with quantity <= 0 or a negative price are skipped and counted;
* an invoice whose number starts with ``C`` is a credit note: an ``order_refunded`` event
  whose order id is the credit note's own number (``C536379``: the invoice it reverses is
  not named in the file), items with absolute quantities and prices, and revenue
  = sum(|quantity| x |price|). An invoice without the ``C`` that holds no sale line is a
  credit note as well, flagged ``properties.adjustment``: in the real file these are 1,336
  stock write-offs ("damaged", "check", quantity < 0, price 0) and two "Adjust bad debt"
  lines with a negative price; storing them keeps every one of the 25,900 invoices;
* the customer is the invoice's (first non-empty) ``CustomerID`` as an integer string
  ("17850.0" -> "17850"); an invoice without one ("" or "NA") belongs to
  ``anonymous_id = online-retail-anon:<InvoiceNo>``;
* ``InvoiceDate`` is UK local time without a zone; it is taken as UTC (off by one hour in
  British summer time, which no analysis of this file depends on). An invoice's time is its
  earliest line's;
* ``Country`` goes to ``properties.country_name``, and to ``context.country`` as an ISO code
  where the name has one (not for "Channel Islands", "European Community", "Unspecified").

Lines whose numbers, date or ids cannot be read are skipped and counted, as are the lines
of an invoice totalling more than the schema's 1e9. Every value is one
the tracking schema accepts, except that an invoice keeps all its lines even beyond the
500 items the HTTP contract allows in one request (49 wholesale invoices have up to 1,114
lines; splitting them would break the one-invoice-one-order mapping).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection

from shopsense.catalog.products import ProductIn, product_rows, upsert_products
from shopsense.clock import utcnow
from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.importers.summary import ImportSummary
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings
from shopsense.tracking.normalize import ROW_COLUMNS
from shopsense.tracking.store import store_events

COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
)  # fmt: skip
EVENT_PREFIX = "online-retail:"
ANONYMOUS_PREFIX = "online-retail-anon:"
# Whole invoices per write transaction: large enough that the per-commit fsync of
# synchronous=FULL does not matter, small enough to keep one transaction's memory modest.
CHUNK_ITEMS = 200_000
BULK_CACHE_KIB = -65_536  # negative: KiB, as PRAGMA cache_size takes it
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M")
MAX_QUANTITY = 1_000_000
MAX_MONEY = 1e9
COUNTRY_CODES = {
    "Australia": "AU", "Austria": "AT", "Bahrain": "BH", "Belgium": "BE", "Brazil": "BR",
    "Canada": "CA", "Cyprus": "CY", "Czech Republic": "CZ", "Denmark": "DK", "EIRE": "IE",
    "Finland": "FI", "France": "FR", "Germany": "DE", "Greece": "GR", "Hong Kong": "HK",
    "Iceland": "IS", "Israel": "IL", "Italy": "IT", "Japan": "JP", "Lebanon": "LB",
    "Lithuania": "LT", "Malta": "MT", "Netherlands": "NL", "Norway": "NO", "Poland": "PL",
    "Portugal": "PT", "RSA": "ZA", "Saudi Arabia": "SA", "Singapore": "SG", "Spain": "ES",
    "Sweden": "SE", "Switzerland": "CH", "USA": "US", "United Arab Emirates": "AE",
    "United Kingdom": "GB",
}  # fmt: skip


def import_online_retail(
    db: Database, path: Path, *, settings: Settings, reporter: Reporter = NULL
) -> ImportSummary:
    """Import the file; re-importing it stores nothing twice (its invoices come back as
    duplicates). Counts other than ``events`` and ``duplicates`` describe the file."""
    started = time.perf_counter()
    lines, skipped = read_lines(path)
    invoices, items = group_invoices(lines)
    skipped += lines.height - items.height
    summary = ImportSummary()
    products = _products(lines, items, settings)
    with db.write() as conn:
        summary.add("products", upsert_products(conn, products))
    purchases = int(invoices.get_column("is_purchase").sum())
    customers = invoices.get_column("user_id").drop_nulls().n_unique()
    summary.add("customers", customers)
    summary.add("orders", purchases)
    summary.add("refunds", invoices.height - purchases)
    summary.add("invoices", invoices.height)
    task = reporter.task(f"invoices from {path.name}", total=invoices.height)
    summary.add("events", 0)
    summary.add("duplicates", 0)
    for chunk in event_chunks(invoices, items, settings):
        with db.write() as conn, _bulk_cache(conn):
            result = store_events(conn, chunk)
        summary.add("events", len(result.accepted))
        summary.add("duplicates", len(result.duplicates))
        task.advance(len(chunk))
    summary.add("skipped lines", skipped)
    summary.seconds = time.perf_counter() - started
    return summary


def read_lines(path: Path) -> tuple[pl.DataFrame, int]:
    """The file's readable lines, typed, with their position; and how many were not."""
    raw = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
    raw = raw.rename({c: c.strip().lstrip("\ufeff") for c in raw.columns})
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValidationFailed(f"{path.name} is not an Online Retail file: no column {missing}")
    text = raw.select(pl.col(c).str.strip_chars() for c in COLUMNS).with_row_index("line")
    free = {  # free text may hold NUL, which no backend stores; ids holding it are unreadable
        c: pl.col(c).str.replace_all("\x00", "", literal=True) for c in ("Description", "Country")
    }
    number = pl.col("CustomerID").cast(pl.Float64, strict=False)
    dates = pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), DATE_FORMATS[0], strict=False)
    typed = text.select(
        "line",
        pl.col("InvoiceNo").alias("invoice"),
        pl.col("StockCode").alias("product_id"),
        pl.when(free["Description"] != "")
        .then(free["Description"].str.slice(0, 500))
        .alias("name"),
        pl.col("Quantity").cast(pl.Float64, strict=False).alias("quantity"),
        pl.col("UnitPrice").cast(pl.Float64, strict=False).alias("price"),
        dates.alias("timestamp"),
        pl.when(pl.col("CustomerID").is_in(["", "NA", "nan"]))
        .then(None)
        .when((number == number.round()) & (number.abs() < 1e15))
        .then(number.cast(pl.Int64).cast(pl.String))
        .otherwise(pl.col("CustomerID"))
        .alias("user_id"),
        pl.when(free["Country"] != "").then(free["Country"]).alias("country_name"),
        pl.col("InvoiceDate").alias("date_text"),
    )
    if typed.get_column("timestamp").null_count():  # other exports write "12/1/2010 8:26"
        parsed = [pl.col("date_text").str.strptime(pl.Datetime("us"), f, strict=False)
                  for f in DATE_FORMATS]  # fmt: skip
        typed = typed.with_columns(pl.coalesce(parsed).alias("timestamp"))
    no_nul = ~pl.concat_str("invoice", "product_id", "user_id", ignore_nulls=True).str.contains(
        "\x00", literal=True
    )
    ok = (
        pl.col("invoice").str.len_chars().is_between(1, 100 - len(EVENT_PREFIX))
        & pl.col("product_id").str.len_chars().is_between(1, 255)
        & (pl.col("quantity") == pl.col("quantity").round())
        & (pl.col("quantity").abs() <= MAX_QUANTITY)
        & (pl.col("price").abs() <= MAX_MONEY)
        & pl.col("timestamp").dt.year().is_between(1990, 9000)
        & (pl.col("user_id").is_null() | (pl.col("user_id").str.len_chars() <= 255))
        & no_nul
    )
    lines = typed.filter(ok.fill_null(False)).with_columns(pl.col("quantity").cast(pl.Int64))
    return lines.drop("date_text"), raw.height - lines.height


def group_invoices(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per stored invoice, and its items in file order (``start``/``count`` index
    the items frame). Lines left out of ``items`` are the skipped ones."""
    cancel = pl.col("invoice").str.starts_with("C")
    sale = ~cancel & (pl.col("quantity") > 0) & (pl.col("price") >= 0)
    marked = lines.with_columns(sale=sale, cancel=cancel).with_columns(
        is_purchase=pl.col("sale").any().over("invoice")
    )
    kept = marked.filter(
        pl.col("sale") | (~pl.col("is_purchase") & (pl.col("quantity") != 0))
    ).with_columns(
        pl.col("quantity").abs(),
        pl.col("price").abs(),
    )
    invoices = (
        kept.group_by("invoice", maintain_order=True)
        .agg(
            pl.col("is_purchase").first(),
            pl.col("cancel").first(),
            pl.col("line").min().alias("first_line"),
            pl.col("timestamp").min(),
            pl.col("user_id").drop_nulls().first(),
            pl.col("country_name").drop_nulls().first(),
            (pl.col("quantity") * pl.col("price")).sum().round(4).alias("revenue"),
            pl.len().alias("count"),
        )
        .filter(pl.col("revenue") <= MAX_MONEY)  # beyond any amount the schema accepts
        .sort("first_line")
    )
    items = kept.join(invoices.select("invoice", "first_line"), on="invoice").sort(
        "first_line", "line"
    )
    invoices = invoices.with_columns((pl.col("count").cum_sum() - pl.col("count")).alias("start"))
    return invoices, items.drop("first_line")


def _products(lines: pl.DataFrame, items: pl.DataFrame, settings: Settings) -> list[dict[str, Any]]:
    """One product per stock code of the readable lines."""
    names = (
        lines.filter(pl.col("name").is_not_null())
        .group_by("product_id", "name")
        .agg((pl.col("price") > 0).sum().alias("priced"), pl.len().alias("n"))
        .sort(["priced", "n", "name"], descending=[True, True, False])
        .group_by("product_id", maintain_order=True)
        .agg(pl.col("name").first())
    )
    prices = (
        items.filter(~pl.col("cancel") & pl.col("is_purchase") & (pl.col("price") > 0))
        .group_by("product_id")
        .agg(pl.col("price").median().round(4))
    )
    frame = (
        lines.select("product_id")
        .unique()
        .join(names, on="product_id", how="left")
        .join(prices, on="product_id", how="left")
        .sort("product_id")
    )
    products = [
        ProductIn(product_id=pid, name=name or "", price=price or 0.0)
        for pid, name, price in frame.iter_rows()
    ]
    return product_rows(products, default_margin=settings.default_margin, now=utcnow())


def event_chunks(
    invoices: pl.DataFrame, items: pl.DataFrame, settings: Settings
) -> Iterator[list[dict[str, Any]]]:
    """The rows of whole invoices, about ``CHUNK_ITEMS`` items per chunk, built as they are
    written so only one chunk's Python objects exist at a time."""
    received_at = utcnow()
    chunked = invoices.with_columns((pl.col("start") // CHUNK_ITEMS).alias("chunk"))
    for part in chunked.partition_by("chunk", maintain_order=True, include_key=False):
        first = int(part.item(0, "start"))
        total = int(part.get_column("count").sum())
        yield event_rows(
            part.with_columns(pl.col("start") - first),
            items.slice(first, total),
            settings,
            received_at,
        )


def event_rows(
    invoices: pl.DataFrame, items: pl.DataFrame, settings: Settings, received_at: datetime
) -> list[dict[str, Any]]:
    """Full ``store_events`` rows (every key of ``ROW_COLUMNS``), one per invoice; each
    invoice's ``start``/``count`` index ``items``."""
    latest = received_at + timedelta(seconds=settings.max_future_skew_seconds)
    line_items = [
        {"product_id": p, "quantity": q, "price": x}
        for p, q, x in zip(
            items.get_column("product_id").to_list(),
            items.get_column("quantity").to_list(),
            items.get_column("price").to_list(),
            strict=True,
        )
    ]
    codes = pl.col("country_name").replace_strict(COUNTRY_CODES, default=None)
    frame = invoices.with_columns(codes.alias("country"))
    template = dict.fromkeys(ROW_COLUMNS)
    template.update(received_at=received_at, sent_at=None, is_bot=False)
    rows: list[dict[str, Any]] = []
    for invoice, purchase, cancel, ts, user, country_name, country, revenue, start, count in (
        frame.select(
            "invoice", "is_purchase", "cancel", "timestamp", "user_id", "country_name",
            "country", "revenue", "start", "count",
        ).iter_rows()
    ):  # fmt: skip
        row = template.copy()
        clamped = ts > latest
        properties: dict[str, Any] = {}
        if country_name is not None:
            properties["country_name"] = country_name
        if not purchase and not cancel:
            properties["adjustment"] = True
        row.update(
            event_id=EVENT_PREFIX + invoice,
            type="purchase" if purchase else "order_refunded",
            user_id=user,
            anonymous_id=None if user is not None else ANONYMOUS_PREFIX + invoice,
            order_id=invoice,
            revenue=revenue,
            items=line_items[start : start + count],
            country=country,
            properties=properties or None,
            timestamp=received_at if clamped else ts,
            client_timestamp=ts,
            timestamp_clamped=clamped,
        )
        rows.append(row)
    return rows


@contextmanager
def _bulk_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a 64 MiB page cache while a chunk is written: the order_items indexes
    outgrow the default 2 MiB within one chunk, and spilled pages are written twice."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size={BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={previous}")
