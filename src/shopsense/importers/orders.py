"""``shopsense import orders FILE.csv [--map column=field ...]``: any shop's order export,
one line per order item, as ``purchase`` events.

Columns are read as the fields named like them (``order_id``, ``user_id``, ...; case and
surrounding spaces ignored) unless ``--map`` names the column for a field. Lines are grouped
by ``order_id`` in file order; each order becomes one purchase event with event id
``orders-import:<order_id>``, so importing the same file again stores nothing twice. Order
fields (customer, time, discount, coupon, revenue) come from the order's first line; every
line gives one item. Events are validated exactly as the tracking API validates them
(timestamps in ISO 8601 or Unix seconds, naive times taken as UTC, at most 500 items), and
each rejected order is reported with the CSV line numbers its errors are about (the header
is line 1). The catalog is not touched: products come from a catalog import.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from shopsense.clock import now
from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.importers.summary import ImportSummary
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings
from shopsense.tracking.service import track_events

EVENT_PREFIX = "orders-import:"
ORDER_FIELDS = ("order_id", "user_id", "anonymous_id", "timestamp", "discount", "coupon", "revenue")
ITEM_FIELDS = ("product_id", "quantity", "price")
FIELDS = ORDER_FIELDS + ITEM_FIELDS
REQUIRED = ("order_id", "timestamp", "product_id", "price")
BATCH = 1000  # events per transaction, as a tracking batch


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["Order Number=order_id", ...]`` as ``{column: field}``. The split is at the last
    ``=``, so a column name may itself hold one."""
    mapping: dict[str, str] = {}
    fields_seen: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        column, field = column.strip(), field.strip()
        if not sep or not column or not field:
            raise ValidationFailed(f"--map {pair!r}: expected column=field, e.g. 'Order=order_id'")
        if field not in FIELDS:
            raise ValidationFailed(
                f"--map {pair!r}: unknown field {field!r}; fields are {', '.join(FIELDS)}"
            )
        if column in mapping:
            raise ValidationFailed(f"--map {pair!r}: column {column!r} is mapped twice")
        if field in fields_seen:
            raise ValidationFailed(
                f"--map {pair!r}: field {field!r} is already read from {fields_seen[field]!r}"
            )
        mapping[column] = field
        fields_seen[field] = column
    return mapping


def import_orders(
    db: Database,
    path: Path,
    mapping: dict[str, str],
    *,
    settings: Settings,
    reporter: Reporter = NULL,
) -> ImportSummary:
    """Import an order export; ``mapping`` is ``{column: field}`` as ``parse_mapping``
    gives it. Raises ``ValidationFailed`` when a mapped or required column is missing."""
    started = time.perf_counter()
    raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    columns = _columns(raw.columns, mapping)
    lines = raw.select(
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("line"),
        *(pl.col(column).str.strip_chars().alias(field) for field, column in columns.items()),
    ).with_columns(pl.col(pl.String).replace("", None))
    summary = ImportSummary(counts={"lines": lines.height})
    unnumbered = lines.filter(pl.col("order_id").is_null()).get_column("line").to_list()
    no_order = {**_error(["order_id"], "order_id is required"), "column": columns["order_id"]}
    summary.rejected.extend({"line": n, "errors": [no_order]} for n in unnumbered)
    orders = _orders(lines.filter(pl.col("order_id").is_not_null()))
    summary.add("orders", len(orders))
    summary.add("events", 0)
    summary.add("duplicates", 0)
    task = reporter.task(f"orders from {path.name}", total=len(orders))
    for start in range(0, len(orders), BATCH):
        batch = orders[start : start + BATCH]
        result = track_events(
            db, [event for event, _ in batch], settings=settings, received_at=now()
        )
        summary.add("events", result.accepted)
        summary.add("duplicates", result.duplicates)
        for rejected in result.rejected:
            item_lines = batch[rejected["index"]][1]
            summary.rejected.extend(_by_line(rejected["errors"], item_lines, columns))
        task.advance(len(batch))
    summary.rejected.sort(key=lambda r: int(r["line"]))
    summary.seconds = time.perf_counter() - started
    return summary


def _columns(header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """``{field: column}``: the mapping, then columns named like the remaining fields."""
    present = {c.strip().lstrip("\ufeff"): c for c in header}
    by_lower = {name.lower(): c for name, c in present.items()}
    columns: dict[str, str] = {}
    for column, field in mapping.items():
        found = present.get(column) or by_lower.get(column.lower())
        if found is None:
            raise ValidationFailed(
                f"--map {column}={field}: the file has no column {column!r}; "
                f"its columns are {', '.join(present)}"
            )
        columns[field] = found
    for field in FIELDS:
        if field not in columns and field in by_lower and by_lower[field] not in columns.values():
            columns[field] = by_lower[field]
    missing = [f for f in REQUIRED if f not in columns]
    if "user_id" not in columns and "anonymous_id" not in columns:
        missing.append("user_id or anonymous_id")
    if missing:
        raise ValidationFailed(
            f"no column for {', '.join(missing)}; map one with --map 'column=field' "
            f"(the file's columns are {', '.join(present)})"
        )
    return columns


def _orders(lines: pl.DataFrame) -> list[tuple[dict[str, Any], list[int]]]:
    """(raw purchase event, CSV line of each item) per order, in order of first line."""
    order_cols = [f for f in ORDER_FIELDS if f in lines.columns]
    item_cols = [f for f in ITEM_FIELDS if f in lines.columns]
    grouped = lines.group_by("order_id", maintain_order=True).agg(
        *(pl.col(f).first() for f in order_cols if f != "order_id"),
        *(pl.col(f) for f in item_cols),
        pl.col("line"),
    )
    orders = []
    for row in grouped.iter_rows(named=True):
        event: dict[str, Any] = {
            "event_id": EVENT_PREFIX + row["order_id"],
            "type": "purchase",
            **{f: row[f] for f in order_cols if row[f] is not None},
        }
        event["items"] = [
            {f: row[f][i] for f in item_cols if row[f][i] is not None}
            for i in range(len(row["line"]))
        ]
        orders.append((event, row["line"]))
    return orders


def _error(loc: list[Any], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": "missing"}


def _by_line(
    errors: list[dict[str, Any]], lines: list[int], columns: dict[str, str]
) -> list[dict[str, Any]]:
    """One rejection per CSV line: an item's errors go to its line, the order's to its first
    line; each error names the CSV column of its field when there is one."""
    grouped: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for err in errors:
        loc = err.get("loc") or []
        at_item = len(loc) > 1 and loc[0] == "items" and isinstance(loc[1], int)
        field = loc[2] if at_item and len(loc) > 2 else (loc[0] if loc else None)
        line = lines[loc[1]] if at_item and loc[1] < len(lines) else lines[0]
        column = columns.get(field) if isinstance(field, str) else None
        grouped[line].append({**err, "column": column} if column else err)
    return [{"line": n, "errors": errs} for n, errs in sorted(grouped.items())]
