"""Physical hosts in the database: inventory, capabilities and the query
language compiled to SQL.  Allocations are in ``allocations``; ``api``
re-exports them all, and callers import that module, never these.
"""

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.common import host_query
from climate.db import engine, models
from climate.plugins.hosts import models as host_models
from climate.plugins.hosts.db import power as power_db

H = host_models.ComputeHost
C = host_models.ComputeHostCapability
A = host_models.ComputeHostAllocation
HR = host_models.ComputeHostReservation
P = host_models.HostProperty
HP = host_models.HostProvisioning

#: What a host without a provisioning row shows.
_UNPROVISIONED = {
    "driver": None,
    "os_module": None,
    "address": None,
    "current_image_id": None,
    "clean": False,
    "ready_at": None,
    "projects": "",
}

#: Host columns a query may name directly; anything else is a capability.
BASE_FIELDS = {
    "hypervisor_hostname": H.hypervisor_hostname,
    "service_name": H.service_name,
    "vcpus": H.vcpus,
    "memory_mb": H.memory_mb,
    "local_gb": H.local_gb,
    "hypervisor_type": H.hypervisor_type,
    "hypervisor_version": H.hypervisor_version,
    "cpu_info": H.cpu_info,
    "availability_zone": H.availability_zone,
}
_NUMERIC_BASE_FIELDS = {"vcpus", "memory_mb", "local_gb", "hypervisor_version"}


def _host_to_dict(host, capabilities, provisioned=None, power=None):
    values = {c.key: getattr(host, c.key) for c in host.__table__.columns}
    values["capabilities"] = capabilities
    values["provisioning"] = provisioned or dict(_UNPROVISIONED)
    values["power"] = power or dict(power_db.DEFAULT)
    return values


def _load_hosts(session, query):
    hosts = session.scalars(query).all()
    if not hosts:
        return []
    caps = {}
    rows = session.execute(
        sa.select(C.computehost_id, C.name, C.value).where(
            C.computehost_id.in_([h.id for h in hosts])
        )
    )
    for host_id, name, value in rows:
        caps.setdefault(host_id, {})[name] = value
    provisioned = {
        row.computehost_id: {k: getattr(row, k) for k in _UNPROVISIONED}
        for row in session.scalars(
            sa.select(HP).where(HP.computehost_id.in_([h.id for h in hosts]))
        )
    }
    powered = power_db.power_rows(session, [h.id for h in hosts])
    return [
        _host_to_dict(
            h, caps.get(h.id, {}), provisioned.get(h.id), powered.get(h.id)
        )
        for h in hosts
    ]


#: The largest host id: the column is a 32-bit integer.
MAX_ID = 2**31 - 1


def get_host(session, host_id):
    # Ids are plain decimal digits: int() alone would also take "+1",
    # " 1", "1_0" or non-ASCII digits, which the SQL elsewhere would not.
    if isinstance(host_id, int) and not isinstance(host_id, bool):
        key = host_id
    elif isinstance(host_id, str) and host_id.isascii() and host_id.isdigit():
        key = int(host_id)
    else:
        key = None
    if key is not None and not 0 < key <= MAX_ID:
        key = None  # beyond the column: no such host, and no SQL error
    host = session.get(H, key) if key is not None else None
    if host is None:
        raise exceptions.HostNotFound(id=host_id)
    return host


# Inventory ------------------------------------------------------------------


def host_create(values, capabilities):
    """Insert a host with its capabilities; return it.

    :raises HostAlreadyExists: the hypervisor hostname is registered.
    """
    with engine.writer() as session:
        name = values["hypervisor_hostname"]
        if (
            session.scalar(
                sa.select(H.id).where(H.hypervisor_hostname == name)
            )
            is not None
        ):
            raise exceptions.HostAlreadyExists(name=name)
        host = H(**values)
        session.add(host)
        try:
            session.flush()
        except sa_exc.IntegrityError:
            raise exceptions.HostAlreadyExists(name=name)
        _set_capabilities(session, host.id, capabilities)
        return host_get(host.id)


def _set_capabilities(session, host_id, capabilities):
    for name, value in capabilities.items():
        session.execute(
            sa.delete(C).where(C.computehost_id == host_id, C.name == name)
        )
        if value is None:
            continue
        session.add(
            C(
                computehost_id=host_id,
                name=name,
                value=value,
                number=host_query.as_number(value),
            )
        )
    session.flush()


def host_get(host_id):
    """Return a host with ``capabilities`` (name → value).

    :raises HostNotFound:
    """
    with engine.reader() as session:
        host = get_host(session, host_id)
        return _load_hosts(session, sa.select(H).where(H.id == host.id))[0]


def host_list():
    """Return every host, with its capabilities, by id."""
    with engine.reader() as session:
        return _load_hosts(session, sa.select(H).order_by(H.id))


def host_update(host_id, values, capabilities):
    """Change a host's columns and capabilities (None deletes one).

    :raises HostNotFound:
    """
    with engine.writer() as session:
        host = get_host(session, host_id)
        for key, value in values.items():
            setattr(host, key, value)
        session.flush()
        _set_capabilities(session, host.id, capabilities)
        return host_get(host.id)


