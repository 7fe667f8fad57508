"""Shares of hosts: an allocation may hold part of a host (the vCPUs,
memory and disk of instance slots) instead of the whole host.

Revision ID: 0008_host_shares
Revises: 0007_power
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_host_shares"
down_revision = "0007_power"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("computehost_allocations") as batch:
        batch.add_column(sa.Column("vcpus", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("memory_mb", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("local_gb", sa.Integer(), nullable=True))
