"""The Online Retail importer on a hand-made excerpt whose every count is worked out below,
and on the real file when this machine has it."""

from __future__ import annotations

import gzip
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from shopsense.db.models import (
    activity_table,
    order_items_table,
    orders_table,
    products_table,
    refund_items_table,
    refunds_table,
    users_table,
)
from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.importers.online_retail import (
    event_chunks,
    group_invoices,
    import_online_retail,
    read_lines,
)
from shopsense.settings import Settings
from shopsense.tracking.normalize import CONTEXT_COLUMNS, EVENT_COLUMNS, ROW_COLUMNS
from shopsense.tracking.schema import Event, rule_errors

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
EXCERPT = f"""{HEADER}
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536365,84406B,CREAM CUPID HEARTS COAT HANGER,-1,2010-12-01 08:26:00,2.75,17850.0,United Kingdom
536366,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-01 08:28:00,2.95,,France
536366,22633,HAND WARMER UNION JACK,3,2010-12-01 08:28:00,1.85,NA,France
C536379,85123A,CREAM HANGING HEART T-LIGHT HOLDER,-2,2010-12-01 09:41:00,2.55,12583,France
536380,22633,damaged,-5,2010-12-01 10:00:00,0,,United Kingdom
"""
# 536365: a sale of two lines by 17850 (written "17850.0"); its -1 line is skipped.
# 536366: an anonymous sale; C536379: a credit note of 12583; 536380: a stock write-off
# (no C, no sale line), stored as a zero refund flagged as an adjustment.


@pytest.fixture
def excerpt(tmp_path: Path) -> Path:
    path = tmp_path / "online_retail.csv.gz"
    path.write_bytes(gzip.compress(EXCERPT.encode()))
    return path


def datasets_dir() -> Path | None:
    """The lookup of ``tests/conftest.py``'s ``datasets_dir``, which cannot be imported by
    name here: with several conftest files, ``conftest`` names whichever came last."""
    configured = os.environ.get("SHOPSENSE_DATASETS")
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "datasets")
    return next((c for c in candidates if c.is_dir()), None)


def _count(db: Database, table: Table) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _rows(db: Database, table: Table, key: str) -> dict[Any, dict[str, Any]]:
    with db.read() as conn:
        return {r[key]: dict(r) for r in conn.execute(select(table)).mappings()}


def test_every_count_of_the_excerpt(db: Database, settings: Settings, excerpt: Path) -> None:
    summary = import_online_retail(db, excerpt, settings=settings)

    assert summary.counts == {
        "products": 4,  # 85123A, 71053, 84406B, 22633
        "customers": 2,  # 17850, 12583
        "orders": 2,  # 536365, 536366
        "refunds": 2,  # C536379, 536380
        "invoices": 4,
        "events": 4,
        "duplicates": 0,
        "skipped lines": 1,  # the -1 line of 536365
    }
    assert summary.rejected == []
    assert _count(db, orders_table) == 2
    assert _count(db, refunds_table) == 2
    assert _count(db, order_items_table) == 4  # 2 + 2
    assert _count(db, refund_items_table) == 2
    assert set(_rows(db, users_table, "user_id")) == {"17850", "12583"}

    orders = _rows(db, orders_table, "order_id")
    assert orders["536365"]["user_id"] == "17850"
    assert orders["536365"]["revenue"] == pytest.approx(6 * 2.55 + 6 * 3.39)  # 35.64
    assert orders["536366"]["user_id"] is None
    assert orders["536366"]["anonymous_id"] == "online-retail-anon:536366"
    assert orders["536366"]["revenue"] == pytest.approx(2 * 2.95 + 3 * 1.85)  # 11.45

    refunds = _rows(db, refunds_table, "refund_id")
    credit = refunds["online-retail:C536379"]
    assert (credit["order_id"], credit["user_id"]) == ("C536379", "12583")
    assert credit["amount"] == pytest.approx(2 * 2.55)
    write_off = refunds["online-retail:536380"]
    assert write_off["amount"] == 0
    assert write_off["anonymous_id"] == "online-retail-anon:536380"
    with db.read() as conn:
        lines = conn.execute(
            select(refund_items_table.c.product_id, refund_items_table.c.quantity).order_by(
                refund_items_table.c.refund_id
            )
        ).all()
    assert [tuple(x) for x in lines] == [("22633", 5), ("85123A", 2)]  # absolute quantities

    products = _rows(db, products_table, "product_id")
    heart = products["85123A"]
    assert heart["name"] == "WHITE HANGING HEART T-LIGHT HOLDER"  # 2 lines against 1
    assert heart["price"] == pytest.approx(2.75)  # median of the sales at 2.55 and 2.95
    assert heart["cost"] == pytest.approx(2.75 * (1 - settings.default_margin))
    assert heart["cost_estimated"] is True
    assert products["22633"]["name"] == "HAND WARMER UNION JACK"  # not the "damaged" note
    assert products["22633"]["price"] == pytest.approx(1.85)
    assert products["84406B"]["price"] == 0  # its only line was skipped: never sold

    events = _rows(db, activity_table, "event_id")
    sale = events["online-retail:536365"]
    assert sale["type"] == "purchase"
    assert sale["country"] == "GB"
    assert sale["properties"] == {"country_name": "United Kingdom"}
    assert str(sale["timestamp"]) == "2010-12-01 08:26:00"  # the file's clock, as UTC
    assert events["online-retail:536380"]["properties"] == {
        "country_name": "United Kingdom",
        "adjustment": True,
    }


