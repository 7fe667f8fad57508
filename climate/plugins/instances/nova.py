"""Instance reservations in a real Nova: placement inventory, a private
flavor and an aggregate per reservation.

The approach of Blazar's spec "Placement API support for instance
reservation", written anew:

* at the start, per host holding slots of the reservation, a resource
  provider nested under the host's compute node provider, with
  inventory of the custom resource class ``CUSTOM_RESERVATION_<ID>``
  (the reservation id upper-cased, ``-`` as ``_``): as many units as
  admission placed instances on that host;
* a private flavor (id: the reservation id) of the reservation's size
  that only the lease's project may use, asking for one unit of that
  class (``resources:CUSTOM_RESERVATION_<ID>=1``) and naming the
  reservation (``climate:reservation``) for ``ClimateFilter``;
* an aggregate named after the reservation, without availability zone
  (a host may hold slots of several reservations), owned by the
  project, holding those hosts: ``ClimateFilter`` lets a request with
  the reservation's flavor through to them, though they stay in the
  free pool for any other request.

Placement then admits exactly ``amount`` servers of the flavor, each on
a host with a unit left.  At the end the servers of the flavor left are
deleted, shelved, or snapshotted then deleted (``on_end``), waiting at
most ``[nova] reclaim_timeout`` seconds, and the flavor, the aggregate,
the resource providers and the class go.
"""

import time

from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions
from climate.plugins.instances import placement, snapshot_models
from climate.plugins.instances.db import snapshot_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

OWNER_KEY = "climate:owner"
#: The flavor extra spec naming its reservation (``ClimateFilter``).
FLAVOR_RESERVATION_KEY = "climate:reservation"
#: Marks a reservation aggregate of instance capacity.
INSTANCE_POOL_KEY = "climate:instance_reservation"
#: Marks the aggregate of a reserved server (the reserved-server form):
#: its value is the server's id (``ClimateFilter``).
SERVER_KEY = "climate:server"
#: Unshelve onto a named host (admin): 2.91.
UNSHELVE_MICROVERSION = "2.91"
_POLL = 1.0
# Server states that hold no host.
_OFF_HOST = {"SHELVED_OFFLOADED"}


