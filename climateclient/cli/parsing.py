"""Reading command-line values: ``key=value,...`` lists and durations.

The only date arithmetic of the client lives here: ``lease create
--duration``, because the API has no duration field on create (see
``end_from_duration``).  Everything else (``now``, ``prolong_for``...) is
passed through for the server to compute.
"""

import argparse
import datetime
import re

#: Reservation fields sent as integers when they read as one.
INTEGER_FIELDS = frozenset(
    ("min", "max", "amount", "vcpus", "memory_mb", "disk_gb")
)
#: The fields of blazar's ``--physical-reservation``.
PHYSICAL_HOST_FIELDS = (
    "min",
    "max",
    "hypervisor_properties",
    "resource_properties",
    "before_end",
)
PHYSICAL_HOST = "physical:host"

_OPENERS = {"[": "]", "{": "}", "(": ")"}
_QUOTES = "\"'"
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_DURATION_UNITS = {
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
}
_WIRE_FORMAT = "%Y-%m-%d %H:%M"


class ParseError(argparse.ArgumentTypeError, ValueError):
    """A command-line value that cannot be read; the message says why.

    As an ``ArgumentTypeError``, argparse shows the message as it is when a
    ``type=`` function raises it.
    """


def split_top_level(text, separator=","):
    """Split ``text`` on ``separator`` outside brackets and quotes.

    ``'a=1,b=["==","$x","1"]'`` gives ``['a=1', 'b=["==","$x","1"]']``.
    A backslash inside quotes escapes the next character.

    :raises ParseError: unbalanced brackets or an unclosed quote.
    """
    parts, current, stack = [], [], []
    quote = None
    chars = iter(text)
    for char in chars:
        if quote:
            current.append(char)
            if char == "\\":
                current.append(next(chars, ""))
            elif char == quote:
                quote = None
            continue
        if char in _QUOTES:
            quote = char
        elif char in _OPENERS:
            stack.append(_OPENERS[char])
        elif char in _OPENERS.values():
            if not stack or stack.pop() != char:
                raise ParseError(f"unbalanced {char!r} in {text!r}")
        elif char == separator and not stack:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote:
        raise ParseError(f"unclosed {quote} quote in {text!r}")
    if stack:
        raise ParseError(f"missing {stack[-1]!r} in {text!r}")
    parts.append("".join(current))
    return parts


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTES:
        return value[1:-1]
    return value


def parse_key_values(text, option="--reservation"):
    """Read ``key=value,key=value`` into a dict (insertion ordered).

    Values keep their commas inside JSON brackets and quotes; a value
    wholly wrapped in quotes loses them.  Fields of ``INTEGER_FIELDS``
    that read as integers become ints; everything else stays a string
    (queries stay JSON text, as the API wants them).

    :raises ParseError: no ``=``, an empty key, a key given twice.
    """
    result = {}
    for part in split_top_level(text):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParseError(
                f"{option} {text!r}: expected key=value pairs separated by "
                f"commas, got {part!r}"
            )
        if key in result:
            raise ParseError(f"{option} {text!r}: {key} is given twice")
        value = _unquote(value.strip())
        if key in INTEGER_FIELDS and re.fullmatch(r"[+-]?\d+", value):
            value = int(value)
        result[key] = value
    if not result:
        raise ParseError(f"{option} needs key=value pairs")
    return result


def reservation(text):
    """A ``--reservation`` of ``lease create``: needs a resource_type."""
    values = parse_key_values(text)
    if not values.get("resource_type"):
        raise ParseError(
            f"--reservation {text!r} needs resource_type=, such as "
            f"resource_type={PHYSICAL_HOST}"
        )
    return values


def physical_reservation(text):
    """blazar's ``--physical-reservation min=1,max=2,...``."""
    values = parse_key_values(text, option="--physical-reservation")
    unknown = sorted(set(values) - set(PHYSICAL_HOST_FIELDS))
    if unknown:
        raise ParseError(
            f"--physical-reservation {text!r}: unknown field(s) "
            f"{', '.join(unknown)}; allowed: {', '.join(PHYSICAL_HOST_FIELDS)}"
        )
    return {"resource_type": PHYSICAL_HOST, **values}


def reservation_update(text):
    """A ``--reservation`` of ``lease set``: ``id=...`` and new values."""
    values = parse_key_values(text)
    if "resource_type" in values:
        raise ParseError(
            f"--reservation {text!r}: a reservation's resource_type cannot "
            "change"
        )
    return values


def key_value(text):
    """One ``KEY=VALUE`` (host capabilities): split on the first ``=``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ParseError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def duration(text):
    """An argparse type: a duration checked here, sent as written."""
    parse_duration(text)
    return text


def parse_duration(text):
    """``"90m"``, ``"2h"``, ``"1d"``, ``"1w"`` as a timedelta (the
    server's syntax for prolong_for and its siblings)."""
    match = _DURATION_RE.match(text or "")
    if not match:
        raise ParseError(
            f"invalid duration {text!r}: expected a number followed by s, m, "
            "h, d or w, such as '2h' or '1d'"
        )
    amount, unit = match.groups()
    return datetime.timedelta(**{_DURATION_UNITS[unit]: int(amount)})


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def end_from_duration(start, duration, now=None):
    """The ``end_date`` to send for a lease of ``duration`` from ``start``.

    The API takes no duration on create, so this is the client's one piece
    of date arithmetic.  For an explicit start the end is exact and sent
    in the start's own format.  For ``"now"`` the server takes its own
    clock at arrival; the end is computed from this machine's UTC clock,
    to the second, and sent as ISO 8601 with an offset, so the lease lasts
    ``duration`` give or take the clock skew between the two machines (and
    a second if the request crosses a second's boundary).

    :raises ParseError: the start is not a date this function can read
        (the server accepts the same formats and would say why).
    """
    delta = parse_duration(duration)
    text = (start or "").strip()
    if text.lower() == "now":
        # The server's "now" is its clock truncated to the second.
        moment = (now or utcnow()).replace(microsecond=0)
        return (moment + delta).isoformat() + "+00:00"
    try:
        return (
            datetime.datetime.strptime(text, _WIRE_FORMAT) + delta
        ).strftime(_WIRE_FORMAT)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(
            f"invalid start date {start!r}: expected 'now', "
            "'YYYY-MM-DD HH:MM' (UTC) or an ISO 8601 date and time"
        )
    return (moment + delta).isoformat()
