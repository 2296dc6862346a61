"""``GET /analytics/profit-optimization``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import DbDep, SecretKey, SettingsDep
from shopsense.api.params import answer, parse_as_of
from shopsense.api.routes.performance import From, To
from shopsense.clock import utcnow
from shopsense.profit.engine import ProfitOptimizationEngine

router = APIRouter(tags=["profit"])


@router.get("/analytics/profit-optimization")
async def profit_optimization(
    _: SecretKey, db: DbDep, settings: SettingsDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Revenue and gross margin (by category, brand, channel, segment, month), pricing advice
    with the elasticity and interval behind each move, inventory (turnover, days of cover,
    slow movers, dead stock, stock-out risk), marketing (spend, CAC, ROI, CLV:CAC and payback
    by channel, a budget shift), retention strategies per segment with their expected value,
    and the opportunities ranked by money at stake, for [from, to) (default: 90 days)."""
    engine = ProfitOptimizationEngine(db, settings)
    report = await run_in_threadpool(
        engine.report, parse_as_of(from_, "from"), parse_as_of(to, "to"), now=utcnow()
    )
    return answer(report)
