"""The ``virtual:instance`` plugin: reserving instance capacity.

A reservation asks for ``amount`` instances of one size (``vcpus``,
``memory_mb``, ``disk_gb``) on reservable hosts matching
``resource_properties``, all on one host (``affinity`` true), each on
its own (false) or anywhere (null).  Admission places them as shares of
hosts through the physical:host plugin's seam
(``climate.plugins.hosts.shares``), next to whole-host reservations and
other instance reservations.  At the start the tenant gets a private
flavor of that size (with the ``local`` compute driver kept in
Climate's tables) and the hosts holding its slots in a pool named after
the reservation; at the lease's ``before_end_date`` the tenant is
warned (and, with ``before_end = snapshot``, its servers snapshotted);
at the end the servers left are handled by ``on_end`` and the flavor and
pool go away.
"""

import os

from oslo_config import cfg
from oslo_log import log as logging

from climate import compute, exceptions, stages, states
from climate.plugins import base
from climate.plugins.hosts import shares
from climate.plugins.instances import (
    availability,
    conf,
    notices,
    request,
    server_form,
)
from climate.plugins.instances.db import api as instance_db
from climate.plugins.instances.db import server_api, snapshot_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

OWNER_KEY = "climate:owner"
FLAVOR_KEY = "climate:flavor"
#: Host columns named by the request's sizes.
_HOST_SIZE = {
    "vcpus": "vcpus",
    "memory_mb": "memory_mb",
    "disk_gb": "local_gb",
}


