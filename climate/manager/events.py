"""The event loop: runs lease events when they fall due.

Several managers may poll one database.  Each claims due events with a
conditional update (``db_api.events_claim_due``), so an event runs in one
manager only; an event left IN_PROGRESS by a manager that died is claimed
again after ``[manager] event_timeout``.  Plugin hooks run outside any
transaction, and a failed hook is retried with exponential backoff until
``[manager] event_max_attempts``, after which the event, its lease's
reservations and the lease are put in ERROR.

Each event that ran is announced with a ``lease.event.<event type>``
notification, and the end of a lease is reported to the usage enforcement
filters (``on_end``).
"""

import datetime
import threading

from oslo_config import cfg
from oslo_log import log as logging

from climate import context as climate_context
from climate import exceptions, states
from climate.common import dates
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.manager import notifications

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus
E = states.EventStatus
R = states.ReservationStatus
ET = states.EventType


class _Action:
    """What an event type does: the lease's busy state and the hook to run."""

    def __init__(self, busy, hook, reservation_status, runs_on):
        self.busy = busy
        self.hook = hook
        self.reservation_status = reservation_status
        # Lease states in which the hook still has work to do.
        self.runs_on = runs_on


_ACTIONS = {
    ET.START_LEASE: _Action(
        L.STARTING, "on_start", R.ACTIVE, {L.PENDING, L.STARTING}
    ),
    # STARTING too: a start left half done by a manager that died must not
    # keep the end from taking the resources back.
    ET.END_LEASE: _Action(
        L.TERMINATING,
        "on_end",
        R.DELETED,
        {L.PENDING, L.STARTING, L.ACTIVE, L.ERROR, L.TERMINATING},
    ),
    ET.BEFORE_END_LEASE: _Action(None, "before_end", None, {L.ACTIVE}),
}


class EventHandler:
    """Runs one claimed event: the lease's state change and plugin hooks.

    :param plugins: ``{resource_type: ResourcePlugin}``.
    :param notifier: sends ``lease.event.*`` (default: nothing is sent).
    :param enforcer: the ``UsageEnforcer`` told when a lease ends.
    """

    def __init__(self, plugins, notifier=None, enforcer=None):
        self._plugins = plugins
        self._notifier = notifier or notifications.NullNotifier()
        self._enforcer = enforcer or UsageEnforcer()

    def run(self, event):
        """Run ``event``'s hooks.

        :returns: True if the hooks ran, False if the lease no longer needed
            them (deleted, already past this point, unknown event type).
        :raises Exception: whatever a hook raised; the caller retries.
        """
        action = _ACTIONS.get(event["event_type"])
        if action is None:
            LOG.warning(
                "event %s has unknown type %s; marking it done",
                event["id"],
                event["event_type"],
            )
            return False
        try:
            lease = db_api.lease_get(event["lease_id"])
        except exceptions.LeaseNotFound:
            return False
        if lease["status"] not in action.runs_on:
            LOG.info(
                "lease %s is %s: nothing to do for %s",
                lease["id"],
                lease["status"],
                event["event_type"],
            )
            return False
        if action.busy is not None:
            db_api.lease_transition(lease["id"], action.busy)
        for reservation in lease["reservations"]:
            plugin = self._plugins.get(reservation["resource_type"])
            if plugin is None:
                raise exceptions.UnsupportedResourceType(
                    resource_type=reservation["resource_type"],
                    supported=", ".join(sorted(self._plugins)) or "none",
                )
            getattr(plugin, action.hook)(lease, reservation)
        return True

    def finish(self, event, claimer, acted):
        """Record success: event DONE, reservations and lease moved on."""
        action = _ACTIONS.get(event["event_type"])
        with db_api.writer():
            if not db_api.event_finish(event["id"], claimer, E.DONE):
                return
            if not acted:
                return
            lease = db_api.lease_get(event["lease_id"])
            if action.reservation_status is not None:
                for reservation in lease["reservations"]:
                    db_api.reservation_update(
                        reservation["id"],
                        {"status": action.reservation_status},
                    )
            if action.busy is not None:
                db_api.lease_transition(
                    lease["id"], states.lease_stable_status(lease["events"])
                )
        self._announce(event)

    def _announce(self, event):
        """Notify that ``event`` ran; tell the filters when a lease ended.
        Neither may fail the event, which is already recorded as DONE."""
        try:
            lease = db_api.lease_get(event["lease_id"])
        except exceptions.LeaseNotFound:
            return  # deleted meanwhile; the delete was announced
        context = climate_context.RequestContext(
            user_id=lease["user_id"],
            project_id=lease["project_id"],
            overwrite=False,
        )
        self._notifier.lease(
            context, f"lease.event.{event['event_type']}", lease
        )
        if event["event_type"] == ET.END_LEASE:
            self._enforcer.on_end(context, lease)

    def fail(self, event, claimer, error):
        """Record a failed attempt: retry later, or give up."""
        action = _ACTIONS[event["event_type"]]
        attempts = event["attempts"]
        message = f"{event['event_type']} failed: {error}"
        give_up = attempts >= CONF.manager.event_max_attempts
        with db_api.writer():
            if give_up:
                finished = db_api.event_finish(
                    event["id"], claimer, E.ERROR, error=message
                )
            else:
                delay = CONF.manager.event_retry_backoff * 2 ** (attempts - 1)
                retry_at = dates.utcnow() + datetime.timedelta(seconds=delay)
                finished = db_api.event_finish(
                    event["id"],
                    claimer,
                    E.UNDONE,
                    error=message,
                    retry_at=retry_at,
                )
            if not finished:
                return
            lease = db_api.lease_get(event["lease_id"])
            if give_up:
                for reservation in lease["reservations"]:
                    db_api.reservation_update(
                        reservation["id"], {"status": R.ERROR}
                    )
                db_api.lease_transition(
                    lease["id"],
                    L.ERROR,
                    f"{message} (after {attempts} attempts)",
                )
            elif action.busy is not None and lease["status"] == action.busy:
                # Back to where the lease was, so it can be changed or
                # deleted while the event waits for its retry.
                db_api.lease_transition(
                    lease["id"],
                    states.lease_stable_status(lease["events"]),
                    message,
                )
        if give_up:
            LOG.error(
                "event %s of lease %s failed %d times, giving up: %s",
                event["id"],
                event["lease_id"],
                attempts,
                error,
            )
        else:
            LOG.warning(
                "event %s of lease %s: attempt %d failed (%s); retrying at %s",
                event["id"],
                event["lease_id"],
                attempts,
                error,
                retry_at,
            )


