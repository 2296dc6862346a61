"""activity alive probability on profiles

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user_behavior_profile", sa.Column("activity_alive", sa.Float(), nullable=True))
    op.add_column("user_behavior_profile", sa.Column("active_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("user_behavior_profile", "active_days")
    op.drop_column("user_behavior_profile", "activity_alive")
