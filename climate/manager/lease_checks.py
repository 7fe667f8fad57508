"""Checks of a lease write's fields, shared by the lease manager's
advance and queued paths: names, dates and windows, the booking horizon,
lengths and kinds, the reservation lists of a request, and whether a
lease may change now.  Each raises the API's error for bad input.
"""

import datetime

from oslo_config import cfg

from climate import context as climate_context
from climate import exceptions, stages, states
from climate.common import dates

CONF = cfg.CONF

L = states.LeaseStatus
E = states.EventStatus
K = states.LeaseKind


# What a QUEUED lease's update may change besides its name.
QUEUED_CHANGES = frozenset({"duration", "start_date", "reservations"})


def check_idle(lease):
    """Refuse to change a lease a stage is working on.

    :raises LeaseBusy:
    """
    if lease["status"] in L.TRANSITIONAL:
        raise exceptions.LeaseBusy(id=lease["id"], status=lease["status"])


def check_kind_kept(lease, values):
    """A lease's kind is chosen at its creation.

    :raises InvalidInput: (400) an unknown kind.
    :raises InvalidState: (409) another kind than the lease's.
    """
    if values.get("kind") is None:
        return
    kind = check_kind(values["kind"])
    if kind != lease["kind"]:
        raise exceptions.InvalidState(
            reason=f"Lease {lease['id']} is a {lease['kind']} lease "
            f"({lease['status']}); its kind cannot become {kind}: a lease's "
            "kind is chosen when it is created"
        )


def pending_delete(lease):
    """The unfinished delete event of a lease already DELETING."""
    for event in lease["events"]:
        if event["event_type"] == stages.DELETE.event_type and event[
            "status"
        ] in (E.UNDONE, E.IN_PROGRESS):
            return event["id"]
    return None


def check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise exceptions.InvalidInput(reason="name must be a non-empty string")
    if len(name) > 80:
        raise exceptions.InvalidInput(
            reason="name must be at most 80 characters"
        )
    if not name.isprintable():
        raise exceptions.InvalidInput(
            reason="name must not hold control characters (a newline, a "
            "tab...)"
        )
    return name


def parse_date(value, field, now):
    if value is None:
        raise exceptions.InvalidInput(reason=f"{field} is required")
    return dates.parse(value, field, now)


def parse_start(value, now):
    start = parse_date(value, "start_date", now)
    # "YYYY-MM-DD HH:MM" cannot name a time within the current minute, so the
    # current minute still counts as now.
    if start < now.replace(second=0):
        raise exceptions.InvalidPeriod(
            reason=f"start_date {start:%Y-%m-%d %H:%M} is in the past; use "
            "'now' to start at once"
        )
    return start


def check_window(start, end, now, started=False):
    if end <= start:
        raise exceptions.InvalidPeriod(
            reason=f"end_date {end:%Y-%m-%d %H:%M} must be later than "
            f"start_date {start:%Y-%m-%d %H:%M}"
        )
    check_horizon(end, now)
    if started and end <= now:
        raise exceptions.InvalidPeriod(
            reason="end_date of a started lease must be in the future"
        )
    check_length(end - start)


def check_horizon(end, now, what="end_date"):
    horizon = CONF.manager.booking_horizon
    last = now + datetime.timedelta(days=horizon)
    if horizon and end > last:
        raise exceptions.InvalidPeriod(
            reason=f"{what} {end:%Y-%m-%d %H:%M} is beyond the booking "
            f"horizon of {horizon} days ({last:%Y-%m-%d %H:%M}); "
            "[manager] booking_horizon sets it"
        )


def check_length(length):
    shortest = datetime.timedelta(minutes=CONF.manager.min_lease_duration)
    if length < shortest:
        raise exceptions.InvalidPeriod(
            reason=f"the lease lasts {length}, less than the minimum of "
            f"{CONF.manager.min_lease_duration} minutes"
        )
    longest = CONF.manager.max_lease_duration
    if longest and length > datetime.timedelta(minutes=longest):
        raise exceptions.InvalidPeriod(
            reason=f"the lease lasts {length}, more than the maximum of "
            f"{longest} minutes"
        )


def check_kind(kind):
    if kind not in K.ALL:
        raise exceptions.InvalidInput(
            reason=f"unknown kind {kind!r}; one of {', '.join(K.ALL)}"
        )
    return kind


def owner(lease):
    """A context acting for the lease's owner (the scheduler places a
    queued lease as the project that asked)."""
    return climate_context.RequestContext(
        user_id=lease["user_id"],
        project_id=lease["project_id"],
        overwrite=False,
    )


def before_end(value, start, end, now):
    """The time of the before_end_lease event."""
    if value is not None:
        before_end = dates.parse(value, "before_end_date", now)
        if not start <= before_end <= end:
            raise exceptions.InvalidPeriod(
                reason="before_end_date must lie between start_date and "
                "end_date"
            )
        return before_end
    default = end - datetime.timedelta(
        minutes=CONF.manager.minutes_before_end_lease
    )
    return max(default, start)


def moved_before_end(lease, start, end):
    """before_end_date for a lease whose window moved.

    A default before_end stays the default for the new window; one the
    user chose keeps its distance to the end.
    """
    old = lease["before_end_date"]
    default = before_end(None, lease["start_date"], lease["end_date"], None)
    if old is None or old == default:
        return before_end(None, start, end, None)
    return max(end - (lease["end_date"] - old), start)


def reservation_requests(reservations):
    if reservations is None:
        return []
    if not isinstance(reservations, list):
        raise exceptions.InvalidInput(reason="reservations must be a list")
    for index, request in enumerate(reservations):
        if not isinstance(request, dict):
            raise exceptions.InvalidInput(
                reason=f"reservations[{index}] must be an object"
            )
        if not isinstance(request.get("resource_type"), str):
            raise exceptions.InvalidInput(
                reason=f"reservations[{index}] needs a resource_type"
            )
    return reservations


def reservation_updates(reservations):
    if reservations is None:
        return []
    if not isinstance(reservations, list):
        raise exceptions.InvalidInput(reason="reservations must be a list")
    for index, request in enumerate(reservations):
        if not isinstance(request, dict) or not isinstance(
            request.get("id"), str
        ):
            raise exceptions.InvalidInput(
                reason=f"reservations[{index}] must be an object with the id "
                "of one of the lease's reservations"
            )
    return reservations
