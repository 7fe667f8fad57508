"""End-of-lease pool policies of the physical:host plugin.

A host reservation says what becomes of its hosts at the end (``on_end``,
default ``[physical:host] default_on_end``) and how long after the end
that happens (``grace_period`` minutes):

* ``kill`` (and the compute driver's kinds of it: ``default``,
  ``delete``, ``shelve``): the servers left on the hosts are deleted or
  shelved, the hosts go back to the free pool;
* ``recycle``: the servers keep running; the hosts move to the recycling
  pool (``<free pool>-recycling``) and each returns to the free pool once
  it runs no server (checked by the power task's pass);
* ``release``: the servers keep running; the hosts leave Climate's pools
  for the multi-tenant one and are no longer reservable, until an
  operator makes them reservable again (``PUT /v1/os-hosts/{id}``).

With a grace period the action waits in a stage of its own,
``finish_hosts`` at ``end + grace_period``, which holds the hosts until
then, so admission counts them busy; the tenant is told when the grace
period starts.  A recycling or released host is not reservable: the
future allocations it had are healed onto other hosts, like a failed
host's.
"""

import datetime

from oslo_config import cfg
from oslo_log import log as logging

from climate import clock, stages, states
from climate.compute import base
from climate.plugins.hosts import notices
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus

KEEP_SERVERS = ("recycle", "release")


recycling_pool = base.recycling_pool


def grace(reservation):
    """The reservation's grace period, as a timedelta (zero: none)."""
    return datetime.timedelta(minutes=reservation.get("grace_period") or 0)


def _finish_offset(lease, reservation):
    if not reservation.get("grace_period"):
        return None
    return grace(reservation)


FINISH = stages.Stage(
    event_type="finish_hosts",
    hook="finish",
    order=12,
    anchor="end_date",
    offset=_finish_offset,
    runs_from=frozenset({L.TERMINATED}),
    # The lease is over: it stays TERMINATED while its hosts are let go.
    on_give_up=stages.GIVE_UP_DEGRADE,
    releases=True,
    holds=True,
)
STAGES = (FINISH,)


class EndPolicy:
    """Runs a reservation's end action and returns recycled hosts.

    :param compute_driver: the plugin's compute driver (pools, servers).
    :param heal: ``(host_id, reason) -> None``: moves the future
        allocations of a host that left service onto other hosts.
    """

    def __init__(self, compute_driver, heal):
        self._driver = compute_driver
        self._heal = heal

    def act(self, lease, reservation, allocations):
        """Apply the reservation's ``on_end`` to its hosts (idempotent)."""
        action = reservation.get("on_end") or "default"
        hosts = [a["hypervisor_hostname"] for a in allocations]
        pool = reservation["id"]
        if action not in KEEP_SERVERS:
            self._driver.reclaim_hosts(hosts, action)
            self._driver.ensure_pool(CONF.compute.freepool_name, {})
            self._driver.add_hosts(CONF.compute.freepool_name, hosts)
        elif action == "recycle":
            self._driver.ensure_pool(recycling_pool(), {})
            self._driver.add_hosts(recycling_pool(), hosts)
        self._driver.remove_hosts(pool, hosts)
        self._driver.delete_pool(pool)
        if action in KEEP_SERVERS:
            now = clock.now()
            for allocation in allocations:
                host_id = allocation["computehost_id"]
                with host_db.writer():
                    host_db.host_lock(host_id)
                    host_db.host_update(host_id, {"reservable": False}, {})
                    if action == "recycle":
                        host_db.host_power_set(
                            host_id, {"recycling_since": now}
                        )
                self._heal(
                    host_id,
                    "it is recycling"
                    if action == "recycle"
                    else "it was released to the multi-tenant pool",
                )
        LOG.info(
            "reservation %s ended (%s): hosts %s %s",
            pool,
            action,
            ", ".join(hosts),
            {
                "recycle": "recycling",
                "release": "released to the multi-tenant pool",
            }.get(action, "back in the free pool"),
        )

    def grace_started(self, lease, reservation, allocations):
        notices.grace_period(
            lease,
            reservation,
            [a["hypervisor_hostname"] for a in allocations],
            reservation.get("grace_period") or 0,
        )

    def return_recycled(self):
        """Move each recycling host that runs no server back to the free
        pool, reservable again; how many returned."""
        returned = 0
        for host in host_db.host_list():
            if host["power"].get("recycling_since") is None:
                continue
            name = host["hypervisor_hostname"]
            if self._driver.runs_servers(name):
                continue
            self._driver.ensure_pool(CONF.compute.freepool_name, {})
            self._driver.add_hosts(CONF.compute.freepool_name, [name])
            self._driver.remove_hosts(recycling_pool(), [name])
            with host_db.writer():
                host_db.host_lock(host["id"])
                host_db.host_update(host["id"], {"reservable": True}, {})
                host_db.host_power_set(host["id"], {"recycling_since": None})
            LOG.info("host %s recycled: back in the free pool", name)
            returned += 1
        return returned
