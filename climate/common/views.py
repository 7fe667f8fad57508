"""Leases in the wire format of the reservation API v1.

Shared by the API, which answers with it, and the manager, whose
notifications carry a lease as the API shows it.
"""

from climate.common import dates

_TIMESTAMPS = ("created_at", "updated_at")


def common_fields(row, fields):
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
    out = common_fields(
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
    out = common_fields(row, ("id", "lease_id", "event_type", "status"))
    out["time"] = dates.format_date(row["time"])
    return out


def lease(row):
    out = common_fields(
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
