"""Power: each host's power driver, BMC address and credentials, power
state, learned boot time, health and recycling; a host reservation's
grace period.

Revision ID: 0007_power
Revises: 0006_idempotency
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_power"
down_revision = "0006_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "host_power",
        sa.Column("computehost_id", sa.Integer(), nullable=False),
        sa.Column("driver", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", sa.DateTime(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=True),
        sa.Column("boot_time", sa.Float(), nullable=True),
        sa.Column("boots", sa.Integer(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("recycling_since", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["computehost_id"],
            ["computehosts.id"],
            name=op.f("fk_host_power_computehost_id_computehosts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("computehost_id", name=op.f("pk_host_power")),
    )

    with op.batch_alter_table("computehost_reservations") as batch:
        batch.add_column(
            sa.Column(
                "grace_period",
                sa.Integer(),
                nullable=False,
                server_default="0",
            )
        )


def downgrade():
    with op.batch_alter_table("computehost_reservations") as batch:
        batch.drop_column("grace_period")
    op.drop_table("host_power")
