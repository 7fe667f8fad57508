"""Lease create, update and delete: validation, admission, persistence.

Each write is one database transaction: the lease row is locked, the
request is validated against it, plugins admit or fit their reservations,
the lease's events are written from the lifecycle's stages
(``climate.stages``) and the usage enforcement filters look at the
result.  Any error rolls everything back, so a failed request leaves
nothing behind.  A notification follows each committed write.

No plugin hook is called from here: what must act on the cloud at once
(handing resources an update added to an active lease over, taking an
active lease's resources back when it is deleted) is an event due now,
run by the event runner like any other, claimed, retried and fenced.
The request waits for it up to ``[manager] act_now_wait``.
"""

import json
import time
import uuid

from oslo_config import cfg
from oslo_log import log as logging

from climate import (
    availability,
    clock,
    exceptions,
    policy,
    stages,
    states,
)
from climate import queue as queue_policies
from climate.common import dates, idempotency
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.manager import lease_checks as checks
from climate.manager import notifications
from climate.manager.queued_leases import QueuedLeases

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus
E = states.EventStatus
K = states.LeaseKind

_SHIFTS = {
    # option: (date it moves, sign)
    "prolong_for": ("end_date", 1),
    "reduce_by": ("end_date", -1),
    "defer_by": ("start_date", 1),
    "advance_by": ("start_date", -1),
}


