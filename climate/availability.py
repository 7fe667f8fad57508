"""When a request would be granted, and how far a lease can be extended.

Each resource plugin answers for its own type (``ResourcePlugin.
availability`` and ``extension``, static parts that only read); this module
puts their answers together for a lease and applies the core's limits.  The
API's ``GET /v1/availability`` and ``GET /v1/leases/{id}/extension`` read
through it, and the manager, refusing a lease, asks it for the next window
in which the same request would be granted.
"""

import datetime

from oslo_config import cfg

from climate import exceptions, states
from climate.common import dates

CONF = cfg.CONF

#: How far the search looks when no ``before`` is given, in days.
SEARCH_DAYS = 90
#: The most windows one search returns.
MAX_LIMIT = 50
#: The end of the dates a search covers: far enough, and far from
#: ``datetime.max``, so that no window or cleaning time overflows.
LAST_DATE = datetime.datetime(9999, 1, 1)
#: Rounds of "each reservation's earliest window from t" before the next
#: window of a lease with several reservations is given up.
_ROUNDS = 10


def horizon_end(now):
    """The latest end a lease may have (``[manager] booking_horizon``),
    or None."""
    days = CONF.manager.booking_horizon
    return _plus(now, datetime.timedelta(days=days)) if days else None


def search_period(after, before, duration, now):
    """Check a search's period and duration; return ``(start, end)``.

    :param after: the earliest start (datetime or None: now).
    :param before: the latest end (datetime or None: ``SEARCH_DAYS``
        after the start, and never past the booking horizon).
    :param duration: the lease's length (timedelta or None).
    :raises InvalidInput, InvalidPeriod: (400) what is wrong.
    """
    if duration is None:
        raise exceptions.InvalidInput(
            reason="duration is required, such as '2h' or '1d'"
        )
    if duration <= datetime.timedelta(0):
        raise exceptions.InvalidInput(reason="duration must be positive")
    shortest = datetime.timedelta(minutes=CONF.manager.min_lease_duration)
    if duration < shortest:
        raise exceptions.InvalidPeriod(
            reason=f"duration {dates.format_duration(duration)} is less than "
            f"the minimum lease of {CONF.manager.min_lease_duration} minutes"
        )
    longest = CONF.manager.max_lease_duration
    if longest and duration > datetime.timedelta(minutes=longest):
        raise exceptions.InvalidPeriod(
            reason=f"duration {dates.format_duration(duration)} is more than "
            f"the maximum lease of {longest} minutes"
        )
    start = now if after is None else max(after, now)
    if start >= LAST_DATE:
        raise exceptions.InvalidPeriod(
            reason=f"after must be before {LAST_DATE:%Y-%m-%d %H:%M}"
        )
    if before is None:
        end = _plus(start, datetime.timedelta(days=SEARCH_DAYS) + duration)
    else:
        end = before
        if end <= start:
            raise exceptions.InvalidPeriod(
                reason=f"before {end:%Y-%m-%d %H:%M} must be later than "
                f"after {start:%Y-%m-%d %H:%M}"
            )
    end = min(end, LAST_DATE)
    last = horizon_end(now)
    if last is not None:
        end = min(end, last)
    if duration > end - start:
        raise exceptions.InvalidPeriod(
            reason=f"duration {dates.format_duration(duration)} is longer "
            f"than the period searched, from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M}"
            + ("" if last is None else " (the booking horizon ends it)")
        )
    return start, end


def search(plugin_class, context, values, start, end, duration, limit):
    """The windows of one reservation request, in their wire form."""
    found = plugin_class.availability(
        context, values, start, end, duration, limit
    )
    return [
        {
            "start_date": dates.format_date(w["start"]),
            "end_date": dates.format_date(w["start"] + duration),
            "latest_start_date": dates.format_date(w["latest_start"]),
            "max_end_date": _date_or_none(_capped(w["max_end"], end)),
            "max_duration": _duration_or_none(
                _capped(w["max_end"], end), w["start"]
            ),
            "free": w["free"],
        }
        for w in found
    ]


