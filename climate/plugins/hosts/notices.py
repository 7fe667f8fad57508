"""Notifications of the physical:host plugin to a lease's tenant.

``lease.reservation.missing_resources``: hosts of a reservation could not
be prepared and no other host could replace them in time.  Sent like the
manager's lease notifications (``[oslo_messaging_notifications]``), with
publisher ``climate.physical_host`` and the lease's project and user as
context.
"""

import threading

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from climate import context as climate_context
from climate import rpc

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

PUBLISHER_ID = "climate.physical_host"
MISSING = "lease.reservation.missing_resources"

_lock = threading.Lock()
_notifier = None


def _get():
    global _notifier
    with _lock:
        if _notifier is None:
            group = CONF.oslo_messaging_notifications
            url = group.transport_url or CONF.transport_url or "fake:/"
            transport = messaging.get_notification_transport(CONF, url=url)
            _notifier = messaging.Notifier(
                transport,
                publisher_id=PUBLISHER_ID,
                serializer=rpc.RequestContextSerializer(),
            )
        return _notifier


def reset():
    """Forget the notifier (configuration changed)."""
    global _notifier
    with _lock:
        _notifier = None


def _tenant(lease, event_type, payload, priority="info"):
    """Send a notification to ``lease``'s tenant, best effort."""
    notifier = _get()
    if not notifier.is_enabled():
        return
    context = climate_context.RequestContext(
        user_id=lease["user_id"],
        project_id=lease["project_id"],
        overwrite=False,
    )
    try:
        getattr(notifier, priority)(context, event_type, payload)
    except Exception:
        LOG.exception(
            "sending %s for lease %s failed", event_type, lease["id"]
        )


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


def _operator(event_type, payload, priority="info"):
    """Send an operator's notification (no tenant), best effort."""
    notifier = _get()
    if not notifier.is_enabled():
        return
    context = climate_context.RequestContext(overwrite=False)
    try:
        getattr(notifier, priority)(context, event_type, payload)
    except Exception:
        LOG.exception("sending %s failed", event_type)


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
