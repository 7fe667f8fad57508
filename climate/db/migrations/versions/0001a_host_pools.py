"""The local compute driver's host pools (the compute layer's tables).

Split out of revision 0002, which created them with the host tables before
those moved to the physical:host plugin; a database already at 0002 has
them.

Revision ID: 0001a
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001a"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "host_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_pools")),
        sa.UniqueConstraint("name", name=op.f("uq_host_pools_name")),
    )

    op.create_table(
        "host_pool_members",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["host_pools.id"],
            ondelete="CASCADE",
            name=op.f("fk_host_pool_members_pool_id_host_pools"),
        ),
        sa.PrimaryKeyConstraint(
            "pool_id", "hostname", name=op.f("pk_host_pool_members")
        ),
    )
