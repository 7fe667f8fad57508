"""Lease create, update and delete: validation, admission, persistence.

Each write is one database transaction: the lease row is locked (by a
conditional status change), the request is validated against it, plugins
admit or fit their reservations, events are written and the usage
enforcement filters look at the result.  Any error rolls everything back,
so a failed request leaves nothing behind.  A notification follows each
committed write.
"""

import datetime
import uuid

from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions, states
from climate.common import dates
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.manager import notifications

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

L = states.LeaseStatus
E = states.EventStatus
ET = states.EventType

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
    :param on_change: called after a lease is created or changed, so the
        event loop looks at the new events at once.
    :param enforcer: the ``UsageEnforcer`` every create and update passes
        (default: no limits).
    :param notifier: sends ``lease.create``, ``lease.update`` and
        ``lease.delete`` (default: nothing is sent).
    """

    def __init__(
        self,
        plugins,
        on_change=lambda: None,
        enforcer=None,
        notifier=None,
    ):
        self._plugins = plugins
        self._on_change = on_change
        self._enforcer = enforcer or UsageEnforcer()
        self._notifier = notifier or notifications.NullNotifier()

    # Reads ----------------------------------------------------------------

    def get(self, context, lease_id):
        return db_api.lease_get(lease_id, _project_scope(context))

    def list(self, context, **filters):
        return db_api.lease_list(project_id=_project_scope(context), **filters)

    # Create ---------------------------------------------------------------

    @db_api.retry_on_deadlock
    def create(self, context, values):
        """Validate, admit and store a new lease; return it."""
        values = dict(values)
        now = dates.utcnow()
        name = _check_name(values.get("name"))
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
        }
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
        events = [
            _event(ET.START_LEASE, start),
            _event(ET.BEFORE_END_LEASE, before_end),
            _event(ET.END_LEASE, end),
        ]
        with db_api.writer():
            lease = db_api.lease_create(lease_values, reservations, events)
            for request, row in zip(requested, reservations, strict=True):
                plugin = self._plugin(request["resource_type"])
                request = {
                    k: v for k, v in request.items() if k != "resource_type"
                }
                resource_id = plugin.reserve(context, lease, row, request)
                db_api.reservation_update(
                    row["id"], {"resource_id": resource_id}
                )
            if requested:
                # Plugins added rows of their own (type-specific fields).
                lease = db_api.lease_get(lease_id)
            self._enforcer.check_create(context, lease)
        LOG.info(
            "lease %s (%s) created for project %s, %s to %s",
            lease_id,
            name,
            context.project_id,
            start,
            end,
        )
        self._notifier.lease(context, "lease.create", lease)
        self._on_change()
        return lease

    # Update ---------------------------------------------------------------

    @db_api.retry_on_deadlock
    def update(self, context, lease_id, values):
        """Change a lease's name, dates or reservations; return it."""
        values = dict(values)
        now = dates.utcnow()
        with db_api.writer():
            lease = db_api.lease_lock(lease_id, _project_scope(context))
            # Taking UPDATING fails if an event or another request is working
            # on the lease.
            db_api.lease_transition(lease_id, L.UPDATING)
            changes = {}
            if "name" in values:
                changes["name"] = _check_name(values["name"])
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
            self._update_reservations(
                context,
                updated,
                values.get("reservations"),
                window_moved="start_date" in changes,
            )
            db_api.lease_update(lease_id, changes)
            self._reschedule(lease, updated)
            db_api.lease_transition(
                lease_id, lease["status"], lease["status_reason"]
            )
            current, lease = lease, db_api.lease_get(lease_id)
            self._enforcer.check_update(context, current, lease)
        LOG.info("lease %s updated: %s", lease_id, sorted(changes))
        if lease["status"] == L.ACTIVE and values.get("reservations"):
            self._hand_over(lease)
        self._notifier.lease(context, "lease.update", lease)
        self._on_change()
        return lease

    def _hand_over(self, lease):
        """Run on_start again for an active lease whose reservations grew,
        so resources added by the update are handed over too (on_start is
        idempotent).  The update itself stands even if this fails: the
        lease is then marked degraded for the operator.
        """
        try:
            for reservation in lease["reservations"]:
                self._plugin(reservation["resource_type"]).on_start(
                    lease, reservation
                )
        except Exception as exc:
            LOG.exception(
                "lease %s: handing over added resources failed", lease["id"]
            )
            db_api.lease_update(
                lease["id"],
                {
                    "degraded": True,
                    "status_reason": f"handing over added resources failed: "
                    f"{exc}",
                },
            )
            lease["degraded"] = True

    def _new_window(self, lease, values, now):
        start, end = lease["start_date"], lease["end_date"]
        dated = {
            "start_date": "start_date" in values,
            "end_date": "end_date" in values,
        }
        for option, (field, sign) in _SHIFTS.items():
            if option not in values:
                continue
            if dated[field]:
                raise exceptions.InvalidInput(
                    reason=f"give either {field} or {option}, not both"
                )
            dated[field] = True
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

    def _reschedule(self, old, new):
        times = {
            ET.START_LEASE: new["start_date"],
            ET.END_LEASE: new["end_date"],
            ET.BEFORE_END_LEASE: new["before_end_date"],
        }
        for event in old["events"]:
            time = times.get(event["event_type"])
            if time is None or time == event["time"]:
                continue
            if event["status"] != E.UNDONE:
                # The start of an active lease, or anything of a finished
                # one: past events stay as history.
                continue
            db_api.event_update(event["id"], {"time": time})

    # Delete ---------------------------------------------------------------

    def delete(self, context, lease_id):
        """Delete a lease, taking its resources back first if it is active."""
        with db_api.writer():
            lease = db_api.lease_lock(lease_id, _project_scope(context))
            db_api.lease_transition(lease_id, L.DELETING)
        if _may_hold_resources(lease):
            try:
                for reservation in lease["reservations"]:
                    self._plugin(reservation["resource_type"]).on_end(
                        lease, reservation
                    )
            except Exception as exc:
                LOG.exception("lease %s: releasing resources failed", lease_id)
                db_api.lease_transition(
                    lease_id,
                    L.ERROR,
                    f"delete failed while releasing resources: {exc}",
                )
                raise
        with db_api.writer():
            for reservation in lease["reservations"]:
                self._plugin(reservation["resource_type"]).release(
                    lease, reservation
                )
            db_api.lease_destroy(lease_id)
        LOG.info("lease %s deleted", lease_id)
        self._notifier.lease(context, "lease.delete", lease)
        if lease["status"] != L.TERMINATED:
            # Its usage ends now rather than at its end_date.
            self._enforcer.on_end(context, lease)

    def _plugin(self, resource_type):
        try:
            return self._plugins[resource_type]
        except KeyError:
            raise exceptions.UnsupportedResourceType(
                resource_type=resource_type,
                supported=", ".join(sorted(self._plugins)) or "none",
            )


def _may_hold_resources(lease):
    """True if the lease's start ran (even in part) and its end did not."""
    by_type = {e["event_type"]: e for e in lease["events"]}
    start = by_type.get(ET.START_LEASE)
    end = by_type.get(ET.END_LEASE)
    # A start waiting for its retry is UNDONE again, but its failed attempts
    # may have handed part of the resources over.
    started = start is None or start["status"] != E.UNDONE or start["attempts"]
    return bool(started) and (end is None or end["status"] != E.DONE)


def _project_scope(context):
    """Limit reads to the caller's project (admins see every project)."""
    return None if context.is_admin else context.project_id


def _event(event_type, time):
    return {
        "id": str(uuid.uuid4()),
        "event_type": event_type,
        "time": time,
        "status": E.UNDONE,
        "attempts": 0,
    }


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise exceptions.InvalidInput(reason="name must be a non-empty string")
    if len(name) > 80:
        raise exceptions.InvalidInput(
            reason="name must be at most 80 characters"
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
            reason="end_date must be later than start_date"
        )
    if started and end <= now:
        raise exceptions.InvalidPeriod(
            reason="end_date of a started lease must be in the future"
        )
    length = end - start
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
