"""The host inventory: registering, changing and removing physical hosts."""

from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions
from climate.common import dates
from climate.plugins.hosts import power, provisioning, request
from climate.plugins.hosts.db import api as host_db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

#: Fields the compute driver fills; the rest of a body are capabilities.
INVENTORY_FIELDS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "hypervisor_type",
    "hypervisor_version",
    "cpu_info",
    "availability_zone",
    "service_name",
)
#: Names a capability may not take: they are the host's own fields.
RESERVED_NAMES = frozenset(INVENTORY_FIELDS) | {
    "id",
    "name",
    "hypervisor_hostname",
    "reservable",
    "trust_id",
    "created_at",
    "updated_at",
    "capabilities",
    "current_image_id",
    "clean",
    "power_state",
    "power_state_since",
    "health",
}
MAX_HOSTNAME = 255
MAX_CAPABILITY_NAME = 64
MAX_CAPABILITY_VALUE = 255


class HostInventory:
    """Operator actions on hosts, through the compute driver.

    :param driver: the ``ComputeDriver`` that describes hosts and keeps
        the pools.
    """

    def __init__(self, driver):
        self._driver = driver

    def create(self, values):
        """Register a host; it joins the free pool and is reservable."""
        values = dict(values)
        name = values.pop("name", None)
        if not isinstance(name, str) or not name.strip():
            raise exceptions.InvalidInput(
                reason="name (the host's hypervisor hostname) is required"
            )
        name = name.strip()
        if len(name) > MAX_HOSTNAME:
            raise exceptions.InvalidInput(
                reason=f"name is longer than {MAX_HOSTNAME} characters"
            )
        base = {f: values.pop(f) for f in INVENTORY_FIELDS if f in values}
        reservable = _boolean(values.pop("reservable", True), "reservable")
        provisioned = provisioning.split_host_fields(values)
        powered = power.split_host_fields(values)
        capabilities = _capabilities(values)
        described = self._driver.describe_host(name, base)
        provisioning.check_host(name, provisioned)
        state = power.check_host(name, powered)
        with host_db.writer():
            host = host_db.host_create(
                {
                    "hypervisor_hostname": name,
                    "reservable": reservable,
                    **described,
                },
                capabilities,
            )
            host_db.host_provisioning_set(host["id"], provisioned)
            host_db.host_power_set(
                host["id"],
                {**powered, "state": state, "state_since": dates.utcnow()},
            )
            host = host_db.host_get(host["id"])
            self._driver.ensure_pool(CONF.compute.freepool_name, {})
            self._driver.add_hosts(CONF.compute.freepool_name, [name])
        LOG.info("host %s registered as %s", name, host["id"])
        return host

    def update(self, host_id, values):
        """Change a host's capabilities (null removes one) or reservable.

        :raises HostInUse: a current or future reservation relies on a
            capability the change would break.
        """
        values = dict(values)
        if list(values) == ["values"] and isinstance(values["values"], dict):
            values = dict(values["values"])
        fixed = sorted(
            set(values)
            & ({"name", "id", "hypervisor_hostname"} | set(INVENTORY_FIELDS))
        )
        if fixed:
            raise exceptions.InvalidInput(
                reason=f"{', '.join(fixed)} cannot be changed; it comes "
                "from the compute driver"
            )
        columns = {}
        if "reservable" in values:
            columns["reservable"] = _boolean(
                values.pop("reservable"), "reservable"
            )
        provisioned = provisioning.split_host_fields(values)
        powered = power.split_host_fields(values)
        capabilities = _capabilities(values, allow_null=True)
        if powered:
            current = host_db.host_get(host_id)
            target = host_db.host_power_target(current["id"]) or {}
            powered["state"] = power.check_host(
                current["hypervisor_hostname"], powered, target
            )
            powered["state_since"] = dates.utcnow()
        if columns.get("reservable"):
            # The operator returns a host marked down to service.
            powered.update(health="ok", failures=0, recycling_since=None)
            current = host_db.host_get(host_id)
            name = current["hypervisor_hostname"]
            if not current["reservable"] and self._driver.runs_servers(name):
                # Released (or failed) with servers still on it: like a
                # host registered with servers, it cannot be reserved.
                raise exceptions.HostInUse(
                    reason=f"host {name} still runs servers; it can be "
                    "made reservable once none runs"
                )
        if "driver" in provisioned or "address" in provisioned:
            current = host_db.host_get(host_id)
            provisioning.check_host(
                current["hypervisor_hostname"],
                provisioned,
                host_db.host_provisioning_get([current["id"]])[current["id"]],
            )
        with host_db.writer():
            host_db.host_lock(host_id)
            host = host_db.host_update(host_id, columns, capabilities)
            if provisioned:
                host_db.host_provisioning_set(host["id"], provisioned)
            if powered:
                host_db.host_power_set(host["id"], powered)
            if provisioned or powered:
                host = host_db.host_get(host["id"])
            if columns.get("reservable"):
                # Back from failure or release: in the free pool again.
                self._driver.ensure_pool(CONF.compute.freepool_name, {})
                self._driver.add_hosts(
                    CONF.compute.freepool_name, [host["hypervisor_hostname"]]
                )
            self._check_reservations_still_fit(host)
        return host

    def _check_reservations_still_fit(self, host):
        for using in host_db.host_reservations_using(
            host["id"], dates.utcnow()
        ):
            wanted = request.parse(
                {},
                {
                    "min": 1,
                    "max": 1,
                    "hypervisor_properties": using["hypervisor_properties"],
                    "resource_properties": using["resource_properties"],
                },
            )
            if not host_db.host_ids_matching({host["id"]}, wanted.queries):
                raise exceptions.HostInUse(
                    reason=f"host {host['hypervisor_hostname']} is reserved "
                    f"by reservation {using['reservation_id']} of lease "
                    f"{using['lease_id']}, which needs the capabilities the "
                    "change would alter"
                )

    def delete(self, host_id):
        """Remove a host that no current or future lease holds.

        :raises HostInUse: a reservation holds the host now or later.
        """
        with host_db.writer():
            host_db.host_lock(host_id)
            host = host_db.host_get(host_id)
            # Whole-host reservations and shares of the host alike.
            leases = host_db.host_leases_holding(host["id"], dates.utcnow())
            if leases:
                raise exceptions.HostInUse(
                    reason=f"host {host['hypervisor_hostname']} is held by "
                    f"lease(s) {', '.join(leases)}; it can be deleted once "
                    "they end or are deleted"
                )
            self._driver.remove_hosts(
                CONF.compute.freepool_name, [host["hypervisor_hostname"]]
            )
            host_db.host_destroy(host["id"])
        LOG.info("host %s deleted", host["hypervisor_hostname"])

    def update_property(self, name, values):
        """Mark a capability name private or public."""
        unknown = sorted(set(values) - {"private"})
        if unknown or "private" not in values:
            raise exceptions.InvalidInput(
                reason="a property update takes exactly one field, private"
            )
        return host_db.host_property_update(
            name, _boolean(values["private"], "private")
        )


