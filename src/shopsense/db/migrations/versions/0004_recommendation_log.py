"""recommendation log

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "recommendation_log",
        sa.Column("recommendation_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("context", sa.String(length=20), nullable=False),
        sa.Column("strategy", sa.String(length=30), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("experiment", sa.String(length=255), nullable=True),
        sa.Column("variant", sa.String(length=255), nullable=True),
        sa.Column("request", JSON, nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recommendation_id", name=op.f("pk_recommendation_log")),
    )
    with op.batch_alter_table("recommendation_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recommendation_log_user_time", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_recommendation_log_anonymous_time", ["anonymous_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_recommendation_log_session", ["session_id"], unique=False)
        batch_op.create_index("ix_recommendation_log_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recommendation_log", schema=None) as batch_op:
        batch_op.drop_index("ix_recommendation_log_created_at")
        batch_op.drop_index("ix_recommendation_log_session")
        batch_op.drop_index("ix_recommendation_log_anonymous_time")
        batch_op.drop_index("ix_recommendation_log_user_time")

    op.drop_table("recommendation_log")
