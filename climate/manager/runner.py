"""The event runner: claims due events and runs them on a pool of workers.

Several managers may share one database.  Each claims due events with a
conditional update (``db_api.events_claim_due``), only as many as it has
idle workers (``[manager] event_workers``), so what it cannot start now
stays for the others.  While a hook runs, a heartbeat renews the
manager's claims every ``[manager] heartbeat_interval``; a manager that
dies stops renewing, and another takes its events over once the claims
are ``[manager] claim_timeout`` old.  Claims carry a fencing token, so a
runner whose claim was taken over cannot record a result (see
``climate.manager.events``).  On a clean stop the claims of hooks that
did not finish in time are given back.

The runner sleeps until the next event falls due or ``[manager]
poll_interval`` passes, and ``wake(at)`` cuts the sleep short when a
lease change brings an event earlier than the next planned wake-up.
All times come from ``climate.clock``; ``run_once`` and ``run_pending``
drive the runner step by step, for tests and simulations on a virtual
clock.
"""

import concurrent.futures
import datetime
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging

from climate import clock, exceptions
from climate.db import api as db_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

#: Seconds between passes while the database is away.
_OUTAGE_RETRY = 0.5


class EventRunner:
    """Claims due events and runs them, on threads or step by step.

    :param handler: the ``EventHandler`` that runs one event.
    :param claimer: this manager's name in claims, unique per process.
    :param workers: how many events run at once (default ``[manager]
        event_workers``).
    """

    def __init__(self, handler, claimer, workers=None):
        self._handler = handler
        self.claimer = claimer
        self._workers = workers or CONF.manager.event_workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running = {}  # event id -> claimed event
        self._next_wakeup = None
        self._threads = []
        self._pool = None

    # Threads ---------------------------------------------------------------

    def start(self):
        """Start the runner's loop and heartbeat threads."""
        self._stop.clear()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self._workers, thread_name_prefix="climate-event"
        )
        self._threads = [
            threading.Thread(
                target=self._loop, name="climate-event-runner", daemon=True
            ),
            threading.Thread(
                target=self._heartbeat,
                name="climate-event-heartbeat",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout=10.0):
        """Stop claiming, let running hooks finish for up to ``timeout``
        seconds, then give back the claims of those still running."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + timeout
            while self._running and time.monotonic() < deadline:
                self._stop.wait(0.02)
            self._pool = None
        with self._lock:
            left = list(self._running)
        if left:
            try:
                given_back = db_api.events_release(self.claimer, left)
            except Exception:
                LOG.exception("giving back %d claims failed", len(left))
            else:
                LOG.info("gave back %d unfinished claims", given_back)
        LOG.info("event runner %s stopped", self.claimer)

    def wake(self, at=None):
        """Look for due events now if ``at`` (when a new or moved event
        falls due) comes before the next planned wake-up, or if no time
        is given."""
        planned = self._next_wakeup
        if at is None or planned is None or at < planned:
            self._wake.set()

    def _loop(self):
        LOG.info(
            "event runner started as %s with %d workers",
            self.claimer,
            self._workers,
        )
        while not self._stop.is_set():
            self._wake.clear()
            try:
                idle = self._workers - len(self._running)
                claimed = self._claim(idle) if idle > 0 else []
                for event in claimed:
                    self._pool.submit(self._work, event)
                if idle > len(claimed):
                    timeout = self._sleep_time()
                else:
                    # Every worker is busy: a finishing one wakes us.
                    timeout = CONF.manager.poll_interval
            except exceptions.ServiceUnavailable:
                # The database is away: said once, where it was found.
                # Look again soon, so due events run within a second or
                # so of its return.
                timeout = min(CONF.manager.poll_interval, _OUTAGE_RETRY)
            except Exception:
                LOG.exception("event runner pass failed; trying again")
                timeout = CONF.manager.poll_interval
            self._next_wakeup = clock.now() + datetime.timedelta(
                seconds=timeout
            )
            clock.get().wait(self._wake, timeout)
        LOG.info("event runner loop stopped")

    def _work(self, event):
        try:
            self._handler.process(event)
        except exceptions.ServiceUnavailable as exc:
            LOG.warning(
                "event %s: its outcome could not be recorded (%s); it runs "
                "again once its claim goes stale",
                event["id"],
                exc.message,
            )
        except Exception:
            # Recording the outcome failed (the database went away): the
            # claim is no longer renewed and goes stale, so this or
            # another manager runs the event again.
            LOG.exception(
                "event %s: recording its outcome failed", event["id"]
            )
        finally:
            with self._lock:
                self._running.pop(event["id"], None)
            self._wake.set()

    def _heartbeat(self):
        interval = CONF.manager.heartbeat_interval
        while not self._stop.wait(interval):
            with self._lock:
                running = list(self._running)
            if not running:
                continue
            try:
                db_api.events_renew(self.claimer, running, clock.now())
            except exceptions.ServiceUnavailable:
                pass  # the outage is logged once, where it was found
            except Exception:
                LOG.warning(
                    "renewing the claims of %s failed; they go stale after "
                    "%s s without renewal",
                    self.claimer,
                    CONF.manager.claim_timeout,
                    exc_info=True,
                )

    # Claims ----------------------------------------------------------------

    def _stale_before(self, now):
        return now - datetime.timedelta(seconds=CONF.manager.claim_timeout)

    def _claim(self, limit):
        now = clock.now()
        claimed = db_api.events_claim_due(
            now,
            self.claimer,
            self._stale_before(now),
            limit,
            rank=self._handler.rank,
        )
        with self._lock:
            for event in claimed:
                self._running[event["id"]] = event
        for event in claimed:
            LOG.info(
                "running %s of lease %s (attempt %d)",
                event["event_type"],
                event["lease_id"],
                event["attempts"],
            )
        return claimed

    def _sleep_time(self):
        stale_after = datetime.timedelta(seconds=CONF.manager.claim_timeout)
        next_due = db_api.event_next_due_time(stale_after)
        if next_due is None:
            return CONF.manager.poll_interval
        # Event times are to the second: wake just after the due second.
        wait = (next_due - clock.now()).total_seconds() + 0.001
        return min(max(wait, 0), CONF.manager.poll_interval)

    # Step by step ----------------------------------------------------------

    def run_once(self):
        """Claim what is due now (up to the number of workers) and run it
        in this thread, in order; return how many events ran."""
        claimed = self._claim(self._workers)
        for event in claimed:
            self._work(event)
        return len(claimed)

    def run_pending(self):
        """Run passes until nothing is due now; return how many events
        ran.  On a virtual clock an event put off is due again only once
        the clock moves, so this ends."""
        total = 0
        while True:
            ran = self.run_once()
            if not ran:
                return total
            total += ran