class LeaseManager(QueuedLeases):
    """The manager's lease operations.

    :param plugins: ``{resource_type: ResourcePlugin}``.
    :param lifecycle: the ``stages.Lifecycle`` of those plugins.
    :param on_change: called with the earliest time among the events a
        write created or moved, so the event runner wakes if that comes
        before its next planned look.
    :param enforcer: the ``UsageEnforcer`` every create and update passes
        (default: no limits).
    :param notifier: sends ``lease.create``, ``lease.update`` and
        ``lease.delete`` (default: nothing is sent).
    :param policy_enforcer: the oslo.policy enforcer whose
        ``climate:leases:get:all_projects`` says whose leases a caller may
        reach, as in the API (default: one with Climate's rules and the
        configured policy file).
    :param on_free: called when the queue's scheduler should look again:
        a lease was queued, or capacity freed (a lease deleted or
        shortened).
    :param preemption: the ``climate.queue.preemption`` policy (default:
        the one ``[queue] preemption`` names).
    """

    def __init__(
        self,
        plugins,
        lifecycle=None,
        on_change=lambda at: None,
        enforcer=None,
        notifier=None,
        policy_enforcer=None,
        on_free=lambda: None,
        preemption=None,
    ):
        self._plugins = plugins
        self._lifecycle = lifecycle or stages.Lifecycle(plugins)
        self._on_change = on_change
        self._on_free = on_free
        self._preemption = preemption or queue_policies.load_preemption(
            CONF.queue.preemption
        )
        self._enforcer = enforcer or UsageEnforcer()
        self._notifier = notifier or notifications.NullNotifier()
        self._policy = policy_enforcer or policy.get_enforcer()

    # Reads ----------------------------------------------------------------

    def get(self, context, lease_id):
        return db_api.lease_get(lease_id, self._scope(context))

    def list(self, context, **filters):
        return db_api.lease_list(project_id=self._scope(context), **filters)

    def _scope(self, context):
        """The project whose leases the caller may reach (None: all)."""
        return policy.lease_scope(self._policy, context)

    # Create ---------------------------------------------------------------

    @idempotency.replayable("create_lease")
    @db_api.retry_on_deadlock
    def create(self, context, values):
        """Validate, admit and store a new lease; return it.

        A request with an idempotency key seen before returns the lease
        the first one created (see ``climate.common.idempotency``).
        """
        values = dict(values)
        now = dates.utcnow()
        name = checks.check_name(values.get("name"))
        kind = checks.check_kind(values.get("kind") or K.ADVANCE)
        if kind == K.BEST_EFFORT:
            return self._queue(context, values, name, now)
        if values.get("duration") is not None:
            raise exceptions.InvalidInput(
                reason=f"duration is for best-effort leases (kind "
                f"best_effort); an {kind} lease gives start_date and "
                "end_date"
            )
        requeue = values.get("requeue") or False
        if requeue and kind != K.PREEMPTIBLE:
            raise exceptions.InvalidInput(
                reason="requeue is for leases that may be preempted (kind "
                "best_effort or preemptible)"
            )
        if not isinstance(requeue, bool):
            raise exceptions.InvalidInput(reason="requeue must be a boolean")
        start = checks.parse_start(values.get("start_date"), now)
        end = checks.parse_date(values.get("end_date"), "end_date", now)
        checks.check_window(start, end, now)
        before_end = checks.before_end(
            values.get("before_end_date"), start, end, now
        )
        requested = checks.reservation_requests(values.get("reservations"))
        if values.get("events"):
            raise exceptions.InvalidInput(
                reason="events are computed by Climate; send 'events': [] "
                "or leave it out"
            )

        lease_id = str(uuid.uuid4())
        lease_values = {
            "id": lease_id,
            "name": name,
            "project_id": context.project_id,
            "user_id": context.user_id,
            "start_date": start,
            "end_date": end,
            "before_end_date": before_end,
            "status": L.PENDING,
            "degraded": False,
            "kind": kind,
        }
        if kind == K.PREEMPTIBLE:
            # Kept to queue it again if it is preempted and asks for that.
            lease_values["request"] = json.dumps(requested)
            lease_values["requeue"] = requeue
        reservations = []
        for request in requested:
            self._plugin(request["resource_type"])
            reservations.append(
                {
                    "id": str(uuid.uuid4()),
                    "resource_type": request["resource_type"],
                    "status": states.ReservationStatus.PENDING,
                    "missing_resources": False,
                    "resources_changed": False,
                }
            )
        preempted = []
        try:
            try:
                lease = self._create(
                    context, lease_values, reservations, requested
                )
            except exceptions.NotEnoughResourcesAvailable as refused:
                if kind != K.ADVANCE:
                    raise
                try:
                    lease = self._create_preempting(
                        context,
                        lease_values,
                        reservations,
                        requested,
                        preempted,
                    )
                except exceptions.NotEnoughResourcesAvailable:
                    # The first refusal says what was missing.
                    raise refused from None
        except exceptions.NotEnoughResourcesAvailable as exc:
            raise self._with_next_available(
                exc,
                context,
                [
                    (
                        r["resource_type"],
                        {k: v for k, v in r.items() if k != "resource_type"},
                        None,
                        (),
                    )
                    for r in requested
                ],
                start,
                end,
            )
        LOG.info(
            "lease %s (%s) created for project %s, %s to %s",
            lease_id,
            name,
            context.project_id,
            start,
            end,
        )
        self._notifier.lease(context, "lease.create", lease)
        for victim in preempted:
            LOG.info(
                "lease %s preempted by lease %s: it ends at %s",
                victim["id"],
                lease_id,
                victim["end_date"],
            )
            self._notifier.lease(
                checks.owner(victim), "lease.preempted", victim
            )
        times = [e["time"] for e in lease["events"]]
        times += [e["time"] for v in preempted for e in v["events"]]
        self._on_change(min(times))
        if any(v.get("requeued") for v in preempted):
            self._on_free()
        return lease

    def _create(self, context, lease_values, reservations, requested):
        """The create's transaction: admission and the lease's rows."""
        with db_api.writer():
            # First, so a concurrent retry waits here for this one.
            idempotency.claim(context, "create_lease")
            lease = db_api.lease_create(lease_values, reservations)
            self._admit(context, lease, requested)
            self._enforcer.check_create(context, lease)
            idempotency.record(context, lease)
        return lease

    def _admit(self, context, lease, requested):
        """Admission: the plugins reserve ``lease``'s reservations (rows
        already written, in request order) for its window, and its events
        are written.  Inside the caller's transaction.

        :raises NotEnoughResourcesAvailable: (409) the capacity is not
            there for the whole window.
        """
        lease_id = lease["id"]
        stored = lease["reservations"]
        for request, row in zip(requested, stored, strict=True):
            plugin = self._plugin(request["resource_type"])
            request = {
                k: v for k, v in request.items() if k != "resource_type"
            }
            resource_id = plugin.reserve(context, lease, row, request)
            row.update(
                db_api.reservation_update(
                    row["id"], {"resource_id": resource_id}
                )
            )
        # Plugins added rows of their own (type-specific fields), which
        # per-reservation stages and the answer read.
        db_api.reservations_with_type_fields(stored)
        lease["events"] = db_api.events_create(
            lease_id,
            self._lifecycle.planned_events(lease, stored),
        )
        return lease

    def _with_next_available(self, exc, context, requests, start, end):
        """``exc`` with the next window in which the same request would
        be granted, when the plugins can tell (read after the refused
        write rolled back)."""
        try:
            window = availability.next_available(
                {t: type(p) for t, p in self._plugins.items()},
                context,
                requests,
                start,
                end,
            )
        except Exception:
            # Advice only: the refusal stands without it.
            LOG.exception("could not find the next window of a refusal")
            window = None
        if window is None:
            return exc
        return exceptions.NotEnoughResourcesAvailable(
            exc.message, next_available=window, **exc.kwargs
        )

    # Update ---------------------------------------------------------------

    @idempotency.replayable("update_lease")
    @db_api.retry_on_deadlock
    def update(self, context, lease_id, values):
        """Change a lease's name, dates or reservations; return it.

        A request with an idempotency key seen before returns the lease as
        the first one left it, without changing it again (``prolong_for``
        twice would prolong twice).
        """
        values = dict(values)
        refused = {}
        try:
            lease = self._update(context, lease_id, values, refused)
        except exceptions.NotEnoughResourcesAvailable as exc:
            if not refused:
                raise
            raise self._with_next_available(exc, context, **refused)
        if (
            lease["status"] == L.QUEUED
            and {k for k, v in values.items() if v is not None}
            & checks.QUEUED_CHANGES
        ):
            # Its new request may fit where the old one did not.
            self._notifier.lease(context, "lease.update", lease)
            self._on_free()
        return lease

    def _update(self, context, lease_id, values, refused):
        """The update; ``refused`` gets what ``_with_next_available``
        needs once the lease's new window and reservations are known."""
        now = dates.utcnow()
        with db_api.writer():
            idempotency.claim(context, "update_lease")
            lease = db_api.lease_lock(lease_id, self._scope(context))
            checks.check_idle(lease)
            checks.check_kind_kept(lease, values)
            changes = {}
            if "name" in values:
                changes["name"] = checks.check_name(values["name"])
            if lease["status"] == L.QUEUED:
                return self._update_queued(context, lease, values, changes)
            start, end = self._new_window(lease, values, now)
            if (start, end) != (lease["start_date"], lease["end_date"]):
                checks.check_window(
                    start, end, now, started=lease["status"] == L.ACTIVE
                )
                changes["start_date"], changes["end_date"] = start, end
            if "before_end_date" in values:
                changes["before_end_date"] = checks.before_end(
                    values["before_end_date"], start, end, now
                )
            elif "start_date" in changes:
                changes["before_end_date"] = checks.moved_before_end(
                    lease, start, end
                )
            updated = {**lease, **changes}
            changed = {
                r["id"]: {
                    k: v
                    for k, v in r.items()
                    if k not in ("id", "resource_type")
                }
                for r in checks.reservation_updates(values.get("reservations"))
            }
            own = tuple(r["id"] for r in lease["reservations"])
            refused.update(
                requests=[
                    (r["resource_type"], changed.get(r["id"], {}), r, own)
                    for r in lease["reservations"]
                ],
                start=start,
                end=end,
            )
            self._update_reservations(
                context,
                updated,
                values.get("reservations"),
                window_moved="start_date" in changes,
            )
            db_api.lease_update(lease_id, changes)
            moved = self._reschedule(lease_id)
            hand_over = None
            if lease["status"] == L.ACTIVE and values.get("reservations"):
                # What the update added is handed over by an event.
                hand_over = self._act_now(lease_id, stages.UPDATE)
                moved.append(clock.now())
            current, lease = lease, db_api.lease_get(lease_id)
            self._enforcer.check_update(context, current, lease)
            idempotency.record(context, lease)
        LOG.info("lease %s updated: %s", lease_id, sorted(changes))
        if moved:
            self._on_change(min(moved))
        if "end_date" in changes or values.get("reservations"):
            # A lease shortened, or its reservations changed, may have
            # freed what a queued lease waits for.
            self._on_free()
        if hand_over is not None:
            lease = self._wait_for(hand_over, lease_id) or lease
        self._notifier.lease(context, "lease.update", lease)
        return lease

    def _act_now(self, lease_id, stage):
        """Write an event of ``stage`` due now; return its id."""
        event_id = str(uuid.uuid4())
        db_api.events_create(
            lease_id,
            [
                {
                    "id": event_id,
                    "event_type": stage.event_type,
                    "time": clock.now(),
                }
            ],
        )
        return event_id

    def _wait_for(self, event_id, lease_id):
        """Wait up to ``[manager] act_now_wait`` for an event due now to
        be tried once; return the lease as it is then (None if gone)."""
        # Real time: this waits for another thread, not for a date.
        deadline = time.monotonic() + CONF.manager.act_now_wait
        while True:
            try:
                event = db_api.event_get(event_id)
            except exceptions.EventNotFound:
                event = None
            tried = event is None or (
                event["status"] != E.IN_PROGRESS
                and (event["status"] != E.UNDONE or event["last_error"])
            )
            if tried or time.monotonic() >= deadline:
                try:
                    return db_api.lease_get(lease_id)
                except exceptions.LeaseNotFound:
                    return None
            time.sleep(0.01)

    def _new_window(self, lease, values, now):
        start, end = lease["start_date"], lease["end_date"]
        for field in ("start_date", "end_date"):
            setting = [field] + [
                option
                for option, (moved, _) in _SHIFTS.items()
                if moved == field
            ]
            given = [name for name in setting if name in values]
            if len(given) > 1:
                raise exceptions.InvalidInput(
                    reason=f"give at most one of {', '.join(setting)}; "
                    f"this update gives {' and '.join(given)}"
                )
        for option, (field, sign) in _SHIFTS.items():
            if option not in values:
                continue
            delta = dates.parse_duration(values[option], option) * sign
            try:
                if field == "start_date":
                    start += delta
                else:
                    end += delta
            except OverflowError:
                raise exceptions.InvalidPeriod(
                    reason=f"{option} {values[option]} moves {field} out "
                    "of the supported years (1 to 9999)"
                )
        if "start_date" in values:
            start = checks.parse_date(values["start_date"], "start_date", now)
        if "end_date" in values:
            end = checks.parse_date(values["end_date"], "end_date", now)
        moved = (start, end) != (lease["start_date"], lease["end_date"])
        if moved and lease["status"] in (L.TERMINATED, L.ERROR):
            raise exceptions.InvalidState(
                reason=f"Lease {lease['id']} is {lease['status']}; its dates "
                "can no longer change"
            )
        if start != lease["start_date"]:
            if lease["status"] == L.ACTIVE:
                raise exceptions.InvalidState(
                    reason=f"Lease {lease['id']} has started; its start_date "
                    "can no longer change"
                )
            if start < now and not dates.is_now(values.get("start_date")):
                raise exceptions.InvalidPeriod(
                    reason=f"start_date {start:%Y-%m-%d %H:%M} is in the past"
                )
        if "defer_by" in values and start >= end:
            raise exceptions.InvalidPeriod(
                reason=f"defer_by {values['defer_by']} moves start_date to "
                f"{start:%Y-%m-%d %H:%M}, not before end_date "
                f"{end:%Y-%m-%d %H:%M}: defer_by moves the start only; to "
                f"move the whole lease, also send prolong_for "
                f"{values['defer_by']}"
            )
        return start, end

    def _update_reservations(self, context, lease, requests, window_moved):
        by_id = {r["id"]: r for r in lease["reservations"]}
        changes = {}
        if requests and lease["status"] == L.TERMINATED:
            raise exceptions.InvalidState(
                reason=f"Lease {lease['id']} is TERMINATED; its reservations "
                "can no longer change"
            )
        for request in checks.reservation_updates(requests):
            reservation = by_id.get(request["id"])
            if reservation is None:
                raise exceptions.ReservationNotFound(id=request["id"])
            asked = request.get("resource_type", reservation["resource_type"])
            if asked != reservation["resource_type"]:
                raise exceptions.InvalidInput(
                    reason=f"reservation {request['id']} is "
                    f"{reservation['resource_type']}; its resource_type "
                    f"cannot become {asked!r} (delete it and reserve anew)"
                )
            changes[request["id"]] = {
                k: v
                for k, v in request.items()
                if k not in ("id", "resource_type")
            }
        for reservation in lease["reservations"]:
            values = changes.get(reservation["id"])
            if values is None and not window_moved:
                continue
            plugin = self._plugin(reservation["resource_type"])
            plugin.update(context, lease, reservation, values or {})

    def _reschedule(self, lease_id):
        """Fit the lease's waiting events to its new dates and
        reservations; return the times of the events that moved or were
        added.  Events that ran stay as history."""
        lease = db_api.lease_get(lease_id)
        planned = {
            (p["event_type"], p["reservation_id"]): p
            for p in self._lifecycle.planned_events(
                lease, lease["reservations"]
            )
        }
        moved = []
        for event in lease["events"]:
            key = (event["event_type"], event.get("reservation_id"))
            stage = self._lifecycle.stage(event["event_type"])
            if stage is None or not stage.timed:
                continue
            plan = planned.pop(key, None)
            if event["status"] != E.UNDONE:
                continue
            if plan is None:
                # A plugin stage this reservation no longer needs.
                db_api.event_destroy(event["id"])
            elif plan["time"] != event["time"]:
                db_api.event_update(event["id"], {"time": plan["time"]})
                moved.append(plan["time"])
        db_api.events_create(lease_id, list(planned.values()))
        moved.extend(p["time"] for p in planned.values())
        return moved

    # Delete ---------------------------------------------------------------

    def delete(self, context, lease_id):
        """Delete a lease, taking its resources back first if it may hold
        any.

        :returns: None once the lease is gone; the lease (DELETING) if
            taking its resources back goes on past ``[manager]
            act_now_wait``.
        """
        with db_api.writer():
            lease = db_api.lease_lock(lease_id, self._scope(context))
            if lease["status"] == L.DELETING:
                event_id = checks.pending_delete(lease)
            elif not self._lifecycle.may_hold_resources(lease):
                checks.check_idle(lease)
                for reservation in lease["reservations"]:
                    plugin = self._plugins.get(reservation["resource_type"])
                    if plugin is not None:
                        plugin.release(lease, reservation)
                db_api.lease_destroy(lease_id)
                event_id = None
            else:
                checks.check_idle(lease)
                db_api.lease_transition(
                    lease_id,
                    L.DELETING,
                    self._lifecycle.lease_sources(L.DELETING),
                )
                event_id = self._act_now(lease_id, stages.DELETE)
        self._on_free()
        if event_id is None:
            LOG.info("lease %s deleted", lease_id)
            self._notifier.lease(context, "lease.delete", lease)
            if lease["status"] != L.TERMINATED:
                # Its usage ends now rather than at its end_date.
                self._enforcer.on_end(context, lease)
            return None
        LOG.info("lease %s: taking its resources back", lease_id)
        self._on_change(clock.now())
        return self._wait_for(event_id, lease_id)

    def _plugin(self, resource_type):
        try:
            return self._plugins[resource_type]
        except KeyError:
            raise exceptions.UnsupportedResourceType(
                resource_type=resource_type,
                supported=", ".join(sorted(self._plugins)) or "none",
            )
