"""The charts of the web dashboard, drawn by the vendored Chart.js from the same tables the
pages show (a chart never has figures of its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopsense.dashboard.web_view import Kind, Table, View, kind_of, label

TIME_COLUMNS = ("date", "day", "week", "month", "hour", "cohort", "bucket")
MAX_POINTS = 60
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ChartSpec:
    """A chart of a page's table: labels from one column, one series per value column."""

    table: str
    labels: str
    values: tuple[str, ...]
    type: str = "bar"
    title: str | None = None
    horizontal: bool = False


@dataclass
class Chart:
    """What ``ui.js`` hands to Chart.js."""

    id: str
    title: str
    type: str
    kind: Kind
    labels: list[Any]
    datasets: list[dict[str, Any]] = field(default_factory=list)
    horizontal: bool = False
    table: str | None = None
    label_column: str | None = None
    value_columns: tuple[str, ...] = ()
    live: bool = False

    def config(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "kind": self.kind,
            "labels": self.labels,
            "datasets": self.datasets,
            "horizontal": self.horizontal,
            "live": self.live,
            "source": self.table,
            "label_column": self.label_column,
            "value_columns": list(self.value_columns),
        }


# Chosen charts per page (tables named by their path in the page's answer). Tables that are
# absent are skipped, so a page still renders while its answer grows.
SPECS: dict[str, tuple[ChartSpec, ...]] = {
    "overview": (
        ChartSpec("daily", "day", ("revenue",), "line", "Revenue by day"),
        ChartSpec(
            "live.events_per_minute", "minute", ("events",), "bar", "Events per minute, last hour"
        ),
        ChartSpec("funnel", "step", ("sessions",), "bar", "Funnel: sessions reaching each step"),
        ChartSpec("top_categories", "category", ("revenue",), "bar", "Revenue by category", True),
    ),
    "users": (
        ChartSpec("segments.value", "name", ("value",), "bar", "Customers by value segment"),
        ChartSpec("segments.lifecycle", "name", ("value",), "bar", "Customers by lifecycle"),
        ChartSpec(
            "clv_distribution.bins", "range", ("users",), "bar", "Buyers by predicted 12-month CLV"
        ),
        ChartSpec("engagement", "level", ("users",), "bar", "Users by active days"),
        ChartSpec("devices", "name", ("users",), "bar", "Users by device"),
        ChartSpec("countries", "name", ("users",), "bar", "Users by country", True),
    ),
    "recommendations": (
        ChartSpec(
            "by_strategy",
            "strategy",
            ("ctr", "conversion_rate"),
            "bar",
            "CTR and conversion by strategy",
        ),
        ChartSpec(
            "by_strategy",
            "strategy",
            ("revenue", "margin"),
            "bar",
            "Attributed revenue by strategy",
        ),
        ChartSpec("by_position", "position", ("ctr",), "line", "CTR by position"),
        ChartSpec("by_context", "context", ("revenue",), "bar", "Attributed revenue by context"),
    ),
    "bundles": (
        ChartSpec(
            "bundles.by_type",
            "type",
            ("revenue", "margin_earned"),
            "bar",
            "Revenue and margin by type",
        ),
        ChartSpec(
            "bundles.by_type",
            "type",
            ("take_rate", "base_rate"),
            "bar",
            "Take rate against the separate-purchase base rate",
        ),
    ),
    "profit": (
        ChartSpec(
            "margins.by_category",
            "category",
            ("gross_margin",),
            "bar",
            "Gross margin by category",
            True,
        ),
        ChartSpec(
            "acquisition",
            "channel",
            ("spend", "gross_margin"),
            "bar",
            "Spend and customers' margin by channel",
        ),
        ChartSpec("acquisition", "channel", ("roi",), "bar", "ROI by channel"),
        ChartSpec(
            "opportunities",
            "title",
            ("money_at_stake",),
            "bar",
            "Opportunities by money at stake",
            True,
        ),
    ),
}


def _from_table(table: Table, spec: ChartSpec, index: int, live: bool) -> Chart | None:
    if spec.labels not in table.columns:
        return None
    values = [v for v in spec.values if v in table.columns]
    if not values:
        return None
    rows = table.rows[:MAX_POINTS]
    return Chart(
        id=f"chart-{index}",
        title=spec.title or table.title,
        type=spec.type,
        kind=table.kinds.get(values[0], kind_of(values[0])),
        labels=[r.get(spec.labels) for r in rows],
        datasets=[{"label": label(v), "data": [r.get(v) for r in rows]} for v in values],
        horizontal=spec.horizontal,
        table=table.name,
        label_column=spec.labels,
        value_columns=tuple(values),
        live=live,
    )


def _numeric(table: Table, column: str) -> bool:
    return any(isinstance(r.get(column), int | float) for r in table.rows) and not any(
        isinstance(r.get(column), str) for r in table.rows
    )


def _default_specs(view: View) -> list[ChartSpec]:
    """A line per time series: tables whose first column is a date, day, week or hour."""
    specs = []
    for table in view.tables:
        first = table.columns[0] if table.columns else ""
        if first.split(".")[-1] in TIME_COLUMNS and len(table.rows) > 1:
            values = tuple(c for c in table.columns[1:] if _numeric(table, c))[:1]
            if values:
                specs.append(ChartSpec(table.name, first, values, "line"))
    return specs


def charts_for(slug: str, view: View, live: bool = False) -> list[Chart]:
    """The charts of page ``slug``: its chosen ones, else one per time series; ``live``
    charts are redrawn from each refresh of the page's JSON."""
    specs = list(SPECS.get(slug, ())) or _default_specs(view)
    charts: list[Chart] = []
    for spec in specs:
        table = view.table(spec.table)
        if table is None or not table.rows:
            continue
        chart = _from_table(table, spec, len(charts), live)
        if chart is not None:
            charts.append(chart)
    return charts


def _activity_chart(chart_id: str, title: str, shares: Any, labels: list[str]) -> Chart | None:
    """A bar chart of a profile's activity per hour or weekday (one figure per label), or
    None when the profile has no such list."""
    if not isinstance(shares, list) or len(shares) != len(labels):
        return None
    kind: Kind = "percent" if all(isinstance(s, float) for s in shares) else "count"
    return Chart(
        chart_id, title, "bar", kind, labels, [{"label": "Share of activity", "data": shares}]
    )


def profile_charts(profile: dict[str, Any]) -> list[Chart]:
    """A user's shopping hours and weekdays."""
    charts = [
        _activity_chart(
            "chart-hours",
            "Activity by hour",
            profile.get("preferred_hours"),
            [f"{h:02d}" for h in range(24)],
        ),
        _activity_chart(
            "chart-days", "Activity by weekday", profile.get("preferred_days"), list(WEEKDAYS)
        ),
    ]
    return [c for c in charts if c is not None]


__all__ = ["SPECS", "Chart", "ChartSpec", "charts_for", "profile_charts"]
