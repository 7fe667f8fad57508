"""Leases as the API shows them (the wire format of the reservation API v1)."""

from climate.common import dates

_TIMESTAMPS = ("created_at", "updated_at")


def _common(row, fields):
    out = {field: row.get(field) for field in fields}
    for field in _TIMESTAMPS:
        out[field] = dates.format_timestamp(row.get(field))
    return out


# Fields of one resource type's reservations, shown when present.
_TYPE_FIELDS = (
    "min",
    "max",
    "hypervisor_properties",
    "resource_properties",
    "before_end",
    "on_end",
)


def reservation(row):
    out = _common(
        row,
        (
            "id",
            "lease_id",
            "status",
            "resource_id",
            "resource_type",
            "missing_resources",
            "resources_changed",
        ),
    )
    out.update((field, row[field]) for field in _TYPE_FIELDS if field in row)
    return out


def event(row):
    out = _common(row, ("id", "lease_id", "event_type", "status"))
    out["time"] = dates.format_date(row["time"])
    return out


def lease(row):
    out = _common(
        row,
        (
            "id",
            "name",
            "project_id",
            "user_id",
            "status",
            "status_reason",
            "degraded",
            "trust_id",
        ),
    )
    for field in ("start_date", "end_date", "before_end_date"):
        out[field] = dates.format_date(row.get(field))
    out["reservations"] = [reservation(r) for r in row["reservations"]]
    out["events"] = [event(e) for e in row["events"]]
    return out


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
    out.update(_common(row, _HOST_FIELDS))
    out["trust_id"] = None
    return out


def allocation(row):
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
