"""Leases, reservations and events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    ]


def upgrade():
    op.create_table(
        "leases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("start_date", sa.DateTime(), nullable=False),
        sa.Column("end_date", sa.DateTime(), nullable=False),
        sa.Column("before_end_date", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("trust_id", sa.String(36), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leases")),
        sa.UniqueConstraint(
            "project_id", "name", name=op.f("uq_leases_project_id_name")
        ),
    )
    op.create_index(
        op.f("ix_leases_project_id_created_at_id"),
        "leases",
        ["project_id", "created_at", "id"],
    )

    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("lease_id", sa.String(36), nullable=False),
        sa.Column("resource_type", sa.String(66), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(13), nullable=False),
        sa.Column("missing_resources", sa.Boolean(), nullable=False),
        sa.Column("resources_changed", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["lease_id"],
            ["leases.id"],
            ondelete="CASCADE",
            name=op.f("fk_reservations_lease_id_leases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    op.create_index(
        op.f("ix_reservations_lease_id"), "reservations", ["lease_id"]
    )

    op.create_table(
        "events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("lease_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(66), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(13), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["lease_id"],
            ["leases.id"],
            ondelete="CASCADE",
            name=op.f("fk_events_lease_id_leases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_lease_id"), "events", ["lease_id"])
    op.create_index(
        op.f("ix_events_status_time"), "events", ["status", "time"]
    )
