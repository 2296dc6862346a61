"""The order-export importer: column mapping, grouping lines into orders, the API's
validation with CSV line numbers, and idempotent re-imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shopsense.db.models import activity_table, order_items_table, orders_table
from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.importers.orders import import_orders, parse_mapping
from shopsense.settings import Settings

EXPORT = """Order Number,Customer,Visitor,Date,SKU,Qty,Unit Price,Coupon
1001,c1,,2024-03-01 10:00:00,P1,2,9.99,SPRING
1001,c1,,2024-03-01 10:00:00,P2,,5.00,SPRING
1002,c2,,2024-03-02T11:00:00Z,P1,1,-3,
1003,,v9,2024-03-03,P3,3,4,
,c4,,2024-03-03,P3,1,4,
"""
MAP = [
    "Order Number=order_id",
    "Customer=user_id",
    "Visitor=anonymous_id",
    "Date=timestamp",
    "SKU=product_id",
    "Qty=quantity",
    "Unit Price=price",
    "Coupon=coupon",
]


def _select(db: Database, table: Any, *order: Any) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(*order)).mappings()]


def test_a_mapped_export(db: Database, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT)

    summary = import_orders(db, path, parse_mapping(MAP), settings=settings)

    assert summary.counts == {"lines": 5, "orders": 3, "events": 2, "duplicates": 0}
    assert [
        (r["line"], r["errors"][0]["loc"], r["errors"][0]["column"]) for r in summary.rejected
    ] == [
        (4, ["items", 0, "price"], "Unit Price"),  # order 1002: a negative price
        (6, ["order_id"], "Order Number"),  # a line without an order number
    ]
    orders = {o["order_id"]: o for o in _select(db, orders_table, orders_table.c.order_id)}
    assert set(orders) == {"1001", "1003"}
    assert orders["1001"]["event_id"] == "orders-import:1001"
    assert orders["1001"]["user_id"] == "c1"
    assert orders["1001"]["coupon"] == "SPRING"
    assert orders["1001"]["revenue"] == pytest.approx(2 * 9.99 + 5.00)
    assert (orders["1003"]["user_id"], orders["1003"]["anonymous_id"]) == (None, "v9")
    assert str(orders["1003"]["placed_at"]) == "2024-03-03 00:00:00"
    items = _select(db, order_items_table, order_items_table.c.order_id, order_items_table.c.line)
    assert [(i["order_id"], i["line"], i["product_id"], i["quantity"]) for i in items] == [
        ("1001", 0, "P1", 2),
        ("1001", 1, "P2", 1),  # an empty quantity is 1
        ("1003", 0, "P3", 3),
    ]


def test_importing_twice_stores_nothing_twice(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT)
    import_orders(db, path, parse_mapping(MAP), settings=settings)

    again = import_orders(db, path, parse_mapping(MAP), settings=settings)

    assert (again.counts["events"], again.counts["duplicates"]) == (0, 2)
    assert len(_select(db, activity_table, activity_table.c.id)) == 2
    assert len(_select(db, order_items_table, order_items_table.c.order_id)) == 3


def test_columns_named_like_the_fields_need_no_mapping(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(
        "order_id,user_id,timestamp,product_id,quantity,price,discount\n"
        "A-1,u1,2024-05-01T08:00:00+02:00,P9,4,2.50,1.00\n"
    )

    summary = import_orders(db, path, {}, settings=settings)

    assert summary.counts["events"] == 1
    (order,) = _select(db, orders_table, orders_table.c.order_id)
    assert order["revenue"] == pytest.approx(4 * 2.50 - 1.00)
    assert str(order["placed_at"]) == "2024-05-01 06:00:00"  # stored as UTC


def test_a_file_without_a_required_column_is_refused(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "partial.csv"
    path.write_text("order_id,timestamp,product_id\n1,2024-01-01,P1\n")
    with pytest.raises(ValidationFailed, match="no column for price, user_id or anonymous_id"):
        import_orders(db, path, {}, settings=settings)
    with pytest.raises(ValidationFailed, match="no column 'Total'"):
        import_orders(db, path, {"Total": "price"}, settings=settings)


def test_parse_mapping() -> None:
    assert parse_mapping([" Order Number = order_id", "a=b=price"]) == {
        "Order Number": "order_id",
        "a=b": "price",  # split at the last "="
    }
    assert parse_mapping([]) == {}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["order_id"], "expected column=field"),
        (["=order_id"], "expected column=field"),
        (["Order="], "expected column=field"),
        (["Order=order_number"], "unknown field 'order_number'; fields are order_id"),
        (["Total=currency"], "unknown field 'currency'"),
        (["A=order_id", "A=user_id"], "column 'A' is mapped twice"),
        (["A=order_id", "B=order_id"], "field 'order_id' is already read from 'A'"),
    ],
)
def test_parse_mapping_errors(pairs: list[str], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_mapping(pairs)
