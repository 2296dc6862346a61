"""initial schema

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "marketing_spend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("campaign", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_spend")),
        sa.UniqueConstraint(
            "date", "channel", "campaign", name=op.f("uq_marketing_spend_date_channel_campaign")
        ),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("discount", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("coupon", sa.String(length=255), nullable=True),
        sa.Column(
            "refunded_amount", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False
        ),
        sa.Column("utm_source", sa.String(length=255), nullable=True),
        sa.Column("utm_medium", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_placed_at", ["placed_at"], unique=False)
        batch_op.create_index("ix_orders_user_time", ["user_id", "placed_at"], unique=False)
        batch_op.create_index("ix_orders_anonymous_id", ["anonymous_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=500), nullable=True),
        sa.Column("brand", sa.String(length=255), nullable=True),
        sa.Column("price", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.Column("cost_estimated", sa.Boolean(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_brand"), ["brand"], unique=False)
        batch_op.create_index(batch_op.f("ix_products_category"), ["category"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_refunded_at"), ["refunded_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_anonymous_id"), ["anonymous_id"], unique=False)

    op.create_table(
        "user_activity",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("client_timestamp", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("timestamp_clamped", sa.Boolean(), nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=True),
        sa.Column("category", sa.String(length=500), nullable=True),
        sa.Column("brand", sa.String(length=255), nullable=True),
        sa.Column("price", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=255), nullable=True),
        sa.Column("revenue", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
        sa.Column("discount", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
        sa.Column("coupon", sa.String(length=255), nullable=True),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("query", sa.String(length=1000), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("review_text", sa.Text(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("recommendation_id", sa.String(length=255), nullable=True),
        sa.Column("bundle_id", sa.String(length=255), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("experiment", sa.String(length=255), nullable=True),
        sa.Column("variant", sa.String(length=255), nullable=True),
        sa.Column("device_type", sa.String(length=20), nullable=True),
        sa.Column("browser", sa.String(length=100), nullable=True),
        sa.Column("os", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=1000), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("page_url", sa.String(length=2000), nullable=True),
        sa.Column("page_path", sa.String(length=2000), nullable=True),
        sa.Column("referrer", sa.String(length=2000), nullable=True),
        sa.Column("utm_source", sa.String(length=255), nullable=True),
        sa.Column("utm_medium", sa.String(length=255), nullable=True),
        sa.Column("utm_campaign", sa.String(length=255), nullable=True),
        sa.Column("utm_term", sa.String(length=255), nullable=True),
        sa.Column("utm_content", sa.String(length=255), nullable=True),
        sa.Column("time_spent", sa.Float(), nullable=True),
        sa.Column("scroll_depth", sa.Float(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_activity")),
        sa.UniqueConstraint("event_id", name=op.f("uq_user_activity_event_id")),
    )
    with op.batch_alter_table("user_activity", schema=None) as batch_op:
        batch_op.create_index("ix_user_activity_anonymous", ["anonymous_id"], unique=False)
        batch_op.create_index(
            "ix_user_activity_product_time", ["product_id", "timestamp"], unique=False
        )
        batch_op.create_index("ix_user_activity_session", ["session_id"], unique=False)
        batch_op.create_index("ix_user_activity_timestamp", ["timestamp"], unique=False)
        batch_op.create_index("ix_user_activity_type_time", ["type", "timestamp"], unique=False)
        batch_op.create_index("ix_user_activity_user_time", ["user_id", "timestamp"], unique=False)

    op.create_table(
        "user_identities",
        sa.Column("anonymous_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("merged_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("anonymous_id", name=op.f("pk_user_identities")),
    )
    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_identities_user_id"), ["user_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("signup_at", sa.DateTime(), nullable=True),
        sa.Column("signup_channel", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "line", name=op.f("pk_order_items")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index("ix_order_items_product", ["product_id"], unique=False)

    op.create_table(
        "refund_items",
        sa.Column("refund_id", sa.String(length=100), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["refunds.refund_id"],
            name=op.f("fk_refund_items_refund_id_refunds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("refund_id", "line", name=op.f("pk_refund_items")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("refund_items", schema=None) as batch_op:
        batch_op.create_index("ix_refund_items_product", ["product_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("refund_items", schema=None) as batch_op:
        batch_op.drop_index("ix_refund_items_product")

    op.drop_table("refund_items")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index("ix_order_items_product")

    op.drop_table("order_items")
    op.drop_table("users")
    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_identities_user_id"))

    op.drop_table("user_identities")
    with op.batch_alter_table("user_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_user_activity_user_time")
        batch_op.drop_index("ix_user_activity_type_time")
        batch_op.drop_index("ix_user_activity_timestamp")
        batch_op.drop_index("ix_user_activity_session")
        batch_op.drop_index("ix_user_activity_product_time")
        batch_op.drop_index("ix_user_activity_anonymous")

    op.drop_table("user_activity")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_anonymous_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_user_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_refunded_at"))
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_category"))
        batch_op.drop_index(batch_op.f("ix_products_brand"))

    op.drop_table("products")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_anonymous_id")
        batch_op.drop_index("ix_orders_user_time")
        batch_op.drop_index("ix_orders_placed_at")

    op.drop_table("orders")
    op.drop_table("marketing_spend")
    op.drop_table("api_keys")
