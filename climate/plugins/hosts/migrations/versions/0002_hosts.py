"""Physical hosts: inventory, capabilities, host reservations and
allocations (the physical:host plugin's tables).

Until the plugin owned its tables this revision also created the local
compute driver's host pools; they are now revision 0001a, of the core,
which comes before this one: a database already at 0002 has them.

Revision ID: 0002
Revises: 0001a
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "computehosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hypervisor_hostname", sa.String(255), nullable=False),
        sa.Column("service_name", sa.String(255), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("local_gb", sa.Integer(), nullable=False),
        sa.Column("hypervisor_type", sa.String(255), nullable=False),
        sa.Column("hypervisor_version", sa.Integer(), nullable=True),
        sa.Column("cpu_info", sa.Text(), nullable=False),
        sa.Column("availability_zone", sa.String(255), nullable=True),
        sa.Column("reservable", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_computehosts")),
        sa.UniqueConstraint(
            "hypervisor_hostname",
            name=op.f("uq_computehosts_hypervisor_hostname"),
        ),
    )

    op.create_table(
        "host_properties",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_host_properties")),
    )

    op.create_table(
        "computehost_extra_capabilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computehost_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["computehost_id"],
            ["computehosts.id"],
            ondelete="CASCADE",
            name=op.f(
                "fk_computehost_extra_capabilities_computehost_id_computehosts"
            ),
        ),
        sa.PrimaryKeyConstraint(
            "id", name=op.f("pk_computehost_extra_capabilities")
        ),
        sa.UniqueConstraint(
            "computehost_id",
            "name",
            name=op.f("uq_computehost_extra_capabilities_computehost_id_name"),
        ),
    )
    op.create_index(
        op.f("ix_computehost_extra_capabilities_name_value"),
        "computehost_extra_capabilities",
        ["name", "value"],
    )
    op.create_index(
        op.f("ix_computehost_extra_capabilities_name_number"),
        "computehost_extra_capabilities",
        ["name", "number"],
    )

    op.create_table(
        "computehost_reservations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("count_min", sa.Integer(), nullable=False),
        sa.Column("count_max", sa.Integer(), nullable=False),
        sa.Column("hypervisor_properties", sa.Text(), nullable=False),
        sa.Column("resource_properties", sa.Text(), nullable=False),
        sa.Column("before_end", sa.String(36), nullable=False),
        sa.Column("on_end", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            ondelete="CASCADE",
            name=op.f(
                "fk_computehost_reservations_reservation_id_reservations"
            ),
        ),
        sa.PrimaryKeyConstraint(
            "id", name=op.f("pk_computehost_reservations")
        ),
        sa.UniqueConstraint(
            "reservation_id",
            name=op.f("uq_computehost_reservations_reservation_id"),
        ),
    )

    op.create_table(
        "computehost_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("computehost_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.DateTime(), nullable=False),
        sa.Column("end_date", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            ondelete="CASCADE",
            name=op.f(
                "fk_computehost_allocations_reservation_id_reservations"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["computehost_id"],
            ["computehosts.id"],
            name=op.f(
                "fk_computehost_allocations_computehost_id_computehosts"
            ),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_computehost_allocations")),
    )
    op.create_index(
        op.f("ix_computehost_allocations_reservation_id"),
        "computehost_allocations",
        ["reservation_id"],
    )
    op.create_index(
        op.f("ix_computehost_allocations_computehost_id_start_date_end_date"),
        "computehost_allocations",
        ["computehost_id", "start_date", "end_date"],
    )
    op.create_index(
        op.f("ix_computehost_allocations_computehost_id_end_date_start_date"),
        "computehost_allocations",
        ["computehost_id", "end_date", "start_date"],
    )
