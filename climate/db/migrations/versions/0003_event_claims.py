"""Events: per-reservation stages and fenced, renewed claims.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("reservation_id", sa.String(36), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "claim_token",
                sa.Integer(),
                nullable=False,
                server_default="0",
            )
        )
        batch.create_foreign_key(
            op.f("fk_events_reservation_id_reservations"),
            "reservations",
            ["reservation_id"],
            ["id"],
            ondelete="CASCADE",
        )
    # The default served existing rows; new rows get theirs from Climate.
    with op.batch_alter_table("events") as batch:
        batch.alter_column("claim_token", server_default=None)
