"""What the web dashboard shows of a page's answer: headline tiles, tables and charts, the
formatting of their figures, and the CSV export of every table.

A page's answer (JSON-ready, as :func:`shopsense.api.params.answer` makes it) is walked once:
each ``{"value", "previous", "change"}`` object becomes a tile, each list of objects (and each
object of plain figures) a table named by its path, so a table's CSV is exactly the rows the
page shows. Figures are formatted here and by ``static/ui.js`` with the same rules (two
decimals for money, thousands separators, percentages of ratios with one decimal, rounding
half away from zero), so a tile reads the same whether rendered or refreshed live.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Kind = Literal["money", "count", "percent", "number", "fine", "text"]

_PERCENT = re.compile(
    r"(^|_)(rate|ctr|share|pct|percent|retention|conversion|probability|take_rate"
    r"|alive|margin_pct|cvr|uplift|lift|retention)(_|$)"
)
_MONEY = re.compile(
    r"(^|_)(revenue|aov|value|margin|profit|spend|cac|clv|price|cost|cogs|discount|amount"
    r"|ltv|money|income|sales|refunded|refunds|earned|at_stake)(_|$)"
)
_COUNT = re.compile(
    r"(^|_)(count|orders|users|sessions|events|views|clicks|impressions|offers|purchases"
    r"|buyers|customers|visitors|conversions|items|n|activities|add_to_carts|products"
    r"|units|quantity|stock|signups|new_customers|returning)(_|$)"
)
_RATIO = re.compile(r"(^|_)(roi|clv_cac|elasticity|score|turnover|hhi|velocity|pressure)(_|$)")
_FINE = re.compile(r"(^|_)(p|p_value|pvalue)$")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?Z$")
SKIP_KEYS = frozenset({"period", "previous"})
MAX_ROWS = 500


def kind_of(name: str, value: Any = None) -> Kind:
    """How a figure named ``name`` is formatted (by its name; else by its value)."""
    key = name.lower().rsplit(".", 1)[-1]
    if isinstance(value, str):
        return "text"
    if _FINE.search(key):
        return "fine"
    if _RATIO.search(key) and not _PERCENT.search(key):
        return "number"
    if _PERCENT.search(key):
        return "percent"
    if _MONEY.search(key):
        return "money"
    if _COUNT.search(key) or isinstance(value, bool):
        return "count"
    if isinstance(value, int):
        return "count"
    return "number"


def _fixed(value: float, places: int) -> str:
    """``value`` with ``places`` decimals and thousands separators, halves away from zero
    (as JavaScript's ``toFixed`` rounds the same double)."""
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:,.{places}f}"