def run_order(events):
    """Sort one pass's events: before_end, then end, then start.

    Ends run before starts so that back-to-back leases on one host hand it
    over cleanly.  A lease starting in this pass has its own before_end
    (due at once for a very short lease) run after its start.
    """
    starting = {
        e["lease_id"] for e in events if e["event_type"] == ET.START_LEASE
    }
    ending = {e["lease_id"] for e in events if e["event_type"] == ET.END_LEASE}

    def key(event):
        priority = ET.priority(event["event_type"])
        if (
            event["event_type"] == ET.BEFORE_END_LEASE
            and event["lease_id"] in starting - ending
        ):
            priority = ET.priority(ET.START_LEASE) + 1
        return priority, event["time"]

    return sorted(events, key=key)


class EventLoop:
    """A thread that claims and runs due events, sleeping in between.

    It sleeps until the next event falls due or ``[manager] poll_interval``
    passes, whichever is first, and ``wake()`` cuts the sleep short.
    """

    def __init__(self, handler, claimer):
        self._handler = handler
        self._claimer = claimer
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(
            target=self._run, name="climate-event-loop", daemon=True
        )
        self._thread.start()

    def stop(self, timeout=30):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self):
        self._wake.set()

    def _run(self):
        LOG.info("event loop started as %s", self._claimer)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while self.run_once() and not self._stop.is_set():
                    pass
                timeout = self._sleep_time()
            except Exception:
                LOG.exception("event loop pass failed; trying again")
                timeout = CONF.manager.poll_interval
            self._wake.wait(timeout)
        LOG.info("event loop stopped")

    def _stale_after(self):
        return datetime.timedelta(seconds=CONF.manager.event_timeout)

    def _sleep_time(self):
        next_due = db_api.event_next_due_time(self._stale_after())
        if next_due is None:
            return CONF.manager.poll_interval
        # Event times are to the second: wake just after the due second.
        wait = (next_due - _precise_utcnow()).total_seconds() + 0.001
        return min(max(wait, 0), CONF.manager.poll_interval)

    def run_once(self, now=None):
        """Claim and run the events due at ``now``; return how many ran."""
        now = now or _precise_utcnow()
        events = db_api.events_claim_due(
            now, self._claimer, now - self._stale_after()
        )
        for event in run_order(events):
            if self._stop.is_set():
                break
            self._process(event)
        return len(events)

    def _process(self, event):
        LOG.info(
            "running %s of lease %s (attempt %d)",
            event["event_type"],
            event["lease_id"],
            event["attempts"],
        )
        try:
            acted = self._handler.run(event)
        except Exception as exc:
            if not isinstance(exc, exceptions.ClimateException):
                LOG.exception("event %s raised", event["id"])
            self._record(self._handler.fail, event, self._claimer, exc)
            return
        self._record(self._handler.finish, event, self._claimer, acted)

    @staticmethod
    def _record(outcome, event, *args):
        """Record an event's outcome; a failure to do so (the database
        went away) leaves the event IN_PROGRESS, to be claimed again after
        [manager] event_timeout, and lets the pass go on with the others.
        """
        try:
            outcome(event, *args)
        except Exception:
            LOG.exception(
                "recording the outcome of event %s failed", event["id"]
            )


def _precise_utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
