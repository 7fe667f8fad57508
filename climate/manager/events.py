"""Running one claimed event: its stage, its hooks and its outcome.

The stage of the event (``climate.stages``) says everything: in which
lease states it has work to do, the busy state the lease shows while its
hooks run, where the lease goes afterwards, and what giving up means.
Hooks run outside any transaction.  Every outcome is recorded in one
transaction that first checks the claim still holds (its fencing token),
so a runner whose claim was taken over changes nothing.

An attempt ends in one of:

* done: the hooks ran (or the stage had nothing to do) and the lease
  moved on;
* put off: the lease is busy with another operation, or a resource it
  needs is still being given back by the lease before it; the event is
  due again shortly and the attempt does not count;
* failed: a hook raised, or ran past ``[manager] hook_timeout``; the
  event is retried with exponential backoff until ``[manager]
  event_max_attempts``, then the stage gives up (the lease goes to ERROR,
  or for a stage that must not fail a working lease, it is marked
  degraded).

Each event that ran is announced with a ``lease.event.<event type>``
notification (``lease.delete`` for a delete), and the end of a lease's
usage is reported to the usage enforcement filters.
"""

import datetime
import threading

from oslo_config import cfg
from oslo_log import log as logging

from climate import clock, exceptions, stages, states
from climate import context as climate_context
from climate.common import dates
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.manager import notifications

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus
E = states.EventStatus

DONE = "done"
SKIPPED = "skipped"
POSTPONED = "postponed"
RETRYING = "retrying"
GAVE_UP = "gave up"
LOST = "lost"  # the claim was taken over: nothing recorded

#: How long an event put off waits before it is due again, in seconds.
POSTPONE_DELAY = 0.5


class _Postpone(Exception):
    """The event cannot run now; it is due again shortly."""


