"""Hosts: sizes an operator did not give are unknown (null), not made up.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("computehosts") as batch:
        for column in ("vcpus", "memory_mb", "local_gb"):
            batch.alter_column(
                column, existing_type=sa.Integer(), nullable=True
            )