def host_destroy(host_id):
    """Delete a host, its capabilities and its past allocations.

    :raises HostNotFound:
    """
    with engine.writer() as session:
        host = get_host(session, host_id)
        session.execute(sa.delete(A).where(A.computehost_id == host.id))
        session.delete(host)


def host_lock(host_id):
    """Lock a host's row until the enclosing writer transaction ends."""
    with engine.writer() as session:
        host = get_host(session, host_id)
        session.execute(
            sa.select(H.id).where(H.id == host.id).with_for_update()
        )


def host_reservations_using(host_id, after):
    """Host reservations holding ``host_id`` at or after ``after``.

    :returns: list of dicts: ``reservation_id``, ``lease_id``,
        ``hypervisor_properties``, ``resource_properties``.
    """
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                HR.reservation_id,
                models.Reservation.lease_id,
                HR.hypervisor_properties,
                HR.resource_properties,
            )
            .join(A, A.reservation_id == HR.reservation_id)
            .join(
                models.Reservation, models.Reservation.id == HR.reservation_id
            )
            .where(A.computehost_id == host_id, A.end_date > after)
            .distinct()
        )
        return [row._asdict() for row in rows]


def host_leases_holding(host_id, after):
    """Ids of the leases with an allocation of ``host_id`` (whole or a
    share of it) ending after ``after``, in one query."""
    with engine.reader() as session:
        return sorted(
            session.scalars(
                sa.select(models.Reservation.lease_id)
                .join(A, A.reservation_id == models.Reservation.id)
                .where(A.computehost_id == host_id, A.end_date > after)
                .distinct()
            )
        )


# Properties -----------------------------------------------------------------


def host_properties_list():
    """Every capability name in use: name, private flag, distinct values."""
    with engine.reader() as session:
        values = {}
        for name, value in session.execute(
            sa.select(C.name, C.value).distinct().order_by(C.name, C.value)
        ):
            values.setdefault(name, []).append(value)
        private = dict(session.execute(sa.select(P.name, P.private)).all())
        return [
            {
                "property": name,
                "private": private.get(name, False),
                "values": vals,
            }
            for name, vals in values.items()
        ]


def host_property_update(name, private):
    """Set whether a capability name is private; return the property.

    :raises HostPropertyNotFound: no host has that capability.
    """
    with engine.writer() as session:
        exists = session.scalar(sa.select(C.id).where(C.name == name).limit(1))
        if exists is None:
            raise exceptions.HostPropertyNotFound(name=name)
        prop = session.get(P, name)
        if prop is None:
            prop = P(name=name)
            session.add(prop)
        prop.private = private
        session.flush()
    return next(p for p in host_properties_list() if p["property"] == name)


# Queries --------------------------------------------------------------------


def compile_query(tree):
    """SQL for a parsed query over ``computehosts`` rows (bound values)."""
    if tree is None:
        return sa.true()
    if isinstance(tree, host_query.Logical):
        parts = [compile_query(o) for o in tree.operands]
        if tree.op == "and":
            return sa.and_(*parts)
        if tree.op == "or":
            return sa.or_(*parts)
        return sa.not_(parts[0])
    column = BASE_FIELDS.get(tree.field)
    if column is not None:
        if tree.field in _NUMERIC_BASE_FIELDS:
            if tree.number is None:
                # A number is never equal to text that is not one.
                if tree.op == "!=":
                    return column.is_not(None)
                return sa.false()
            return sa.and_(
                column.is_not(None), column.op(_SQL_OPS[tree.op])(tree.number)
            )
        return sa.and_(
            column.is_not(None), column.op(_SQL_OPS[tree.op])(tree.value)
        )
    if tree.number is not None:
        condition = C.number.op(_SQL_OPS[tree.op])(tree.number)
        if tree.op == "!=":
            condition = sa.or_(C.number.is_(None), condition)
    else:
        condition = C.value.op(_SQL_OPS[tree.op])(tree.value)
    # A semi-join rather than an EXISTS per host: the matching capability
    # rows are read once, from the (name, value) or (name, number) index.
    return H.id.in_(
        sa.select(C.computehost_id).where(C.name == tree.field, condition)
    )


_SQL_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def host_query_check_fields(trees, field_name):
    """Raise InvalidInput if a query names a field no host has."""
    names = set().union(*(host_query.fields(t) for t in trees))
    names -= set(BASE_FIELDS)
    if not names:
        return
    with engine.reader() as session:
        known = set(
            session.scalars(
                sa.select(C.name).where(C.name.in_(names)).distinct()
            )
        )
    unknown = sorted(names - known)
    if unknown:
        raise exceptions.InvalidInput(
            reason=f"{field_name}: no host has "
            f"{'a field' if len(unknown) == 1 else 'fields'} named "
            f"{', '.join('$' + n for n in unknown)}"
        )


def host_ids_matching(host_ids, trees):
    """The subset of ``host_ids`` whose hosts satisfy every query tree."""
    host_ids = list(host_ids)
    if not host_ids:
        return set()
    with engine.reader() as session:
        condition = sa.and_(sa.true(), *(compile_query(t) for t in trees))
        return set(
            session.scalars(
                sa.select(H.id).where(H.id.in_(host_ids), condition)
            )
        )
