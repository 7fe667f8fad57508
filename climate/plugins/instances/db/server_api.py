"""The reserved-server form's database facade (``instance_servers``)."""

import sqlalchemy as sa

from climate import exceptions
from climate.db import engine
from climate.db import models as core
from climate.plugins.instances import server_models

S = server_models.InstanceServer


def server_reserve(reservation_id, server_id, lease_id):
    """Record that ``reservation_id`` reserves ``server_id`` (``PENDING``:
    nothing is done to the server in Nova until the lease is committed).

    :raises Conflict: another live reservation reserves that server.
    """
    with engine.writer() as session:
        taken = session.execute(
            sa.select(S.reservation_id, core.Reservation.lease_id)
            .join(core.Reservation, core.Reservation.id == S.reservation_id)
            .where(S.server_id == server_id)
            .with_for_update()
        ).first()
        if taken is not None and taken.reservation_id != reservation_id:
            raise exceptions.InvalidState(
                reason=f"server {server_id} is already reserved by lease "
                f"{taken.lease_id}"
            )
        if taken is None:
            session.add(
                S(
                    reservation_id=reservation_id,
                    server_id=server_id,
                    state=server_models.PENDING,
                )
            )
            session.flush()


def server_set_state(reservation_id, state, only_from=None):
    """Set the reservation's server's state.

    :param only_from: if given, change it only from that state.
    """
    with engine.writer() as session:
        query = sa.update(S).where(S.reservation_id == reservation_id)
        if only_from is not None:
            query = query.where(S.state == only_from)
        session.execute(query.values(state=state))


def server_release(reservation_id):
    """Forget the reservation's server (it may be reserved again)."""
    with engine.writer() as session:
        session.execute(sa.delete(S).where(S.reservation_id == reservation_id))


def servers_of(reservation_ids):
    """``{reservation_id: {"id": server id, "state": state}}``, one
    query."""
    reservation_ids = list(reservation_ids)
    if not reservation_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(S.reservation_id, S.server_id, S.state).where(
                S.reservation_id.in_(reservation_ids)
            )
        )
        return {
            row.reservation_id: {"id": row.server_id, "state": row.state}
            for row in rows
        }
