"""recommendation rollup

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=4, asdecimal=False)


def upgrade() -> None:
    op.create_table(
        "recommendation_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("strategy", sa.String(length=30), nullable=False),
        sa.Column("context", sa.String(length=20), nullable=False),
        sa.Column("experiment", sa.String(length=255), nullable=False),
        sa.Column("variant", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("add_to_carts", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("click_conversions", sa.BigInteger(), nullable=False),
        sa.Column("revenue", MONEY, nullable=False),
        sa.Column("margin", MONEY, nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "strategy",
            "context",
            "experiment",
            "variant",
            "position",
            name=op.f("pk_recommendation_rollup"),
        ),
    )


def downgrade() -> None:
    op.drop_table("recommendation_rollup")
