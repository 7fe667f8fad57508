"""Leases as the API shows them (the wire format of the reservation API v1)."""

from climate.common import dates

_TIMESTAMPS = ("created_at", "updated_at")


def _common(row, fields):
    out = {field: row.get(field) for field in fields}
    for field in _TIMESTAMPS:
        out[field] = dates.format_timestamp(row.get(field))
    return out


def reservation(row):
    return _common(
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
