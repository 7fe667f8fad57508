"""The lease lifecycle as one table of stages.

A stage is one step of a lease's life: its event type, when it falls
(at the lease's start, before its end, at its end, or at once when an
operation asks for it, with an offset a plugin may compute per
reservation), the plugin hook it calls, the busy state the lease shows
while it runs, where the lease goes afterwards, and its order among
stages due together.

The core declares ``start_lease``, ``before_end_lease`` and ``end_lease``
(timed) and ``update_lease`` and ``delete_lease`` (run at once when an
update grows an active lease or a delete must take resources back);
plugins add theirs through ``ResourcePlugin.stages()``.  Everything that
needs to know the lifecycle reads this table through ``Lifecycle``:
creating a lease's events and moving them when the lease changes,
running them, the lease's status transitions, whether a lease may hold
resources, and the window a reservation holds its resources for.
"""

import dataclasses
import datetime
from collections.abc import Callable

from climate import exceptions, states
from climate.states import EventStatus, LeaseStatus, ReservationStatus

L = LeaseStatus
R = ReservationStatus

#: What becomes of a lease whose stage fails for good.
GIVE_UP_ERROR = "error"  # the lease and its reservations are in ERROR
GIVE_UP_DEGRADE = "degrade"  # it goes on, marked degraded, with a reason

