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

import datetime
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
from climate import (
    context as climate_context,
)
from climate import queue as queue_policies
from climate.common import dates, idempotency
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.manager import notifications

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


class LeaseManager:
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
        name = _check_name(values.get("name"))
        kind = _check_kind(values.get("kind") or K.ADVANCE)
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
        start = _parse_start(values.get("start_date"), now)
        end = _parse_date(values.get("end_date"), "end_date", now)
        _check_window(start, end, now)
        before_end = _before_end(
            values.get("before_end_date"), start, end, now
        )
        requested = _reservation_requests(values.get("reservations"))
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
            self._notifier.lease(_owner(victim), "lease.preempted", victim)
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

    def _create_preempting(
        self, context, lease_values, reservations, requested, preempted
    ):
        """Create an advance lease refused for want of capacity by ending
        preemptible leases early, if that makes room; fill ``preempted``
        with them (as they are after).

        One transaction.  First a trial: without any of the preemptible
        leases the policy lets it preempt, is the lease admitted?  If not,
        the refusal stands.  If so, the trial tells where the lease's hold
        starts (its start minus its preparation).  Then, latest start
        first, each preemptible lease overlapping from there is made to
        end there, until the lease is admitted.

        :raises NotEnoughResourcesAvailable: other obstacles than
            preemptible leases.
        """
        start, end = lease_values["start_date"], lease_values["end_date"]
        now = clock.now()
        with db_api.writer():
            idempotency.claim(context, "create_lease")
            # A preparation may begin well before the start.
            victims = [
                v
                for v in db_api.leases_preemptible(now, end)
                if self._preemption.may_preempt(lease_values, v)
            ]
            if not victims:
                raise exceptions.NotEnoughResourcesAvailable(
                    reason="no preemptible lease gives way to it"
                )
            with db_api.trial():
                for victim in victims:
                    for reservation in victim["reservations"]:
                        self._plugin(reservation["resource_type"]).release(
                            victim, reservation
                        )
                trial = db_api.lease_create(
                    lease_values, [dict(r) for r in reservations]
                )
                self._admit(context, trial, requested)
                holds_from = min(e["time"] for e in trial["events"])
            cutoff = max(min(holds_from, start), now)
            for victim in victims:
                if victim["end_date"] <= cutoff:
                    continue
                # Locked, and read again: another write may have changed
                # it since the trial read it.
                try:
                    victim = db_api.lease_lock(victim["id"])
                except exceptions.LeaseNotFound:
                    continue
                if victim["status"] not in (L.PENDING, L.ACTIVE):
                    continue
                preempted.append(self._preempt(victim, cutoff))
                try:
                    with db_api.savepoint():
                        lease = db_api.lease_create(
                            lease_values, [dict(r) for r in reservations]
                        )
                        self._admit(context, lease, requested)
                    break
                except exceptions.NotEnoughResourcesAvailable:
                    continue
            else:
                raise exceptions.NotEnoughResourcesAvailable(
                    reason="ending the preemptible leases does not make "
                    "room for it"
                )
            self._enforcer.check_create(context, lease)
            idempotency.record(context, lease)
        return lease

    def _preempt(self, victim, cutoff):
        """Make a preemptible lease end at ``cutoff`` (inside the
        caller's transaction): shortened if it starts before, withdrawn
        if not; queued again as a best-effort lease if it asked for that.
        Return it as it is after (with ``requeued``: the new lease's id
        or None)."""
        context = _owner(victim)
        if victim["start_date"] < cutoff:
            notice = datetime.timedelta(minutes=CONF.queue.preemption_notice)
            changes = {
                "end_date": cutoff,
                "before_end_date": max(
                    cutoff - notice, victim["start_date"], clock.now()
                ),
                "status_reason": f"preempted: ends at {cutoff:%Y-%m-%d %H:%M}",
            }
            shortened = {**victim, **changes}
            for reservation in victim["reservations"]:
                self._plugin(reservation["resource_type"]).update(
                    context, shortened, reservation, {}
                )
            db_api.lease_update(victim["id"], changes)
            self._reschedule(victim["id"])
            after = db_api.lease_get(victim["id"])
        else:
            # Not started before the cutoff: nothing of it can run.
            for reservation in victim["reservations"]:
                self._plugin(reservation["resource_type"]).release(
                    victim, reservation
                )
            db_api.lease_destroy(victim["id"])
            after = {**victim, "status": "DELETED", "events": []}
        after["requeued"] = None
        if victim["requeue"]:
            after["requeued"] = self._requeue(victim, cutoff)
        return after

    def _requeue(self, victim, not_before):
        """Queue a preempted lease's request again, as a best-effort
        lease of its full duration; return the new lease's id."""
        duration = victim["end_date"] - victim["start_date"]
        lease = db_api.lease_create(
            {
                "id": str(uuid.uuid4()),
                # Unique within the project, and says where it came from.
                "name": f"{victim['name'][:50]}-requeued-"
                f"{uuid.uuid4().hex[:8]}",
                "project_id": victim["project_id"],
                "user_id": victim["user_id"],
                "start_date": not_before,
                "end_date": not_before + duration,
                "status": L.QUEUED,
                "kind": K.BEST_EFFORT,
                "duration": int(duration.total_seconds()),
                "not_before": not_before,
                "request": victim["request"] or "[]",
                "requeue": True,
            }
        )
        return lease["id"]

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

    # Best-effort leases ----------------------------------------------------

    def _queue(self, context, values, name, now):
        """Accept a best-effort lease at once, QUEUED: the scheduler
        (``climate.manager.queue``) places it later."""
        if values.get("end_date") is not None:
            raise exceptions.InvalidInput(
                reason="a best_effort lease has no end_date: give its "
                "duration (such as '4h') and, if it may not start at once, "
                "its earliest start as start_date"
            )
        if values.get("duration") is None:
            raise exceptions.InvalidInput(
                reason="a best_effort lease needs a duration, such as '4h' "
                "or '1d'"
            )
        if values.get("before_end_date") is not None:
            raise exceptions.InvalidInput(
                reason="a best_effort lease has no before_end_date: its "
                "window is chosen by the scheduler"
            )
        if values.get("events"):
            raise exceptions.InvalidInput(
                reason="events are computed by Climate; send 'events': [] "
                "or leave it out"
            )
        requeue = values.get("requeue") or False
        if not isinstance(requeue, bool):
            raise exceptions.InvalidInput(reason="requeue must be a boolean")
        duration, start, requested, earliest = self._queued_request(
            context,
            dates.parse_duration(values["duration"], "duration"),
            _parse_start(values.get("start_date") or "now", now),
            _reservation_requests(values.get("reservations")),
            now,
        )
        lease_values = {
            "id": str(uuid.uuid4()),
            "name": name,
            "project_id": context.project_id,
            "user_id": context.user_id,
            # Until placed: the earliest window it could have.
            "start_date": start,
            "end_date": start + duration,
            "status": L.QUEUED,
            "degraded": False,
            "kind": K.BEST_EFFORT,
            "duration": int(duration.total_seconds()),
            "not_before": start,
            "request": json.dumps(requested),
            "earliest_start": earliest,
            "requeue": requeue,
        }
        with db_api.writer():
            idempotency.claim(context, "create_lease")
            lease = db_api.lease_create(lease_values)
            # The limits that need no window are judged now: a refusal is
            # a 403 up front, not a lease queued that can never be placed.
            self._enforcer.check_queued(context, lease)
            idempotency.record(context, lease)
        LOG.info(
            "lease %s (%s) queued for project %s: %s from %s",
            lease["id"],
            name,
            context.project_id,
            duration,
            start,
        )
        self._notifier.lease(context, "lease.create", lease)
        self._on_free()
        return lease

    def _queued_request(self, context, duration, start, requested, now):
        """Check a best-effort request (create, or update while QUEUED);
        return ``(duration, start, requested, earliest start)``.

        :raises InvalidPeriod: (400) too short or long, or its earliest
            end beyond the booking horizon (as an advance lease's end).
        """
        _check_length(duration)
        try:
            end = start + duration
        except OverflowError:
            raise exceptions.InvalidPeriod(
                reason=f"duration {dates.format_duration(duration)} from "
                f"{start:%Y-%m-%d %H:%M} ends past the supported years (1 to "
                "9999)"
            )
        _check_horizon(end, now, "its earliest end")
        for request in requested:
            self._plugin(request["resource_type"])
        # Malformed requests are refused now, not found at placement: the
        # availability search validates them as the plugins read them.
        try:
            earliest = availability.earliest_start(
                {t: type(p) for t, p in self._plugins.items()},
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
                duration,
            )
        except exceptions.NotSupported:
            earliest = None
        return duration, start, requested, earliest

    def place(self, lease_id, start, guard=None):
        """Place a queued lease (``_place``); if the usage limits refuse
        it there (changed since it was queued), end it TERMINATED with the
        refusal as ``status_reason`` and send ``lease.refused``, rather
        than leave it queued for ever.  Returns None then."""
        try:
            return self._place(lease_id, start, guard)
        except exceptions.UsageNotAllowed as exc:
            return self._refuse_queued(lease_id, exc)

    def _refuse_queued(self, lease_id, exc):
        reason = f"refused by the usage limits at placement: {exc.message}"
        try:
            db_api.lease_transition(
                lease_id,
                L.TERMINATED,
                {L.QUEUED},
                reason=reason,
                values={"queue_position": None, "earliest_start": None},
            )
        except (exceptions.LeaseNotFound, exceptions.InvalidStateTransition):
            return None  # placed by another manager, or deleted
        lease = db_api.lease_get(lease_id)
        LOG.warning("queued lease %s ended: %s", lease_id, reason)
        self._notifier.lease(_owner(lease), "lease.refused", lease)
        return None

    @db_api.retry_on_deadlock
    def _place(self, lease_id, start, guard=None):
        """Place a queued lease on ``[start, start + duration)`` through
        admission, as an advance lease for that window; return it
        (PENDING), or None if it is no longer queued (placed by another
        manager, deleted).

        :param guard: ``(lease_id, start)`` of another queued lease (the
            queue's head) that must still be admissible at that start
            once this one is placed: backfilling never delays the head.
        :raises NotEnoughResourcesAvailable: (409) it does not fit there,
            or would delay the guarded lease.
        """
        with db_api.writer():
            try:
                lease = db_api.lease_lock(lease_id)
            except exceptions.LeaseNotFound:
                return None
            if lease["status"] != L.QUEUED:
                return None
            # Not beyond the horizon, should it have shrunk since.
            _check_horizon(
                start + datetime.timedelta(seconds=lease["duration"]),
                dates.utcnow(),
                "the end of its placement",
            )
            context = _owner(lease)
            lease = self._admit_queued(context, lease, start)
            if guard is not None:
                head_id, head_start = guard
                with db_api.trial():
                    head = db_api.lease_lock(head_id)
                    if head["status"] == L.QUEUED:
                        self._admit_queued(_owner(head), head, head_start)
            self._enforcer.check_create(context, lease)
            db_api.lease_transition(
                lease_id,
                L.PENDING,
                self._lifecycle.lease_sources(L.PENDING),
                values={"queue_position": None, "earliest_start": None},
            )
            lease = db_api.lease_get(lease_id)
        LOG.info(
            "queued lease %s placed: %s to %s",
            lease_id,
            lease["start_date"],
            lease["end_date"],
        )
        self._notifier.lease(context, "lease.update", lease)
        self._on_change(min(e["time"] for e in lease["events"]))
        return lease

    def _admit_queued(self, context, lease, start):
        """Give a queued lease the window from ``start`` and admit its
        reservations there (inside the caller's transaction)."""
        end = start + datetime.timedelta(seconds=lease["duration"])
        requested = json.loads(lease["request"] or "[]")
        lease = db_api.lease_update(
            lease["id"],
            {
                "start_date": start,
                "end_date": end,
                "before_end_date": _before_end(None, start, end, None),
            },
        )
        lease["reservations"] = db_api.reservations_create(
            lease["id"],
            [
                {
                    "id": str(uuid.uuid4()),
                    "resource_type": request["resource_type"],
                    "status": states.ReservationStatus.PENDING,
                }
                for request in requested
            ],
        )
        return self._admit(context, lease, requested)

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
            & _QUEUED_CHANGES
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
            _check_idle(lease)
            _check_kind_kept(lease, values)
            changes = {}
            if "name" in values:
                changes["name"] = _check_name(values["name"])
            if lease["status"] == L.QUEUED:
                return self._update_queued(context, lease, values, changes)
            start, end = self._new_window(lease, values, now)
            if (start, end) != (lease["start_date"], lease["end_date"]):
                _check_window(
                    start, end, now, started=lease["status"] == L.ACTIVE
                )
                changes["start_date"], changes["end_date"] = start, end
            if "before_end_date" in values:
                changes["before_end_date"] = _before_end(
                    values["before_end_date"], start, end, now
                )
            elif "start_date" in changes:
                changes["before_end_date"] = _moved_before_end(
                    lease, start, end
                )
            updated = {**lease, **changes}
            changed = {
                r["id"]: {
                    k: v
                    for k, v in r.items()
                    if k not in ("id", "resource_type")
                }
                for r in _reservation_updates(values.get("reservations"))
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

    def _update_queued(self, context, lease, values, changes):
        """Update a lease still QUEUED: its name, and its request
        (``duration``, earliest start as ``start_date``, ``reservations``
        as at creation, replacing the ones asked for), checked as at
        creation; it stays QUEUED.  Its window is the scheduler's, so
        the rest is a 409.  Inside the update's transaction."""
        given = {k for k, v in values.items() if v is not None}
        others = sorted(given - {"name", "kind"} - _QUEUED_CHANGES)
        if others:
            raise exceptions.InvalidState(
                reason=f"Lease {lease['id']} is QUEUED: the scheduler "
                "chooses its window, so only its name, duration, earliest "
                "start (start_date) and reservations may change until it is "
                f"placed (this update also gives {', '.join(others)})"
            )
        if given & _QUEUED_CHANGES:
            now = dates.utcnow()
            duration, start, requested, earliest = self._queued_request(
                context,
                dates.parse_duration(values["duration"], "duration")
                if values.get("duration") is not None
                else datetime.timedelta(seconds=lease["duration"]),
                _parse_start(values["start_date"], now)
                if values.get("start_date") is not None
                else lease["not_before"],
                _reservation_requests(values["reservations"])
                if values.get("reservations") is not None
                else json.loads(lease["request"] or "[]"),
                now,
            )
            changes.update(
                start_date=start,
                end_date=start + duration,
                duration=int(duration.total_seconds()),
                not_before=start,
                request=json.dumps(requested),
                earliest_start=earliest,
            )
        db_api.lease_update(lease["id"], changes)
        lease = db_api.lease_get(lease["id"])
        if given & _QUEUED_CHANGES:
            self._enforcer.check_queued(context, lease)
        idempotency.record(context, lease)
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
            start = _parse_date(values["start_date"], "start_date", now)
        if "end_date" in values:
            end = _parse_date(values["end_date"], "end_date", now)
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
        for request in _reservation_updates(requests):
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
                event_id = _pending_delete(lease)
            elif not self._lifecycle.may_hold_resources(lease):
                _check_idle(lease)
                for reservation in lease["reservations"]:
                    plugin = self._plugins.get(reservation["resource_type"])
                    if plugin is not None:
                        plugin.release(lease, reservation)
                db_api.lease_destroy(lease_id)
                event_id = None
            else:
                _check_idle(lease)
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


# What a QUEUED lease's update may change besides its name.
_QUEUED_CHANGES = frozenset({"duration", "start_date", "reservations"})


def _check_idle(lease):
    """Refuse to change a lease a stage is working on.

    :raises LeaseBusy:
    """
    if lease["status"] in L.TRANSITIONAL:
        raise exceptions.LeaseBusy(id=lease["id"], status=lease["status"])


def _check_kind_kept(lease, values):
    """A lease's kind is chosen at its creation.

    :raises InvalidInput: (400) an unknown kind.
    :raises InvalidState: (409) another kind than the lease's.
    """
    if values.get("kind") is None:
        return
    kind = _check_kind(values["kind"])
    if kind != lease["kind"]:
        raise exceptions.InvalidState(
            reason=f"Lease {lease['id']} is a {lease['kind']} lease "
            f"({lease['status']}); its kind cannot become {kind}: a lease's "
            "kind is chosen when it is created"
        )


def _pending_delete(lease):
    """The unfinished delete event of a lease already DELETING."""
    for event in lease["events"]:
        if event["event_type"] == stages.DELETE.event_type and event[
            "status"
        ] in (E.UNDONE, E.IN_PROGRESS):
            return event["id"]
    return None


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise exceptions.InvalidInput(reason="name must be a non-empty string")
    if len(name) > 80:
        raise exceptions.InvalidInput(
            reason="name must be at most 80 characters"
        )
    if not name.isprintable():
        raise exceptions.InvalidInput(
            reason="name must not hold control characters (a newline, a "
            "tab...)"
        )
    return name


def _parse_date(value, field, now):
    if value is None:
        raise exceptions.InvalidInput(reason=f"{field} is required")
    return dates.parse(value, field, now)


def _parse_start(value, now):
    start = _parse_date(value, "start_date", now)
    # "YYYY-MM-DD HH:MM" cannot name a time within the current minute, so the
    # current minute still counts as now.
    if start < now.replace(second=0):
        raise exceptions.InvalidPeriod(
            reason=f"start_date {start:%Y-%m-%d %H:%M} is in the past; use "
            "'now' to start at once"
        )
    return start


def _check_window(start, end, now, started=False):
    if end <= start:
        raise exceptions.InvalidPeriod(
            reason=f"end_date {end:%Y-%m-%d %H:%M} must be later than "
            f"start_date {start:%Y-%m-%d %H:%M}"
        )
    _check_horizon(end, now)
    if started and end <= now:
        raise exceptions.InvalidPeriod(
            reason="end_date of a started lease must be in the future"
        )
    _check_length(end - start)


def _check_horizon(end, now, what="end_date"):
    horizon = CONF.manager.booking_horizon
    last = now + datetime.timedelta(days=horizon)
    if horizon and end > last:
        raise exceptions.InvalidPeriod(
            reason=f"{what} {end:%Y-%m-%d %H:%M} is beyond the booking "
            f"horizon of {horizon} days ({last:%Y-%m-%d %H:%M}); "
            "[manager] booking_horizon sets it"
        )


def _check_length(length):
    shortest = datetime.timedelta(minutes=CONF.manager.min_lease_duration)
    if length < shortest:
        raise exceptions.InvalidPeriod(
            reason=f"the lease lasts {length}, less than the minimum of "
            f"{CONF.manager.min_lease_duration} minutes"
        )
    longest = CONF.manager.max_lease_duration
    if longest and length > datetime.timedelta(minutes=longest):
        raise exceptions.InvalidPeriod(
            reason=f"the lease lasts {length}, more than the maximum of "
            f"{longest} minutes"
        )


def _check_kind(kind):
    if kind not in K.ALL:
        raise exceptions.InvalidInput(
            reason=f"unknown kind {kind!r}; one of {', '.join(K.ALL)}"
        )
    return kind


def _owner(lease):
    """A context acting for the lease's owner (the scheduler places a
    queued lease as the project that asked)."""
    return climate_context.RequestContext(
        user_id=lease["user_id"],
        project_id=lease["project_id"],
        overwrite=False,
    )


def _before_end(value, start, end, now):
    """The time of the before_end_lease event."""
    if value is not None:
        before_end = dates.parse(value, "before_end_date", now)
        if not start <= before_end <= end:
            raise exceptions.InvalidPeriod(
                reason="before_end_date must lie between start_date and "
                "end_date"
            )
        return before_end
    default = end - datetime.timedelta(
        minutes=CONF.manager.minutes_before_end_lease
    )
    return max(default, start)


def _moved_before_end(lease, start, end):
    """before_end_date for a lease whose window moved.

    A default before_end stays the default for the new window; one the
    user chose keeps its distance to the end.
    """
    old = lease["before_end_date"]
    default = _before_end(None, lease["start_date"], lease["end_date"], None)
    if old is None or old == default:
        return _before_end(None, start, end, None)
    return max(end - (lease["end_date"] - old), start)


def _reservation_requests(reservations):
    if reservations is None:
        return []
    if not isinstance(reservations, list):
        raise exceptions.InvalidInput(reason="reservations must be a list")
    for index, request in enumerate(reservations):
        if not isinstance(request, dict):
            raise exceptions.InvalidInput(
                reason=f"reservations[{index}] must be an object"
            )
        if not isinstance(request.get("resource_type"), str):
            raise exceptions.InvalidInput(
                reason=f"reservations[{index}] needs a resource_type"
            )
    return reservations


def _reservation_updates(reservations):
    if reservations is None:
        return []
    if not isinstance(reservations, list):
        raise exceptions.InvalidInput(reason="reservations must be a list")
    for index, request in enumerate(reservations):
        if not isinstance(request, dict) or not isinstance(
            request.get("id"), str
        ):
            raise exceptions.InvalidInput(
                reason=f"reservations[{index}] must be an object with the id "
                "of one of the lease's reservations"
            )
    return reservations
