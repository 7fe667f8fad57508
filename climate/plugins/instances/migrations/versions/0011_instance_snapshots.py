"""virtual:instance: the snapshots each stage of a reservation took.

Revision ID: 0011_instance_snapshots
Revises: 0010_instance_servers
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_instance_snapshots"
down_revision = "0010_instance_servers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instance_snapshots",
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=255), nullable=False),
        sa.Column("image_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_instance_snapshots_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "reservation_id",
            "stage",
            "server_id",
            name=op.f("pk_instance_snapshots"),
        ),
    )


def downgrade():
    op.drop_table("instance_snapshots")