def _plus(moment, delta):
    """``moment + delta``, no later than ``LAST_DATE``."""
    if LAST_DATE - moment <= delta:
        return LAST_DATE
    return moment + delta


def _capped(max_end, end):
    """What a plugin said, within the searched period's booking
    horizon."""
    last = horizon_end(dates.utcnow())
    if last is None:
        return max_end
    return last if max_end is None else min(max_end, last)


def next_available(plugin_classes, context, requests, start, end):
    """The next window in which a lease's whole request would be granted.

    :param requests: ``[(resource_type, values, current, ignore)]`` for
        each reservation (as ``ResourcePlugin.availability`` takes them).
    :returns: ``{"start_date", "end_date"}`` (wire dates) or None, when
        no plugin can tell or nothing fits in the next ``SEARCH_DAYS``.
    """
    duration = end - start
    if not requests:
        return None
    try:
        latest = earliest_start(
            plugin_classes, context, requests, start, duration
        )
    except exceptions.ClimateException:
        return None
    if latest is None or latest <= start:
        # At the start itself the request fits on its own: what refused
        # it was its reservations competing with each other.
        return None
    return {
        "start_date": dates.format_date(latest),
        "end_date": dates.format_date(latest + duration),
    }


def earliest_start(plugin_classes, context, requests, after, duration):
    """The earliest start, from ``after`` (or now, if later), at which a
    lease of ``duration`` with these reservation requests would be
    granted, or None when no plugin can tell or nothing fits in the next
    ``SEARCH_DAYS`` (or before the booking horizon).

    :param requests: as ``next_available`` takes them.
    :raises Invalid: a request's values are malformed (400).
    :raises NotSupported: a plugin cannot tell.
    """
    now = dates.utcnow()
    at = max(after, now)
    until = _plus(at, datetime.timedelta(days=SEARCH_DAYS) + duration)
    last = horizon_end(now)
    if last is not None:
        until = min(until, last)
    if not requests:
        return at
    if duration > until - at:
        return None
    for _ in range(_ROUNDS):
        found = []
        for resource_type, values, current, ignore in requests:
            plugin = plugin_classes.get(resource_type)
            if plugin is None:
                return None
            windows = plugin.availability(
                context,
                values,
                at,
                until,
                duration,
                1,
                current=current,
                ignore_reservations=ignore,
            )
            if not windows:
                return None
            found.append(windows[0])
        latest = max(w["start"] for w in found)
        if all(latest <= w["latest_start"] for w in found):
            return latest
        at = latest
    return None


def extension(plugin_classes, context, lease, now):
    """How far a lease's end could move now: per reservation and for the
    whole lease, keeping its resources and swapping those taken later,
    with the limits applied and the binding one named.

    :raises InvalidState: (409) the lease is neither pending nor active.
    :raises NotSupported: (400) a reservation's plugin cannot tell.
    """
    L = states.LeaseStatus
    if lease["status"] not in (L.PENDING, L.ACTIVE):
        raise exceptions.InvalidState(
            reason=f"Lease {lease['id']} is {lease['status']}; only a "
            "PENDING or ACTIVE lease can be extended"
        )
    reservations = []
    keep = swap = (None, "resources")
    for reservation in lease["reservations"]:
        plugin = plugin_classes.get(reservation["resource_type"])
        if plugin is None:
            raise exceptions.NotSupported(
                what="Extension advice",
                resource_type=reservation["resource_type"],
            )
        advice = plugin.extension(context, lease, reservation)
        reservations.append(
            {
                "id": reservation["id"],
                "resource_type": reservation["resource_type"],
                "latest_end_date": _date_or_none(advice["keep"]),
                "latest_end_date_with_swap": _date_or_none(advice["swap"]),
                "swap_note": advice["swap_note"],
            }
        )
        keep = _earliest(keep, (advice["keep"], "resources"))
        swap = _earliest(swap, (advice["swap"], "resources"))
    limits = _limits(lease, now)
    for limit in limits:
        keep = _earliest(keep, (limit["end"], limit["name"]))
        swap = _earliest(swap, (limit["end"], limit["name"]))
    return {
        "lease_id": lease["id"],
        "status": lease["status"],
        "end_date": dates.format_date(lease["end_date"]),
        **_advice(lease, *keep),
        "with_swap": _advice(lease, *swap),
        "limits": [
            {
                "name": limit["name"],
                "end_date": dates.format_date(limit["end"]),
                "note": limit["note"],
            }
            for limit in limits
        ],
        "reservations": reservations,
    }


