"""The physical:host reservation fields, validated."""

import dataclasses
import json

from climate import exceptions
from climate.common import host_query
from climate.plugins.hosts import conf

BEFORE_END_ACTIONS = ("", "default")
#: What happens to a reservation's hosts at its end: ``kill`` deletes (or
#: shelves) the servers left on them and returns them to the free pool
#: (``default``, ``delete`` and ``shelve`` are kinds of kill, as the
#: compute driver does them); ``recycle`` leaves the servers running and
#: returns each host once it runs none; ``release`` leaves the servers
#: running and the hosts to the multi-tenant pool, out of Climate's
#: inventory until an operator returns them.
ON_END_ACTIONS = ("kill", "recycle", "release", "default", "delete", "shelve")
#: The longest grace period, in minutes (a week).
MAX_GRACE = 7 * 24 * 60
#: The largest min or max: the columns are 32-bit integers.
MAX_COUNT = 2**31 - 1
FIELDS = (
    "min",
    "max",
    "hypervisor_properties",
    "resource_properties",
    "before_end",
    "image",
    "block",
    "on_end",
    "grace_period",
)


@dataclasses.dataclass(frozen=True)
class HostRequest:
    """What a physical:host reservation asks for."""

    count_min: int
    count_max: int
    hypervisor_properties: str
    resource_properties: str
    before_end: str
    #: The image to prepare the hosts with (id or name), or None.
    image: str | None = None
    #: The block allocation the reservation is a slot of, or None.
    block: str | None = None
    #: What happens to the hosts at the end (``ON_END_ACTIONS``).
    on_end: str = "kill"
    #: Minutes after the end before ``on_end`` acts.
    grace_period: int = 0

    def named_queries(self):
        """``[(field name, parsed query)]``, empty queries left out."""
        named = []
        for field_name in ("hypervisor_properties", "resource_properties"):
            tree = host_query.parse(getattr(self, field_name), field_name)
            if tree is not None:
                named.append((field_name, tree))
        return named

    @property
    def queries(self):
        """The parsed queries, empty ones left out."""
        return [tree for _, tree in self.named_queries()]

    def columns(self):
        return {
            "count_min": self.count_min,
            "count_max": self.count_max,
            "hypervisor_properties": self.hypervisor_properties,
            "resource_properties": self.resource_properties,
            "before_end": self.before_end,
            "on_end": self.on_end,
            "grace_period": self.grace_period,
        }


def parse(values, current=None):
    """Validate reservation ``values``; return a ``HostRequest``.

    :param current: the reservation's present fields (min, max, ...), for
        an update that changes only some of them.
    :raises InvalidInput: a field is missing, unknown or malformed.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise exceptions.InvalidInput(
            reason=f"unknown physical:host field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(FIELDS)}"
        )
    merged = {**(current or {}), **values}
    image = _optional_text(merged.get("image"), "image")
    block = _optional_text(merged.get("block"), "block")
    # A block's slot accepts fewer machines, down to none.
    count_min = _count(merged.get("min"), "min", lowest=0 if block else 1)
    count_max = _count(merged.get("max"), "max")
    if count_min > count_max:
        raise exceptions.InvalidInput(
            reason=f"min ({count_min}) must not be greater than max "
            f"({count_max})"
        )
    request = HostRequest(
        count_min=count_min,
        count_max=count_max,
        hypervisor_properties=_query_text(
            merged.get("hypervisor_properties"), "hypervisor_properties"
        ),
        resource_properties=_query_text(
            merged.get("resource_properties"), "resource_properties"
        ),
        before_end=_before_end(merged.get("before_end")),
        image=image,
        block=block,
        on_end=_on_end(merged.get("on_end")),
        grace_period=_grace(merged.get("grace_period")),
    )
    request.queries  # noqa: B018  (parse now: a malformed query is a 400)
    return request


def _optional_text(value, field):
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise exceptions.InvalidInput(
            reason=f"{field} must be a name or id of at most 255 characters"
        )
    return value


def _count(value, field, lowest=1):
    if value is None:
        raise exceptions.InvalidInput(
            reason=f"physical:host reservations need {field}"
        )
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or not lowest <= value <= MAX_COUNT:
        raise exceptions.InvalidInput(
            reason=f"{field} must be an integer from {lowest} to {MAX_COUNT}"
        )
    return value


def _query_text(value, field):
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value) if value else ""
    if not isinstance(value, str):
        raise exceptions.InvalidInput(
            reason=f"{field} must be a JSON query string"
        )
    return value.strip()


def _before_end(value):
    value = "default" if value is None else value
    if value not in BEFORE_END_ACTIONS:
        raise exceptions.InvalidInput(
            reason=f"before_end must be one of "
            f"{', '.join(repr(a) for a in BEFORE_END_ACTIONS)}"
        )
    return value


def _on_end(value):
    if value is None:
        return conf.options().default_on_end
    if value not in ON_END_ACTIONS:
        raise exceptions.InvalidInput(
            reason=f"on_end must be one of {', '.join(ON_END_ACTIONS[:3])}"
        )
    return value


def _grace(value):
    if value is None:
        return conf.options().default_grace_period
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_GRACE
    ):
        raise exceptions.InvalidInput(
            reason=f"grace_period must be a number of minutes from 0 to "
            f"{MAX_GRACE}"
        )
    return value
