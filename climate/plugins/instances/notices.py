"""Notifications of the virtual:instance plugin to a lease's tenant.

``lease.reservation.before_end``: the lease's ``before_end_date`` came;
the reservation's servers are handled by ``on_end`` at ``end_date``
(``snapshots`` names the servers snapshotted with ``before_end =
snapshot``).  Sent as the physical:host plugin's tenant notifications
(``[oslo_messaging_notifications]``), with publisher
``climate.virtual_instance``.
"""

from climate.plugins.hosts import notices as host_notices

PUBLISHER_ID = "climate.virtual_instance"
BEFORE_END = "lease.reservation.before_end"


def before_end(lease, reservation, snapshots):
    """Warn the lease's tenant that its instance reservation ends soon."""
    payload = {
        "lease_id": lease["id"],
        "lease_name": lease["name"],
        "reservation_id": reservation["id"],
        "end_date": lease["end_date"].isoformat(),
        "before_end": reservation.get("before_end") or "default",
        "on_end": reservation.get("on_end"),
        "snapshots": list(snapshots),
    }
    host_notices.to_tenant(
        lease, BEFORE_END, payload, priority="warn", publisher_id=PUBLISHER_ID
    )
