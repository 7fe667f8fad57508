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
    out = common_fields(row, _RESERVATION_FIELDS)
    fields = {k: v for k, v in row.items() if k not in _RESERVATION_COLUMNS}
    if fields:
        view = _type_views.get(row.get("resource_type"))
        out.update(view(fields) if view is not None else fields)
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
