"""The reserved-server form of virtual:instance reservations.

A reservation ``{"resource_type": "virtual:instance", "server_id": ...}``
reserves the capacity of one server of the server's own flavor; the
server, which must be the lease project's, is shelved and offloaded
(Climate shows it RESERVED) until the start, unshelved then onto the
host admission set aside for it, and handled by ``on_end`` at the end.
Needs ``[compute] driver = nova`` (``NovaCapacity``).
"""

import dataclasses

from climate import exceptions
from climate.plugins.instances import server_models
from climate.plugins.instances.db import server_api

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


def hold(capacity, lease, reservation, server_id):
    """Record the server (409 if another lease reserves it) and shelve
    it until the start."""
    server_api.server_reserve(reservation["id"], server_id, lease["id"])
    capacity.shelve(server_id)


def start(capacity, lease, reservation):
    capacity.start_server(lease, reservation, reservation["server"]["id"])
    server_api.server_set_state(reservation["id"], server_models.ACTIVE)


def end(capacity, reservation, policy):
    capacity.end_server(reservation, reservation["server"]["id"], policy)
    server_api.server_set_state(reservation["id"], server_models.ENDED)
