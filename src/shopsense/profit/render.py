"""The profit report as Markdown or HTML (``shopsense report profit --markdown / --html``)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

SECTIONS = (
    ("Opportunities", "opportunities", ["kind", "title", "money_at_stake", "evidence"]),
    ("Marketing by channel", "marketing",
     ["channel", "spend", "new_customers", "cac", "roi", "clv_cac", "payback_months"]),
    ("Pricing advice", ("pricing", "advice"),
     ["product_id", "action", "price", "recommended_price", "elasticity",
      "expected_profit_change", "reason"]),
    ("Margins by category", ("margins", "category"),
     ["category", "net_revenue", "cogs", "gross_margin", "margin_pct"]),
    ("Inventory", ("inventory", "totals"),
     ["stock_value", "turnover", "days_of_inventory", "slow_movers", "dead_stock_value",
      "stock_out_risk_items"]),
    ("Retention", "retention", ["segment", "users", "strategy", "expected_value"]),
)  # fmt: skip


def html_report(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, no external files)."""
    env = Environment(
        loader=PackageLoader("shopsense.profit", "templates"), autoescape=select_autoescape()
    )
    sections = []
    for title, key, columns in SECTIONS:
        rows: Any = report[key] if isinstance(key, str) else report[key[0]][key[1]]
        sections.append((title, [rows] if isinstance(rows, dict) else rows, columns))
    return env.get_template("report.html").render(report=report, sections=sections)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    out = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            cells.append(f"{value:,.2f}" if isinstance(value, float) else str(value))
        out.append("| " + " | ".join(cells) + " |")
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
        "## Opportunities",
        "",
        *_table(report["opportunities"], ["kind", "title", "money_at_stake", "evidence"]),
        "## Margins by category",
        "",
        *_table(report["margins"]["category"],
                ["category", "net_revenue", "cogs", "gross_margin", "margin_pct"]),
        "## Marketing",
        "",
        *_table(report["marketing"],
                ["channel", "spend", "new_customers", "cac", "roi", "clv_cac", "payback_months"]),
        "## Pricing advice",
        "",
        *_table(report["pricing"]["advice"],
                ["product_id", "action", "price", "recommended_price", "elasticity",
                 "expected_profit_change", "reason"]),
        "## Inventory",
        "",
        *_table([report["inventory"]["totals"]],
                ["stock_value", "turnover", "days_of_inventory", "slow_movers",
                 "dead_stock_value", "stock_out_risk_items"]),
        "## Retention",
        "",
        *_table(report["retention"], ["segment", "users", "strategy", "expected_value"]),
    ]  # fmt: skip
    return "\n".join(lines)


__all__ = ["html_report", "markdown_report"]
