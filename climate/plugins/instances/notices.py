"""Notifications of the virtual:instance plugin to a lease's tenant.

``lease.reservation.before_end``: the lease's ``before_end_date`` came;
the reservation's servers are handled by ``on_end`` at ``end_date``
(``snapshots`` names the servers snapshotted with ``before_end =
snapshot``).  Sent like the manager's lease notifications
(``[oslo_messaging_notifications]``), with publisher
``climate.virtual_instance`` and the lease's project and user as context.
"""

import threading

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from climate import context as climate_context
from climate import rpc

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

PUBLISHER_ID = "climate.virtual_instance"
BEFORE_END = "lease.reservation.before_end"

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


def before_end(lease, reservation, snapshots):
    """Warn the lease's tenant that its instance reservation ends soon,
    best effort."""
    notifier = _get()
    if not notifier.is_enabled():
        return
    payload = {
        "lease_id": lease["id"],
        "lease_name": lease["name"],
        "reservation_id": reservation["id"],
        "end_date": lease["end_date"].isoformat(),
        "before_end": reservation.get("before_end") or "default",
        "on_end": reservation.get("on_end"),
        "snapshots": list(snapshots),
    }
    context = climate_context.RequestContext(
        user_id=lease["user_id"],
        project_id=lease["project_id"],
        overwrite=False,
    )
    try:
        notifier.warn(context, BEFORE_END, payload)
    except Exception:
        LOG.exception(
            "sending %s for lease %s failed", BEFORE_END, lease["id"]
        )
