"""The virtual:instance reservation fields, validated."""

import dataclasses
import json

from climate import exceptions
from climate.plugins.instances import conf

#: The largest size or amount: the columns are 32-bit integers.
MAX_INTEGER = 2**31 - 1
SIZES = ("vcpus", "memory_mb", "disk_gb")
FIELDS = (
    "amount",
    *SIZES,
    "affinity",
    "resource_properties",
    "before_end",
    "on_end",
    "server_id",
)
_AFFINITY = {"true": True, "false": False, "null": None, "none": None}


@dataclasses.dataclass(frozen=True)
class InstanceRequest:
    """What a virtual:instance reservation asks for."""

    amount: int
    vcpus: int
    memory_mb: int
    disk_gb: int
    #: True: all on one host; False: each on its own host; None: anywhere.
    affinity: bool | None
    resource_properties: str
    on_end: str
    #: The reserved-server form: the server to wake up at the start.
    server_id: str | None = None
    #: ``default`` (warn the tenant) or ``snapshot`` (and snapshot the
    #: servers) at the lease's ``before_end_date``.
    before_end: str = "default"

    def size(self):
        """One instance's share of a host, as the host columns name it."""
        return {
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "local_gb": self.disk_gb,
        }

    def columns(self):
        return {
            "amount": self.amount,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "disk_gb": self.disk_gb,
            "affinity": self.affinity,
            "resource_properties": self.resource_properties,
            "before_end": self.before_end,
            "on_end": self.on_end,
        }


def parse(values, current=None):
    """Validate reservation ``values``; return an ``InstanceRequest``.

    :param current: the reservation's present fields, for an update that
        changes only some of them.
    :raises InvalidInput: a field is missing, unknown or malformed.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise exceptions.InvalidInput(
            reason=f"unknown virtual:instance field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(FIELDS)}"
        )
    merged = {**(current or {}), **values}
    server_id = merged.get("server_id")
    if server_id is not None and (
        not isinstance(server_id, str) or not 0 < len(server_id) <= 255
    ):
        raise exceptions.InvalidInput(
            reason="server_id must be the id of a server"
        )
    if server_id is not None:
        # The reserved-server form: its size is the server's flavor.
        return InstanceRequest(
            amount=1,
            vcpus=1,
            memory_mb=1,
            disk_gb=0,
            affinity=None,
            resource_properties="",
            on_end=_on_end(merged.get("on_end")),
            server_id=server_id,
            before_end=_before_end(merged.get("before_end")),
        )
    return InstanceRequest(
        amount=_positive(merged.get("amount"), "amount"),
        vcpus=_positive(merged.get("vcpus"), "vcpus"),
        memory_mb=_positive(merged.get("memory_mb"), "memory_mb"),
        disk_gb=_positive(merged.get("disk_gb"), "disk_gb"),
        affinity=_affinity(merged.get("affinity")),
        resource_properties=_query_text(merged.get("resource_properties")),
        on_end=_on_end(merged.get("on_end")),
        before_end=_before_end(merged.get("before_end")),
    )


def _positive(value, field):
    if value is None:
        raise exceptions.InvalidInput(
            reason=f"virtual:instance reservations need {field}"
        )
    given = value
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_INTEGER:
        raise exceptions.InvalidInput(
            reason=f"{field} must be a positive integer (at most "
            f"{MAX_INTEGER}), not {given!r}"
        )
    return value


def _affinity(value):
    if isinstance(value, str) and value.strip().lower() in _AFFINITY:
        return _AFFINITY[value.strip().lower()]
    if value is None or isinstance(value, bool):
        return value
    raise exceptions.InvalidInput(
        reason="affinity must be true (all instances on one host), false "
        "(each on its own host) or null (anywhere)"
    )


def _query_text(value):
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value) if value else ""
    if not isinstance(value, str):
        raise exceptions.InvalidInput(
            reason="resource_properties must be a JSON query string"
        )
    return value.strip()


def _on_end(value):
    if value is None or value == "" or value == "default":
        return conf.options().default_on_end
    if value not in conf.ON_END_ACTIONS:
        raise exceptions.InvalidInput(
            reason=f"on_end must be one of {', '.join(conf.ON_END_ACTIONS)}"
            f", not {value!r}"
        )
    return value


def _before_end(value):
    value = "default" if value is None or value == "" else value
    if value not in conf.BEFORE_END_ACTIONS:
        raise exceptions.InvalidInput(
            reason="before_end must be one of "
            f"{', '.join(conf.BEFORE_END_ACTIONS)}, not {value!r}"
        )
    return value