def fmt(value: Any, kind: Kind = "number") -> str:
    """A figure as the dashboard shows it (``—`` when unknown)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        moment = _ISO.match(str(value))
        return f"{moment[1]} {moment[2]} UTC" if moment else str(value)
    if kind == "money" or kind == "number":
        return _fixed(value, 2)
    if kind == "count":
        return _fixed(value, 0)
    if kind == "fine":
        return _fixed(value, 4)
    if kind == "percent":
        return _fixed(100 * value, 1) + " %"
    return str(value)


def fmt_change(change: Any) -> str:
    """A relative change as ``+12.3 %`` / ``-4.5 %`` (``—`` when there is none)."""
    if change is None or not isinstance(change, int | float):
        return "—"
    text = _fixed(100 * change, 1)
    return ("+" + text if not text.startswith("-") and text != "0.0" else text) + " %"


# Headings where a key alone reads badly (by the key's full path in a page's answer).
LABELS = {
    "users.total": "Users",
    "users.active": "Active users",
    "users.new": "New users",
    "users.returning_rate": "Returning users",
    "recommendation_revenue": "Recommendation revenue",
    "bundle_revenue": "Bundle revenue",
    "live.active_users": "Active in the last 5 minutes",
    "live.as_of": "Live as of",
    "live.events_per_minute": "Events per minute, last hour",
    "daily": "By day",
    "segments.value": "Customers by value segment",
    "segments.lifecycle": "Customers by lifecycle",
    "segments": "Segments",
    "movement": "Segment movement",
    "movement.value": "Value segment movement",
    "movement.lifecycle": "Lifecycle movement",
    "clv_distribution": "Predicted CLV",
    "clv_distribution.bins": "Buyers by predicted 12-month CLV",
    "heatmap": "Events by weekday and hour",
    "engagement": "Users by active days",
    "margins.totals": "Revenue and margin",
    "margins.by_category": "Margins by category",
    "acquisition": "Marketing by channel",
    "inventory.totals": "Inventory",
    "inventory.slow_movers": "Slow movers",
    "inventory.dead_stock": "Dead stock",
    "inventory.stock_out_risk": "Stock-out risk",
    "bundles.totals": "Bundle totals",
    "bundles.by_type": "Bundles by type",
    "top_bundles": "Top bundles",
    "totals": "Totals",
    "computed_at": "Computed",
    "stale": "Being refreshed",
    "kpis.revenue_per_user": "Revenue per buyer",
    "kpis.margin_pct": "Margin",
    "kpis.inventory_turnover": "Inventory turnover",
    "kpis.inventory_dead_stock_value": "Dead stock value",
    "kpis.revenue_per_impression": "Revenue per impression",
    "kpis.ctr": "CTR",
    "kpis.add_to_carts": "Add to carts",
    "activities": "Events by type",
}


# Headings of single keys wherever they appear.
WORDS = {"aov": "Average order value", "mean_session_seconds": "Mean session (s)"}
EMPTY = {"experiments": "No experiment is running."}
INDEX_LABELS = {"retention": "Month", "events": "Hour"}


def label(name: str) -> str:
    """A key as a heading: ``top_products`` → ``Top products``, ``aov`` → ``AOV``."""
    if name in WORDS:
        return WORDS[name]
    words = name.replace(".", " ").replace("_", " ").split()
    upper = {
        "srm",
        "aov",
        "ctr",
        "cac",
        "clv",
        "roi",
        "rfm",
        "id",
        "cvr",
        "hhi",
        "utm",
        "ab",
        "cogs",
    }
    out = [w.upper() if w.lower() in upper else w for w in words]
    text = " ".join(out)
    return text[:1].upper() + text[1:] if text else name


def title_of(path: str, labels: Mapping[str, str] = LABELS) -> str:
    """A heading for the object at ``path``: its own label, with its parent's when nested."""
    if path in labels:
        return labels[path]
    parts = path.split(".")
    if len(parts) == 1:
        return label(parts[0])
    return f"{label(parts[-2])}: {label(parts[-1]).lower()}"


@dataclass(frozen=True)
class Tile:
    """A headline figure beside the previous period's (a fact has no previous)."""

    path: str
    label: str
    kind: Kind
    value: Any
    previous: Any = None
    change: Any = None

    @property
    def trend(self) -> str:
        if not isinstance(self.change, int | float) or self.change == 0:
            return "flat"
        return "up" if self.change > 0 else "down"


