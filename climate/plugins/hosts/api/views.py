"""Hosts and allocations as ``/v1/os-hosts`` shows them (the wire format
of the reservation API v1)."""

from oslo_config import cfg

from climate.common import dates
from climate.common.views import common_fields

CONF = cfg.CONF

_HOST_FIELDS = (
    "hypervisor_hostname",
    "service_name",
    "vcpus",
    "memory_mb",
    "local_gb",
    "hypervisor_type",
    "hypervisor_version",
    "cpu_info",
    "availability_zone",
    "reservable",
)


def host(row):
    """A host, its extra capabilities flattened as top-level keys."""
    out = {"id": str(row["id"])}
    out.update(row["capabilities"])
    out.update(common_fields(row, _HOST_FIELDS))
    out["trust_id"] = None
    provisioned = row.get("provisioning")
    if provisioned is not None:
        out["provisioning_driver"] = (
            provisioned["driver"] or CONF.provisioning.default_driver
        )
        out["os_module"] = (
            provisioned["os_module"] or CONF.provisioning.default_os_module
        )
        out["address"] = provisioned["address"]
        out["current_image_id"] = provisioned["current_image_id"]
        out["clean"] = provisioned["clean"]
        out["projects"] = [p for p in provisioned["projects"].split(",") if p]
    powered = row.get("power")
    if powered is not None:
        # Never the BMC's credentials: the manager alone reads them.
        out["power_driver"] = powered["driver"] or CONF.power.default_driver
        out["power_address"] = powered["address"]
        out["power_state"] = powered["state"]
        out["power_state_since"] = dates.format_date(powered["state_since"])
        out["health"] = powered["health"]
    return out


def allocation(row):
    """Which reservations hold a host, and when."""
    return {
        "resource_id": str(row["resource_id"]),
        "reservations": [
            {
                "id": r["id"],
                "lease_id": r["lease_id"],
                "start_date": dates.format_date(r["start_date"]),
                "end_date": dates.format_date(r["end_date"]),
            }
            for r in row["reservations"]
        ],
    }


def calendar_host(host, project_id):
    """A host of the calendar: its name, capabilities and busy windows,
    naming only ``project_id``'s own leases."""
    return {
        "name": host["name"],
        "capabilities": host["capabilities"],
        "busy": [
            {
                "start_date": dates.format_date(b["start_date"]),
                "end_date": dates.format_date(b["end_date"]),
                **(
                    {
                        "own": True,
                        "lease_id": b["lease_id"],
                        "lease_name": b["lease_name"],
                    }
                    if b["project_id"] == project_id
                    else {"own": False}
                ),
            }
            for b in host["busy"]
        ],
    }