class NovaCapacity:
    """Starts and ends instance reservations in Nova and Placement.

    :param driver: the manager's ``climate.compute.nova.NovaDriver``
        (its Compute API calls, aggregates and host names).
    """

    def __init__(self, driver, session=None):
        self._nova = driver
        self._placement = placement.Inventory(session)

    # Start -------------------------------------------------------------------

    def start(self, lease, reservation, flavor_name):
        """Make (or, run again after an update, bring up to date) the
        reservation's inventory, flavor and aggregate; return the flavor
        id."""
        reservation_id = reservation["id"]
        project_id = lease["project_id"]
        units = {}
        for share in reservation.get("hosts") or ():
            if share["instances"] > 0:
                units[share["name"]] = share["instances"]
        rc = self._placement.hold(reservation_id, units)
        flavor_id = self._ensure_flavor(
            reservation_id, flavor_name, project_id, reservation, rc
        )
        self._nova._ensure_aggregate(
            reservation_id,
            None,
            {OWNER_KEY: project_id, INSTANCE_POOL_KEY: "true"},
        )
        self._nova.add_hosts(reservation_id, list(units))
        aggregate = self._nova._aggregate(reservation_id)
        kept = {self._nova._host(h) for h in units}
        for host in set(aggregate.get("hosts") or ()) - kept:
            self._nova._remove(aggregate, host)
        return flavor_id

    def _ensure_flavor(self, reservation_id, name, project_id, sizes, rc):
        call = self._nova._call
        found = call("GET", f"/flavors/{reservation_id}", absent=True)
        if found is None:
            call(
                "POST",
                "/flavors",
                json={
                    "flavor": {
                        "id": reservation_id,
                        "name": name,
                        "vcpus": sizes["vcpus"],
                        "ram": sizes["memory_mb"],
                        "disk": sizes["disk_gb"],
                        "os-flavor-access:is_public": False,
                    }
                },
                conflict_ok=True,
            )
        call(
            "POST",
            f"/flavors/{reservation_id}/action",
            json={"addTenantAccess": {"tenant": project_id}},
            conflict_ok=True,
        )
        call(
            "POST",
            f"/flavors/{reservation_id}/os-extra_specs",
            json={
                "extra_specs": {
                    f"resources:{rc}": "1",
                    FLAVOR_RESERVATION_KEY: reservation_id,
                }
            },
        )
        return reservation_id

    # End ---------------------------------------------------------------------

    def end(self, reservation, policy):
        """Handle the servers of the reservation's flavor by ``policy``,
        then remove the flavor, the aggregate, the providers and the
        class."""
        reservation_id = reservation["id"]
        self.reclaim_servers(reservation_id, policy)
        self._nova._call("DELETE", f"/flavors/{reservation_id}", absent=True)
        self._nova.delete_pool(reservation_id)
        self._placement.release(
            reservation_id, CONF.nova.reclaim_timeout, _POLL
        )
        LOG.info(
            "reservation %s: flavor, aggregate and placement inventory "
            "removed",
            reservation_id,
        )

    def servers(self, flavor_id):
        """The servers (of any project) booted with ``flavor_id``."""
        found = []
        params = {"all_tenants": 1, "flavor": flavor_id}
        while True:
            page = self._nova._call("GET", "/servers/detail", params=params)
            found.extend(page.get("servers", []))
            if not page.get("servers_links"):
                return found
            params = dict(params, marker=found[-1]["id"])

    def reclaim_servers(self, reservation_id, policy):
        """Delete, shelve, or snapshot then delete the servers of the
        reservation's flavor; wait until none holds a host, at most
        ``[nova] reclaim_timeout`` seconds (the snapshots being taken
        meanwhile, side by side)."""
        deadline = time.monotonic() + CONF.nova.reclaim_timeout
        acted = set()
        while True:
            left = [
                s
                for s in self.servers(reservation_id)
                if s.get("status") not in _OFF_HOST
            ]
            if not left:
                return
            if time.monotonic() >= deadline:
                raise exceptions.HostInUse(
                    reason=f"{len(left)} server(s) of reservation "
                    f"{reservation_id} still hold a host after "
                    f"{CONF.nova.reclaim_timeout} s (on_end={policy})"
                )
            fresh = [s for s in left if s["id"] not in acted]
            if not fresh:
                time.sleep(_POLL)
            waiting = False
            for server in fresh:
                if self._reclaim(server, policy, reservation_id):
                    acted.add(server["id"])
                else:
                    waiting = True
            if waiting:
                time.sleep(_POLL)

    def _reclaim(self, server, policy, reservation_id):
        """Shelve or delete the server by ``policy``; True once done.

        With ``snapshot_then_delete``, False while Nova is still taking
        the snapshot (or busy with another task): Nova would cancel an
        unfinished snapshot, deleting its image, if the server went
        now.  Call again later: the snapshot is not taken twice
        (``_snapshot``).
        """
        call = self._nova._call
        path = f"/servers/{server['id']}"
        if policy == "shelve":
            call(
                "POST",
                f"{path}/action",
                json={"shelve": None},
                absent=True,
                conflict_ok=True,
            )
        else:
            if policy == "snapshot_then_delete":
                self._snapshot(server, reservation_id, snapshot_models.END)
                if self._task_state(server["id"]) is not None:
                    return False
            call("DELETE", path, absent=True)
        LOG.info(
            "reservation %s ended: server %s %s (on_end=%s)",
            reservation_id,
            server["id"],
            "shelved" if policy == "shelve" else "deleted",
            policy,
        )
        return True

    def _task_state(self, server_id):
        """The server's task (``image_uploading``...), or None: idle or
        gone."""
        found = self._nova._call("GET", f"/servers/{server_id}", absent=True)
        return ((found or {}).get("server") or {}).get("OS-EXT-STS:task_state")

    # Before the end --------------------------------------------------------

    def snapshot_servers(self, reservation):
        """Snapshot (``createImage``) the reservation's servers that hold
        a host: those of its flavor, or its reserved server; return their
        ids.  A server Nova refuses to snapshot now (409: busy) is
        skipped, as one that is gone.  A retry (a Nova error part-way)
        snapshots only the servers not yet snapshotted by this stage
        (``_snapshot``) and returns them all."""
        reservation_id = reservation["id"]
        if reservation.get("server"):
            server_id = reservation["server"]["id"]
            found = self._nova._call(
                "GET", f"/servers/{server_id}", absent=True
            )
            servers = [found["server"]] if found else []
        else:
            servers = self.servers(reservation_id)
        done = []
        for server in servers:
            if server.get("status") in _OFF_HOST:
                continue
            if self._snapshot(
                server, reservation_id, snapshot_models.BEFORE_END
            ):
                done.append(server["id"])
        LOG.info(
            "reservation %s: %d server(s) snapshotted before the end",
            reservation_id,
            len(done),
        )
        return done

    def _snapshot(self, server, reservation_id, stage):
        """Snapshot the server once per ``stage`` of the reservation,
        however often the stage is retried; True if it has its image.

        The snapshot is recorded in Climate's database
        (``instance_snapshots``, with the image id Nova answers) as soon
        as Nova accepts ``createImage``, and a retry of the stage skips
        the servers recorded.  One window remains: Nova made the image
        but Climate stopped (crashed, lost its database) before recording
        it; the retry then makes a second image of that server, at most
        one duplicate.  A server Nova refuses to snapshot (409: busy or
        offloaded) or that is gone (404) is not recorded: False.
        """
        if snapshot_api.snapshot_get(reservation_id, stage, server["id"]):
            LOG.info(
                "reservation %s: server %s already snapshotted by %s",
                reservation_id,
                server["id"],
                stage,
            )
            return True
        suffix = "end" if stage == snapshot_models.END else "before-end"
        answer = self._nova._call(
            "POST",
            f"/servers/{server['id']}/action",
            json={
                "createImage": {
                    "name": f"{server.get('name', 'server')}-"
                    f"{reservation_id}-{suffix}"
                }
            },
            absent=True,
            conflict_ok=True,
        )
        if answer is None:
            return False
        # Compute API 2.45 and later answer {"image_id": ...}.
        snapshot_api.snapshot_record(
            reservation_id, stage, server["id"], answer.get("image_id")
        )
        return True

    # The reserved-server form -----------------------------------------------

    def find_server(self, server_id, project_id):
        """The server ``server_id`` of ``project_id``.

        :raises NotFound: Nova does not know it, or it is another
            project's (the same answer: nothing is told about it).
        """
        found = self._nova._call("GET", f"/servers/{server_id}", absent=True)
        server = (found or {}).get("server")
        if server is None or server.get("tenant_id") != project_id:
            raise exceptions.NotFound(object="Server", id=server_id)
        return server

    def shelve(self, server_id):
        """Shelve the server (Nova offloads it: it holds no host)."""
        self._nova._call(
            "POST",
            f"/servers/{server_id}/action",
            json={"shelve": None},
            absent=True,
            conflict_ok=True,
        )

    def start_server(self, lease, reservation, server_id):
        """Unshelve the reserved server onto the host admission set
        aside for it, through the reservation's aggregate (owned by the
        project, naming the server for ``ClimateFilter``).

        :raises NotReady: the server is still being shelved.
        :raises NotFound: the server is gone.
        """
        reservation_id = reservation["id"]
        hosts = [h["name"] for h in reservation.get("hosts") or ()]
        self._nova._ensure_aggregate(
            reservation_id,
            None,
            {OWNER_KEY: lease["project_id"], SERVER_KEY: server_id},
        )
        self._nova.add_hosts(reservation_id, hosts)
        found = self._nova._call("GET", f"/servers/{server_id}", absent=True)
        if found is None:
            raise exceptions.NotFound(object="Server", id=server_id)
        server = found["server"]
        status = server["status"]
        if status not in ("SHELVED", "SHELVED_OFFLOADED"):
            wanted = {self._nova._host(h) for h in hosts}
            if status == "ACTIVE" and (
                server.get("OS-EXT-SRV-ATTR:host") in wanted or not wanted
            ):
                return  # a retry after the unshelve
            if status in ("ACTIVE", "SHUTOFF") and not server.get(
                "OS-EXT-STS:task_state"
            ):
                self.shelve(server_id)  # never shelved: now
            raise exceptions.NotReady(
                reason=f"server {server_id} is {status}, not yet shelved",
                retry_after=2,
            )
        body = {"unshelve": None}
        if hosts:
            body = {"unshelve": {"host": self._nova._host(hosts[0])}}
        self._nova._call(
            "POST",
            f"/servers/{server_id}/action",
            json=body,
            microversion=UNSHELVE_MICROVERSION,
        )
        LOG.info(
            "reservation %s: server %s unshelved onto %s",
            reservation_id,
            server_id,
            ", ".join(hosts) or "any host",
        )

    def end_server(self, reservation, server_id, policy):
        """Handle the reserved server by ``policy`` (waiting at most
        ``[nova] reclaim_timeout`` seconds), then remove its aggregate."""
        deadline = time.monotonic() + CONF.nova.reclaim_timeout
        acted = False
        while True:
            found = self._nova._call(
                "GET", f"/servers/{server_id}", absent=True
            )
            server = (found or {}).get("server")
            if server is None or server["status"] in _OFF_HOST:
                break
            if time.monotonic() >= deadline:
                raise exceptions.HostInUse(
                    reason=f"server {server_id} still holds a host after "
                    f"{CONF.nova.reclaim_timeout} s (on_end={policy})"
                )
            if not acted:
                acted = self._reclaim(server, policy, reservation["id"])
            time.sleep(_POLL)
        self._nova.delete_pool(reservation["id"])

    def release_server(self, reservation, server_id, policy):
        """The lease is deleted before its start: handle the reserved
        server, still shelved, by ``policy`` as its end would.

        ``delete`` deletes it; ``shelve`` leaves it shelved (shelving
        it again if it never was); ``snapshot_then_delete`` snapshots
        then deletes one that holds a host, but leaves one Nova holds
        shelved and offloaded as it is: Nova cannot snapshot an offloaded
        server, and deleting it would delete its shelve image, the only
        copy of its disk.
        """
        found = self._nova._call("GET", f"/servers/{server_id}", absent=True)
        server = (found or {}).get("server")
        if server is None:
            return
        shelved = server["status"] in ("SHELVED", "SHELVED_OFFLOADED")
        if policy == "shelve" or (
            policy == "snapshot_then_delete" and shelved
        ):
            if not shelved:
                self.shelve(server_id)
            action = "kept shelved"
        else:
            deadline = time.monotonic() + CONF.nova.reclaim_timeout
            while not self._reclaim(server, policy, reservation["id"]):
                if time.monotonic() >= deadline:
                    raise exceptions.HostInUse(
                        reason=f"server {server_id} is still busy (its "
                        "snapshot) after "
                        f"{CONF.nova.reclaim_timeout} s (on_end={policy})"
                    )
                time.sleep(_POLL)
            action = "deleted"
        LOG.info(
            "reservation %s deleted before its start: server %s %s "
            "(on_end=%s)",
            reservation["id"],
            server_id,
            action,
            policy,
        )
