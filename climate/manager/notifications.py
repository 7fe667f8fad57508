"""Notifications the manager sends through oslo.messaging's notifier.

``[oslo_messaging_notifications] driver`` chooses where they go (none by
default); ``messagingv2`` puts them on the broker of
``[oslo_messaging_notifications] transport_url``, or of ``[DEFAULT]
transport_url``, for billing, auditing or a dashboard.  The event types:

* ``lease.create``, ``lease.update``, ``lease.delete``: a lease was written;
* ``lease.preempted``: a preemptible lease ended early for an advance one;
* ``lease.refused``: a queued lease the usage limits refused at placement
  (now TERMINATED, the refusal its ``status_reason``);
* ``lease.event.start_lease``, ``lease.event.before_end_lease``,
  ``lease.event.end_lease``: the manager ran one of a lease's events.

The payload is the lease in the API's wire format, the publisher id
``climate.manager``.  A notification that cannot be sent is logged and
never fails the operation it reports.
"""

import threading

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from climate import context as climate_context
from climate import exceptions, rpc
from climate.common import views

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

PUBLISHER_ID = "climate.manager"
# Drivers that send over a transport; the others (log, noop, test,
# routing) work without one.
_MESSAGING_DRIVERS = {"messaging", "messagingv2"}


class Notifier:
    """Sends lease notifications with the configured drivers.

    :raises ConfigurationError: from the constructor, when a messaging
        driver is configured but no transport_url says where to send.
    """

    def __init__(self):
        #: The notification transport (listeners in tests share it).
        self.transport = _transport()
        self._notifier = messaging.Notifier(
            self.transport,
            publisher_id=PUBLISHER_ID,
            serializer=rpc.RequestContextSerializer(),
        )

    def lease(self, context, event_type, lease):
        """Send ``event_type`` with ``lease`` (a lease dict) as payload."""
        if not self._notifier.is_enabled():
            return
        try:
            self._notifier.info(context, event_type, views.lease(lease))
        except Exception:
            LOG.exception(
                "sending %s for lease %s failed", event_type, lease.get("id")
            )


class NullNotifier:
    """Sends nothing: for a lease manager built without notifications."""

    def lease(self, context, event_type, lease):
        pass


def _transport():
    # climate.conf registered oslo.messaging's notifier options.
    group = CONF.oslo_messaging_notifications
    url = group.transport_url or CONF.transport_url
    if url:
        return messaging.get_notification_transport(CONF)
    messaging_drivers = _MESSAGING_DRIVERS & set(group.driver)
    if messaging_drivers:
        raise exceptions.ConfigurationError(
            reason=f"[oslo_messaging_notifications] driver "
            f"{', '.join(sorted(messaging_drivers))} sends notifications "
            "to a message broker, but neither [oslo_messaging_notifications] "
            "transport_url nor [DEFAULT] transport_url is set"
        )
    # The log, noop and test drivers never use the transport.
    return messaging.get_notification_transport(CONF, url="fake:/")


class PluginNotifier:
    """A resource plugin's notifications, under its own publisher id:
    to a lease's tenant (the lease's project and user as context) or to
    the operator (no tenant).  Built on first use, from the same
    ``[oslo_messaging_notifications]`` options; best effort, like the
    manager's."""

    def __init__(self, publisher_id):
        self.publisher_id = publisher_id
        self._lock = threading.Lock()
        self._notifier = None

    def _get(self):
        with self._lock:
            if self._notifier is None:
                group = CONF.oslo_messaging_notifications
                url = group.transport_url or CONF.transport_url or "fake:/"
                self._notifier = messaging.Notifier(
                    messaging.get_notification_transport(CONF, url=url),
                    publisher_id=self.publisher_id,
                    serializer=rpc.RequestContextSerializer(),
                )
            return self._notifier

    def reset(self):
        """Forget the notifier (configuration changed)."""
        with self._lock:
            self._notifier = None

    def tenant(self, lease, event_type, payload, priority="info"):
        """Send ``event_type`` to ``lease``'s tenant."""
        context = climate_context.RequestContext(
            user_id=lease["user_id"],
            project_id=lease["project_id"],
            overwrite=False,
        )
        self._send(context, event_type, payload, priority, lease["id"])

    def operator(self, event_type, payload, priority="info"):
        """Send ``event_type`` to the operator (no tenant)."""
        context = climate_context.RequestContext(overwrite=False)
        self._send(context, event_type, payload, priority, None)

    def _send(self, context, event_type, payload, priority, lease_id):
        notifier = self._get()
        if not notifier.is_enabled():
            return
        try:
            getattr(notifier, priority)(context, event_type, payload)
        except Exception:
            LOG.exception(
                "sending %s%s failed",
                event_type,
                f" for lease {lease_id}" if lease_id else "",
            )
