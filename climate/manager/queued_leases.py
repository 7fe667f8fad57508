"""The lease manager's queued and preemptible leases: accepting a
best-effort lease QUEUED, placing it through the advance leases'
admission when the scheduler (``climate.manager.queue``) finds its
window, changing it while it waits, and granting an advance lease by
ending preemptible leases early.

A mixin of ``climate.manager.leases.LeaseManager``: it uses the
manager's plugins, lifecycle, enforcer, notifier and admission.
"""

import datetime
import json
import uuid

from oslo_config import cfg
from oslo_log import log as logging

from climate import availability, clock, exceptions, states
from climate.common import dates, idempotency
from climate.db import api as db_api
from climate.manager import lease_checks as checks

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus
E = states.EventStatus
K = states.LeaseKind


class QueuedLeases:
    """Best-effort and preemptible leases, for ``LeaseManager``."""

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
        context = checks.owner(victim)
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
            checks.parse_start(values.get("start_date") or "now", now),
            checks.reservation_requests(values.get("reservations")),
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
        checks.check_length(duration)
        try:
            end = start + duration
        except OverflowError:
            raise exceptions.InvalidPeriod(
                reason=f"duration {dates.format_duration(duration)} from "
                f"{start:%Y-%m-%d %H:%M} ends past the supported years (1 to "
                "9999)"
            )
        checks.check_horizon(end, now, "its earliest end")
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
        self._notifier.lease(checks.owner(lease), "lease.refused", lease)
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
            checks.check_horizon(
                start + datetime.timedelta(seconds=lease["duration"]),
                dates.utcnow(),
                "the end of its placement",
            )
            context = checks.owner(lease)
            lease = self._admit_queued(context, lease, start)
            if guard is not None:
                head_id, head_start = guard
                with db_api.trial():
                    head = db_api.lease_lock(head_id)
                    if head["status"] == L.QUEUED:
                        self._admit_queued(
                            checks.owner(head), head, head_start
                        )
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
                "before_end_date": checks.before_end(None, start, end, None),
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

    def _update_queued(self, context, lease, values, changes):
        """Update a lease still QUEUED: its name, and its request
        (``duration``, earliest start as ``start_date``, ``reservations``
        as at creation, replacing the ones asked for), checked as at
        creation; it stays QUEUED.  Its window is the scheduler's, so
        the rest is a 409.  Inside the update's transaction."""
        given = {k for k, v in values.items() if v is not None}
        others = sorted(given - {"name", "kind"} - checks.QUEUED_CHANGES)
        if others:
            raise exceptions.InvalidState(
                reason=f"Lease {lease['id']} is QUEUED: the scheduler "
                "chooses its window, so only its name, duration, earliest "
                "start (start_date) and reservations may change until it is "
                f"placed (this update also gives {', '.join(others)})"
            )
        if given & checks.QUEUED_CHANGES:
            now = dates.utcnow()
            duration, start, requested, earliest = self._queued_request(
                context,
                dates.parse_duration(values["duration"], "duration")
                if values.get("duration") is not None
                else datetime.timedelta(seconds=lease["duration"]),
                checks.parse_start(values["start_date"], now)
                if values.get("start_date") is not None
                else lease["not_before"],
                checks.reservation_requests(values["reservations"])
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
        if given & checks.QUEUED_CHANGES:
            self._enforcer.check_queued(context, lease)
        idempotency.record(context, lease)
        return lease