class VirtualInstancePlugin(base.ResourcePlugin):
    """Admits instance reservations and gives each a private flavor."""

    resource_type = "virtual:instance"

    # Static parts ------------------------------------------------------------

    models_module = "climate.plugins.instances.models"
    migrations_dir = os.path.join(
        os.path.dirname(__file__), "migrations", "versions"
    )

    #: The fields an instance reservation shows, in the wire order.
    VIEW_FIELDS = (
        "amount",
        "vcpus",
        "memory_mb",
        "disk_gb",
        "affinity",
        "resource_properties",
        "before_end",
        "on_end",
        "flavor_id",
        "hosts",
        "server",
        "snapshots",
    )

    @classmethod
    def list_opts(cls):
        """The ``[virtual:instance]`` group."""
        return {conf.GROUP: conf.OPTS}

    @classmethod
    def stages(cls):
        """``reserve_server``: the reserved-server form's shelve, once the
        lease is committed (``server_form.RESERVE_SERVER``)."""
        return [server_form.RESERVE_SERVER]

    @classmethod
    def load_fields(cls, reservation_ids):
        """The request's fields, the flavor id once started, and the
        hosts holding its slots (``{"name", "instances"}``), for the
        reserved-server form its ``server`` (``{"id", "state"}``), and
        once Nova snapshotted some of its servers, ``snapshots``
        (``{"server_id", "image_id", "stage"}``, ``stage`` being
        ``before_end`` or ``end``): four queries for any number of
        reservations."""
        fields = instance_db.instance_reservation_fields(reservation_ids)
        for reservation_id, held in shares.held(fields).items():
            own = fields[reservation_id]
            own["hosts"] = [
                {
                    "name": share["hypervisor_hostname"],
                    "instances": share["vcpus"] // own["vcpus"],
                }
                for share in held
            ]
            own["host_ids"] = [share["computehost_id"] for share in held]
        # The reserved-server form: {"id", "state"} (RESERVED, ACTIVE...).
        for reservation_id, server in server_api.servers_of(fields).items():
            fields[reservation_id]["server"] = server
            fields[reservation_id]["server_id"] = server["id"]
        for reservation_id, taken in snapshot_api.snapshots_of(fields).items():
            fields[reservation_id]["snapshots"] = taken
        return fields

    @classmethod
    def view(cls, fields):
        """Blazar's instance reservation fields, then ``on_end``, the
        hosts holding the slots, the reserved server and the snapshots
        taken."""
        return {f: fields[f] for f in cls.VIEW_FIELDS if f in fields}

    @classmethod
    def usage(cls, lease_ids):
        """``{lease_id: {"instances": how many it reserves}}``."""
        return {
            lease_id: {"instances": amount}
            for lease_id, amount in instance_db.instance_amounts_by_lease(
                lease_ids
            ).items()
        }

    @classmethod
    def availability(
        cls,
        context,
        values,
        start,
        end,
        duration,
        limit,
        current=None,
        ignore_reservations=(),
    ):
        """Windows in which ``amount`` instances of the size fit for
        ``duration`` on the hosts the caller's project may reserve,
        counted as admission counts them."""
        if current is not None:
            current = {f: current[f] for f in request.FIELDS if f in current}
        wanted = request.parse(values, current)
        if wanted.server_id is not None:
            raise exceptions.InvalidInput(
                reason="the availability search answers for capacity "
                "(amount and sizes), not for a server"
            )
        tree = shares.parse_query(
            wanted.resource_properties, "resource_properties"
        )
        _check_sizes(wanted, context.project_id)
        hosts, allocations = shares.timeline(
            context.project_id, [tree], start, ignore_reservations
        )
        return availability.windows(
            hosts,
            allocations,
            wanted.size(),
            wanted.amount,
            wanted.affinity,
            start,
            end,
            duration,
            limit,
        )

    # The manager's parts -----------------------------------------------------

    def __init__(self):
        self._driver = compute.load(CONF.compute.driver)
        self._local = CONF.compute.driver == "local"
        # With Nova: placement inventory, flavor and aggregate in Nova.
        self._capacity = None
        if CONF.compute.driver == "nova":
            from climate.plugins.instances import nova

            self._capacity = nova.NovaCapacity(self._driver)

    def rpc_endpoints(self):
        """None: the plugin has no RPC methods of its own."""
        return []

    # Admission (inside the lease's transaction) ----------------------------

    def reserve(self, context, lease, reservation, values):
        wanted = request.parse(values)
        self._check_form(wanted)
        if wanted.server_id is not None:
            wanted = server_form.sized(self._capacity, wanted, lease)
        tree = shares.parse_query(
            wanted.resource_properties, "resource_properties"
        )
        row = instance_db.instance_reservation_create(
            {"reservation_id": reservation["id"], **wanted.columns()}
        )
        start, end = _window(lease, reservation)
        _allocate(reservation, lease, start, end, wanted, tree)
        if wanted.server_id is not None:
            server_form.hold(lease, reservation, wanted.server_id)
        return row["id"]

    def update(self, context, lease, reservation, values):
        current = {
            f: reservation[f] for f in request.FIELDS if f in reservation
        }
        wanted = request.parse(values, current)
        self._check_form(wanted)
        if wanted.server_id is not None:
            if wanted.server_id != current.get("server_id"):
                raise exceptions.InvalidInput(
                    reason="a reservation's server_id cannot change"
                )
            wanted = server_form.with_sizes_of(wanted, reservation)
        started = reservation["status"] != states.ReservationStatus.PENDING
        resized = any(
            getattr(wanted, f) != reservation.get(f) for f in request.SIZES
        )
        if started and resized:
            raise exceptions.InvalidState(
                reason=f"reservation {reservation['id']} has started: its "
                "flavor exists, so its vcpus, memory_mb and disk_gb can no "
                "longer change"
            )
        if started and wanted.amount < reservation["amount"]:
            raise exceptions.InvalidState(
                reason=f"reservation {reservation['id']} has started: its "
                f"amount may grow but not shrink ({reservation['amount']} "
                f"to {wanted.amount}), as its servers may be running"
            )
        tree = shares.parse_query(
            wanted.resource_properties, "resource_properties"
        )
        start, end = _window(lease, reservation)
        # Placed anew, in this transaction (the shares given up are free
        # to this admission only until it commits), on the hosts it holds
        # first: an update moves no instance it need not move.
        shares.release(reservation["id"])
        placed = _allocate(
            reservation,
            lease,
            start,
            end,
            wanted,
            tree,
            prefer=reservation.get("host_ids") or (),
        )
        if started:
            _check_kept(reservation, placed)
        instance_db.instance_reservation_update(
            reservation["id"], wanted.columns()
        )

    def release(self, lease, reservation):
        """Free the slots and forget the flavor, the server and the
        snapshots taken (the images stay).  Nothing is asked of Nova
        here, inside the delete's transaction: a lease whose server was
        shelved is deleted through ``on_end`` (``reserve_server``
        acquires), which applies the policy to it; one not shelved yet
        (``PENDING``) is left as it is."""
        shares.release(reservation["id"])
        instance_db.flavor_delete(reservation["id"])
        server_api.server_release(reservation["id"])
        snapshot_api.snapshots_forget(reservation["id"])

    def _check_form(self, wanted):
        if wanted.server_id is not None and self._local:
            raise exceptions.InvalidInput(
                reason="reserving a server (server_id) needs a compute "
                "service to shelve it until the lease starts; the local "
                "compute driver has none (set [compute] driver = nova)"
            )
        if not self._local and self._capacity is None:
            raise exceptions.NotSupported(
                what="instance reservations with [compute] driver = "
                f"{CONF.compute.driver} (only local and nova)",
                resource_type=self.resource_type,
            )

    # Hand-over (event loop, outside transactions) ---------------------------

    def reserve_server(self, lease, reservation):
        """The ``reserve_server`` stage: shelve the reserved server now
        that its lease is committed.  A Nova failure raises: the event is
        retried."""
        server_form.shelve(self._capacity, reservation)

    def on_start(self, lease, reservation):
        """Make the reservation's private flavor and put the hosts
        holding its slots in its pool; run again (an update), it keeps
        the flavor and adds the hosts new to the pool."""
        options = conf.options()
        if reservation.get("server"):
            server_form.start(self._capacity, lease, reservation)
            return
        if self._capacity is not None:
            flavor_id = self._capacity.start(
                lease,
                reservation,
                f"{options.flavor_prefix}{reservation['id']}",
            )
            if reservation.get("flavor_id") != flavor_id:
                instance_db.instance_reservation_update(
                    reservation["id"], {"flavor_id": flavor_id}
                )
            LOG.info(
                "reservation %s: Nova flavor %s for %d instance(s) given to "
                "project %s",
                reservation["id"],
                flavor_id,
                reservation["amount"],
                lease["project_id"],
            )
            return
        flavor = instance_db.flavor_ensure(
            reservation["id"],
            {
                "name": f"{options.flavor_prefix}{reservation['id']}",
                "project_id": lease["project_id"],
                "vcpus": reservation["vcpus"],
                "memory_mb": reservation["memory_mb"],
                "disk_gb": reservation["disk_gb"],
            },
        )
        if reservation.get("flavor_id") != flavor["id"]:
            instance_db.instance_reservation_update(
                reservation["id"], {"flavor_id": flavor["id"]}
            )
        pool = reservation["id"]
        self._driver.ensure_pool(
            pool, {OWNER_KEY: lease["project_id"], FLAVOR_KEY: flavor["id"]}
        )
        self._driver.add_hosts(
            pool, [h["name"] for h in reservation.get("hosts") or ()]
        )
        LOG.info(
            "reservation %s: flavor %s for %d instance(s) given to project %s",
            reservation["id"],
            flavor["id"],
            reservation["amount"],
            lease["project_id"],
        )

    def before_end(self, lease, reservation):
        """At the lease's ``before_end_date``: with ``before_end =
        snapshot``, snapshot the reservation's servers (Nova; the local
        driver runs none), then warn the tenant
        (``lease.reservation.before_end``).  A failed snapshot raises:
        the event is retried, then given up leaving the lease working."""
        snapshots = []
        if (
            reservation.get("before_end") == "snapshot"
            and self._capacity is not None
        ):
            snapshots = self._capacity.snapshot_servers(reservation)
        notices.before_end(lease, reservation, snapshots)

    def on_end(self, lease, reservation):
        """Handle the servers left by ``on_end`` (the local driver runs
        none), then drop the flavor and the pool."""
        LOG.info(
            "reservation %s ended: its servers are handled by on_end=%s",
            reservation["id"],
            reservation.get("on_end"),
        )
        if reservation.get("server"):
            server_form.end(
                self._capacity,
                reservation,
                reservation.get("on_end") or conf.options().default_on_end,
            )
            return
        if self._capacity is not None:
            self._capacity.end(
                reservation,
                reservation.get("on_end") or conf.options().default_on_end,
            )
            return
        instance_db.flavor_delete(reservation["id"])
        self._driver.delete_pool(reservation["id"])


