"""The reserved-server form of virtual:instance reservations.

A reservation ``{"resource_type": "virtual:instance", "server_id": ...}``
reserves the capacity of one server of the server's own flavor; the
server, which must be the lease project's, is shelved and offloaded
(Climate shows it RESERVED) until the start, unshelved then onto the
host admission set aside for it, and handled by ``on_end`` at the end.
Needs ``[compute] driver = nova`` (``NovaCapacity``).

Admission only records the server (``PENDING``): it runs inside the
lease's transaction, and a shelve sent from there would stay done when
the transaction does not commit (a later reservation of the lease
refused, a database error).  The plugin's stage ``reserve_server``
(``RESERVE_SERVER``) shelves it once the lease is committed: its event
is due at the reservation's creation, so the event runner takes it at
once, retries it when Nova fails, and the lease shows ``RESERVING``
(busy: no delete meanwhile) while it runs.  When its attempts are
spent, the lease stays ``PENDING``, marked degraded, and the server
keeps running on its host: the start shelves it then.  A lease deleted
(or ended) before the server was shelved leaves it as it was.  The
stage acquires: a lease whose shelve ran is deleted through its
releasing stages, so ``on_end`` meets the server still shelved and
applies the policy by the event runner, not inside the delete's
transaction (``end``).
"""

import dataclasses
import datetime

from oslo_log import log as logging

from climate import exceptions, stages, states
from climate.plugins.instances import server_models
from climate.plugins.instances.db import server_api

LOG = logging.getLogger(__name__)

#: States of a server that can be shelved (or already is).
_RESERVABLE = {"ACTIVE", "SHUTOFF", "SHELVED", "SHELVED_OFFLOADED"}


def sized(capacity, wanted, lease):
    """``wanted`` with the sizes of the server's flavor.

    :raises NotFound: no such server in the lease's project.
    """
    server = capacity.find_server(wanted.server_id, lease["project_id"])
    if server.get("status") not in _RESERVABLE:
        raise exceptions.InvalidState(
            reason=f"server {wanted.server_id} is {server.get('status')}: "
            f"only a server that is {', '.join(sorted(_RESERVABLE))} can "
            "be reserved"
        )
    flavor = server.get("flavor") or {}
    return dataclasses.replace(
        wanted,
        vcpus=int(flavor.get("vcpus") or 1),
        memory_mb=int(flavor.get("ram") or 1),
        disk_gb=int(flavor.get("disk") or 0),
    )


def with_sizes_of(wanted, reservation):
    """An update keeps the server's sizes (its flavor's)."""
    return dataclasses.replace(
        wanted,
        vcpus=reservation["vcpus"],
        memory_mb=reservation["memory_mb"],
        disk_gb=reservation["disk_gb"],
    )


def hold(lease, reservation, server_id):
    """Record the server, ``PENDING`` (409 if another lease reserves
    it); nothing is done to it in Nova until the lease is committed
    (``RESERVE_SERVER``)."""
    server_api.server_reserve(reservation["id"], server_id, lease["id"])


def shelve(capacity, reservation):
    """Shelve the reservation's server if it is still ``PENDING``, then
    mark it ``RESERVED``: the ``reserve_server`` stage's work, which the
    start does too when that stage could not.

    Marked only once Nova took the shelve: a failed attempt leaves it
    ``PENDING``, so a lease deleted meanwhile leaves the server alone.
    """
    server = reservation.get("server") or {}
    if server.get("state") != server_models.PENDING:
        return
    capacity.shelve(server["id"])
    server_api.server_set_state(
        reservation["id"],
        server_models.RESERVED,
        only_from=server_models.PENDING,
    )
    server["state"] = server_models.RESERVED
    LOG.info(
        "reservation %s: server %s shelved until its lease starts",
        reservation["id"],
        server["id"],
    )


def start(capacity, lease, reservation):
    """Unshelve the server onto its reserved host (shelving it first if
    ``reserve_server`` never could)."""
    shelve(capacity, reservation)
    capacity.start_server(lease, reservation, reservation["server"]["id"])
    server_api.server_set_state(reservation["id"], server_models.ACTIVE)


def end(capacity, reservation, policy):
    """Handle the server by ``policy``: one the lease woke up as its end
    does (``end_server``), one still shelved (the lease was deleted or
    ended before its start) as ``release_server`` does; one still
    ``PENDING`` (never shelved: the lease never took it) is left as it
    is."""
    server = reservation["server"]
    if server["state"] == server_models.PENDING:
        LOG.info(
            "reservation %s ended before its server %s was shelved: the "
            "server is left as it is",
            reservation["id"],
            server["id"],
        )
    elif server["state"] == server_models.RESERVED:
        capacity.release_server(reservation, server["id"], policy)
    else:
        capacity.end_server(reservation, server["id"], policy)
    server_api.server_set_state(reservation["id"], server_models.ENDED)


# The reserve_server stage ---------------------------------------------------

#: How long before the start, at the latest, the shelve falls: of a
#: lease starting now, ``reserve_server`` is due before ``start_lease``
#: (a lease's due events run one at a time, earliest first).
_BEFORE_START = datetime.timedelta(seconds=1)


def _reserve_offset(lease, reservation):
    """At the reservation's creation (or a second before the start, if
    that is earlier): due at once once the lease is committed; moving
    the lease's dates keeps it there.  None for the capacity form."""
    if not reservation.get("server_id"):
        return None
    start = lease["start_date"]
    created = reservation.get("created_at") or start
    return min(created, start - _BEFORE_START) - start


RESERVE_SERVER = stages.Stage(
    event_type="reserve_server",
    hook="reserve_server",
    # Before the starts due together (30).
    order=25,
    anchor="start_date",
    offset=_reserve_offset,
    runs_from=frozenset({states.LeaseStatus.PENDING}),
    busy=states.LeaseStatus.RESERVING,
    reached=states.LeaseStatus.PENDING,
    resting=states.LeaseStatus.PENDING,
    # A server Nova would not shelve still runs on its host; the lease
    # is still good (its start shelves the server), so it goes on,
    # degraded, with the reason.
    on_give_up=stages.GIVE_UP_DEGRADE,
    # It acts on the tenant's server: a lease whose shelve ran (even in
    # part) is deleted through its releasing stages, by the event runner
    # (``on_end``, which applies the policy to the shelved server), never
    # by calls to Nova inside the delete's transaction.
    acquires=True,
    # The capacity is set aside from the start only.
    holds=False,
)
