"""Hosts and allocations as ``/v1/os-hosts`` shows them (the wire format
of the reservation API v1)."""

from climate.common import dates
from climate.common.views import common_fields

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