#: Anchor of the stages run at once, when an operation asks for them.
AT_ONCE = None


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of the lifecycle.

    :param event_type: the event that runs it (unique in a lifecycle).
    :param hook: the plugin method it calls, with ``(lease,
        reservation)``.
    :param order: among stages of several leases due together, lower
        runs first (ends before starts, so back-to-back leases on one
        resource hand it over cleanly).
    :param anchor: the lease date it falls on (``start_date``,
        ``before_end_date``, ``end_date``), or ``AT_ONCE``.
    :param offset: for a plugin stage, ``(lease, reservation) ->
        timedelta | None`` added to the anchor; None means the
        reservation does not need the stage.  A stage with an offset
        has one event per reservation; without one, one per lease.
    :param runs_from: the lease states in which the stage has work to do;
        in any other stable state it is skipped.
    :param busy: the state the lease shows (and is locked in) while the
        stage runs, or None.
    :param reached: the lease's state once the stage succeeded (None: as
        it was).
    :param resting: the lease's state while a failed attempt waits for
        its retry (None: as it was).
    :param on_give_up: ``GIVE_UP_ERROR`` or ``GIVE_UP_DEGRADE``, when
        the attempts are spent.
    :param reservation_status: the reservations' state once it succeeded.
    :param acquires: it hands resources over: a lease whose acquiring
        stage ran (even in part) may hold resources.
    :param releases: it takes resources back.
    :param holds: the reservation's resources are held at this stage, so
        its admission window covers it.
    :param hold_after: ``(lease, reservation) -> timedelta``: how long
        the resources stay held after the stage's time (its expected
        duration).
    :param resource_type: the plugin that declared it (None: the core).
    """

    event_type: str
    hook: str
    order: int
    anchor: str | None
    runs_from: frozenset
    busy: str | None = None
    reached: str | None = None
    resting: str | None = None
    on_give_up: str = GIVE_UP_ERROR
    reservation_status: str | None = None
    acquires: bool = False
    releases: bool = False
    holds: bool = True
    offset: Callable | None = None
    hold_after: Callable | None = None
    resource_type: str | None = None

    @property
    def per_reservation(self):
        return self.offset is not None

    @property
    def timed(self):
        return self.anchor is not AT_ONCE

    def time_for(self, lease, reservation=None):
        """When the stage falls for ``lease`` (and ``reservation``, for a
        per-reservation stage), or None when it does not apply."""
        if not self.timed:
            return None
        base = lease[self.anchor]
        if not self.per_reservation:
            return base
        offset = self.offset(lease, reservation)
        return None if offset is None else base + offset


START = Stage(
    event_type="start_lease",
    hook="on_start",
    order=30,
    anchor="start_date",
    runs_from=frozenset({L.PENDING}),
    busy=L.STARTING,
    reached=L.ACTIVE,
    resting=L.PENDING,
    reservation_status=R.ACTIVE,
    acquires=True,
)
BEFORE_END = Stage(
    event_type="before_end_lease",
    hook="before_end",
    order=0,
    anchor="before_end_date",
    runs_from=frozenset({L.ACTIVE}),
    # A warning or a snapshot that failed leaves a working lease working.
    on_give_up=GIVE_UP_DEGRADE,
)
END = Stage(
    event_type="end_lease",
    hook="on_end",
    order=10,
    anchor="end_date",
    # A lease that never started (its manager was down, or its start
    # failed) still ends: what a start handed over in part comes back.
    runs_from=frozenset({L.PENDING, L.ACTIVE, L.ERROR}),
    busy=L.TERMINATING,
    reached=L.TERMINATED,
    resting=L.TERMINATING,
    reservation_status=R.DELETED,
    releases=True,
)
UPDATE = Stage(
    event_type="update_lease",
    # on_start is idempotent: run again, it hands over what an update
    # added to an active lease.
    hook="on_start",
    order=40,
    anchor=AT_ONCE,
    runs_from=frozenset({L.ACTIVE}),
    busy=L.UPDATING,
    reached=L.ACTIVE,
    resting=L.ACTIVE,
    on_give_up=GIVE_UP_DEGRADE,
    acquires=True,
)
DELETE = Stage(
    event_type="delete_lease",
    # Runs every releasing stage that has not run, then forgets the lease.
    hook="on_end",
    order=5,
    anchor=AT_ONCE,
    runs_from=frozenset({L.DELETING}),
    busy=L.DELETING,
    resting=L.DELETING,
    releases=True,
)

CORE_STAGES = (START, BEFORE_END, END, UPDATE, DELETE)

#: Stable states an operator or tenant may delete a lease from.
DELETABLE = frozenset({L.PENDING, L.ACTIVE, L.TERMINATED, L.ERROR})


class Lifecycle:
    """The stages of the core and of the loaded plugins, as one table.

    :param plugins: ``{resource_type: plugin}``; each plugin's
        ``stages()`` add to the core's.
    :raises ConfigurationError: two stages share an event type or a busy
        state.
    """

    def __init__(self, plugins=None):
        stages = list(CORE_STAGES)
        for resource_type, plugin in sorted((plugins or {}).items()):
            for stage in plugin.stages():
                stages.append(
                    dataclasses.replace(stage, resource_type=resource_type)
                )
        self.stages = tuple(stages)
        self._by_type = {}
        busy = {}
        for stage in self.stages:
            if stage.event_type in self._by_type:
                raise exceptions.ConfigurationError(
                    reason=f"two lifecycle stages are named "
                    f"{stage.event_type}; a plugin must name its own"
                )
            self._by_type[stage.event_type] = stage
            if stage.busy is not None:
                if stage.busy in busy:
                    raise exceptions.ConfigurationError(
                        reason=f"stages {busy[stage.busy]} and "
                        f"{stage.event_type} both show {stage.busy}"
                    )
                busy[stage.busy] = stage.event_type
        self.lease_transitions = _lease_transitions(self.stages)

    def stage(self, event_type):
        """The stage of ``event_type``, or None if it is not known."""
        return self._by_type.get(event_type)

    def timed_stages(self):
        return [s for s in self.stages if s.timed]

    def releasing_stages(self):
        """The stages that take resources back, in lifecycle order."""
        return sorted(
            (s for s in self.stages if s.releases and s.timed),
            key=lambda s: (s.anchor != "end_date", s.order),
        )

    # Events of a lease ------------------------------------------------------

    def planned_events(self, lease, reservations):
        """The timed events ``lease`` needs: ``[{event_type, time,
        reservation_id}]``.

        :param reservations: the lease's reservations with their
            type-specific fields (a per-reservation stage's offset reads
            them).
        """
        planned = []
        for stage in self.timed_stages():
            if not stage.per_reservation:
                planned.append(
                    {
                        "event_type": stage.event_type,
                        "time": stage.time_for(lease),
                        "reservation_id": None,
                    }
                )
                continue
            for reservation in reservations:
                if reservation["resource_type"] != stage.resource_type:
                    continue
                time = stage.time_for(lease, reservation)
                if time is not None:
                    planned.append(
                        {
                            "event_type": stage.event_type,
                            "time": time,
                            "reservation_id": reservation["id"],
                        }
                    )
        return planned

    def may_hold_resources(self, lease):
        """True if an acquiring stage of ``lease`` ran, even in part, and
        its releasing stages have not all run."""
        acquired = False
        releasing = []
        for event in lease["events"]:
            stage = self.stage(event["event_type"])
            if stage is None:
                continue
            if stage.acquires and (
                event["status"] != EventStatus.UNDONE or event["attempts"]
            ):
                acquired = True
            if stage.releases and stage.timed:
                releasing.append(event["status"] == EventStatus.DONE)
        released_all = bool(releasing) and all(releasing)
        return acquired and not released_all

    def lease_sources(self, target):
        """The lease states from which ``target`` may be reached."""
        return states.sources(self.lease_transitions, target)


def hold_window(lease, reservation, plugin_stages=()):
    """The window ``[start, end)`` a reservation holds its resources for.

    From the lease's start to its end, widened by the plugin's holding
    stages that fall outside (a preparation before the start, a reclaim
    after the end, with its expected duration).

    :param plugin_stages: the plugin's ``stages()``.
    """
    start, end = lease["start_date"], lease["end_date"]
    for stage in plugin_stages:
        if not (stage.holds and stage.timed):
            continue
        time = stage.time_for(lease, reservation)
        if time is None:
            continue
        after = (
            stage.hold_after(lease, reservation)
            if stage.hold_after is not None
            else datetime.timedelta(0)
        )
        start = min(start, time)
        end = max(end, time + after)
    return start, end


def _lease_transitions(stages):
    """The lease transition table the stages and the API operations make.

    From each state a stage runs from, into its busy state; from the busy
    state to where success, a retry or giving up lead, and to itself (a
    claim taken over from a manager that died resumes it).  The API
    creates leases PENDING and deletes them from any stable state.
    """
    table = {status: set() for status in LeaseStatus.ALL}
    for stage in stages:
        if stage.busy is None:
            continue
        for source in stage.runs_from:
            table[source].add(stage.busy)
        outcomes = {stage.busy, stage.reached, stage.resting}
        if stage.on_give_up == GIVE_UP_ERROR:
            outcomes.add(L.ERROR)
        table[stage.busy] |= outcomes - {None}
    for source in DELETABLE:
        table[source].add(L.DELETING)
    # The scheduler places a queued lease: from then on it is a lease
    # like the others.  (A queued lease holds nothing: deleting it
    # removes it at once, without DELETING.)
    table[L.QUEUED].add(L.PENDING)
    # A queued lease the usage limits refuse at placement ends there.
    table[L.QUEUED].add(L.TERMINATED)
    return {status: frozenset(targets) for status, targets in table.items()}
