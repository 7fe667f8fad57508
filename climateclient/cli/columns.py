"""How nested values show: one line per item in a table, the raw JSON
structure with ``-f json`` or ``-f yaml``."""

from cliff import columns

_RESERVATION_OWN_FIELDS = (
    "id",
    "lease_id",
    "status",
    "resource_id",
    "resource_type",
    "missing_resources",
    "resources_changed",
    "created_at",
    "updated_at",
)


class _Lines(columns.FormattableColumn):
    def human_readable(self):
        return "\n".join(self.line(item) for item in self._value or ())

    def line(self, item):
        raise NotImplementedError


class ReservationsColumn(_Lines):
    """A lease's reservations: id, type, status and the type's fields."""

    def line(self, item):
        fields = ", ".join(
            f"{key}={_hosts(value) if key == 'hosts' else value}"
            for key, value in item.items()
            if key not in _RESERVATION_OWN_FIELDS and value not in (None, "")
        )
        text = f"{item['id']} {item['resource_type']} ({item['status']})"
        return f"{text}: {fields}" if fields else text


def _hosts(hosts):
    """The hosts a reservation holds: name, its address when it is
    prepared, its capabilities."""
    if not isinstance(hosts, list):
        return hosts
    return " ".join(_host(h) for h in hosts if isinstance(h, dict))


def _host(host):
    """``name (address) [capability=value ...]``: the address for a
    prepared host, the capabilities when it has any; ``name (2
    instances)`` for a host holding instance slots."""
    text = str(host.get("name"))
    if "instances" in host:
        text += f" ({host['instances']} instance(s))"
    if "address" in host:
        text += f" ({host.get('address') or 'no address'})"
    capabilities = host.get("capabilities") or {}
    if capabilities:
        pairs = " ".join(f"{k}={v}" for k, v in capabilities.items())
        text += f" [{pairs}]"
    return text


class SlotsColumn(_Lines):
    """A block's slots: dates, lease, machines, warning."""

    def line(self, item):
        text = (
            f"{item['start_date']} to {item['end_date']}: "
            f"{item['allocated']} machine(s), lease {item['lease_id']}"
        )
        return f"{text} ({item['warning']})" if item.get("warning") else text


class EventsColumn(_Lines):
    """A lease's events: type, time, status."""

    def line(self, item):
        return f"{item['event_type']} {item['time']} {item['status']}"


class AllocationsColumn(_Lines):
    """The reservations holding one resource."""

    def line(self, item):
        return (
            f"lease {item['lease_id']} reservation {item['id']}: "
            f"{item['start_date']} to {item['end_date']}"
        )


class ListColumn(columns.FormattableColumn):
    """A list of scalars, comma separated."""

    def human_readable(self):
        return ", ".join(str(v) for v in self._value or ())
