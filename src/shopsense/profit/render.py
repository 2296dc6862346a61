"""The profit report as Markdown or HTML (``shopsense report profit --markdown / --html``)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

SECTIONS = (
    ("Opportunities", "opportunities", ["kind", "title", "money_at_stake", "evidence"]),
    ("Marketing by channel", "marketing",
     ["channel", "spend", "new_customers", "cac", "roi", "clv_cac", "payback_months"]),
    ("Pricing advice", ("pricing", "advice"),
     ["product_id", "action", "price", "recommended_price", "elasticity", "elasticity_ci",
      "expected_profit_change", "profit_change_low", "profit_change_high", "reason"]),
    ("Margins by category", ("margins", "category"),
     ["category", "net_revenue", "cogs", "gross_margin", "margin_pct"]),
    ("Inventory", ("inventory", "totals"),
     ["stock_value", "turnover", "days_of_inventory", "slow_movers", "dead_stock_value",
      "stock_out_risk_items"]),
    ("Retention", "retention", ["segment", "users", "strategy", "expected_value"]),
)  # fmt: skip


def _sections(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    """Each section's title, rows and columns (a one-row section is a dict in the report)."""
    out = []
    for title, key, columns in SECTIONS:
        rows: Any = report[key] if isinstance(key, str) else report[key[0]][key[1]]
        out.append((title, [rows] if isinstance(rows, dict) else rows, columns))
    return out


def html_report(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, no external files)."""
    env = Environment(
        loader=PackageLoader("shopsense.profit", "templates"), autoescape=select_autoescape()
    )
    env.filters["cell"] = _cell
    return env.get_template("report.html").render(report=report, sections=_sections(report))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple) and all(isinstance(v, float) for v in value):
        return "[" + ", ".join(f"{v:,.2f}" for v in value) + "]"
    return "" if value is None else str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    out = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    out += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return [*out, ""]


def markdown_report(report: dict[str, Any]) -> str:
    revenue = report["revenue"]
    lines = [
        f"# Profit report {report['from']:%Y-%m-%d} to {report['to']:%Y-%m-%d}",
        "",
        f"Net revenue {revenue['net_revenue']:,.2f}, gross margin {revenue['gross_margin']:,.2f}"
        f" ({100 * (revenue['margin_pct'] or 0):.1f} %), {revenue['orders']:,} orders, revenue"
        f" per buyer {revenue['revenue_per_user'] or 0:,.2f}.",
        "",
    ]
    for title, rows, columns in _sections(report):
        lines += [f"## {title}", "", *_table(rows, columns)]
    return "\n".join(lines)


__all__ = ["html_report", "markdown_report"]