def _boolean(value, field):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise exceptions.InvalidInput(reason=f"{field} must be true or false")


def _capabilities(values, allow_null=False):
    capabilities = {}
    for name, value in values.items():
        if name in RESERVED_NAMES:
            raise exceptions.InvalidInput(
                reason=f"{name} is a host field, not a capability; it "
                "cannot be set here"
            )
        if len(name) > MAX_CAPABILITY_NAME:
            raise exceptions.InvalidInput(
                reason=f"capability name {name[:20]!r}... is longer than "
                f"{MAX_CAPABILITY_NAME} characters"
            )
        if (
            not name
            or not name.replace("_", "")
            .replace("-", "")
            .replace(":", "")
            .replace(".", "")
            .isalnum()
        ):
            raise exceptions.InvalidInput(
                reason=f"capability name {name!r} may hold only letters, "
                "digits, '_', '-', ':' and '.'"
            )
        if value is None and allow_null:
            capabilities[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise exceptions.InvalidInput(
                reason=f"capability {name} must be a string or a number"
            )
        value = str(value)
        if len(value) > MAX_CAPABILITY_VALUE:
            raise exceptions.InvalidInput(
                reason=f"capability {name} is longer than "
                f"{MAX_CAPABILITY_VALUE} characters"
            )
        capabilities[name] = value
    return capabilities
