"""The local compute driver's host pools.  Re-exported by
``climate.db.api``.
"""

import json

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.db import engine, models


def _pool(session, name):
    return session.scalar(
        sa.select(models.HostPool).where(models.HostPool.name == name)
    )


def host_pool_ensure(name, metadata):
    """Create pool ``name`` unless it exists, even when concurrent
    requests (the first hosts registered at once) create it too."""
    with engine.writer() as session:
        if _pool(session, name) is not None:
            return
        try:
            with session.begin_nested():
                session.add(
                    models.HostPool(
                        name=name,
                        pool_metadata=json.dumps(metadata, sort_keys=True),
                    )
                )
        except sa_exc.IntegrityError:
            pass  # another request made it meanwhile


def host_pool_delete(name):
    with engine.writer() as session:
        session.execute(
            sa.delete(models.HostPool).where(models.HostPool.name == name)
        )


def host_pool_add_hosts(name, hostnames):
    with engine.writer() as session:
        pool = _pool(session, name)
        if pool is None:
            raise exceptions.HostPoolNotFound(name=name)
        present = set(
            session.scalars(
                sa.select(models.HostPoolMember.hostname).where(
                    models.HostPoolMember.pool_id == pool.id
                )
            )
        )
        for hostname in hostnames:
            if hostname not in present:
                session.add(
                    models.HostPoolMember(pool_id=pool.id, hostname=hostname)
                )


def host_pool_remove_hosts(name, hostnames):
    with engine.writer() as session:
        pool = _pool(session, name)
        if pool is None:
            return
        session.execute(
            sa.delete(models.HostPoolMember).where(
                models.HostPoolMember.pool_id == pool.id,
                models.HostPoolMember.hostname.in_(list(hostnames)),
            )
        )


def host_pools_list():
    """Every pool: name, metadata and sorted member hostnames."""
    with engine.reader() as session:
        members = {}
        for pool_id, hostname in session.execute(
            sa.select(
                models.HostPoolMember.pool_id, models.HostPoolMember.hostname
            )
        ):
            members.setdefault(pool_id, []).append(hostname)
        return [
            {
                "name": p.name,
                "metadata": json.loads(p.pool_metadata),
                "hosts": sorted(members.get(p.id, [])),
            }
            for p in session.scalars(
                sa.select(models.HostPool).order_by(models.HostPool.name)
            )
        ]