class EventHandler:
    """Runs claimed events through their stages.

    :param plugins: ``{resource_type: ResourcePlugin}``.
    :param lifecycle: the ``stages.Lifecycle`` of those plugins.
    :param notifier: sends ``lease.event.*`` (default: nothing is sent).
    :param enforcer: the ``UsageEnforcer`` told when a lease's usage ends.
    :param on_free: called when a releasing stage (an end, a delete) ran,
        so the queue's scheduler looks again.
    """

    def __init__(
        self,
        plugins,
        lifecycle=None,
        notifier=None,
        enforcer=None,
        on_free=lambda: None,
    ):
        self._plugins = plugins
        self._on_free = on_free
        self.lifecycle = lifecycle or stages.Lifecycle(plugins)
        self._notifier = notifier or notifications.NullNotifier()
        self._enforcer = enforcer or UsageEnforcer()
        self._releasing = [
            s.event_type for s in self.lifecycle.stages if s.releases
        ]
        # A lease's next event may run in another worker as soon as this
        # one is recorded; finishing and announcing under the lease's lock
        # keeps its notifications in the order its events ran.
        self._lease_locks = [threading.Lock() for _ in range(64)]

    def rank(self, event):
        """Sort key of due events, first to run first.

        Releasing stages go before acquiring ones, so that back-to-back
        leases on one resource hand it over cleanly and a lease whose end
        has come ends rather than starts; then by time; at one time, the
        stage that hands resources over before the others of its lease;
        then by the stages' order.
        """
        stage = self.lifecycle.stage(event["event_type"])
        if stage is None:
            return (0, event["time"], 0, -1)
        return (
            not stage.releases,
            event["time"],
            not stage.acquires,
            stage.order,
        )

    def process(self, event):
        """Run a claimed event to one outcome and record it.

        :returns: ``DONE``, ``SKIPPED``, ``POSTPONED``, ``RETRYING``,
            ``GAVE_UP`` or ``LOST``.
        """
        stage = self.lifecycle.stage(event["event_type"])
        if stage is None:
            LOG.warning(
                "event %s has unknown type %s; marking it done",
                event["id"],
                event["event_type"],
            )
            return DONE if db_api.event_finish(event, E.DONE) else LOST
        try:
            lease = self._enter(event, stage)
        except _Postpone as reason:
            return self._postpone(event, str(reason))
        if lease is None:
            if not db_api.event_finish(event, E.DONE):
                return LOST
            return SKIPPED
        try:
            self._run_hooks(event, stage, lease)
        except exceptions.NotReady as exc:
            # The lease keeps its busy state (the event resumes it) and
            # says what it waits for, and for how long.
            try:
                db_api.lease_update(
                    lease["id"], {"status_reason": exc.message}
                )
            except exceptions.LeaseNotFound:
                pass
            return self._postpone(
                event, exc.message, exc.kwargs.get("retry_after")
            )
        except Exception as exc:
            if not isinstance(exc, exceptions.ClimateException):
                LOG.exception("event %s raised", event["id"])
            return self._fail(event, stage, exc)
        return self._finish(event, stage, lease)

    # Entering the stage -----------------------------------------------------

    def _enter(self, event, stage):
        """Take the lease's busy state; None if the stage has nothing to do.

        :raises _Postpone: the lease is busy with another operation, or
            needs resources a lease before it is still giving back.
        """
        now = clock.now()
        try:
            lease = db_api.lease_get(event["lease_id"])
        except exceptions.LeaseNotFound:
            return None
        status = lease["status"]
        resuming = stage.busy is not None and status == stage.busy
        if stage.acquires and now >= lease["end_date"]:
            # Nothing to hand over to a lease that is over.  A hand-over
            # its manager left half done is left to the end to undo.
            if resuming:
                self._move(lease["id"], stage.resting, lease["status_reason"])
            LOG.info(
                "lease %s is over: %s has nothing to hand over",
                lease["id"],
                stage.event_type,
            )
            return None
        if not resuming:
            if status not in stage.runs_from:
                if status in L.TRANSITIONAL:
                    raise _Postpone(f"the lease is {status}")
                LOG.info(
                    "lease %s is %s: nothing to do for %s",
                    lease["id"],
                    status,
                    stage.event_type,
                )
                return None
        if stage.acquires:
            self._check_predecessors(lease, event, now)
        if stage.busy is not None and not resuming:
            try:
                self._move(lease["id"], stage.busy, lease["status_reason"])
            except exceptions.InvalidStateTransition as exc:
                # Another operation took the lease meanwhile.
                raise _Postpone(exc.message)
            lease["status"] = stage.busy
        return lease

    def _check_predecessors(self, lease, event, now):
        """Put off handing resources over while a lease that held them
        before is still giving them back."""
        before = set()
        for reservation in self._reservations(lease, event):
            plugin = self._plugins.get(reservation["resource_type"])
            if plugin is not None:
                before |= plugin.previous_holders(lease, reservation)
        before.discard(lease["id"])
        waiting = db_api.leases_with_unfinished_events(
            before, self._releasing, now
        )
        if waiting:
            raise _Postpone(
                f"lease(s) {', '.join(sorted(waiting))} still give back "
                "what it needs"
            )

    # Hooks ------------------------------------------------------------------

    def _reservations(self, lease, event):
        if event.get("reservation_id"):
            return [
                r
                for r in lease["reservations"]
                if r["id"] == event["reservation_id"]
            ]
        return lease["reservations"]

    def _calls(self, event, stage, lease):
        """The ``(plugin method, reservation)`` calls the event makes."""
        if stage.event_type == stages.DELETE.event_type:
            # A delete gives back what the releasing stages have not.
            done = {
                e["event_type"]
                for e in lease["events"]
                if e["status"] == E.DONE
            }
            hooks = [
                s
                for s in self.lifecycle.releasing_stages()
                if s.event_type not in done
            ]
        else:
            hooks = [stage]
        calls = []
        for hook_stage in hooks:
            for reservation in self._reservations(lease, event):
                if hook_stage.resource_type not in (
                    None,
                    reservation["resource_type"],
                ):
                    continue
                plugin = self._plugin(reservation["resource_type"])
                calls.append((getattr(plugin, hook_stage.hook), reservation))
        return calls

    def _run_hooks(self, event, stage, lease):
        calls = self._calls(event, stage, lease)
        if not calls:
            return
        outcome = {}

        def work():
            try:
                for hook, reservation in calls:
                    hook(lease, reservation)
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc

        timeout = CONF.manager.hook_timeout
        worker = threading.Thread(
            target=work, name=f"hooks-{event['id'][:8]}", daemon=True
        )
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise exceptions.HookTimeout(hook=stage.hook, timeout=timeout)
        if "error" in outcome:
            raise outcome["error"]

    def _plugin(self, resource_type):
        try:
            return self._plugins[resource_type]
        except KeyError:
            raise exceptions.UnsupportedResourceType(
                resource_type=resource_type,
                supported=", ".join(sorted(self._plugins)) or "none",
            )

    # Outcomes ---------------------------------------------------------------

    def _move(self, lease_id, target, reason=None, values=None):
        db_api.lease_transition(
            lease_id,
            target,
            self.lifecycle.lease_sources(target),
            reason,
            values,
        )

    def _finish(self, event, stage, lease):
        lock = self._lease_locks[hash(lease["id"]) % len(self._lease_locks)]
        with lock:
            return self._finish_and_announce(event, stage, lease)

    def _finish_and_announce(self, event, stage, lease):
        deleted = stage.event_type == stages.DELETE.event_type
        with db_api.writer():
            if not db_api.event_finish(event, E.DONE):
                return LOST
            if deleted:
                for reservation in lease["reservations"]:
                    plugin = self._plugins.get(reservation["resource_type"])
                    if plugin is not None:
                        plugin.release(lease, reservation)
                db_api.lease_destroy(lease["id"])
            else:
                if stage.reservation_status is not None:
                    db_api.reservations_transition(
                        lease["id"],
                        stage.reservation_status,
                        [r["id"] for r in self._reservations(lease, event)],
                    )
                if stage.busy is not None:
                    self._move(
                        lease["id"],
                        stage.reached or stage.busy,
                        _lasting_reason(lease),
                    )
        LOG.info("%s of lease %s done", stage.event_type, lease["id"])
        if stage.releases:
            self._on_free()
        self._announce(event, stage, lease, deleted)
        return DONE

    def _announce(self, event, stage, lease, deleted):
        """Notify that the event ran; tell the filters when a lease's
        usage ended.  Neither may fail the event, already recorded."""
        context = climate_context.RequestContext(
            user_id=lease["user_id"],
            project_id=lease["project_id"],
            overwrite=False,
        )
        if deleted:
            self._notifier.lease(context, "lease.delete", lease)
            ended = any(
                e["event_type"] == stages.END.event_type
                and e["status"] == E.DONE
                for e in lease["events"]
            )
            if not ended:
                self._enforcer.on_end(context, lease)
            return
        try:
            current = db_api.lease_get(lease["id"])
        except exceptions.LeaseNotFound:
            return  # deleted meanwhile; the delete is announced
        self._notifier.lease(
            context, f"lease.event.{event['event_type']}", current
        )
        if stage.event_type == stages.END.event_type:
            self._enforcer.on_end(context, current)

    def _postpone(self, event, reason, delay=None):
        retry_at = clock.now() + datetime.timedelta(
            seconds=POSTPONE_DELAY if delay is None else delay
        )
        if not db_api.event_finish(
            event,
            E.UNDONE,
            error=f"put off: {reason}",
            retry_at=retry_at,
            count_attempt=False,
        ):
            return LOST
        LOG.debug(
            "%s of lease %s put off: %s",
            event["event_type"],
            event["lease_id"],
            reason,
        )
        return POSTPONED

    def _fail(self, event, stage, error):
        attempts = event["attempts"]
        message = f"{event['event_type']} failed: {_describe(error)}"
        give_up = attempts >= CONF.manager.event_max_attempts
        if give_up:
            retry_at = None
        else:
            delay = CONF.manager.event_retry_backoff * 2 ** (attempts - 1)
            retry_at = dates.utcnow() + datetime.timedelta(seconds=delay)
        with db_api.writer():
            if not db_api.event_finish(
                event,
                E.ERROR if give_up else E.UNDONE,
                error=message,
                retry_at=retry_at,
            ):
                return LOST
            try:
                lease = db_api.lease_get(event["lease_id"])
            except exceptions.LeaseNotFound:
                return GAVE_UP if give_up else RETRYING
            if give_up:
                self._give_up(stage, lease, event, message, attempts)
            elif stage.busy is not None and lease["status"] == stage.busy:
                # Where the lease rests while the event waits for its
                # retry: back where it was, when it can be changed or
                # deleted meanwhile.
                self._move(lease["id"], stage.resting or stage.busy, message)
        if give_up:
            LOG.error(
                "event %s of lease %s failed %d times, giving up: %s",
                event["id"],
                event["lease_id"],
                attempts,
                error,
            )
            return GAVE_UP
        LOG.warning(
            "event %s of lease %s: attempt %d failed (%s); retrying at %s",
            event["id"],
            event["lease_id"],
            attempts,
            error,
            retry_at,
        )
        return RETRYING

    def _give_up(self, stage, lease, event, message, attempts):
        reason = f"{message} (after {attempts} attempts)"
        if stage.on_give_up == stages.GIVE_UP_ERROR:
            # Those already given back stay so.
            failing = states.sources(
                states.RESERVATION_TRANSITIONS, states.ReservationStatus.ERROR
            )
            db_api.reservations_transition(
                lease["id"],
                states.ReservationStatus.ERROR,
                [
                    r["id"]
                    for r in self._reservations(lease, event)
                    if r["status"] in failing
                ],
            )
            self._move(lease["id"], L.ERROR, reason)
        elif stage.busy is not None and lease["status"] == stage.busy:
            self._move(lease["id"], stage.resting, reason, {"degraded": True})
        else:
            db_api.lease_update(
                lease["id"], {"degraded": True, "status_reason": reason}
            )


def _lasting_reason(lease):
    """The reason a lease keeps after a stage succeeded: why an earlier
    stage failed for good, if one did (an ERROR lease that ends), else
    none."""
    if any(e["status"] == E.ERROR for e in lease["events"]):
        return lease["status_reason"]
    return None


def _describe(error):
    if isinstance(error, exceptions.ClimateException):
        return error.message
    return str(error) or type(error).__name__
