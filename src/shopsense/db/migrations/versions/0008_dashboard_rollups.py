"""dashboard rollups

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=255)


def upgrade() -> None:
    op.create_table(
        "dashboard_activity_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "type", name=op.f("pk_dashboard_activity_day")),
    )
    op.create_table(
        "dashboard_user_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", name=op.f("pk_dashboard_user_day")),
    )
    op.create_index(
        "ix_dashboard_user_day_user", "dashboard_user_day", ["user_id", "month"], unique=False
    )
    op.create_table(
        "dashboard_user_context_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "dimension", "value", "user_id", name=op.f("pk_dashboard_user_context_day")
        ),
    )
    op.create_table(
        "dashboard_session_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=300), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("viewed", sa.Integer(), nullable=False),
        sa.Column("carted", sa.Integer(), nullable=False),
        sa.Column("checked_out", sa.Integer(), nullable=False),
        sa.Column("purchased", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "session", name=op.f("pk_dashboard_session_day")),
    )
    op.create_table(
        "dashboard_heatmap_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "weekday", "hour", name=op.f("pk_dashboard_heatmap_day")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_heatmap_day")
    op.drop_table("dashboard_session_day")
    op.drop_table("dashboard_user_context_day")
    op.drop_index("ix_dashboard_user_day_user", table_name="dashboard_user_day")
    op.drop_table("dashboard_user_day")
    op.drop_table("dashboard_activity_day")
