"""Leases in the wire format of the reservation API v1.

Shared by the API, which answers with it, and the manager, whose
notifications carry a lease as the API shows it.
"""

import datetime

from climate.common import dates

_TIMESTAMPS = ("created_at", "updated_at")


def common_fields(row, fields):
    """``fields`` of ``row`` as they are, then its timestamps formatted."""
    get = row.get
    out = {field: get(field) for field in fields}
    out["created_at"] = dates.format_timestamp(get("created_at"))
    out["updated_at"] = dates.format_timestamp(get("updated_at"))
    return out


_RESERVATION_FIELDS = (
    "id",
    "lease_id",
    "status",
    "resource_id",
    "resource_type",
    "missing_resources",
    "resources_changed",
)
#: A reservation row's own columns; any other key is its type's.
_RESERVATION_COLUMNS = frozenset(_RESERVATION_FIELDS) | set(_TIMESTAMPS)

# resource_type -> the plugin's view of its reservations' own fields.
_type_views = {}


def register_reservation_view(resource_type, view):
    """Render the fields of ``resource_type``'s reservations with ``view``.

    :param view: called as ``view(fields)`` with the type-specific fields
        a lease read added to a reservation (``climate.db.api``); returns
        the fields to show, in order, after the common ones.  The plugin
        loader registers each enabled plugin's ``view``.
    """
    _type_views[resource_type] = view


def reservation(row):
    """A reservation, with its type's own fields, as the API shows it."""
    out = {
        "id": row["id"],
        "lease_id": row["lease_id"],
        "status": row["status"],
        "resource_id": row.get("resource_id"),
        "resource_type": row["resource_type"],
        "missing_resources": row.get("missing_resources"),
        "resources_changed": row.get("resources_changed"),
        "created_at": _timestamp(row.get("created_at")),
        "updated_at": _timestamp(row.get("updated_at")),
    }
    fields = {k: v for k, v in row.items() if k not in _RESERVATION_COLUMNS}
    if fields:
        view = _type_views.get(row.get("resource_type"))
        out.update(view(fields) if view is not None else fields)
    return out


def event(row):
    """An event as the API shows it."""
    return {
        "id": row["id"],
        "lease_id": row["lease_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "created_at": _timestamp(row.get("created_at")),
        "updated_at": _timestamp(row.get("updated_at")),
        "time": _date(row["time"]),
    }


def lease(row):
    """A lease, with its reservations and events, as the API shows it.

    ``kind`` is additive to the reservation API v1; a best-effort lease
    also shows its ``duration``, its earliest start (``not_before``), and
    while QUEUED its place in the queue and the earliest start the
    scheduler found for it (``earliest_start``, null when unknown).
    """
    get = row.get
    out = {
        "id": row["id"],
        "name": row["name"],
        "project_id": row["project_id"],
        "user_id": get("user_id"),
        "status": row["status"],
        "status_reason": get("status_reason"),
        "degraded": get("degraded"),
        "trust_id": get("trust_id"),
        "created_at": _timestamp(get("created_at")),
        "updated_at": _timestamp(get("updated_at")),
        "start_date": _date(get("start_date")),
        "end_date": _date(get("end_date")),
        "before_end_date": _date(get("before_end_date")),
        "kind": get("kind") or "advance",
        "reservations": [reservation(r) for r in row["reservations"]],
        "events": [event(e) for e in row["events"]],
    }
    if get("kind") == "best_effort":
        out["duration"] = dates.format_duration(
            datetime.timedelta(seconds=get("duration") or 0)
        )
        out["not_before"] = _date(get("not_before"))
        out["requeue"] = bool(get("requeue"))
        queued = get("status") == "QUEUED"
        out["queue_position"] = get("queue_position") if queued else None
        out["earliest_start"] = (
            _date(get("earliest_start"))
            if queued and get("earliest_start") is not None
            else None
        )
    return out


# A page of leases formats thousands of dates: these skip the general
# parsing of dates.format_* for the datetimes a database read gives.


def _date(value):
    if type(value) is datetime.datetime:
        return value.isoformat(timespec="microseconds")
    return dates.format_date(value)


def _timestamp(value):
    if type(value) is datetime.datetime:
        return value.isoformat(sep=" ", timespec="seconds")
    return dates.format_timestamp(value)
