"""Outages of the services a Climate process depends on.

Each process keeps one ``Dependency`` per service (the database, the
message broker, the lease manager).  Code that talks to the service says
how each attempt went: ``failed(reason)`` or ``answered()``.  The first
failure after a success logs one warning, naming the service and the
reason; the first success after failures logs one line with the outage's
duration and how many requests it refused.  Nothing is logged in between,
so an outage of a minute under load is two log lines, not a traceback per
request.  The counts feed the API's ``/metrics``.
"""

import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class Dependency:
    """The state of one service this process depends on, as its callers
    last found it.

    :param name: what the log lines and metrics call it ("database").
    """

    def __init__(self, name):
        self.name = name
        self._lock = threading.Lock()
        self.down_since = None  # monotonic time of the first failure
        self.outages = 0
        self.failures = 0
        self.seconds_down = 0.0
        self._failures_now = 0

    @property
    def up(self):
        return self.down_since is None

    def failed(self, reason):
        """An attempt failed because the service could not be reached."""
        with self._lock:
            self.failures += 1
            self._failures_now += 1
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            self.outages += 1
        LOG.warning(
            "%s unreachable: %s; answering 503 until it is back",
            self.name,
            reason,
        )

    def answered(self, started=None):
        """An attempt reached the service.

        :param started: when the attempt began (``time.monotonic()``).
            One begun before the outage says nothing of the service's
            return (its connection was not yet cut when the service went
            away), so it does not end the outage: a dying database that
            lets one transaction commit after refusing another logs one
            outage, not two.
        """
        if self.down_since is None:  # the common case: no lock
            return
        with self._lock:
            if self.down_since is None:
                return
            if started is not None and started < self.down_since:
                return
            lasted = time.monotonic() - self.down_since
            refused, self._failures_now = self._failures_now, 0
            self.seconds_down += lasted
            self.down_since = None
        LOG.info(
            "%s reachable again after %.1f s (%d failed attempts meanwhile)",
            self.name,
            lasted,
            refused,
        )

    def current_outage(self):
        """Seconds since the current outage began (0 when up)."""
        since = self.down_since
        return 0.0 if since is None else time.monotonic() - since


DATABASE = Dependency("database")
BROKER = Dependency("message broker")
MANAGER = Dependency("lease manager")

ALL = (DATABASE, BROKER, MANAGER)
