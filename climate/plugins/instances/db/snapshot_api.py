"""The snapshots' database facade (``instance_snapshots``)."""

import sqlalchemy as sa

from climate.db import engine
from climate.plugins.instances import snapshot_models

S = snapshot_models.InstanceSnapshot


def snapshot_get(reservation_id, stage, server_id):
    """``{"server_id", "image_id", "stage"}`` if ``stage`` of the
    reservation snapshotted the server, else None."""
    with engine.reader() as session:
        row = session.execute(
            sa.select(S.server_id, S.image_id, S.stage).where(
                S.reservation_id == reservation_id,
                S.stage == stage,
                S.server_id == server_id,
            )
        ).first()
        return dict(row._mapping) if row is not None else None


def snapshot_record(reservation_id, stage, server_id, image_id):
    """Remember that ``stage`` of the reservation snapshotted the server
    into ``image_id``; a second record of the same snapshot is ignored."""
    with engine.writer() as session:
        known = session.execute(
            sa.select(S.image_id)
            .where(
                S.reservation_id == reservation_id,
                S.stage == stage,
                S.server_id == server_id,
            )
            .with_for_update()
        ).first()
        if known is None:
            session.add(
                S(
                    reservation_id=reservation_id,
                    stage=stage,
                    server_id=server_id,
                    image_id=image_id,
                )
            )
            session.flush()


def snapshots_forget(reservation_id):
    """Forget the reservation's snapshots (the images stay in Glance)."""
    with engine.writer() as session:
        session.execute(sa.delete(S).where(S.reservation_id == reservation_id))


def snapshots_of(reservation_ids):
    """``{reservation_id: [{"server_id", "image_id", "stage"}]}`` for the
    reservations with snapshots, in one query."""
    reservation_ids = list(reservation_ids)
    if not reservation_ids:
        return {}
    found = {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(S.reservation_id, S.server_id, S.image_id, S.stage)
            .where(S.reservation_id.in_(reservation_ids))
            .order_by(S.reservation_id, S.stage, S.server_id)
        )
        for row in rows:
            found.setdefault(row.reservation_id, []).append(
                {
                    "server_id": row.server_id,
                    "image_id": row.image_id,
                    "stage": row.stage,
                }
            )
    return found
