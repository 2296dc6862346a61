"""user behavior profile

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "model_state",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("fitted_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_model_state")),
    )
    op.create_table(
        "user_behavior_profile",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("sessions_30d", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("aov", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
        sa.Column("orders_per_30d", sa.Float(), nullable=False),
        sa.Column("mean_interpurchase_days", sa.Float(), nullable=True),
        sa.Column("first_order_at", sa.DateTime(), nullable=True),
        sa.Column("last_order_at", sa.DateTime(), nullable=True),
        sa.Column("recency_days", sa.Float(), nullable=True),
        sa.Column("days_since_seen", sa.Float(), nullable=False),
        sa.Column("preferred_hour", sa.Integer(), nullable=False),
        sa.Column("preferred_day", sa.Integer(), nullable=False),
        sa.Column("main_device", sa.String(length=20), nullable=True),
        sa.Column("brand_loyalty", sa.Float(), nullable=True),
        sa.Column("top_brand_share", sa.Float(), nullable=True),
        sa.Column("brand_hhi", sa.Float(), nullable=True),
        sa.Column("brand_switch_rate", sa.Float(), nullable=True),
        sa.Column("price_percentile", sa.Float(), nullable=True),
        sa.Column("discount_share", sa.Float(), nullable=True),
        sa.Column("promotion_response", sa.Float(), nullable=True),
        sa.Column("price_sensitivity", sa.Float(), nullable=True),
        sa.Column("price_tier", sa.String(length=10), nullable=True),
        sa.Column("mean_session_seconds", sa.Float(), nullable=True),
        sa.Column("events_per_session", sa.Float(), nullable=True),
        sa.Column("view_to_cart", sa.Float(), nullable=True),
        sa.Column("recommendation_ctr", sa.Float(), nullable=True),
        sa.Column("engagement_score", sa.Float(), nullable=False),
        sa.Column("engagement_level", sa.String(length=10), nullable=False),
        sa.Column("probability_alive", sa.Float(), nullable=True),
        sa.Column("expected_purchases_90d", sa.Float(), nullable=True),
        sa.Column(
            "predicted_clv_12m", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True
        ),
        sa.Column("value_segment", sa.String(length=20), nullable=True),
        sa.Column("lifecycle_segment", sa.String(length=20), nullable=True),
        sa.Column("rfm_score", sa.String(length=3), nullable=True),
        sa.Column("rfm_segment", sa.String(length=30), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_behavior_profile")),
    )
    with op.batch_alter_table("user_behavior_profile", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_behavior_profile_lifecycle_segment"),
            ["lifecycle_segment"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_user_behavior_profile_rfm_segment"), ["rfm_segment"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_user_behavior_profile_value_segment"), ["value_segment"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("user_behavior_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_behavior_profile_value_segment"))
        batch_op.drop_index(batch_op.f("ix_user_behavior_profile_rfm_segment"))
        batch_op.drop_index(batch_op.f("ix_user_behavior_profile_lifecycle_segment"))

    op.drop_table("user_behavior_profile")
    op.drop_table("model_state")
