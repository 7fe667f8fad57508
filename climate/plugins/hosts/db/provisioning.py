"""Provisioning in the database: images, what hosts carry, reservation
plans, the history of loads and block allocations.  Re-exported by
``api``.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.db import engine, models
from climate.plugins.hosts import models as host_models

H = host_models.ComputeHost
A = host_models.ComputeHostAllocation
I = host_models.Image  # noqa: E741
HP = host_models.HostProvisioning
RI = host_models.ReservationImage
HL = host_models.HostLoad
B = host_models.Block
BS = host_models.BlockSlot


def _row(obj):
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


# Images ---------------------------------------------------------------------


def image_create(values):
    """Insert an image; return it.

    :raises ImageAlreadyExists: the name is taken.
    """
    with engine.writer() as session:
        name = values["name"]
        taken = session.scalar(sa.select(I.id).where(I.name == name))
        if taken is not None:
            raise exceptions.ImageAlreadyExists(name=name)
        image = I(**values)
        session.add(image)
        try:
            session.flush()
        except sa_exc.IntegrityError:
            raise exceptions.ImageAlreadyExists(name=name)
        return _row(image)


def image_get(ref):
    """An image by id or by name.

    :raises ImageNotFound:
    """
    if not isinstance(ref, str) or not ref:
        raise exceptions.ImageNotFound(id=ref)
    with engine.reader() as session:
        image = session.get(I, ref) if len(ref) <= 36 else None
        if image is None:
            image = session.scalar(sa.select(I).where(I.name == ref))
        if image is None:
            raise exceptions.ImageNotFound(id=ref)
        return _row(image)


def image_list():
    """Every image, by name."""
    with engine.reader() as session:
        return [
            _row(i) for i in session.scalars(sa.select(I).order_by(I.name))
        ]


def image_destroy(image_id):
    """Delete an image no reservation or block uses.

    :raises ImageInUse:
    """
    with engine.writer() as session:
        used = session.scalar(
            sa.select(sa.func.count()).where(RI.image_id == image_id)
        ) + session.scalar(
            sa.select(sa.func.count()).where(B.image_id == image_id)
        )
        if used:
            raise exceptions.ImageInUse(
                reason=f"image {image_id} is named by {used} reservation(s) "
                "or block(s); delete them first"
            )
        session.execute(sa.delete(I).where(I.id == image_id))


# Hosts ----------------------------------------------------------------------

_HOST_DEFAULTS = {
    "driver": None,
    "os_module": None,
    "address": None,
    "current_image_id": None,
    "clean": False,
    "ready_at": None,
    "projects": "",
}


def host_provisioning_set(host_id, values):
    """Create or change the provisioning row of a host."""
    with engine.writer() as session:
        row = session.get(HP, host_id)
        if row is None:
            row = HP(computehost_id=host_id, **{**_HOST_DEFAULTS, **values})
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.flush()


def host_provisioning_get(host_ids):
    """``{host_id: {driver, os_module, address, current_image_id, clean,
    projects, name}}`` for the given hosts, defaults where unset."""
    host_ids = list(host_ids)
    if not host_ids:
        return {}
    with engine.reader() as session:
        names = dict(
            session.execute(
                sa.select(H.id, H.hypervisor_hostname).where(
                    H.id.in_(host_ids)
                )
            ).all()
        )
        found = {
            row.computehost_id: _row(row)
            for row in session.scalars(
                sa.select(HP).where(HP.computehost_id.in_(host_ids))
            )
        }
    out = {}
    for host_id, name in names.items():
        values = dict(_HOST_DEFAULTS)
        values.update(found.get(host_id, {}))
        values["computehost_id"] = host_id
        values["name"] = name
        out[host_id] = values
    return out


def host_access_condition(project_id):
    """SQL: the host may be reserved by ``project_id`` (it restricts
    nobody, or names that project among its ``projects``)."""
    padded = sa.literal(",") + HP.projects + sa.literal(",")
    restricted = sa.select(HP.computehost_id).where(
        HP.projects != "",
        sa.not_(padded.like(f"%,{_escape_like(project_id)},%", escape="\\")),
    )
    return H.id.not_in(restricted)


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def host_count_reservable():
    """How many hosts are reservable at all."""
    with engine.reader() as session:
        return session.scalar(
            sa.select(sa.func.count(H.id)).where(H.reservable.is_(True))
        )


# Reservation plans ----------------------------------------------------------


def reservation_image_set(reservation_id, values):
    """Create or change the image plan of a host reservation."""
    with engine.writer() as session:
        row = session.get(RI, reservation_id)
        if row is None:
            session.add(RI(reservation_id=reservation_id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.flush()


def reservation_image_fields(reservation_ids):
    """The image fields of many host reservations, in three queries.

    :returns: ``{reservation_id: {"image_id", "image", "block_id",
        "prepare_lead", "reclaim_for", "ready_at", "hosts"}}``, where
        ``hosts`` lists ``{"name", "address", "status", "ready_at"}``:
        the hosts held and how their preparation went.
    """
    reservation_ids = list(reservation_ids)
    if not reservation_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(RI, I.name)
            .join(I, I.id == RI.image_id)
            .where(RI.reservation_id.in_(reservation_ids))
        ).all()
        out = {}
        for plan, image_name in rows:
            values = _row(plan)
            values.pop("reservation_id")
            values["image"] = image_name
            values["hosts"] = []
            out[plan.reservation_id] = values
        if not out:
            return out
        held = session.execute(
            sa.select(
                A.reservation_id,
                A.computehost_id,
                H.hypervisor_hostname,
                HP.address,
            )
            .join(H, H.id == A.computehost_id)
            .outerjoin(HP, HP.computehost_id == A.computehost_id)
            .where(A.reservation_id.in_(list(out)))
            .order_by(A.reservation_id, H.hypervisor_hostname)
        ).all()
        last = {}
        for load in session.scalars(
            sa.select(HL)
            .where(
                HL.reservation_id.in_(list(out)),
                HL.kind == "prepare",
            )
            .order_by(HL.id)
        ):
            last[(load.reservation_id, load.computehost_id)] = load
        for reservation_id, host_id, name, address in held:
            load = last.get((reservation_id, host_id))
            out[reservation_id]["hosts"].append(
                {
                    "name": name,
                    "address": address,
                    "status": load.status if load else "planned",
                    "ready_at": load.finished_at
                    if load and load.status in ("ready", "skipped")
                    else None,
                }
            )
        return out


# Loads ----------------------------------------------------------------------


def loads_planned(driver, start, end):
    """The planned loads of a driver overlapping ``[start, end)``:
    ``[(planned_at, expected seconds)]``."""
    with engine.reader() as session:
        rows = session.execute(
            sa.select(HL.planned_at, HL.expected).where(
                HL.driver == driver,
                HL.status == "planned",
                HL.planned_at < end,
                HL.planned_at >= start - _longest_expected(session, driver),
            )
        ).all()
        return [(row.planned_at, row.expected or 0.0) for row in rows]


def _longest_expected(session, driver):
    longest = session.scalar(
        sa.select(sa.func.max(HL.expected)).where(
            HL.driver == driver, HL.status == "planned"
        )
    )
    return datetime.timedelta(seconds=longest or 0)


def loads_plan(rows):
    """Insert planned loads (``status`` planned)."""
    if not rows:
        return
    with engine.writer() as session:
        session.execute(
            sa.insert(HL), [{"status": "planned", **row} for row in rows]
        )


def loads_unplan(reservation_id, host_ids=None):
    """Forget the planned (not yet run) loads of a reservation."""
    with engine.writer() as session:
        query = sa.delete(HL).where(
            HL.reservation_id == reservation_id, HL.status == "planned"
        )
        if host_ids is not None:
            query = query.where(HL.computehost_id.in_(list(host_ids)))
        session.execute(query)


def load_record(values):
    """Record one attempt (or a skipped load); return its id.

    A planned row of the same reservation, host and kind is replaced.
    """
    with engine.writer() as session:
        if values.get("reservation_id"):
            session.execute(
                sa.delete(HL).where(
                    HL.reservation_id == values["reservation_id"],
                    HL.computehost_id == values["computehost_id"],
                    HL.kind == values["kind"],
                    HL.status == "planned",
                )
            )
        row = HL(**values)
        session.add(row)
        session.flush()
        return row.id


def loads_of(reservation_id, kind=None, planned=False):
    """The loads of a reservation that ran (and with ``planned``, those
    planned), oldest first."""
    with engine.reader() as session:
        query = sa.select(HL).where(HL.reservation_id == reservation_id)
        if not planned:
            query = query.where(HL.status != "planned")
        if kind is not None:
            query = query.where(HL.kind == kind)
        return [_row(r) for r in session.scalars(query.order_by(HL.id))]


def load_durations(image_id, driver, since, low, high, limit):
    """Durations in seconds of the latest successful loads of an image by
    a driver finished after ``since``, within ``[low, high]``."""
    with engine.reader() as session:
        return list(
            session.scalars(
                sa.select(HL.duration)
                .where(
                    HL.image_id == image_id,
                    HL.driver == driver,
                    HL.status == "ready",
                    HL.kind.in_(("prepare", "reload")),
                    HL.finished_at >= since,
                    HL.duration >= low,
                    HL.duration <= high,
                )
                .order_by(HL.finished_at.desc())
                .limit(limit)
            )
        )


def load_counts(image_id):
    """``{driver: successful loads}`` of an image, all time."""
    with engine.reader() as session:
        return dict(
            session.execute(
                sa.select(HL.driver, sa.func.count(HL.id))
                .where(HL.image_id == image_id, HL.status == "ready")
                .group_by(HL.driver)
            ).all()
        )


# Blocks ---------------------------------------------------------------------


def block_create(values, slots):
    """Insert a block and its slots; return the block with ``slots``."""
    with engine.writer() as session:
        block = B(**values)
        session.add(block)
        session.flush()
        session.execute(
            sa.insert(BS), [{"block_id": block.id, **slot} for slot in slots]
        )
        return block_get(block.id)


def block_get(block_id):
    """A block with its ``slots``.

    :raises BlockNotFound:
    """
    with engine.reader() as session:
        block = session.get(B, block_id) if isinstance(block_id, str) else None
        if block is None:
            raise exceptions.BlockNotFound(id=block_id)
        out = _row(block)
        out["slots"] = [
            _row(s)
            for s in session.scalars(
                sa.select(BS)
                .where(BS.block_id == block.id)
                .order_by(BS.start_date)
            )
        ]
        return out


def block_list():
    """Every block with its slots, oldest first."""
    with engine.reader() as session:
        ids = session.scalars(sa.select(B.id).order_by(B.created_at, B.id))
        return [block_get(block_id) for block_id in ids]


def block_slot_update(slot_id, values):
    with engine.writer() as session:
        session.execute(sa.update(BS).where(BS.id == slot_id).values(**values))


def block_destroy(block_id):
    """Delete a block and its slots (their leases are the caller's)."""
    with engine.writer() as session:
        session.execute(sa.delete(B).where(B.id == block_id))


def leases_started(lease_ids, now):
    """Which of ``lease_ids`` exist and started before ``now``."""
    if not lease_ids:
        return set()
    with engine.reader() as session:
        return set(
            session.scalars(
                sa.select(models.Lease.id).where(
                    models.Lease.id.in_(list(lease_ids)),
                    models.Lease.start_date <= now,
                )
            )
        )


def reservation_image_delete(reservation_id):
    """Forget the image plan of a reservation (and its planned loads)."""
    with engine.writer() as session:
        session.execute(
            sa.delete(HL).where(
                HL.reservation_id == reservation_id, HL.status == "planned"
            )
        )
        session.execute(
            sa.delete(RI).where(RI.reservation_id == reservation_id)
        )
