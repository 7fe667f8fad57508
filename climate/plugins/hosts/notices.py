"""Notifications of the physical:host plugin to a lease's tenant.

``lease.reservation.missing_resources``: hosts of a reservation could not
be prepared and no other host could replace them in time.  Sent like the
manager's lease notifications (``[oslo_messaging_notifications]``), with
publisher ``climate.physical_host`` and the lease's project and user as
context.
"""

from climate.manager import notifications

PUBLISHER_ID = "climate.physical_host"
MISSING = "lease.reservation.missing_resources"

_notifier = notifications.PluginNotifier(PUBLISHER_ID)
#: Forget the notifier (configuration changed).
reset = _notifier.reset
_tenant = _notifier.tenant
_operator = _notifier.operator


def missing_resources(lease, reservation, hosts, reason):
    """Tell the lease's tenant that ``hosts`` will not be there."""
    payload = {
        "lease_id": lease["id"],
        "lease_name": lease["name"],
        "reservation_id": reservation["id"],
        "start_date": lease["start_date"].isoformat(),
        "missing_hosts": list(hosts),
        "reason": reason,
    }
    _tenant(lease, MISSING, payload, priority="warn")


POWER = "host.power.{state}"
DOWN = "host.down"
HEALED = "lease.reservation.resources_changed"


def power_changed(host, state, at):
    """``host.power.on`` / ``host.power.off``: a host's power changed."""
    _operator(
        POWER.format(state=state),
        {"host": host, "power_state": state, "since": at.isoformat()},
    )


def host_down(host, reason):
    """``host.down``: a host failed and was taken out of service."""
    _operator(DOWN, {"host": host, "reason": reason}, priority="warn")


def resources_changed(lease, reservation, removed, added):
    """Tell the lease's tenant that a failed host was swapped."""
    payload = {
        "lease_id": lease["id"],
        "reservation_id": reservation["id"],
        "removed_hosts": list(removed),
        "added_hosts": list(added),
    }
    _tenant(lease, HEALED, payload, priority="info")


GRACE = "lease.reservation.grace_period"


def grace_period(lease, reservation, hosts, minutes):
    """Tell the lease's tenant that its hosts' end action waits."""
    payload = {
        "lease_id": lease["id"],
        "reservation_id": reservation["id"],
        "hosts": list(hosts),
        "grace_period": minutes,
        "on_end": reservation.get("on_end"),
    }
    _tenant(lease, GRACE, payload, priority="info")
