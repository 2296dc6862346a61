"""Seasonal lift and stock pressure on histories small enough to count by hand."""

from __future__ import annotations

import math
from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from shopsense.bundles.signals import (
    pair_seasonal_lift,
    seasonal_lift,
    seasonal_window,
    stock_pressure,
)
from shopsense.errors import ValidationFailed

LINE: dict[str, pl.DataType] = {
    "basket": pl.String(),
    "item": pl.String(),
    "placed_at": pl.Datetime("us"),
}


def _daily(start: date, end: date, item: str, prefix: str = "d") -> pl.DataFrame:
    """One line of ``item`` in basket ``<prefix><day>`` at noon on every day start..end."""
    days = pl.DataFrame({"day": pl.date_range(start, end, "1d", eager=True)})
    return days.select(
        (prefix + pl.col("day").dt.strftime("%Y%m%d")).alias("basket"),
        pl.lit(item, dtype=pl.String).alias("item"),
        (pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=12)).alias("placed_at"),
    )


def _lines(rows: list[tuple[str, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LINE, orient="row")


def _lift(k: int, n: int, s: float) -> float:
    return (k + 5 * s) / (n + 5) / s


# Two baskets a day from 2023-01-01 to 2024-11-30 (1400 baskets), each with Y; one basket a
# day of December 2023 (31) also holds X.
CHRISTMAS = pl.concat(
    [
        _daily(date(2023, 1, 1), date(2024, 11, 30), "Y"),
        _daily(date(2023, 1, 1), date(2024, 11, 30), "Y", prefix="e"),
        _daily(date(2023, 12, 1), date(2023, 12, 31), "X"),
        _daily(date(2023, 12, 1), date(2023, 12, 10), "X"),  # a repeat counts once
    ]
)


def test_calendar_mode_finds_december_items_before_december() -> None:
    found = seasonal_lift(CHRISTMAS, datetime(2024, 12, 1))
    assert found.mode == "calendar"
    assert (found.window_start, found.window_end) == (datetime(2024, 12, 1), datetime(2024, 12, 29))
    # Window days: 1-28 December. In it: 56 of 1400 baskets; X has 28 of its 31.
    assert found.share == pytest.approx(56 / 1400)
    rows = {r["item"]: r for r in found.items.iter_rows(named=True)}
    assert (rows["X"]["baskets"], rows["X"]["window_baskets"]) == (31, 28)
    assert (rows["Y"]["baskets"], rows["Y"]["window_baskets"]) == (1400, 56)
    assert rows["X"]["lift"] == pytest.approx(_lift(28, 31, 0.04)) == pytest.approx(28.2 / 1.44)
    assert rows["X"]["lift"] > 2
    assert rows["Y"]["lift"] == pytest.approx(1.0)
    assert found.items["item"].to_list() == ["X", "Y"]
    assert found.lift_of(["Y", "nothing", "X"]).tolist() == pytest.approx([1.0, 1.0, 28.2 / 1.44])


def test_the_answer_changes_with_as_of() -> None:
    found = seasonal_lift(CHRISTMAS, datetime(2024, 6, 1))
    assert found.mode == "calendar"
    # Before 1 June 2024: 1034 baskets, 56 of them on 1-28 June (2023); X has none there.
    assert found.share == pytest.approx(56 / 1034)
    (x_lift,) = found.lift_of(["X"])
    assert x_lift == pytest.approx(_lift(0, 31, 56 / 1034)) == pytest.approx(5 / 36)
    assert x_lift < 1


def test_too_few_window_baskets_fall_back_to_lead_in() -> None:
    found = seasonal_lift(CHRISTMAS, datetime(2024, 12, 1), min_window_baskets=57)
    assert found.mode == "lead_in"
    # The last 28 days before 1 December 2024: 3-30 November, 56 of 1400 baskets, no X.
    assert found.share == pytest.approx(56 / 1400)
    assert found.lift_of(["X"])[0] == pytest.approx(_lift(0, 31, 0.04))


def test_calendar_needs_a_full_year_of_history() -> None:
    # History from 15 December 2023: the window's days a year earlier are only partly seen.
    late = CHRISTMAS.filter(pl.col("placed_at") >= datetime(2023, 12, 15))
    assert seasonal_lift(late, datetime(2024, 12, 1), min_window_baskets=1).mode == "lead_in"


# 90 days, 2 January - 31 March 2024, one basket a day with Y; R is in the baskets of the
# last 28 days (4-31 March) and in two earlier ones.
RAMP = pl.concat(
    [
        _daily(date(2024, 1, 2), date(2024, 3, 31), "Y"),
        _daily(date(2024, 3, 4), date(2024, 3, 31), "R"),
        _daily(date(2024, 1, 10), date(2024, 1, 11), "R"),
    ]
)
RAMP_AS_OF = datetime(2024, 4, 1)


def test_lead_in_mode_on_a_short_history() -> None:
    found = seasonal_lift(RAMP, RAMP_AS_OF)
    assert found.mode == "lead_in"
    assert (found.window_start, found.window_end) == (RAMP_AS_OF, datetime(2024, 4, 29))
    assert found.share == pytest.approx(28 / 90)
    rows = {r["item"]: r for r in found.items.iter_rows(named=True)}
    assert (rows["R"]["baskets"], rows["R"]["window_baskets"]) == (30, 28)
    assert rows["R"]["lift"] == pytest.approx(_lift(28, 30, 28 / 90))
    assert rows["R"]["lift"] > 1
    assert rows["Y"]["lift"] == pytest.approx(1.0)


def test_lines_at_or_after_as_of_change_nothing() -> None:
    future = pl.concat(
        [
            RAMP,
            _lines([("f1", "R", RAMP_AS_OF), ("f1", "Y", RAMP_AS_OF)]),
            _daily(date(2024, 4, 2), date(2024, 6, 30), "F"),
        ]
    )
    before, after = seasonal_lift(RAMP, RAMP_AS_OF), seasonal_lift(future, RAMP_AS_OF)
    assert (before.mode, before.share) == (after.mode, after.share)
    assert_frame_equal(before.items, after.items)


def test_window_wraps_new_year() -> None:
    window = seasonal_window(datetime(2024, 12, 20, 9, 30), 28)
    assert window.end == datetime(2025, 1, 17, 9, 30)
    assert window.month_days[:2] == ((12, 20), (12, 21))
    assert window.month_days[-1] == (1, 16)
    assert len(window.month_days) == 28
    assert (1, 1) in window.month_days and (1, 17) not in window.month_days
    # Daily Y from 2023-01-01 to 2024-12-19; J sells on 1-10 January of both years, L on
    # 17-31 January only.
    history = pl.concat(
        [
            _daily(date(2023, 1, 1), date(2024, 12, 19), "Y"),
            _daily(date(2023, 1, 1), date(2023, 1, 10), "J"),
            _daily(date(2024, 1, 1), date(2024, 1, 10), "J"),
            _daily(date(2023, 1, 17), date(2023, 1, 31), "L"),
        ]
    )
    found = seasonal_lift(history, datetime(2024, 12, 20))
    assert found.mode == "calendar"
    # 719 baskets; in the window: 20-31 Dec 2023 (12) + 1-16 Jan 2023 and 2024 (16 + 16).
    share = 44 / 719
    assert found.share == pytest.approx(share)
    j, lift_l = found.lift_of(["J", "L"])
    assert j == pytest.approx(_lift(20, 20, share))
    assert lift_l == pytest.approx(_lift(0, 15, share)) == pytest.approx(5 / 20)


def test_window_keeps_leap_day_between_february_and_march() -> None:
    assert (2, 29) in seasonal_window(datetime(2025, 2, 20), 14).month_days
    assert (2, 29) not in seasonal_window(datetime(2025, 3, 1), 14).month_days
    assert len(seasonal_window(datetime(2024, 2, 20), 14).month_days) == 14


# Lead-in with a 7-day window before 1 March 2024, i.e. 23-29 February:
# b1 1 Feb A | b2 5 Feb A | b3 10 Feb A B C | b4 24 Feb A B | b5 25 Feb A B B | b6 28 Feb B C
# and b7 on 1 March (the future). 6 baskets, 3 in the window: s = 1/2.
SMALL = _lines(
    [
        ("b1", "A", datetime(2024, 2, 1)),
        ("b2", "A", datetime(2024, 2, 5)),
        ("b3", "A", datetime(2024, 2, 10)),
        ("b3", "B", datetime(2024, 2, 10)),
        ("b3", "C", datetime(2024, 2, 10)),
        ("b4", "A", datetime(2024, 2, 24)),
        ("b4", "B", datetime(2024, 2, 24)),
        ("b5", "A", datetime(2024, 2, 25)),
        ("b5", "B", datetime(2024, 2, 25)),
        ("b5", "B", datetime(2024, 2, 25)),
        ("b6", "B", datetime(2024, 2, 28)),
        ("b6", "C", datetime(2024, 2, 28)),
        ("b7", "A", datetime(2024, 3, 1)),
        ("b7", "C", datetime(2024, 3, 1)),
    ]
)


def test_pair_seasonal_lift_by_hand() -> None:
    as_of = datetime(2024, 3, 1)
    found = seasonal_lift(SMALL, as_of, horizon_days=7)
    assert (found.mode, found.share) == ("lead_in", 0.5)
    assert found.lift_of(["A"])[0] == pytest.approx(_lift(2, 5, 0.5)) == pytest.approx(0.9)
    pairs = pl.DataFrame({"a": ["A", "C", "A", "A"], "b": ["B", "B", "C", "D"]})
    out = pair_seasonal_lift(SMALL, pairs, as_of, found)
    assert out.columns == ["a", "b", "baskets", "window_baskets", "lift"]
    # A+B: b3 b4 b5 (b4, b5 in the window); C+B: b3 b6; A+C: b3 (b7 is the future); A+D: none.
    assert out.select("a", "b", "baskets", "window_baskets").rows() == [
        ("A", "B", 3, 2),
        ("C", "B", 2, 1),
        ("A", "C", 1, 0),
        ("A", "D", 0, 0),
    ]
    assert out["lift"].to_list() == pytest.approx([4.5 / 4, 1.0, 2.5 / 3, 1.0])


def test_pair_seasonal_lift_in_calendar_mode() -> None:
    as_of = datetime(2024, 12, 1)
    found = seasonal_lift(CHRISTMAS, as_of)
    out = pair_seasonal_lift(CHRISTMAS, pl.DataFrame({"a": ["X"], "b": ["Y"]}), as_of, found)
    assert out.row(0) == ("X", "Y", 31, 28, pytest.approx(28.2 / 1.44))
    with pytest.raises(ValidationFailed, match="window start"):
        pair_seasonal_lift(CHRISTMAS, pl.DataFrame({"a": ["X"], "b": ["Y"]}), RAMP_AS_OF, found)


AS_OF = datetime(2024, 4, 1)
PRODUCTS = pl.DataFrame(
    [
        ("P1", 30, 20.0, 8.0, True),  # 45 units in the window: 0.5 a day, 60 days of cover
        ("P2", 50, 15.0, 6.0, True),  # 9 units: 0.1 a day, 500 days: overstock
        ("P3", 5, 30.0, 10.0, True),  # never sold: infinite cover, stock value 50
        ("P8", 2, 300.0, 100.0, True),  # never sold: infinite cover, stock value 200
        ("P7", 1000, 5.0, 1.0, True),  # 900 units: 10 a day, 100 days
        ("P4", None, 9.0, 3.0, True),  # untracked stock
        ("P5", 0, 9.0, 3.0, True),  # sold out
        ("P6", 100, 9.0, 3.0, False),  # inactive
    ],
    schema={
        "item": pl.String,
        "stock": pl.Int64,
        "price": pl.Float64,
        "cost": pl.Float64,
        "active": pl.Boolean,
    },
    orient="row",
)
SALES = pl.DataFrame(
    [
        ("o0", "P1", datetime(2023, 6, 1), 100),  # before the 90-day window
        ("o1", "P1", datetime(2024, 1, 5), 10),
        ("o2", "P1", datetime(2024, 2, 5), 20),
        ("o3", "P1", datetime(2024, 3, 5), 15),
        ("o3", "P2", datetime(2024, 3, 5), 9),
        ("o4", "P7", datetime(2024, 3, 20), 900),
        ("o5", "P4", datetime(2024, 3, 21), 3),
        ("o6", "P2", AS_OF, 500),  # at as_of: ignored
        ("o7", "P3", datetime(2024, 5, 1), 5),  # the future
    ],
    schema={**LINE, "quantity": pl.Int64()},
    orient="row",
)


def test_stock_pressure_by_hand() -> None:
    out = stock_pressure(PRODUCTS, SALES, AS_OF)
    assert out.columns == [
        "item",
        "stock",
        "units",
        "velocity",
        "days_of_cover",
        "stock_value",
        "slow",
        "pressure",
    ]
    # Zero velocity first (by stock value), then by cover; untracked last; P5, P6 left out.
    assert out["item"].to_list() == ["P8", "P3", "P2", "P7", "P1", "P4"]
    rows = {r["item"]: r for r in out.iter_rows(named=True)}
    assert rows["P1"]["units"] == 45 and rows["P1"]["velocity"] == pytest.approx(0.5)
    assert rows["P1"]["days_of_cover"] == pytest.approx(60.0)
    assert rows["P1"]["pressure"] == pytest.approx(1 - math.exp(-0.5))
    assert rows["P2"]["velocity"] == pytest.approx(0.1)
    assert rows["P2"]["days_of_cover"] == pytest.approx(500.0)
    assert rows["P2"]["pressure"] == pytest.approx(1 - math.exp(-500 / 120))
    assert rows["P7"]["days_of_cover"] == pytest.approx(100.0)
    assert rows["P7"]["stock_value"] == pytest.approx(1000.0)
    for zero in ("P3", "P8"):
        assert rows[zero]["units"] == 0 and rows[zero]["velocity"] == 0
        assert rows[zero]["days_of_cover"] == math.inf
        assert rows[zero]["pressure"] == 1.0
    # 5 tracked products: the slowest ceil(0.5) = 1 is P3 and P8 (tied at 0); P2 by cover.
    assert {item for item, slow in out.select("item", "slow").rows() if slow} == {"P2", "P3", "P8"}
    assert rows["P4"]["velocity"] == pytest.approx(3 / 90)
    assert rows["P4"]["slow"] is False and rows["P4"]["pressure"] == 0.0
    assert rows["P4"]["days_of_cover"] is None


def test_untracked_stock_is_never_slow() -> None:
    untracked = PRODUCTS.with_columns(stock=pl.lit(None, dtype=pl.Int64))
    out = stock_pressure(untracked, SALES, AS_OF, slow_share=1.0)
    assert out.height == 7  # every active product, P5 included: its stock is no longer known
    assert not out["slow"].any()
    assert out["pressure"].to_list() == [0.0] * 7


def test_short_history_uses_its_own_span() -> None:
    # First line on 2 March: 30 days to as_of, not 90. P1 sells 15 + 15 units.
    sales = SALES.filter(pl.col("placed_at") >= datetime(2024, 3, 2)).vstack(
        pl.DataFrame(
            [("n1", "P1", datetime(2024, 3, 2), 15)],
            schema={**LINE, "quantity": pl.Int64()},
            orient="row",
        )
    )
    rows = {r["item"]: r for r in stock_pressure(PRODUCTS, sales, AS_OF).iter_rows(named=True)}
    assert rows["P1"]["velocity"] == pytest.approx(30 / 30)
    assert rows["P7"]["velocity"] == pytest.approx(900 / 30)
    assert rows["P2"]["days_of_cover"] == pytest.approx(50 / (9 / 30))
    assert rows["P3"]["units"] == 0 and rows["P3"]["days_of_cover"] == math.inf
    # No sales at all: every tracked product has infinite cover.
    empty = stock_pressure(PRODUCTS, sales.clear(), AS_OF)
    assert empty.filter(pl.col("stock").is_not_null())["pressure"].to_list() == [1.0] * 5


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="horizon_days"):
        seasonal_lift(RAMP, RAMP_AS_OF, horizon_days=0)
    with pytest.raises(ValidationFailed, match="horizon_days"):
        seasonal_window(RAMP_AS_OF, 0)
    with pytest.raises(ValidationFailed, match="'placed_at'"):
        seasonal_lift(RAMP.drop("placed_at"), RAMP_AS_OF)
    with pytest.raises(ValidationFailed, match="placed_at must hold datetimes"):
        seasonal_lift(RAMP.with_columns(pl.col("placed_at").cast(pl.String)), RAMP_AS_OF)
    found = seasonal_lift(SMALL, datetime(2024, 3, 1), horizon_days=7)
    with pytest.raises(ValidationFailed, match="pairs have no column 'b'"):
        pair_seasonal_lift(SMALL, pl.DataFrame({"a": ["A"]}), datetime(2024, 3, 1), found)
    with pytest.raises(ValidationFailed, match="'quantity'"):
        stock_pressure(PRODUCTS, SALES.drop("quantity"), AS_OF)
    with pytest.raises(ValidationFailed, match="products have no column 'stock'"):
        stock_pressure(PRODUCTS.drop("stock"), SALES, AS_OF)
    with pytest.raises(ValidationFailed, match="slow_share"):
        stock_pressure(PRODUCTS, SALES, AS_OF, slow_share=1.5)
    with pytest.raises(ValidationFailed, match="window_days"):
        stock_pressure(PRODUCTS, SALES, AS_OF, window_days=0)
    with pytest.raises(ValidationFailed, match="more than once"):
        stock_pressure(pl.concat([PRODUCTS, PRODUCTS.head(1)]), SALES, AS_OF)
