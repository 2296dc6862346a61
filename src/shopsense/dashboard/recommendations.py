"""``GET /dashboard/recommendation-analytics``: what the recommendations and bundles earned in
a period, beside the period before it, and the running experiments' read-out.

Every figure comes from the measurement engines (definitions in docs/metrics.md,
"Recommendation attribution", "Bundle attribution", "Experiments"):

- ``kpis``: the totals of ``experiments.performance.recommendation_performance`` for the
  recommendations shown in the period and in the previous one (impressions, clicks, CTR,
  add-to-carts, conversions, conversion rate, attributed revenue and margin, revenue per
  impression), each as ``{value, previous, change}``;
- ``by_strategy``, ``by_context``, ``by_position``: its groups for the period;
- ``experiments``: each running experiment's read-out since it started
  (``experiments.results.experiment_results``): per variant its users, CTR, the lift of the
  experiment's metric against the control with its 95 % interval, the fixed-horizon and the
  always-valid p-values; the sample-ratio check, the planned size and the peeking flag;
- ``bundles``: ``experiments.bundle_performance`` for the bundles offered or shown in the
  period, by type, with its headline figures beside the previous period's.

The answer is cached (``shopsense.dashboard.cache``): ``computed_at`` says when its figures
were computed and ``stale`` whether newer data has arrived or the TTL has run out since (a
fresh answer is then being computed in the background). A fresh answer is at most
``SHOPSENSE_DASHBOARD_CACHE_SECONDS`` old (300 s by default); a stale one at most twice that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopsense.dashboard.cache import CACHE
from shopsense.dashboard.period import Period, compare
from shopsense.db.session import Database
from shopsense.experiments.attribution import Windows
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.experiments.performance import recommendation_performance
from shopsense.experiments.registry import running
from shopsense.experiments.results import experiment_results
from shopsense.settings import Settings

PAGE = "recommendation-analytics"
VERSION = ("events", "answers", "offers", "experiments")
KPIS = (
    "impressions",
    "clicks",
    "ctr",
    "add_to_carts",
    "conversions",
    "conversion_rate",
    "revenue",
    "margin",
    "revenue_per_impression",
)
BUNDLE_KPIS = (
    "offers",
    "views",
    "clicks",
    "purchases",
    "conversion_rate",
    "revenue",
    "discount_given",
    "margin_earned",
    "take_rate",
    "uplift",
)
READ_OUT = (
    "value",
    "lift",
    "lift_ci",
    "p_value",
    "significant",
    "sequential_p_value",
    "sequential_ci",
    "sequential_significant",
)


def recommendation_analytics(
    db: Database, period: Period, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The page's answer for ``period`` (cached, see the module docstring)."""
    return CACHE.page(PAGE, VERSION, compute, db, period, now, settings)


def compute(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
    """The page's figures, computed now (uncached)."""
    windows = Windows.from_settings(settings)
    previous = period.previous

    def performance(p: Period, by: list[str]) -> dict[str, Any]:
        return recommendation_performance(db, p.start, p.end, by, now=now, windows=windows)

    by_strategy = performance(period, ["strategy"])
    by_context = performance(period, ["context"])
    by_position = performance(period, ["position"])
    before = performance(previous, [])
    bundles = bundle_performance(db, period.start, period.end, now=now, windows=windows)
    bundles_before = bundle_performance(db, previous.start, previous.end, now=now, windows=windows)
    totals, prior = by_strategy["totals"], before["totals"]
    return {
        **period.describe(),
        "attribution": {
            "impressions_source": by_strategy["impressions_source"],
            "click_window_days": by_strategy["click_window_days"],
            "view_window_days": by_strategy["view_window_days"],
        },
        "kpis": {k: compare(totals[k], prior[k]) for k in KPIS},
        "totals": totals,
        "by_strategy": by_strategy["groups"],
        "by_context": by_context["groups"],
        "by_position": by_position["groups"],
        "experiments": experiments(db, now, windows),
        "bundles": {
            "kpis": {
                k: compare(bundles["totals"][k], bundles_before["totals"][k]) for k in BUNDLE_KPIS
            },
            "totals": bundles["totals"],
            "by_type": bundles["by_type"],
        },
    }


def experiments(db: Database, now: datetime, windows: Windows) -> list[dict[str, Any]]:
    """Each running experiment's read-out since it started, newest first."""
    with db.read() as conn:
        names = [e["name"] for e in running(conn)]
    return [read_out(experiment_results(db, name, now=now, windows=windows)) for name in names]


def read_out(results: dict[str, Any]) -> dict[str, Any]:
    """An experiment's results as the dashboard shows them: per variant its users, CTR and,
    under ``read_out``, the experiment's own metric against the control (the control has
    its value only)."""
    experiment = results["experiment"]
    metric = experiment["metric"]
    return {
        "name": experiment["name"],
        "description": experiment["description"],
        "metric": metric,
        "started_at": experiment["started_at"],
        "from": results["from"],
        "to": results["to"],
        "control": results["control"],
        "planned_users": experiment["planned_users"],
        "planned_users_reached": results["planned_users_reached"],
        "peeking": results["peeking"],
        "srm": results["srm"],
        "variants": [
            {
                "variant": v["variant"],
                "strategy": v["strategy"],
                "users": v["users"],
                "impressions": v["impressions"],
                "clicks": v["clicks"],
                "conversions": v["conversions"],
                "revenue": v["revenue"],
                "ctr": v["metrics"]["ctr"]["value"],
                "read_out": {
                    k: v["metrics"][metric][k] for k in READ_OUT if k in v["metrics"][metric]
                },
            }
            for v in results["variants"]
        ],
    }


__all__ = ["compute", "read_out", "recommendation_analytics"]
