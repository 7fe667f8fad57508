"""``project_limits``: how much one project may hold at any one moment."""

from oslo_config import cfg

from climate import exceptions
from climate.db import api as db_api
from climate.enforcement import base

CONF = cfg.CONF


class ProjectLimitsFilter(base.UsageFilter):
    """At no moment of the lease's window may its project hold more than
    ``[enforcement] max_leases_per_project`` leases or ``max_hosts_per_
    project`` physical hosts, this lease included.

    An update that neither widens the window nor raises a reservation's
    ``min`` or ``max`` is let through, so a project over a limit the
    operator has just lowered can still rename or shorten its leases.
    """

    def check(self, context, lease, current=None):
        max_leases = CONF.enforcement.max_leases_per_project
        max_hosts = CONF.enforcement.max_hosts_per_project
        if not (max_leases or max_hosts):
            return
        if current is not None and not _grows(current, lease):
            return
        start, end = lease["start_date"], lease["end_date"]
        usage = db_api.lease_usage(lease["project_id"], start, end)
        if max_leases:
            peak = _peak([(u["start_date"], u["end_date"], 1) for u in usage])
            if peak > max_leases:
                raise exceptions.ProjectLimitExceeded(
                    reason=f"Project {lease['project_id']} would hold "
                    f"{peak} leases at once, more than its limit of "
                    f"{max_leases}"
                )
        if max_hosts:
            peak = _peak(
                [
                    (u["start_date"], u["end_date"], u.get("hosts", 0))
                    for u in usage
                ]
            )
            if peak > max_hosts:
                raise exceptions.ProjectLimitExceeded(
                    reason=f"Project {lease['project_id']} would hold "
                    f"{peak} hosts at once, more than its limit of "
                    f"{max_hosts}"
                )

    def check_queued(self, context, lease):
        """Nothing: how much a project holds at once depends on the window
        the scheduler gives the lease; judged at placement."""
        return


def _peak(intervals):
    """The largest total weight of the half-open intervals at one moment.

    :param intervals: ``(start, end, weight)`` tuples.
    """
    points = []
    for start, end, weight in intervals:
        if start < end and weight:
            points.append((start, weight))
            points.append((end, -weight))
    # At one instant ends come first: [a, b) and [b, c) never meet.
    points.sort(key=lambda point: (point[0], point[1]))
    held = peak = 0
    for _, weight in points:
        held += weight
        peak = max(peak, held)
    return peak


def _grows(current, lease):
    if lease["start_date"] < current["start_date"]:
        return True
    if lease["end_date"] > current["end_date"]:
        return True
    before = {r["id"]: r for r in current["reservations"]}
    for reservation in lease["reservations"]:
        old = before.get(reservation["id"])
        if old is None:
            return True
        for field in ("min", "max"):
            if (reservation.get(field) or 0) > (old.get(field) or 0):
                return True
    return False
