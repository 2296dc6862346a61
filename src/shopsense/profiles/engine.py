"""ProfileEngine: behaviour profiles, predicted value and segments for every user.

Profiles are computed on read for one user (a few indexed queries and one polars pass: a
tracked event shows at once, no cache to invalidate) and rebuilt set-based for all users
into ``user_behavior_profile`` (what segment listings read). Both go through
``compute_profiles``. The population-level state - CLV parameters and RFM cut points - is
fitted by the rebuild and kept in ``model_state``; a profile at an ``as_of`` before the newest
fit refits at that ``as_of``, so no data after ``as_of`` is ever used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, func, select

from shopsense.clock import utcnow
from shopsense.db.models import model_state_table, profiles_table, users_table
from shopsense.db.session import Database
from shopsense.db.upsert import insert
from shopsense.errors import NotFound
from shopsense.profiles.compute import compute_profiles
from shopsense.profiles.frames import load_frames
from shopsense.profiles.segments import (
    SEGMENT_COLUMN,
    RfmCuts,
    SegmentRules,
    fit_rfm_cuts,
    rfm_expressions,
    segment_expressions,
    summarise_segments,
)
from shopsense.profiles.value import (
    ValueModels,
    activity_summary,
    customer_summary,
    fit_value_models,
    predict_activity,
    predict_value,
)
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings

STATE_NAME = "profiles"
DETAILS = (
    "events_by_type",
    "preferred_hours",
    "preferred_days",
    "devices",
    "browsers",
    "categories",
    "brands",
    "brand_choices",
)
COLUMNS = tuple(c.name for c in profiles_table.columns if c.name not in ("details", "computed_at"))
CHUNK = 2_000


@dataclass(frozen=True)
class PopulationState:
    """What one user's profile needs from everybody's: value models and RFM cut points."""

    as_of: datetime
    value_models: ValueModels
    rfm_cuts: RfmCuts

    def as_dict(self) -> dict[str, Any]:
        return {"value_models": self.value_models.as_dict(), "rfm_cuts": self.rfm_cuts.as_dict()}


@dataclass(frozen=True)
class RebuildSummary:
    users: int
    buyers: int
    as_of: datetime
    seconds: float
    value_models: ValueModels


class ProfileEngine:
    """Profiles and segments over the event store; plain Python, no web imports."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    @property
    def rules(self) -> SegmentRules:
        s = self.settings
        return SegmentRules(
            clv_high=s.clv_high,
            clv_medium=s.clv_medium,
            at_risk_alive=s.at_risk_alive,
            churned_alive=s.churned_alive,
            at_risk_recency_factor=s.at_risk_recency_factor,
            churn_inactive_days=s.churn_inactive_days,
        )

    # -- computing -------------------------------------------------------------------------

    def compute(
        self,
        conn: Connection,
        as_of: datetime,
        user_ids: list[str] | None = None,
        state: PopulationState | None = None,
    ) -> tuple[pl.DataFrame, PopulationState]:
        """Profiles with value and segments; fits the population state when none is given."""
        frames = load_frames(conn, as_of, user_ids)
        profiles = compute_profiles(frames, as_of, self.settings.timezone)
        summary = customer_summary(frames.orders, as_of)
        activity = activity_summary(frames.events, frames.orders, as_of)
        if state is None:
            state = PopulationState(
                as_of=as_of,
                value_models=fit_value_models(summary, activity),
                rfm_cuts=fit_rfm_cuts(profiles.filter(pl.col("orders") > 0)),
            )
        value = predict_value(
            summary, state.value_models, discount_rate=self.settings.clv_discount_rate
        )
        profiles = (
            profiles.join(value, on="user_id", how="left")
            .join(predict_activity(activity, state.value_models), on="user_id", how="left")
            .with_columns(
                pl.when(pl.col("orders") > 0)
                .then(pl.col("predicted_clv_12m"))
                .otherwise(0.0)
                .alias("predicted_clv_12m")
            )
            .with_columns(*segment_expressions(self.rules), *rfm_expressions(state.rfm_cuts))
        )
        return profiles, state

    def rebuild(self, as_of: datetime | None = None, reporter: Reporter = NULL) -> RebuildSummary:
        """Recompute every profile and the population state, set-based, and store them."""
        started = time.perf_counter()
        as_of = as_of or utcnow()
        task = reporter.task("profiles: compute", total=2)
        with self.db.read() as conn:
            profiles, state = self.compute(conn, as_of)
        task.advance()
        rows = _rows(profiles, as_of, computed_at=utcnow())
        store = reporter.task("profiles: store", total=len(rows))
        with self.db.write() as conn:
            conn.execute(delete(profiles_table))
            for start in range(0, len(rows), CHUNK):
                conn.execute(profiles_table.insert(), rows[start : start + CHUNK])
                store.advance(len(rows[start : start + CHUNK]))
            _save_state(conn, state)
        task.advance()
        return RebuildSummary(
            users=profiles.height,
            buyers=int((profiles["orders"] > 0).sum()),
            as_of=as_of,
            seconds=time.perf_counter() - started,
            value_models=state.value_models,
        )

    def state_for(self, conn: Connection, as_of: datetime) -> PopulationState | None:
        """The stored population state when it was fitted no later than ``as_of``."""
        row = conn.execute(
            select(model_state_table.c.as_of, model_state_table.c.state).where(
                model_state_table.c.name == STATE_NAME
            )
        ).first()
        if row is None or row.as_of > as_of:
            return None
        return PopulationState(
            as_of=row.as_of,
            value_models=ValueModels.from_dict(row.state["value_models"]),
            rfm_cuts=RfmCuts.from_dict(row.state["rfm_cuts"]),
        )

    # -- reading ---------------------------------------------------------------------------

    def profile(self, user_id: str, as_of: datetime | None = None) -> dict[str, Any]:
        """One user's profile, fresh from the event store."""
        as_of = as_of or utcnow()
        with self.db.read() as conn:
            known = conn.execute(
                select(func.count())
                .select_from(users_table)
                .where(users_table.c.user_id == user_id)
            ).scalar_one()
            if not known:
                raise NotFound(f"no user {user_id!r}")
            state = self.state_for(conn, as_of)
            if state is None:  # no fit at or before as_of: fit one now, not stored
                _, state = self.compute(conn, as_of)
            profiles, _ = self.compute(conn, as_of, [user_id], state)
        if profiles.is_empty():
            raise NotFound(f"user {user_id!r} has no events up to {as_of.isoformat()}")
        return present(profiles.to_dicts()[0], as_of, state, self.rules)

    def population(self, as_of: datetime | None = None) -> tuple[pl.DataFrame, datetime]:
        """Every user's profile: the stored rebuild when no ``as_of`` is asked (or the table
        is empty: then computed now), else computed at ``as_of`` without storing."""
        with self.db.read() as conn:
            if as_of is None:
                stored = conn.execute(select(profiles_table)).mappings().all()
                if stored:
                    frame = pl.DataFrame(
                        [{k: v for k, v in r.items() if k != "details"} for r in stored],
                        infer_schema_length=None,
                    )
                    return frame, stored[0]["as_of"]
                as_of = utcnow()
            profiles, _ = self.compute(conn, as_of)
        return profiles, as_of

    def segments(self, as_of: datetime | None = None) -> dict[str, Any]:
        """Every segment with its definition, size, revenue share, mean CLV, strategy and
        expected value."""
        profiles, used = self.population(as_of)
        return {
            "as_of": used,
            "users": profiles.height,
            "thresholds": self.rules.as_dict(),
            "segments": summarise_segments(
                profiles,
                self.rules,
                uplift=self.settings.retention_uplift,
                offer_cost=self.settings.retention_offer_cost,
            ),
        }

    def segment_users(
        self, segment: str, as_of: datetime | None, limit: int, after: str | None
    ) -> dict[str, Any]:
        """One segment's users by user id, ``limit`` at a time after the id ``after``."""
        column = SEGMENT_COLUMN.get(segment)
        if column is None:
            raise NotFound(f"no segment {segment!r}; known: {', '.join(sorted(SEGMENT_COLUMN))}")
        profiles, used = self.population(as_of)
        members = profiles.filter(pl.col(column) == segment).sort("user_id")
        if after is not None:
            members = members.filter(pl.col("user_id") > after)
        page = members.head(limit)
        users = page.select(
            "user_id",
            "orders",
            "revenue",
            "predicted_clv_12m",
            "probability_alive",
            "activity_alive",
            "value_segment",
            "lifecycle_segment",
            "rfm_segment",
        ).to_dicts()
        more = members.height > limit
        return {
            "as_of": used,
            "segment": segment,
            "users": users,
            "next_after": users[-1]["user_id"] if more and users else None,
        }