def test_importing_twice_stores_nothing_twice(
    db: Database, settings: Settings, excerpt: Path
) -> None:
    import_online_retail(db, excerpt, settings=settings)
    tables = (activity_table, orders_table, order_items_table, refunds_table, products_table)
    before = [_count(db, t) for t in (*tables, refund_items_table, users_table)]

    again = import_online_retail(db, excerpt, settings=settings)

    assert again.counts["events"] == 0
    assert again.counts["duplicates"] == 4
    assert [_count(db, t) for t in (*tables, refund_items_table, users_table)] == before


def test_rows_are_what_the_tracking_schema_accepts(excerpt: Path, settings: Settings) -> None:
    lines, _ = read_lines(excerpt)
    invoices, items = group_invoices(lines)
    rows = [row for chunk in event_chunks(invoices, items, settings) for row in chunk]

    assert len(rows) == 4
    for row in rows:
        assert set(row) == set(ROW_COLUMNS)
        raw = {k: row[k] for k in EVENT_COLUMNS if row[k] is not None}
        raw["context"] = {k: row[k] for k in CONTEXT_COLUMNS if row[k] is not None}
        event = Event.model_validate({**raw, "items": row["items"], "timestamp": row["timestamp"]})
        assert rule_errors(event) == []
        assert [i.model_dump() for i in event.items or []] == row["items"]


def test_a_file_without_the_columns_is_refused(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "other.csv"
    path.write_text("order,sku\n1,A\n")
    with pytest.raises(ValidationFailed, match="not an Online Retail file"):
        import_online_retail(db, path, settings=settings)


@pytest.mark.datasets
def test_the_real_file(
    db: Database, settings: Settings, client: TestClient, secret_headers: dict[str, str]
) -> None:
    root = datasets_dir()
    path = root / "online_retail" / "online_retail.csv.gz" if root else None
    if path is None or not path.is_file():
        pytest.skip("online_retail/online_retail.csv.gz not found (set SHOPSENSE_DATASETS)")

    summary = import_online_retail(db, path, settings=settings)

    assert summary.counts["invoices"] == 25_900
    assert summary.counts["customers"] == 4_372
    assert summary.counts["products"] == 4_070
    assert _count(db, orders_table) + _count(db, refunds_table) == 25_900
    assert _count(db, users_table) == 4_372
    assert _count(db, order_items_table) + _count(db, refund_items_table) == 541_909

    # The customer-intelligence endpoints answer for Online Retail customers.
    as_of = "2011-12-10T00:00:00Z"
    with db.read() as conn:
        orders, revenue = conn.execute(
            select(func.count(), func.sum(orders_table.c.revenue)).where(
                orders_table.c.user_id == "12347"
            )
        ).one()
    profile = client.get(f"/analytics/user-profile/12347?as_of={as_of}", headers=secret_headers)
    assert profile.status_code == 200
    body = profile.json()
    assert body["orders"] == orders == 7
    assert body["revenue"] == pytest.approx(float(revenue), abs=0.01)
    assert body["clv"]["predicted_12m"] > 0 and body["segment"]["rfm"] is not None
    segments = client.get(f"/analytics/user-segments?as_of={as_of}", headers=secret_headers)
    assert segments.status_code == 200
    value = [s for s in segments.json()["segments"] if s["kind"] == "value"]
    assert sum(s["users"] for s in value) == 4_372

    # Margins: revenue and units per month reconcile to the cent with the raw file, read
    # independently (sales = invoices without a C, quantity above 0, price not negative).
    import polars as pl

    from shopsense.profit.margins import margin_analysis

    raw = pl.read_csv(path, infer_schema_length=0).with_columns(
        pl.col("Quantity").cast(pl.Int64),
        pl.col("UnitPrice").cast(pl.Float64),
        pl.col("InvoiceDate").str.to_datetime(),
    )
    sales = raw.filter(
        ~pl.col("InvoiceNo").str.starts_with("C")
        & (pl.col("Quantity") > 0)
        & (pl.col("UnitPrice") >= 0)
    )
    expected = {
        period: (round(revenue, 2), units)
        for period, revenue, units in sales.group_by(
            pl.col("InvoiceDate").dt.strftime("%Y-%m").alias("period")
        )
        .agg(
            (pl.col("Quantity") * pl.col("UnitPrice")).sum().alias("revenue"),
            pl.col("Quantity").sum().alias("units"),
        )
        .iter_rows()
    }
    with db.read() as conn:
        report = margin_analysis(conn, datetime(2010, 12, 1), datetime(2012, 1, 1), by=["period"])
    got = {r["period"]: (round(r["revenue"], 2), r["units"]) for r in report.rows}
    assert len(expected) == 13 and got == expected
