"""The ``local`` compute driver: host inventory and pools in Climate's DB.

For the embedded service and for sites without Nova.  Hosts are described by
what the operator registers (sizes left out are unknown, never made up), and
pools are rows in Climate's own tables that an external provisioning system
can read.
"""

from climate import exceptions
from climate.compute import base
from climate.db import api as db_api

# Sizes the operator leaves out are unknown (null), never made up.
_INTEGER_FIELDS = {
    "vcpus": None,
    "memory_mb": None,
    "local_gb": None,
    "hypervisor_version": None,
}
# Column sizes of the text fields that have one (cpu_info is free text).
_TEXT_LIMITS = {
    "hypervisor_type": 255,
    "availability_zone": 255,
    "service_name": 255,
}
_TEXT_FIELDS = {
    "hypervisor_type": "baremetal",
    "cpu_info": "{}",
    "availability_zone": None,
    "service_name": None,
}


class LocalDriver(base.ComputeDriver):
    """Keeps the inventory and the host pools in Climate's database."""

    def describe_host(self, name, values):
        host = {}
        for field, default in _INTEGER_FIELDS.items():
            host[field] = _integer(field, values.get(field, default))
        for field, default in _TEXT_FIELDS.items():
            value = values.get(field, default)
            if value is not None and not isinstance(value, str):
                raise exceptions.InvalidInput(
                    reason=f"{field} must be a string"
                )
            limit = _TEXT_LIMITS.get(field)
            if value is not None and limit and len(value) > limit:
                raise exceptions.InvalidInput(
                    reason=f"{field} is longer than {limit} characters"
                )
            host[field] = value
        host["service_name"] = host["service_name"] or name
        return host

    def ensure_pool(self, name, metadata):
        db_api.host_pool_ensure(name, metadata)

    def delete_pool(self, name):
        db_api.host_pool_delete(name)

    def add_hosts(self, pool, hostnames):
        db_api.host_pool_add_hosts(pool, hostnames)

    def hosts_in_pool(self, pool, hostnames):
        for listed in db_api.host_pools_list():
            if listed["name"] == pool:
                return set(listed["hosts"]) & set(hostnames)
        return None

    def remove_hosts(self, pool, hostnames):
        db_api.host_pool_remove_hosts(pool, hostnames)

    def reclaim_hosts(self, hostnames, policy):
        # Nothing runs on a host Climate only keeps an inventory of.
        return None


# The columns are 32-bit integers on PostgreSQL and MariaDB.
_MAX_INTEGER = 2**31 - 1


def _integer(field, value):
    if value is None:
        return None
    if isinstance(value, bool):
        raise exceptions.InvalidInput(reason=f"{field} must be an integer")
    # int() would truncate 2.5 and fail on infinity with OverflowError.
    if isinstance(value, float) and not value.is_integer():
        raise exceptions.InvalidInput(
            reason=f"{field} must be an integer, not {value!r}"
        )
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise exceptions.InvalidInput(
            reason=f"{field} must be an integer, not {value!r}"
        )
    if number < 0:
        raise exceptions.InvalidInput(reason=f"{field} must not be negative")
    if number > _MAX_INTEGER:
        raise exceptions.InvalidInput(
            reason=f"{field} must be at most {_MAX_INTEGER}"
        )
    return number
