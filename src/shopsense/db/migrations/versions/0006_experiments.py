"""experiments

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "experiment",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("variants", JSON, nullable=False),
        sa.Column("traffic", sa.Float(), nullable=False),
        sa.Column("holdout", sa.Float(), nullable=False),
        sa.Column("metric", sa.String(length=30), nullable=False),
        sa.Column("baseline_rate", sa.Float(), nullable=True),
        sa.Column("minimum_effect", sa.Float(), nullable=True),
        sa.Column("planned_users", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("winner", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_experiment")),
    )


def downgrade() -> None:
    op.drop_table("experiment")