def _save_state(conn: Connection, state: PopulationState) -> None:
    stmt = insert(conn, model_state_table)
    values = {
        "name": STATE_NAME,
        "fitted_at": utcnow(),
        "as_of": state.as_of,
        "state": state.as_dict(),
    }
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={k: stmt.excluded[k] for k in ("fitted_at", "as_of", "state")},
        ),
        [values],
    )


def _rows(profiles: pl.DataFrame, as_of: datetime, computed_at: datetime) -> list[dict[str, Any]]:
    rows = []
    for record in profiles.to_dicts():
        row = {name: record.get(name) for name in COLUMNS}
        row["as_of"] = as_of
        row["computed_at"] = computed_at
        row["details"] = {name: record.get(name) for name in DETAILS}
        rows.append(row)
    return rows


def _pairs(items: list[dict[str, Any]] | None, value: str) -> dict[str, Any]:
    return {item["name"]: item[value] for item in items or []}


def present(
    p: dict[str, Any], as_of: datetime, state: PopulationState, rules: SegmentRules
) -> dict[str, Any]:
    """The contract's UserBehaviorProfile from a computed row."""
    return {
        "user_id": p["user_id"],
        "as_of": as_of,
        "first_seen": p["first_seen"],
        "last_seen": p["last_seen"],
        "sessions": p["sessions"],
        "events": p["events"],
        "events_by_type": _pairs(p["events_by_type"], "n"),
        "orders": p["orders"],
        "revenue": p["revenue"],
        "refunded": p["refunded"],
        "aov": p["aov"],
        "purchase_frequency": {
            "orders_per_30d": p["orders_per_30d"],
            "mean_interpurchase_days": p["mean_interpurchase_days"],
        },
        "recency_days": p["recency_days"],
        "days_since_seen": p["days_since_seen"],
        "preferred_hours": p["preferred_hours"],
        "preferred_hour": p["preferred_hour"],
        "preferred_days": p["preferred_days"],
        "preferred_day": p["preferred_day"],
        "devices": _pairs(p["devices"], "share"),
        "main_device": p["main_device"],
        "browsers": _pairs(p["browsers"], "share"),
        "top_categories": p["categories"] or [],
        "top_brands": p["brands"] or [],
        "brand_loyalty": {
            "score": p["brand_loyalty"],
            "evidence": p["brand_choices"],
            "top_brand_share": p["top_brand_share"],
            "concentration_hhi": p["brand_hhi"],
            "switch_rate": p["brand_switch_rate"],
        },
        "price_sensitivity": {
            "score": p["price_sensitivity"],
            "tier": p["price_tier"],
            "price_percentile": p["price_percentile"],
            "discount_share": p["discount_share"],
            "promotion_response": p["promotion_response"],
        },
        "engagement": {
            "score": p["engagement_score"],
            "level": p["engagement_level"],
            "sessions_30d": p["sessions_30d"],
            "mean_session_seconds": p["mean_session_seconds"],
            "events_per_session": p["events_per_session"],
            "view_to_cart": p["view_to_cart"],
            "recommendation_ctr": p["recommendation_ctr"],
        },
        "clv": {
            "historical": p["revenue"],
            "predicted_12m": p["predicted_clv_12m"],
            "probability_alive": p["probability_alive"],
            "expected_purchases_90d": p["expected_purchases_90d"],
            "model_as_of": state.as_of,
        },
        "activity": {
            "active_days": p["active_days"],
            "probability_alive": p["activity_alive"],
        },
        "segment": {
            "value": p["value_segment"],
            "lifecycle": p["lifecycle_segment"],
            "rfm_score": p["rfm_score"],
            "rfm": p["rfm_segment"],
            "thresholds": rules.as_dict(),
        },
    }
