"""bundles: mining runs, association rules, bundle recommendations

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(precision=14, scale=4, asdecimal=False)


def upgrade() -> None:
    op.create_table(
        "mining_run",
        sa.Column("mining_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("mined_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("baskets", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("min_support", sa.Float(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("min_lift", sa.Float(), nullable=False),
        sa.Column("max_len", sa.Integer(), nullable=False),
        sa.Column("itemsets", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mining_id", name=op.f("pk_mining_run")),
    )
    op.create_index("ix_mining_run_source_time", "mining_run", ["source", "mined_at"])
    op.create_table(
        "association_rule",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("mining_id", sa.String(length=64), nullable=False),
        sa.Column("antecedent_a", sa.String(length=255), nullable=False),
        sa.Column("antecedent_b", sa.String(length=255), nullable=True),
        sa.Column("consequent", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("lift", sa.Float(), nullable=False),
        sa.Column("conviction", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mining_id"],
            ["mining_run.mining_id"],
            name=op.f("fk_association_rule_mining_id_mining_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_association_rule")),
    )
    op.create_index("ix_association_rule_mining", "association_rule", ["mining_id"])
    op.create_table(
        "bundle_recommendation",
        sa.Column("bundle_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("products", JSON, nullable=False),
        sa.Column("list_price", MONEY, nullable=False),
        sa.Column("bundle_price", MONEY, nullable=False),
        sa.Column("discount_pct", sa.Float(), nullable=False),
        sa.Column("expected_margin", MONEY, nullable=False),
        sa.Column("expected_profit", MONEY, nullable=False),
        sa.Column("take_rate", sa.Float(), nullable=False),
        sa.Column("base_rate", sa.Float(), nullable=False),
        sa.Column("support", sa.Float(), nullable=True),
        sa.Column("lift", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("context", sa.String(length=20), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=True),
        sa.Column("mining_id", sa.String(length=64), nullable=True),
        sa.Column("valid_until", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("bundle_id", name=op.f("pk_bundle_recommendation")),
    )
    op.create_index(
        "ix_bundle_recommendation_user_time", "bundle_recommendation", ["user_id", "created_at"]
    )
    op.create_index(
        "ix_bundle_recommendation_anonymous_time",
        "bundle_recommendation",
        ["anonymous_id", "created_at"],
    )
    op.create_index("ix_bundle_recommendation_created_at", "bundle_recommendation", ["created_at"])


def downgrade() -> None:
    op.drop_table("bundle_recommendation")
    op.drop_table("association_rule")
    op.drop_table("mining_run")
