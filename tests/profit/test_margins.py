"""Gross margin counted by hand on a small store: four products (one with an estimated
cost, one sold without a catalog row), two brands, two departments, five orders over two
months from two channels, one cancelled order, one refund naming an item and one refund by
amount only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.profit.margins import DIMENSIONS, MarginReport, margin_analysis

START, END = datetime(2026, 1, 1), datetime(2026, 3, 1)
GOOGLE = {"utm_source": "google", "utm_medium": "cpc"}
MONEY = ("revenue", "refunds", "net_revenue", "cogs", "gross_margin")
COUNTS = ("units", "refunded_units", "orders")

# Catalog. P3 has no cost: the catalog estimates it at 50 x (1 - 0.4) = 30 and flags it.
# P9 has no catalog row: its lines are costed at price x 0.6 = 5 x 0.6 = 3 and flagged.
PRODUCTS = [
    {"product_id": "P1", "name": "Mug", "price": 10.0, "cost": 4.0,
     "category": "Home/Kitchen", "brand": "Acme"},
    {"product_id": "P2", "name": "Hose", "price": 20.0, "cost": 12.0,
     "category": "Home/Garden", "brand": "Acme"},
    {"product_id": "P3", "name": "Kite", "price": 50.0, "category": "Toys", "brand": "Bolt"},
]  # fmt: skip


def _item(product: str, quantity: int, price: float) -> dict[str, Any]:
    return {"product_id": product, "quantity": quantity, "price": price}


def _purchase(order: str, user: str, at: str, items: list[Any], **context: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"buy-{order}", "type": "purchase", "user_id": user, "order_id": order,
        "timestamp": at, "items": items,
    }  # fmt: skip
    if context:
        event["context"] = context
    return event


@pytest.fixture
def store(
    client: TestClient, write_headers: dict[str, str], secret_headers: dict[str, str]
) -> None:
    assert client.put("/catalog/products", json=PRODUCTS, headers=secret_headers).status_code == 200
    purchases = [
        # O1, January, google / cpc: 2 x P1 @ 10 + 1 x P2 @ 20 = 40; COGS 2 x 4 + 12 = 20.
        _purchase("O1", "alice", "2026-01-05T10:00:00Z",
                  [_item("P1", 2, 10.0), _item("P2", 1, 20.0)], **GOOGLE),
        # O2, January, direct: 1 x P3 @ 50 = 50; COGS 30 (estimated).
        _purchase("O2", "bob", "2026-01-20T10:00:00Z", [_item("P3", 1, 50.0)]),
        # O3, February, google / cpc: P1 @ 10 + P3 @ 50 = 60; COGS 4 + 30 (estimated) = 34.
        _purchase("O3", "alice", "2026-02-03T10:00:00Z",
                  [_item("P1", 1, 10.0), _item("P3", 1, 50.0)], **GOOGLE),
        # O4, February, direct: 2 x P2 @ 20 + 2 x P9 @ 5 = 50; COGS 24 + 6 (estimated) = 30.
        _purchase("O4", "carol", "2026-02-10T10:00:00Z",
                  [_item("P2", 2, 20.0), _item("P9", 2, 5.0)]),
        # O5, February: cancelled below, so it counts for nothing.
        _purchase("O5", "bob", "2026-02-15T10:00:00Z", [_item("P2", 1, 20.0)], **GOOGLE),
        # O6, March: after the window.
        _purchase("O6", "bob", "2026-03-02T10:00:00Z", [_item("P1", 1, 10.0)]),
    ]  # fmt: skip
    after = [
        # O3: P1 comes back: refunds 10, COGS back 4.
        {"event_id": "r-O3", "type": "order_refunded", "user_id": "alice", "order_id": "O3",
         "timestamp": "2026-02-20T10:00:00Z", "items": [_item("P1", 1, 10.0)]},
        # O4: 15 refunded by amount, spread by revenue: P2 40/50 x 15 = 12, P9 10/50 x 15 = 3;
        # no cost comes back.
        {"event_id": "r-O4", "type": "order_refunded", "user_id": "carol", "order_id": "O4",
         "timestamp": "2026-02-21T10:00:00Z", "revenue": 15.0},
        {"event_id": "c-O5", "type": "order_cancelled", "user_id": "bob", "order_id": "O5",
         "timestamp": "2026-02-16T10:00:00Z"},
    ]  # fmt: skip
    for batch in (purchases, after):
        answer = client.post(
            "/analytics/track-activity", json={"batch": batch}, headers=write_headers
        )
        assert answer.json()["accepted"] == len(batch), answer.text


def _analysis(db: Database, *by: str, start: datetime = START) -> MarginReport:
    with db.read() as conn:
        return margin_analysis(conn, start, END, by=by)


def _check(row: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if isinstance(value, float):
            assert row[key] == pytest.approx(value), key
        else:
            assert row[key] == value, key


def _adds_up(report: MarginReport) -> None:
    for metric in MONEY:
        assert sum(r[metric] for r in report.rows) == pytest.approx(report.totals[metric])
    for metric in ("units", "refunded_units"):
        assert sum(r[metric] for r in report.rows) == report.totals[metric]
    estimated = sum(r["estimated_cost_share"] * r["cogs"] for r in report.rows)
    assert estimated == pytest.approx(report.totals["estimated_cost_share"] * report.totals["cogs"])


@pytest.mark.usefixtures("store")
def test_totals(db: Database) -> None:
    report = _analysis(db)
    assert report.rows == []
    _check(
        report.totals,
        {
            "revenue": 200.0,  # 40 + 50 + 60 + 50; O5 cancelled, O6 after the window
            "refunds": 25.0,  # 10 (P1 of O3) + 15 (O4 by amount)
            "net_revenue": 175.0,
            "cogs": 110.0,  # 20 + 30 + 34 + 30 - 4 (P1 back from O3)
            "gross_margin": 65.0,  # 175 - 110
            "margin_pct": 65.0 / 175.0,
            "units": 10,  # 3 + 1 + 2 + 4
            "refunded_units": 1,
            "orders": 4,
            "estimated_cost_share": 66.0 / 110.0,  # P3 30 + 30, P9 6
            "cost_estimated": True,
        },
    )


@pytest.mark.usefixtures("store")
def test_by_product(db: Database) -> None:
    report = _analysis(db, "product")
    # Best margin first; P1 and P2 tie at 12 and go by key.
    assert [r["product"] for r in report.rows] == ["P3", "P1", "P2", "P9"]
    rows = {r["product"]: r for r in report.rows}
    # P1: 2 x 10 (O1) + 10 (O3) = 30, refunded 10; COGS 8 + 4 - 4 = 8; margin 20 - 8 = 12.
    _check(rows["P1"], {
        "revenue": 30.0, "refunds": 10.0, "net_revenue": 20.0, "cogs": 8.0,
        "gross_margin": 12.0, "margin_pct": 0.6, "units": 3, "refunded_units": 1, "orders": 2,
        "estimated_cost_share": 0.0, "cost_estimated": False,
    })  # fmt: skip
    # P2: 20 (O1) + 40 (O4) = 60, refunded 12 (O4's share); COGS 12 + 24 = 36; 48 - 36 = 12.
    _check(rows["P2"], {
        "revenue": 60.0, "refunds": 12.0, "net_revenue": 48.0, "cogs": 36.0,
        "gross_margin": 12.0, "margin_pct": 0.25, "units": 3, "refunded_units": 0, "orders": 2,
        "estimated_cost_share": 0.0, "cost_estimated": False,
    })  # fmt: skip
    # P3: 50 + 50 = 100; COGS 30 + 30, all estimated; 100 - 60 = 40.
    _check(rows["P3"], {
        "revenue": 100.0, "refunds": 0.0, "net_revenue": 100.0, "cogs": 60.0,
        "gross_margin": 40.0, "margin_pct": 0.4, "units": 2, "orders": 2,
        "estimated_cost_share": 1.0, "cost_estimated": True,
    })  # fmt: skip
    # P9 (no catalog row): 2 x 5 = 10, refunded 3; COGS 2 x 3 = 6, estimated; 7 - 6 = 1.
    _check(rows["P9"], {
        "revenue": 10.0, "refunds": 3.0, "net_revenue": 7.0, "cogs": 6.0,
        "gross_margin": 1.0, "margin_pct": 1.0 / 7.0, "units": 2, "orders": 1,
        "estimated_cost_share": 1.0, "cost_estimated": True,
    })  # fmt: skip
    _adds_up(report)


@pytest.mark.usefixtures("store")
def test_by_category_department_and_brand(db: Database) -> None:
    by_category = {r["category"]: r["gross_margin"] for r in _analysis(db, "category").rows}
    assert by_category == pytest.approx(
        {"Home/Kitchen": 12.0, "Home/Garden": 12.0, "Toys": 40.0, "uncategorized": 1.0}
    )
    departments = _analysis(db, "department")
    rows = {r["department"]: r for r in departments.rows}
    assert set(rows) == {"Home", "Toys", "uncategorized"}
    # Home = P1 + P2: 30 + 60 = 90, refunds 10 + 12 = 22, COGS 8 + 36 = 44, 68 - 44 = 24,
    # in O1, O3 and O4.
    _check(rows["Home"], {
        "revenue": 90.0, "refunds": 22.0, "net_revenue": 68.0, "cogs": 44.0,
        "gross_margin": 24.0, "margin_pct": 24.0 / 68.0, "units": 6, "orders": 3,
        "cost_estimated": False,
    })  # fmt: skip
    brands = _analysis(db, "brand")
    # Acme = P1 + P2; Bolt = P3; P9 has no catalog row.
    assert {r["brand"]: r["gross_margin"] for r in brands.rows} == pytest.approx(
        {"Acme": 24.0, "Bolt": 40.0, "unknown": 1.0}
    )
    for report in (departments, brands):
        _adds_up(report)


@pytest.mark.usefixtures("store")
def test_by_channel(db: Database) -> None:
    report = _analysis(db, "channel")
    rows = {r["channel"]: r for r in report.rows}
    assert list(rows) == ["google / cpc", "direct"]
    # google / cpc = O1 + O3: 40 + 60 = 100, refunded 10; COGS 20 + 34 - 4 = 50 of which 30
    # estimated (P3 in O3); 90 - 50 = 40.
    _check(rows["google / cpc"], {
        "revenue": 100.0, "refunds": 10.0, "net_revenue": 90.0, "cogs": 50.0,
        "gross_margin": 40.0, "margin_pct": 40.0 / 90.0, "units": 5, "orders": 2,
        "estimated_cost_share": 30.0 / 50.0, "cost_estimated": True,
    })  # fmt: skip
    # direct = O2 + O4: 50 + 50 = 100, refunded 15; COGS 30 + 30 of which 30 + 6 estimated;
    # 85 - 60 = 25.
    _check(rows["direct"], {
        "revenue": 100.0, "refunds": 15.0, "net_revenue": 85.0, "cogs": 60.0,
        "gross_margin": 25.0, "margin_pct": 25.0 / 85.0, "units": 5, "orders": 2,
        "estimated_cost_share": 36.0 / 60.0, "cost_estimated": True,
    })  # fmt: skip
    _adds_up(report)


@pytest.mark.usefixtures("store")
def test_by_period_and_week(db: Database) -> None:
    report = _analysis(db, "period")
    rows = {r["period"]: r for r in report.rows}
    assert set(rows) == {"2026-01", "2026-02"}
    # January = O1 + O2: 40 + 50 = 90, no refunds, COGS 20 + 30 = 50, margin 40.
    _check(rows["2026-01"], {
        "revenue": 90.0, "refunds": 0.0, "net_revenue": 90.0, "cogs": 50.0,
        "gross_margin": 40.0, "units": 4, "orders": 2,
    })  # fmt: skip
    # February = O3 + O4 (O5 cancelled): 60 + 50 = 110, refunded 10 + 15 = 25; COGS
    # 34 - 4 + 30 = 60; 85 - 60 = 25.
    _check(rows["2026-02"], {
        "revenue": 110.0, "refunds": 25.0, "net_revenue": 85.0, "cogs": 60.0,
        "gross_margin": 25.0, "units": 6, "refunded_units": 1, "orders": 2,
    })  # fmt: skip
    _adds_up(report)
    weeks = _analysis(db, "week")
    # 2026-01-05 is the Monday of ISO week 2; the others fall in weeks 4, 6 and 7.
    assert sorted(r["week"] for r in weeks.rows) == ["2026-W02", "2026-W04", "2026-W06", "2026-W07"]
    _adds_up(weeks)


@pytest.mark.usefixtures("store")
def test_two_dimensions_and_segments(db: Database) -> None:
    report = _analysis(db, "period", "channel")
    assert len(report.rows) == 4
    cell = next(r for r in report.rows if (r["period"], r["channel"]) == ("2026-02", "direct"))
    # O4 alone: 50 - 15 = 35 net, COGS 30, margin 5.
    _check(cell, {"revenue": 50.0, "refunds": 15.0, "cogs": 30.0, "gross_margin": 5.0})
    _adds_up(report)
    # No behavior profiles yet: every buyer is "unknown".
    segments = _analysis(db, "segment")
    assert [r["segment"] for r in segments.rows] == ["unknown"]
    _adds_up(segments)


@pytest.mark.usefixtures("store")
def test_window_and_cancelled_order(db: Database) -> None:
    # From February on (an aware start works too): O3 and O4 only; O5 is cancelled.
    report = _analysis(db, "product", start=datetime(2026, 2, 1, tzinfo=UTC))
    assert report.totals["orders"] == 2
    assert report.totals["gross_margin"] == pytest.approx(25.0)
    # P2 only in O4 now (O5's P2 is cancelled): 40 - 12 refunded - 24 COGS = 4.
    p2 = next(r for r in report.rows if r["product"] == "P2")
    _check(p2, {"revenue": 40.0, "units": 2, "orders": 1, "gross_margin": 4.0})
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["by"] == ["product"] and len(as_dict["rows"]) == 4


def test_empty_window(db: Database) -> None:
    report = _analysis(db, *DIMENSIONS)
    assert report.rows == []
    _check(report.totals, {"revenue": 0.0, "gross_margin": 0.0, "orders": 0, "units": 0})
    assert report.totals["margin_pct"] is None
    assert report.totals["cost_estimated"] is False


@pytest.mark.parametrize("by", [["colour"], ["product", "product"], ["period", ""]])
def test_bad_dimensions(db: Database, by: list[str]) -> None:
    with pytest.raises(ValidationFailed):
        _analysis(db, *by)


def test_empty_period(db: Database) -> None:
    with db.read() as conn, pytest.raises(ValidationFailed):
        margin_analysis(conn, END, START, by=[])
