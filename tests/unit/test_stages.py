"""The lifecycle's table of stages (climate.stages)."""

import dataclasses
import datetime

import pytest

from climate import exceptions, stages, states

L = states.LeaseStatus
E = states.EventStatus
HOUR = datetime.timedelta(hours=1)
T0 = datetime.datetime(2030, 1, 1, 12, 0)

LEASE = {
    "start_date": T0,
    "end_date": T0 + 24 * HOUR,
    "before_end_date": T0 + 23 * HOUR,
}


def _lead(lease, reservation):
    """Prepare an image this many hours ahead; no image, no stage."""
    hours = reservation.get("lead_hours")
    return None if hours is None else -hours * HOUR


PREPARE = stages.Stage(
    event_type="prepare_things",
    hook="prepare",
    order=20,
    anchor="start_date",
    offset=_lead,
    runs_from=frozenset({L.PENDING}),
    busy=L.PREPARING,
    reached=L.PENDING,
    resting=L.PENDING,
    on_give_up=stages.GIVE_UP_DEGRADE,
    acquires=True,
)
RECLAIM = stages.Stage(
    event_type="reclaim_things",
    hook="reclaim",
    order=15,
    anchor="end_date",
    offset=lambda lease, reservation: datetime.timedelta(0),
    hold_after=lambda lease, reservation: 2 * HOUR,
    runs_from=frozenset({L.TERMINATED}),
    busy=L.RECLAIMING,
    reached=L.TERMINATED,
    resting=L.TERMINATED,
    on_give_up=stages.GIVE_UP_DEGRADE,
    releases=True,
)


class ThingsPlugin:
    resource_type = "test:things"

    @classmethod
    def stages(cls):
        return [PREPARE, RECLAIM]


def test_core_events_of_a_lease():
    planned = stages.Lifecycle().planned_events(LEASE, [])
    assert sorted((p["event_type"], p["time"]) for p in planned) == [
        ("before_end_lease", T0 + 23 * HOUR),
        ("end_lease", T0 + 24 * HOUR),
        ("start_lease", T0),
    ]
    assert {p["reservation_id"] for p in planned} == {None}


def test_a_plugin_stage_falls_per_reservation_where_it_applies():
    lifecycle = stages.Lifecycle({"test:things": ThingsPlugin()})
    reservations = [
        {"id": "r1", "resource_type": "test:things", "lead_hours": 2},
        {"id": "r2", "resource_type": "test:things"},
        {"id": "r3", "resource_type": "other", "lead_hours": 5},
    ]
    planned = lifecycle.planned_events(LEASE, reservations)
    mine = sorted(
        (p["event_type"], p["reservation_id"], p["time"])
        for p in planned
        if p["reservation_id"]
    )
    assert mine == [
        ("prepare_things", "r1", T0 - 2 * HOUR),
        ("reclaim_things", "r1", T0 + 24 * HOUR),
        ("reclaim_things", "r2", T0 + 24 * HOUR),
    ]
    assert lifecycle.stage("prepare_things").resource_type == "test:things"


def test_the_hold_window_covers_every_holding_stage():
    reservation = {"id": "r1", "lead_hours": 3}
    start, end = stages.hold_window(LEASE, reservation, ThingsPlugin.stages())
    assert (start, end) == (T0 - 3 * HOUR, T0 + 26 * HOUR)
    # Without a plugin stage: the lease's own window.
    assert stages.hold_window(LEASE, reservation) == (
        T0,
        T0 + 24 * HOUR,
    )


def test_plugin_stages_add_their_transitions():
    table = stages.Lifecycle({"test:things": ThingsPlugin()}).lease_transitions
    assert L.PREPARING in table[L.PENDING]
    assert table[L.PREPARING] == {L.PREPARING, L.PENDING}
    assert L.RECLAIMING in table[L.TERMINATED]
    assert table[L.RECLAIMING] == {L.RECLAIMING, L.TERMINATED}


def test_two_stages_of_one_name_or_busy_state_are_refused():
    class Clash:
        @classmethod
        def stages(cls):
            return [dataclasses.replace(PREPARE, event_type="start_lease")]

    with pytest.raises(exceptions.ConfigurationError, match="start_lease"):
        stages.Lifecycle({"x": Clash()})

    class SameBusy:
        @classmethod
        def stages(cls):
            return [dataclasses.replace(PREPARE, busy=L.STARTING)]

    with pytest.raises(exceptions.ConfigurationError, match="STARTING"):
        stages.Lifecycle({"x": SameBusy()})


def _event(event_type, status=E.UNDONE, attempts=0):
    return {"event_type": event_type, "status": status, "attempts": attempts}


@pytest.mark.parametrize(
    "events,holds",
    [
        ([_event("start_lease"), _event("end_lease")], False),
        # A start attempt failed half-way and waits for its retry.
        ([_event("start_lease", attempts=1), _event("end_lease")], True),
        ([_event("start_lease", E.DONE), _event("end_lease")], True),
        ([_event("start_lease", E.ERROR), _event("end_lease")], True),
        ([_event("start_lease", E.DONE), _event("end_lease", E.DONE)], False),
        # Given back at the end, but the plugin's reclaim has not run.
        (
            [
                _event("start_lease", E.DONE),
                _event("end_lease", E.DONE),
                _event("reclaim_things"),
            ],
            True,
        ),
        ([_event("prepare_things", E.DONE), _event("end_lease")], True),
    ],
)
def test_may_hold_resources_reads_acquiring_and_releasing_stages(
    events, holds
):
    lifecycle = stages.Lifecycle({"test:things": ThingsPlugin()})
    assert lifecycle.may_hold_resources({"events": events}) is holds