@dataclass
class Table:
    """Rows of one list in a page's answer; ``name`` is its path, used by the export."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    kinds: dict[str, Kind] = field(default_factory=dict)
    heat: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> list[dict[str, Any]]:
        return self.rows[:MAX_ROWS]

    @property
    def wide(self) -> bool:
        """Many columns or long text: the table takes a full row of the page."""
        longest = max(
            (len(v) for r in self.rows for v in r.values() if isinstance(v, str)), default=0
        )
        return len(self.columns) >= 5 or longest > 40

    @property
    def empty_text(self) -> str:
        return EMPTY.get(self.name.split(".")[-1], "No rows for this period.")

    def cell(self, row: dict[str, Any], column: str) -> str:
        return fmt(row.get(column), self.kinds.get(column, "number"))

    def heading(self, column: str) -> str:
        return self.labels.get(column) or label(column)

    def shade(self, row: dict[str, Any], column: str) -> float:
        """0–1: a heat table's cell against the table's largest figure."""
        top = max(
            (v for r in self.rows for c, v in r.items() if c != self.columns[0]
             and isinstance(v, int | float)),
            default=0,
        )  # fmt: skip
        value = row.get(column)
        return round(value / top, 3) if top and isinstance(value, int | float) else 0.0


@dataclass
class FactGroup:
    """Single figures of one object of the answer (no comparison)."""

    path: str
    title: str
    facts: list[Tile] = field(default_factory=list)


@dataclass
class View:
    """A page's answer as tiles, groups of facts and tables, in the answer's order."""

    tiles: list[Tile] = field(default_factory=list)
    groups: list[FactGroup] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    meta: list[Tile] = field(default_factory=list)
    labels: Mapping[str, str] = field(default_factory=lambda: LABELS)

    @property
    def facts(self) -> list[Tile]:
        return [f for g in self.groups for f in g.facts]

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def tile(self, path: str) -> Tile | None:
        return next((t for t in self.tiles if t.path == path), None)


def is_kpi(value: Any) -> bool:
    return isinstance(value, dict) and {"value", "previous", "change"} <= set(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A row's nested objects as ``outer.inner`` columns; KPI objects keep their value,
    previous and change; lists of numbers become one column each, other lists short text."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if is_kpi(value):
            flat[name] = value["value"]
            flat[f"{name}.previous"] = value["previous"]
            flat[f"{name}.change"] = value["change"]
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and value and all(_number(v) for v in value):
            if len(value) <= 2 and name.endswith("_ci"):
                flat[name] = " to ".join(f"{100 * v:+.1f} %" for v in value)
            else:
                for i, v in enumerate(value):
                    flat[f"{name}.{i}"] = v
        elif isinstance(value, list):
            flat[name] = ", ".join(str(v) for v in value if _scalar(v))
        else:
            flat[name] = value
    return flat


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _column_kind(column: str, sample: Any) -> Kind:
    parts = column.split(".")
    if parts[-1] == "change":
        return "percent"
    if parts[-1] == "previous" and len(parts) > 1:
        parts = parts[:-1]
    if parts[-1].isdigit() and len(parts) > 1:
        return kind_of(parts[-2], sample)
    return kind_of(parts[-1], sample)


def _column_label(column: str) -> str:
    parts = column.split(".")
    if parts[-1].isdigit() and len(parts) > 1:
        return f"{INDEX_LABELS.get(parts[-2], label(parts[-2]))} {parts[-1]}"
    if len(parts) > 1 and parts[-1] in ("previous", "change", "from", "to"):
        return f"{label(parts[-2])} {parts[-1]}"
    return label(parts[-1])


def make_table(name: str, rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """A table of ``rows`` (objects), its columns in order of first appearance."""
    flat = [_flatten(r) for r in rows]
    columns = _columns(flat)
    if "from" in columns and "to" in columns and "range" not in columns:
        for r in flat:
            lo, hi = r.get("from"), r.get("to")
            r["range"] = (
                f"{fmt(lo, 'count')}+" if hi is None else f"{fmt(lo, 'count')}–{fmt(hi, 'count')}"
            )
        columns = ["range", *columns]
    kinds: dict[str, Kind] = {}
    for column in columns:
        sample = next((r.get(column) for r in flat if r.get(column) is not None), None)
        kinds[column] = _column_kind(column, sample)
    heading = title or title_of(name)
    return Table(name, heading, columns, flat, kinds, labels={c: _column_label(c) for c in columns})


def _matrix(value: Any) -> bool:
    """An object of objects of numbers with the same keys (a from × to table)."""
    if not isinstance(value, dict) or len(value) < 2:
        return False
    inner = list(value.values())
    if any(is_kpi(v) for v in inner):
        return False
    if not all(isinstance(v, dict) and v and all(_number(x) for x in v.values()) for v in inner):
        return False
    return all(set(v) == set(inner[0]) for v in inner)


def _heatmap(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("weekdays"), list)
        and isinstance(value.get("events"), list)
        and all(isinstance(r, list) for r in value["events"])
    )


def _kpi_tile(path: str, data: dict[str, Any]) -> Tile:
    name = path.split(".")[-1]
    return Tile(
        path,
        LABELS.get(path) or label(name),
        kind_of(name, data["value"]),
        data["value"],
        data["previous"],
        data["change"],
    )


def _fact(path: str, value: Any) -> Tile:
    name = path.split(".")[-1]
    return Tile(path, LABELS.get(path) or label(name), kind_of(name, value), value)


def _group(view: View, path: str, title: str) -> FactGroup:
    group = next((g for g in view.groups if g.path == path), None)
    if group is None:
        group = FactGroup(path, title)
        view.groups.append(group)
    return group


def _expand(path: str, rows: list[dict[str, Any]], view: View) -> None:
    """A list of objects holding lists of objects (experiments and their variants): per
    object a group of its figures and a table per inner list."""
    for i, row in enumerate(rows):
        here = f"{path}.{i}"
        title = str(row.get("name") or row.get("title") or f"{label(path)} {i + 1}")
        group = _group(view, here, title)
        for key, value in _flatten(
            {k: v for k, v in row.items() if not _rows_of_objects(v)}
        ).items():
            fact = _fact(f"{here}.{key}", value)
            name = " ".join(_column_label(p) if p.isdigit() else label(p) for p in key.split("."))
            group.facts.append(
                Tile(fact.path, name[:1].upper() + name[1:].lower(), fact.kind, value)
            )
        metric = row.get("metric")
        for key, value in row.items():
            if _rows_of_objects(value):
                table = make_table(f"{here}.{key}", value, f"{title}: {label(key).lower()}")
                if isinstance(metric, str):
                    for column in table.columns:
                        if column.endswith(".value"):
                            table.kinds[column] = kind_of(metric)
                view.tables.append(table)


def _rows_of_objects(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)


def _walk(data: Any, path: str, view: View) -> None:
    if is_kpi(data):
        view.tiles.append(_kpi_tile(path, data))
        return
    if isinstance(data, list):
        if _rows_of_objects(data):
            if any(_rows_of_objects(v) for r in data for v in r.values()):
                _expand(path, data, view)
            else:
                view.tables.append(make_table(path, data, title_of(path, view.labels)))
        elif not data and path:
            view.tables.append(Table(path, title_of(path, view.labels), [], []))
        return
    if not isinstance(data, dict):
        return
    if path and _heatmap(data):
        names = [str(d) for d in data["weekdays"]]
        rows = [
            {
                "weekday": names[i] if i < len(names) else str(i),
                **{f"{h:02d}": n for h, n in enumerate(r)},
            }
            for i, r in enumerate(data["events"])
        ]
        table = make_table(path, rows, title_of(path, view.labels))
        table.heat = True
        view.tables.append(table)
        rest = {k: v for k, v in data.items() if k not in ("weekdays", "events") and _scalar(v)}
        if rest:
            group = _group(view, path, title_of(path, view.labels))
            group.facts.extend(_fact(f"{path}.{k}", v) for k, v in rest.items())
        return
    if path and _matrix(data):
        rows = [{"from": k, **v} for k, v in data.items()]
        table = make_table(path, rows, title_of(path, view.labels))
        for column in table.columns[1:]:
            if all(isinstance(r.get(column), int) for r in rows):
                table.kinds[column] = "count"
        table.labels["from"] = "From \\ to"
        view.tables.append(table)
        return
    scalars = {k: v for k, v in data.items() if _scalar(v)}
    numeric = (
        len(scalars) == len(data) and len(data) >= 1 and all(_number(v) for v in data.values())
    )
    counts = len(data) > 1 and numeric and all(isinstance(v, int) for v in data.values())
    shares = (
        numeric and all(0 <= v <= 1 for v in data.values()) and 0.98 <= sum(data.values()) <= 1.02
    )
    if path and (counts or shares):
        rows = [{"name": k, "value": v} for k, v in data.items()]
        table = make_table(path, rows, title_of(path, view.labels))
        table.kinds["value"] = "count" if counts else "percent"
        table.labels["value"] = "Count" if counts else "Share"
        view.tables.append(table)
        return
    if scalars and not path:
        view.meta.extend(_fact(k, v) for k, v in scalars.items())
    elif scalars:
        group = _group(view, path, title_of(path, view.labels))
        group.facts.extend(_fact(f"{path}.{k}", v) for k, v in scalars.items())
    for key, value in data.items():
        if (not path and key in SKIP_KEYS) or _scalar(value):
            continue
        _walk(value, f"{path}.{key}" if path else key, view)


def build_view(data: dict[str, Any], labels: Mapping[str, str] | None = None) -> View:
    """Tiles, facts and tables of a JSON-ready page answer, in the answer's order;
    ``labels`` names headings by path (default: the pages' ``LABELS``)."""
    view = View(labels=LABELS if labels is None else labels)
    _walk(data, "", view)
    view.groups = [g for g in view.groups if g.facts]
    return view


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``data`` (None when absent)."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value  # a spreadsheet must not read a shop's text as a formula
    return "" if value is None else value


def csv_text(table: Table) -> str:
    """Every row of ``table`` as CSV (raw figures, not formatted), a header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(row.get(c)) for c in table.columns])
    return out.getvalue()


__all__ = [
    "MAX_ROWS",
    "FactGroup",
    "Kind",
    "Table",
    "Tile",
    "View",
    "build_view",
    "csv_text",
    "fmt",
    "fmt_change",
    "is_kpi",
    "kind_of",
    "label",
    "lookup",
    "make_table",
]
