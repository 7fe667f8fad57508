"""virtual:instance: instance reservations and their private flavors.

Revision ID: 0009_instances
Revises: 0008_host_shares
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_instances"
down_revision = "0008_host_shares"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instance_reservations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("affinity", sa.Boolean(), nullable=True),
        sa.Column("resource_properties", sa.Text(), nullable=False),
        sa.Column("on_end", sa.String(length=36), nullable=False),
        sa.Column("before_end", sa.String(length=36), nullable=False),
        sa.Column("flavor_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_instance_reservations_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_reservations")),
        sa.UniqueConstraint(
            "reservation_id",
            name=op.f("uq_instance_reservations_reservation_id"),
        ),
    )
    op.create_table(
        "instance_flavors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_instance_flavors_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_flavors")),
        sa.UniqueConstraint(
            "reservation_id", name=op.f("uq_instance_flavors_reservation_id")
        ),
    )
