"""virtual:instance: the reserved-server form's servers.

Revision ID: 0010_instance_servers
Revises: 0008_lease_kinds
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_instance_servers"
down_revision = "0008_lease_kinds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instance_servers",
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_instance_servers_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "reservation_id", name=op.f("pk_instance_servers")
        ),
        sa.UniqueConstraint(
            "server_id", name=op.f("uq_instance_servers_server_id")
        ),
    )


def downgrade():
    op.drop_table("instance_servers")
