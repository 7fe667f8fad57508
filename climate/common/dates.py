"""Dates as Climate reads, stores and writes them.

Everything is UTC and stored naive.  Intervals are half-open ``[start, end)``;
the one overlap test of the code base is SQL, ``_overlapping`` in
``climate/plugins/hosts/db/allocations.py``.
"""

import datetime
import re

from climate import clock, exceptions

NOW = "now"
WIRE_FORMAT = "%Y-%m-%d %H:%M"
# start_date, end_date, before_end_date and event times on the way out.
API_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
# created_at and updated_at on the way out.
API_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_DURATION_UNITS = {
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
}


def utcnow():
    """Now, in UTC, naive, to the second, from the clock in use."""
    return clock.now().replace(microsecond=0)


def is_now(value):
    """True if ``value`` is the API's ``"now"``."""
    return isinstance(value, str) and value.strip().lower() == NOW


def parse(value, field, now=None, date_only=False):
    """Parse a date from the API into a naive UTC datetime.

    Accepts ``"now"``, ``"YYYY-MM-DD HH:MM"`` (UTC) and ISO 8601 with seconds
    and an optional offset.  Raises ``InvalidDate`` naming ``field``.

    :param date_only: also accept a day without a time (its midnight), for
        fields that name a day; elsewhere a day alone is refused, as it
        would silently mean midnight.
    """
    if not isinstance(value, str):
        raise exceptions.InvalidDate(field=field, value=value)
    if is_now(value):
        return now or utcnow()
    text = value.strip()
    try:
        parsed = datetime.datetime.strptime(text, WIRE_FORMAT)
    except ValueError:
        if _DATE_ONLY.match(text) and not date_only:
            # fromisoformat would take it as midnight: say instead.
            raise exceptions.InvalidDate(
                field=field,
                value=value,
                message=f"Invalid {field} {value!r}: give a time too, "
                f"such as '{text} 12:00' (UTC)",
            )
        try:
            parsed = datetime.datetime.fromisoformat(
                text.replace("Z", "+00:00")
            )
        except ValueError:
            raise exceptions.InvalidDate(field=field, value=value)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
        except OverflowError:  # in UTC, before year 1 or after 9999
            raise exceptions.InvalidDate(field=field, value=value)
    return parsed


def parse_duration(value, field):
    """Parse ``"90m"``, ``"2h"``, ``"1d"``, ``"1w"`` into a timedelta."""
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise exceptions.InvalidInput(
            reason=f"Invalid {field} {value!r}: expected a number followed "
            "by s, m, h, d or w, such as '2h' or '1d'"
        )
    amount, unit = match.groups()
    try:
        return datetime.timedelta(**{_DURATION_UNITS[unit]: int(amount)})
    except OverflowError:
        raise exceptions.InvalidInput(
            reason=f"Invalid {field} {value!r}: too long a duration"
        )


def as_datetime(value):
    """Return ``value`` as a datetime; ISO strings (RPC results) are parsed."""
    if value is None or type(value) is datetime.datetime:
        return value
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(value)


def format_date(value):
    """``2017-12-26T12:00:00.000000`` (API_DATE_FORMAT)."""
    value = as_datetime(value)
    # isoformat writes what strftime(API_DATE_FORMAT) does for a naive
    # datetime, in a fraction of the time (a page of leases has thousands).
    return value.isoformat(timespec="microseconds") if value else None


def format_timestamp(value):
    """``2017-12-27 10:00:00`` (API_TIMESTAMP_FORMAT)."""
    value = as_datetime(value)
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def format_duration(delta):
    """A timedelta for people: ``"2d 3h 5m"``, ``"45m"``, ``"0m"``."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else ""]
    parts.append(f"{minutes}m" if minutes or not (days or hours) else "")
    return " ".join(p for p in parts if p)
