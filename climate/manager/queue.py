"""The scheduler of best-effort leases.

A best-effort lease is accepted at once, QUEUED, with a duration and an
earliest start.  A pass of this scheduler tries the queued leases in the
configured order (``[queue] order``) and places each one that fits now
(or at its earliest start, if later) through the lease manager's
admission, the same as an advance lease's: placement never double books,
and a lease placed is an advance lease for its window from then on.

The first lease that does not fit is the queue's head.  Without
backfilling the pass stops there.  With it (``[queue] backfilling``, as
in EASY backfilling), a later lease may still go first if the head stays
admissible at its earliest possible start once that lease is placed: the
placement and a trial admission of the head at that start are one
transaction, so a backfilled lease never delays the head.

Several managers may run passes at once: a placement locks the lease's row
and places only a lease still QUEUED, so no lease is placed twice.  A
pass runs every ``[queue] interval`` seconds and at once when ``wake()``
is called (a lease queued, deleted, shortened or ended).  The remaining
leases get their place in the queue and their earliest possible start
(the availability search), which the API shows.
"""

import datetime
import json
import threading

from oslo_config import cfg
from oslo_log import log as logging

from climate import availability, clock, exceptions
from climate import context as climate_context
from climate import queue as queue_policies
from climate.db import api as db_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class QueueScheduler:
    """Places queued best-effort leases, step by step or on a thread.

    :param lease_manager: the ``LeaseManager`` whose ``place`` admits.
    :param plugins: ``{resource_type: ResourcePlugin}``, for the
        availability search.
    :param order: a ``climate.queue.orders.QueueOrder`` (default: the one
        ``[queue] order`` names).
    :param backfilling: default ``[queue] backfilling``.
    :param estimates: record every waiting lease's place and earliest
        start (True, the service's way); False records nothing and
        searches only the head's start (a simulation's shortcut).
    """

    def __init__(
        self,
        lease_manager,
        plugins,
        order=None,
        backfilling=None,
        estimates=True,
    ):
        self._estimates = estimates
        self._leases = lease_manager
        self._classes = {t: type(p) for t, p in plugins.items()}
        self._order = order or queue_policies.load_order(CONF.queue.order)
        self._backfilling = (
            CONF.queue.backfilling if backfilling is None else backfilling
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    # Threads ---------------------------------------------------------------

    def start(self):
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="climate-queue", daemon=True
        )
        self._thread.start()

    def stop(self, timeout=10.0):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self):
        """Run a pass now (capacity freed, or a lease queued)."""
        self._wake.set()

    def _loop(self):
        while not self._stop.is_set():
            self._wake.wait(CONF.queue.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.run_pass()
            except Exception:
                LOG.exception("a pass of the queue failed; it runs again")

    # One pass --------------------------------------------------------------

    def run_pass(self):
        """Place what fits; return the leases placed, in order."""
        now = clock.now()
        queue = self._order.sort(db_api.leases_queued())
        placed = []
        waiting = []
        head = None  # (lease, earliest start) of the first that waits
        for lease in queue:
            start = max(now, lease["not_before"])
            if waiting and not self._backfilling:
                waiting.append((lease, None))
                continue
            guard = None
            if head is not None and head[1] is not None:
                guard = (head[0]["id"], head[1])
            try:
                done = self._leases.place(lease["id"], start, guard=guard)
            except exceptions.NotEnoughResourcesAvailable:
                done = None
                fits = False
            except exceptions.ClimateException as exc:
                # Refused for another reason (beyond the booking horizon,
                # the usage service unreachable...): it waits.  A refusal
                # of the usage limits has ended it (``place``).
                LOG.info("queued lease %s not placed: %s", lease["id"], exc)
                done = None
                fits = False
            else:
                fits = True
            if done is not None:
                placed.append(done)
                continue
            if fits:
                continue  # no longer queued: placed elsewhere or gone
            earliest = None
            if head is None or self._estimates:
                earliest = self._earliest(lease, start)
            if head is None:
                head = (lease, earliest)
            waiting.append((lease, earliest))
        if not self._estimates:
            return placed
        for position, (lease, earliest) in enumerate(waiting, 1):
            if earliest is None and head is not None and lease is head[0]:
                earliest = head[1]
            elif earliest is None:
                earliest = self._earliest(lease, max(now, lease["not_before"]))
            db_api.lease_queue_note(lease["id"], position, earliest)
        return placed

    def _earliest(self, lease, start):
        """The lease's earliest possible start from ``start``, or None."""
        requests = [
            (
                r["resource_type"],
                {k: v for k, v in r.items() if k != "resource_type"},
                None,
                (),
            )
            for r in json.loads(lease["request"] or "[]")
        ]
        try:
            at = availability.earliest_start(
                self._classes,
                _owner_context(lease),
                requests,
                start,
                datetime.timedelta(seconds=lease["duration"]),
            )
        except exceptions.ClimateException:
            return None
        if at is not None and at <= start:
            # Free now by the search, yet refused: its reservations
            # compete with each other or with the head; say "now".
            return start
        return at


def _owner_context(lease):
    return climate_context.RequestContext(
        user_id=lease["user_id"],
        project_id=lease["project_id"],
        overwrite=False,
    )