def _window(lease, reservation):
    """The window the slots are held for: the lease (the plugin's one
    stage, ``reserve_server``, holds nothing)."""
    return stages.hold_window(
        lease, reservation, VirtualInstancePlugin.stages()
    )


def _allocate(reservation, lease, start, end, wanted, tree, prefer=()):
    """Place the instances: ``{host id: instances}``.  A refusal of sizes
    no host has is a 400 (checked only then: placed instances fit on a
    host)."""
    try:
        return shares.allocate(
            reservation["id"],
            lease["project_id"],
            start,
            end,
            wanted.size(),
            wanted.amount,
            wanted.affinity,
            [tree],
            prefer=prefer,
        )
    except exceptions.NotEnoughResourcesAvailable:
        _check_sizes(wanted, lease["project_id"])
        raise


def _check_kept(reservation, placed):
    """A started reservation's servers may be running on the hosts it
    holds: an update must leave each of them at least the instances it
    had, so no running server loses its slot (the hand-over that follows
    adds what grew)."""
    held = zip(
        reservation.get("host_ids") or (),
        reservation.get("hosts") or (),
        strict=True,
    )
    for host_id, host in held:
        kept = placed.get(host_id, 0)
        if kept < host["instances"]:
            raise exceptions.NotEnoughResourcesAvailable(
                reason=f"reservation {reservation['id']} has started: its "
                f"{host['instances']} instance(s) on {host['name']} must "
                f"stay there, and only {kept} can for the new window"
            )


def _check_sizes(wanted, project_id):
    """400 for a size larger than the largest host's."""
    largest = shares.largest(project_id)
    for field in request.SIZES:
        biggest = largest[_HOST_SIZE[field]]
        asked = getattr(wanted, field)
        if biggest is not None and asked > biggest:
            raise exceptions.InvalidInput(
                reason=f"{field} ({asked}) is larger than the largest "
                f"reservable host's ({biggest})"
            )
