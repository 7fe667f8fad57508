"""The compute driver interface: what the physical:host plugin needs from
the cloud.

A driver keeps the host pools — the free pool, where reservable hosts wait
between leases hidden from on-demand scheduling, and one pool per active
reservation, named after the reservation id — and describes a host when an
operator registers it.  ``local`` keeps pools in Climate's own database;
``nova`` keeps them as host aggregates in Nova.

Every method is idempotent: creating what exists, adding a member that is
there, removing what is gone, all succeed.
"""

import abc

from oslo_config import cfg

CONF = cfg.CONF


def recycling_pool():
    """The pool where hosts wait for the servers of an ended lease to go
    (``on_end: recycle``)."""
    return f"{CONF.compute.freepool_name}-recycling"


def hidden_pools():
    """The pools whose hosts take no server: the free pool and the
    recycling pool."""
    return (CONF.compute.freepool_name, recycling_pool())


class ComputeDriver(abc.ABC):
    """Base of ``climate.compute.drivers`` entry points."""

    @abc.abstractmethod
    def describe_host(self, name, values):
        """Return the inventory of a host an operator registers.

        :param name: the host's hypervisor hostname.
        :param values: what the operator sent besides the name.
        :returns: dict with ``vcpus``, ``memory_mb``, ``local_gb``,
            ``hypervisor_type``, ``hypervisor_version``, ``cpu_info``,
            ``availability_zone`` and ``service_name``.
        :raises Invalid: a value is malformed.
        :raises HostNotFound: the cloud does not know the host.
        :raises Conflict: the host cannot be reserved (it runs servers).
        """

    @abc.abstractmethod
    def ensure_pool(self, name, metadata):
        """Create pool ``name`` with ``metadata`` unless it exists."""

    @abc.abstractmethod
    def delete_pool(self, name):
        """Delete pool ``name``; a missing pool is not an error."""

    @abc.abstractmethod
    def add_hosts(self, pool, hostnames):
        """Put ``hostnames`` in ``pool``; members already there stay."""

    @abc.abstractmethod
    def hosts_in_pool(self, pool, hostnames):
        """Which of ``hostnames`` are members of ``pool``.

        :returns: a set of hostnames, or None when the pool does not
            exist.
        """

    @abc.abstractmethod
    def remove_hosts(self, pool, hostnames):
        """Take ``hostnames`` out of ``pool``; absent ones are ignored."""

    @abc.abstractmethod
    def reclaim_hosts(self, hostnames, policy):
        """Deal with what still runs on hosts whose lease ended.

        :param policy: the reservation's ``on_end`` value.
        """

    def tidy_pools(self):
        """Periodic housekeeping of the pools (the power task's pass):
        what a driver could not finish at once, it finishes here.

        :returns: how many hosts it moved (the default: none).
        """
        return 0

    def failed_hosts(self, hostnames):
        """Which of ``hostnames`` the compute service reports failed (its
        compute service down); the power task marks them down.

        :returns: a set of hostnames (the default: none; a driver that
            cannot tell fails none).
        """
        return set()

    def runs_servers(self, hostname):
        """Whether servers still run on a host (a recycled host returns
        to the free pool once none does).

        :returns: True or False (the default: a driver without servers).
        """
        return False

    def servers_since(self, hostname, since):
        """Whether a server was created on a host since ``since``.

        Reclaim asks it to tell whether a lease's user used a host.

        :returns: True, False, or None when the driver cannot tell (the
            default: a driver without servers).
        """
        return None