def _limits(lease, now):
    """The limits on the lease's end: the booking horizon, the longest
    lease, and the extension filters of ``[enforcement]`` when enabled."""
    found = []
    last = horizon_end(now)
    if last is not None:
        found.append(
            _limit(
                "booking_horizon",
                last,
                f"[manager] booking_horizon: {CONF.manager.booking_horizon} "
                "days from now",
            )
        )
    start = lease["start_date"]
    if CONF.manager.max_lease_duration:
        found.append(
            _limit(
                "max_lease_duration",
                _plus(
                    start,
                    datetime.timedelta(
                        minutes=CONF.manager.max_lease_duration
                    ),
                ),
                f"[manager] max_lease_duration: "
                f"{CONF.manager.max_lease_duration} minutes",
            )
        )
    enabled = CONF.enforcement.enabled_filters
    enforcement = CONF.enforcement
    if (
        "max_lease_duration" in enabled
        and enforcement.max_lease_duration
        and lease["project_id"]
        not in enforcement.max_lease_duration_exempt_project_ids
    ):
        found.append(
            _limit(
                "max_lease_duration",
                _plus(
                    start,
                    datetime.timedelta(minutes=enforcement.max_lease_duration),
                ),
                f"[enforcement] max_lease_duration: "
                f"{enforcement.max_lease_duration} minutes",
            )
        )
    active = lease["status"] == states.LeaseStatus.ACTIVE
    if "extension_window" in enabled and active:
        end = lease["end_date"]
        if enforcement.extension_window:
            opens = end - datetime.timedelta(
                minutes=enforcement.extension_window
            )
            if now < opens:
                found.append(
                    _limit(
                        "extension_window",
                        end,
                        f"extensions open in the last "
                        f"{enforcement.extension_window} minutes, from "
                        f"{opens:%Y-%m-%d %H:%M} UTC",
                    )
                )
        if enforcement.max_extension:
            found.append(
                _limit(
                    "max_extension",
                    _plus(
                        end,
                        datetime.timedelta(minutes=enforcement.max_extension),
                    ),
                    f"at most {enforcement.max_extension} minutes per "
                    "extension",
                )
            )
    return found


def _limit(name, end, note):
    return {"name": name, "end": end, "note": note}


def _earliest(first, second):
    """The earlier of two ``(end or None, name)``; None is no limit."""
    if second[0] is None:
        return first
    if first[0] is None or second[0] < first[0]:
        return second
    return first


def _advice(lease, latest, binding):
    """The wire form of one answer: the latest end, what binds it and the
    ``prolong_for`` that reaches it."""
    if latest is None:
        return {"latest_end_date": None, "binding": None, "prolong_for": None}
    latest = max(latest, lease["end_date"])
    seconds = int((latest - lease["end_date"]).total_seconds())
    return {
        "latest_end_date": dates.format_date(latest),
        "binding": binding,
        "prolong_for": f"{seconds}s",
    }


def _date_or_none(value):
    return None if value is None else dates.format_date(value)


def _duration_or_none(end, start):
    if end is None:
        return None
    return f"{int((end - start).total_seconds())}s"
