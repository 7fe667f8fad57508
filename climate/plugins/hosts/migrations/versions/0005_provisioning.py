"""Provisioning: images, what each host carries, the image and plan of a
host reservation, the history of loads, and block allocations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "images",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=255), nullable=True),
        sa.Column("default_load_time", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("name", name=op.f("uq_images_name")),
    )
    op.create_table(
        "host_blocks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("machine_count", sa.Integer(), nullable=False),
        sa.Column("ignore_privileges", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_host_blocks_image_id_images"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_blocks")),
    )
    op.create_table(
        "host_provisioning",
        sa.Column("computehost_id", sa.Integer(), nullable=False),
        sa.Column("driver", sa.String(length=64), nullable=True),
        sa.Column("os_module", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("current_image_id", sa.String(length=36), nullable=True),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.Column("projects", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["computehost_id"],
            ["computehosts.id"],
            name=op.f("fk_host_provisioning_computehost_id_computehosts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["current_image_id"],
            ["images.id"],
            name=op.f("fk_host_provisioning_current_image_id_images"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "computehost_id", name=op.f("pk_host_provisioning")
        ),
    )
    op.create_table(
        "host_block_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.String(length=36), nullable=False),
        sa.Column("start_date", sa.DateTime(), nullable=False),
        sa.Column("end_date", sa.DateTime(), nullable=False),
        sa.Column("lease_id", sa.String(length=36), nullable=True),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["block_id"],
            ["host_blocks.id"],
            name=op.f("fk_host_block_slots_block_id_host_blocks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_block_slots")),
    )
    with op.batch_alter_table("host_block_slots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_host_block_slots_block_id"),
            ["block_id"],
            unique=False,
        )

    op.create_table(
        "host_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=True),
        sa.Column("computehost_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("driver", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("planned_at", sa.DateTime(), nullable=True),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["computehost_id"],
            ["computehosts.id"],
            name=op.f("fk_host_loads_computehost_id_computehosts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_host_loads_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_host_loads_reservation_id_reservations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_loads")),
    )
    with op.batch_alter_table("host_loads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_host_loads_driver_status_planned_at"),
            ["driver", "status", "planned_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_host_loads_image_id_driver_status_finished_at"),
            ["image_id", "driver", "status", "finished_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_host_loads_reservation_id"),
            ["reservation_id"],
            unique=False,
        )

    op.create_table(
        "host_reservation_images",
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("block_id", sa.String(length=36), nullable=True),
        sa.Column("prepare_lead", sa.Integer(), nullable=False),
        sa.Column("reclaim_for", sa.Integer(), nullable=False),
        sa.Column("expected_at", sa.DateTime(), nullable=True),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["block_id"],
            ["host_blocks.id"],
            name=op.f("fk_host_reservation_images_block_id_host_blocks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_host_reservation_images_image_id_images"),
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f(
                "fk_host_reservation_images_reservation_id_reservations"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "reservation_id", name=op.f("pk_host_reservation_images")
        ),
    )
