"""Notifications of the virtual:instance plugin to a lease's tenant.

``lease.reservation.before_end``: the lease's ``before_end_date`` came;
the reservation's servers are handled by ``on_end`` at ``end_date``
(``snapshots`` names the servers snapshotted with ``before_end =
snapshot``).  Sent like the manager's lease notifications
(``[oslo_messaging_notifications]``), with publisher
``climate.virtual_instance`` and the lease's project and user as context.
"""

from climate.manager import notifications

PUBLISHER_ID = "climate.virtual_instance"
BEFORE_END = "lease.reservation.before_end"

_notifier = notifications.PluginNotifier(PUBLISHER_ID)
#: Forget the notifier (configuration changed).
reset = _notifier.reset


def before_end(lease, reservation, snapshots):
    """Warn the lease's tenant that its instance reservation ends soon,
    best effort."""
    payload = {
        "lease_id": lease["id"],
        "lease_name": lease["name"],
        "reservation_id": reservation["id"],
        "end_date": lease["end_date"].isoformat(),
        "before_end": reservation.get("before_end") or "default",
        "on_end": reservation.get("on_end"),
        "snapshots": list(snapshots),
    }
    _notifier.tenant(lease, BEFORE_END, payload, priority="warn")
