"""Lease kinds: best-effort leases queued for the scheduler, and
preemptible leases.

Revision ID: 0008_lease_kinds
Revises: 0009_instances
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_lease_kinds"
down_revision = "0009_instances"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leases") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sa.String(length=16),
                nullable=False,
                server_default="advance",
            )
        )
        batch.add_column(sa.Column("duration", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("request", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("earliest_start", sa.DateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("queue_position", sa.Integer(), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "requeue",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch.create_index(
            batch.f("ix_leases_status_created_at"),
            ["status", "created_at"],
        )


def downgrade():
    with op.batch_alter_table("leases") as batch:
        batch.drop_index(batch.f("ix_leases_status_created_at"))
        for column in (
            "requeue",
            "queue_position",
            "earliest_start",
            "request",
            "not_before",
            "duration",
            "kind",
        ):
            batch.drop_column(column)
