"""Best-effort leases: queued at once, placed by the scheduler's pass
through the same admission as advance leases, FCFS with backfilling.

The physical:host plugin on the real SQLite database, a virtual clock,
passes run step by step (``QueueScheduler.run_pass``); the last tests run
the manager service's own scheduler thread.
"""

import datetime

import pytest

from climate import clock, context, exceptions, plugins, states
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.enforcement.filters import max_lease_duration, project_limits
from climate.manager import events, leases, queue, runner
from climate.queue import orders
from tests import helpers

L = states.LeaseStatus
T0 = datetime.datetime(2035, 3, 1, 8, 0)
HOUR = datetime.timedelta(hours=1)
SECOND = datetime.timedelta(seconds=1)
HOSTS = "physical:host"


def user(project_id="p1"):
    return context.RequestContext(
        user_id="u1", project_id=project_id, overwrite=False
    )


def wire(moment):
    return moment.strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def host_plugins(database, config):
    loaded = plugins.load(["physical.host.plugin"])
    # No cleaning gap: windows meet exactly, which keeps the sums simple.
    config.config(cleaning_time=0, group="physical:host")
    with clock.use(clock.VirtualClock(T0)):
        yield loaded


@pytest.fixture
def lease_manager(host_plugins):
    each = runner.EventRunner(events.EventHandler(host_plugins), "tests")
    return leases.LeaseManager(
        host_plugins, on_change=lambda at: each.run_pending()
    )


@pytest.fixture
def hosts(host_plugins):
    inventory = host_plugins[HOSTS].inventory
    return [inventory.create({"name": f"h{i}"}) for i in range(4)]


def scheduler(lease_manager, host_plugins, backfilling=True, order=None):
    return queue.QueueScheduler(
        lease_manager,
        host_plugins,
        order=order or orders.FirstComeFirstServed(),
        backfilling=backfilling,
    )


def advance(lease_manager, name, count, start, end):
    return lease_manager.create(
        user(),
        {
            "name": name,
            "start_date": wire(start),
            "end_date": wire(end),
            "reservations": [
                {"resource_type": HOSTS, "min": count, "max": count}
            ],
        },
    )


_arrivals = iter(range(1, 10**6))


def best_effort(lease_manager, name, count, duration, **extra):
    """Queue a lease; each arrives a second after the one before (the
    clock stands still, and arrival order is what FCFS reads)."""
    lease = lease_manager.create(
        user(),
        {
            "name": name,
            "kind": "best_effort",
            "duration": duration,
            "reservations": [
                {"resource_type": HOSTS, "min": count, "max": count}
            ],
            **extra,
        },
    )
    arrived = T0 - datetime.timedelta(hours=1) + next(_arrivals) * SECOND
    db_api.lease_update(lease["id"], {"created_at": arrived})
    return lease


def status(lease):
    return db_api.lease_get(lease["id"])["status"]


def test_a_best_effort_lease_is_queued_at_once(lease_manager, hosts):
    lease = best_effort(lease_manager, "be", 2, "4h")
    assert lease["status"] == L.QUEUED
    assert lease["kind"] == "best_effort"
    assert lease["duration"] == 4 * 3600
    assert lease["reservations"] == [] and lease["events"] == []
    assert db_api.lease_get(lease["id"])["earliest_start"] == T0


def test_the_pass_places_what_fits_through_admission(
    lease_manager, host_plugins, hosts
):
    lease = best_effort(lease_manager, "be", 3, "4h")
    placed = scheduler(lease_manager, host_plugins).run_pass()
    assert [p["id"] for p in placed] == [lease["id"]]
    placed = db_api.lease_get(lease["id"])
    assert placed["status"] in (L.PENDING, L.ACTIVE)
    assert (placed["start_date"], placed["end_date"]) == (T0, T0 + 4 * HOUR)
    assert len(placed["reservations"]) == 1
    assert {e["event_type"] for e in placed["events"]} >= {
        "start_lease",
        "end_lease",
    }
    # Placed now, the one host left cannot hold an advance lease of two.
    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        advance(lease_manager, "adv", 2, T0 + HOUR, T0 + 2 * HOUR)
    assert scheduler(lease_manager, host_plugins).run_pass() == []


def test_a_second_scheduler_never_places_a_lease_twice(
    lease_manager, host_plugins, hosts
):
    lease = best_effort(lease_manager, "be", 4, "1h")
    first = scheduler(lease_manager, host_plugins)
    second = scheduler(lease_manager, host_plugins)
    assert len(first.run_pass()) == 1
    assert second.run_pass() == []
    assert lease_manager.place(lease["id"], T0) is None
    assert len(db_api.lease_get(lease["id"])["reservations"]) == 1


@pytest.mark.parametrize("backfilling", [True, False])
def test_fcfs_backfills_only_what_does_not_delay_the_head(
    lease_manager, host_plugins, hosts, backfilling
):
    # One host busy for 4 hours: the head, asking for all four, waits.
    advance(lease_manager, "adv", 1, T0, T0 + 4 * HOUR)
    head = best_effort(lease_manager, "head", 4, "1h")
    short = best_effort(lease_manager, "short", 2, "3h")
    long = best_effort(lease_manager, "long", 1, "6h")
    placed = scheduler(lease_manager, host_plugins, backfilling).run_pass()
    if backfilling:
        # "short" ends before the head can start; "long" would delay it.
        assert [p["name"] for p in placed] == ["short"]
        assert status(short) in (L.PENDING, L.ACTIVE)
    else:
        assert placed == []
        assert status(short) == L.QUEUED
    assert status(head) == status(long) == L.QUEUED
    waiting = db_api.lease_get(head["id"])
    assert waiting["queue_position"] == 1
    assert waiting["earliest_start"] == T0 + 4 * HOUR
    assert db_api.lease_get(long["id"])["queue_position"] == (
        2 if backfilling else 3
    )
    # At the head's earliest start the head is placed first.
    with clock.use(clock.VirtualClock(T0 + 4 * HOUR)):
        placed = scheduler(lease_manager, host_plugins, backfilling).run_pass()
    assert placed[0]["name"] == "head"
    assert placed[0]["start_date"] == T0 + 4 * HOUR


def test_shortest_first_tries_the_shortest_lease_first(
    lease_manager, host_plugins, hosts
):
    advance(lease_manager, "adv", 4, T0, T0 + 2 * HOUR)
    best_effort(lease_manager, "long", 4, "5h")
    best_effort(lease_manager, "short", 4, "1h")
    with clock.use(clock.VirtualClock(T0 + 2 * HOUR)):
        placed = scheduler(
            lease_manager, host_plugins, order=orders.ShortestFirst()
        ).run_pass()
    assert [p["name"] for p in placed] == ["short"]


def test_not_before_is_the_earliest_start(lease_manager, host_plugins, hosts):
    lease = best_effort(
        lease_manager, "later", 1, "2h", start_date=wire(T0 + 10 * HOUR)
    )
    [placed] = scheduler(lease_manager, host_plugins).run_pass()
    assert placed["id"] == lease["id"]
    assert placed["start_date"] == T0 + 10 * HOUR


@pytest.mark.parametrize(
    "values,code,words",
    [
        ({"end_date": "2035-03-02 10:00"}, 400, "has no end_date"),
        ({"duration": None}, 400, "needs a duration"),
        ({"duration": "soon"}, 400, "Invalid duration"),
        ({"duration": "30d"}, 400, "more than the maximum"),
        ({"kind": "whenever"}, 400, "unknown kind 'whenever'"),
        ({"requeue": "yes"}, 400, "requeue must be a boolean"),
    ],
)
def test_bad_best_effort_requests_are_refused(
    lease_manager, hosts, config, values, code, words
):
    config.config(max_lease_duration=7 * 24 * 60, group="manager")
    body = {
        "name": "bad",
        "kind": "best_effort",
        "duration": "4h",
        "reservations": [{"resource_type": HOSTS, "min": 1, "max": 1}],
        **values,
    }
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(exceptions.ClimateException) as info:
        lease_manager.create(user(), body)
    assert info.value.code == code
    assert words in info.value.message


def test_malformed_reservations_are_refused_before_queueing(
    lease_manager, hosts
):
    with pytest.raises(exceptions.Invalid):
        lease_manager.create(
            user(),
            {
                "name": "bad",
                "kind": "best_effort",
                "duration": "1h",
                "reservations": [
                    {"resource_type": HOSTS, "min": "two", "max": 1}
                ],
            },
        )
    assert db_api.leases_queued() == []


def test_a_lease_kind_cannot_change(lease_manager, host_plugins, hosts):
    adv = advance(lease_manager, "adv", 1, T0 + HOUR, T0 + 2 * HOUR)
    with pytest.raises(exceptions.InvalidState) as info:
        lease_manager.update(user(), adv["id"], {"kind": "best_effort"})
    assert info.value.code == 409
    assert "kind cannot become best_effort" in info.value.message
    with pytest.raises(exceptions.InvalidInput):
        lease_manager.update(user(), adv["id"], {"kind": "bogus"})
    queued = best_effort(lease_manager, "be", 4, "1h")
    with pytest.raises(exceptions.InvalidState) as info:
        lease_manager.update(user(), queued["id"], {"prolong_for": "1h"})
    assert "QUEUED" in info.value.message
    renamed = lease_manager.update(user(), queued["id"], {"name": "be2"})
    assert (renamed["name"], renamed["status"]) == ("be2", L.QUEUED)


def test_an_advance_lease_has_no_duration(lease_manager, hosts):
    with pytest.raises(exceptions.InvalidInput) as info:
        lease_manager.create(
            user(),
            {
                "name": "adv",
                "start_date": wire(T0 + HOUR),
                "end_date": wire(T0 + 2 * HOUR),
                "duration": "1h",
            },
        )
    assert "duration is for best-effort leases" in info.value.message


def test_a_queued_lease_is_deleted_at_once(lease_manager, hosts):
    lease = best_effort(lease_manager, "be", 1, "1h")
    assert lease_manager.delete(user(), lease["id"]) is None
    assert db_api.leases_queued() == []


def test_capacity_freed_places_the_queue_within_a_second(database, config):
    """The manager service's own scheduler thread, on the real clock: a
    pass every minute only, yet the delete of the lease holding every
    host places the waiting lease at once."""
    from climate.manager import service

    config.config(plugins=["physical.host.plugin"], group="manager")
    config.config(interval=60, group="queue")
    manager = service.ManagerService()
    config.config(cleaning_time=0, group="physical:host")
    manager.start()
    try:
        inventory = manager.plugins[HOSTS].inventory
        inventory.create({"name": "only"})
        now = helpers.utcnow()
        blocker = advance(
            manager.leases,
            "blocker",
            1,
            now + datetime.timedelta(minutes=1),
            now + datetime.timedelta(days=1),
        )
        waiting = best_effort(manager.leases, "waiting", 1, "2h")

        def queued_with_estimate():
            lease = db_api.lease_get(waiting["id"])
            return lease["queue_position"] == 1 and lease

        helpers.wait_for(queued_with_estimate, 5, message="queue noted")
        manager.leases.delete(user(), blocker["id"])
        helpers.wait_for(
            lambda: status(waiting) != L.QUEUED,
            1.0,
            message="placed within a second",
        )
    finally:
        manager.stop()


# Preemption -------------------------------------------------------------


def preemptible(lease_manager, name, count, start, end, **extra):
    return lease_manager.create(
        user(),
        {
            "name": name,
            "kind": "preemptible",
            "start_date": wire(start),
            "end_date": wire(end),
            "reservations": [
                {"resource_type": HOSTS, "min": count, "max": count}
            ],
            **extra,
        },
    )


def test_an_advance_lease_preempts_what_only_preemptible_leases_hold(
    lease_manager, hosts
):
    victim = preemptible(lease_manager, "spot", 4, T0, T0 + 10 * HOUR)
    assert victim["kind"] == "preemptible"
    granted = advance(lease_manager, "adv", 2, T0 + 4 * HOUR, T0 + 6 * HOUR)
    assert granted["status"] == L.PENDING
    after = db_api.lease_get(victim["id"])
    # It ends where the advance lease's hold begins, with notice before.
    assert after["end_date"] == T0 + 4 * HOUR
    assert after["before_end_date"] == T0 + 4 * HOUR - 15 * 60 * SECOND
    assert after["status_reason"].startswith("preempted")
    times = {e["event_type"]: e["time"] for e in after["events"]}
    assert times["end_lease"] == T0 + 4 * HOUR
    assert times["before_end_lease"] == T0 + 4 * HOUR - 15 * 60 * SECOND


def test_other_obstacles_keep_the_refusal_and_the_preemptible_lease(
    lease_manager, hosts
):
    advance(lease_manager, "adv1", 3, T0, T0 + 10 * HOUR)
    victim = preemptible(lease_manager, "spot", 1, T0, T0 + 10 * HOUR)
    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        advance(lease_manager, "adv2", 2, T0 + HOUR, T0 + 2 * HOUR)
    after = db_api.lease_get(victim["id"])
    assert after["end_date"] == T0 + 10 * HOUR and not after["status_reason"]


def test_a_preempted_lease_that_asks_is_queued_again(lease_manager, hosts):
    victim = preemptible(
        lease_manager, "spot", 4, T0, T0 + 3 * HOUR, requeue=True
    )
    advance(lease_manager, "adv", 4, T0 + HOUR, T0 + 2 * HOUR)
    [requeued] = db_api.leases_queued()
    assert requeued["name"].startswith("spot-requeued-")
    assert requeued["duration"] == 3 * 3600
    assert requeued["not_before"] == T0 + HOUR
    assert db_api.lease_get(victim["id"])["end_date"] == T0 + HOUR


def test_a_preemptible_lease_not_started_by_then_is_withdrawn(
    lease_manager, hosts
):
    victim = preemptible(
        lease_manager, "spot", 4, T0 + 2 * HOUR, T0 + 3 * HOUR
    )
    advance(lease_manager, "adv", 1, T0 + HOUR, T0 + 4 * HOUR)
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_get(victim["id"])
    assert db_api.leases_queued() == []


def test_the_none_policy_preempts_nothing(host_plugins, hosts):
    from climate.queue import preemption

    lease_manager = leases.LeaseManager(
        host_plugins, preemption=preemption.NoPreemption()
    )
    preemptible(lease_manager, "spot", 4, T0, T0 + 10 * HOUR)
    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        advance(lease_manager, "adv", 1, T0 + HOUR, T0 + 2 * HOUR)


def test_a_preemptible_lease_beyond_the_hosts_is_refused_at_once(
    lease_manager, hosts
):
    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        preemptible(lease_manager, "big", 5, T0 + HOUR, T0 + 2 * HOUR)
    assert info.value.code == 409


def test_requeue_is_for_leases_that_may_be_preempted(lease_manager, hosts):
    with pytest.raises(exceptions.InvalidInput) as info:
        advance_values = {
            "name": "adv",
            "start_date": wire(T0 + HOUR),
            "end_date": wire(T0 + 2 * HOUR),
            "requeue": True,
        }
        lease_manager.create(user(), advance_values)
    assert "requeue is for leases that may be preempted" in info.value.message


def test_an_ended_lease_wakes_the_queue(host_plugins, hosts):
    woken = []
    each = runner.EventRunner(
        events.EventHandler(host_plugins, on_free=lambda: woken.append(1)),
        "tests",
    )
    lease_manager = leases.LeaseManager(host_plugins)
    advance(lease_manager, "adv", 1, T0 + HOUR, T0 + 2 * HOUR)
    with clock.use(clock.VirtualClock(T0 + HOUR)):
        each.run_pending()
    assert woken == []  # a start frees nothing
    with clock.use(clock.VirtualClock(T0 + 2 * HOUR)):
        each.run_pending()
    assert woken


# Usage limits, the booking horizon and updates of a queued lease -----------


class Notes:
    """Records the notifications the manager sends (in process)."""

    def __init__(self):
        self.sent = []

    def lease(self, ctx, event_type, lease):
        self.sent.append((event_type, lease["id"], lease["status"]))


def limited_manager(host_plugins, notifier=None):
    each = runner.EventRunner(events.EventHandler(host_plugins), "tests")
    return leases.LeaseManager(
        host_plugins,
        on_change=lambda at: each.run_pending(),
        enforcer=UsageEnforcer(
            [
                max_lease_duration.MaxLeaseDurationFilter(),
                project_limits.ProjectLimitsFilter(),
            ]
        ),
        notifier=notifier,
    )


def test_usage_limits_refuse_a_best_effort_lease_up_front(
    host_plugins, hosts, config
):
    config.config(max_lease_duration=3 * 60, group="enforcement")
    manager = limited_manager(host_plugins)
    with pytest.raises(exceptions.MaxLeaseDurationExceeded) as info:
        best_effort(manager, "long", 1, "4h")
    assert info.value.code == 403
    assert "last 4h, more than the 3h" in info.value.message
    assert db_api.leases_queued() == []
    # A limit that depends on the window waits for the placement: two
    # queued leases where the project may hold one at once are accepted.
    config.config(max_leases_per_project=1, group="enforcement")
    first = best_effort(manager, "one", 1, "2h")
    second = best_effort(manager, "two", 1, "2h")
    assert {lease["status"] for lease in (first, second)} == {L.QUEUED}


def test_a_lease_the_limits_refuse_at_placement_ends_with_the_reason(
    host_plugins, hosts, config
):
    notes = Notes()
    manager = limited_manager(host_plugins, notifier=notes)
    lease = best_effort(manager, "be", 4, "4h")
    waits = best_effort(manager, "waits", 1, "1h")
    # The operator lowers the limit while it waits.
    config.config(max_lease_duration=3 * 60, group="enforcement")
    [placed] = scheduler(manager, host_plugins).run_pass()
    assert placed["id"] == waits["id"]
    ended = db_api.lease_get(lease["id"])
    assert ended["status"] == L.TERMINATED
    assert ended["status_reason"].startswith(
        "refused by the usage limits at placement: The lease would last 4h"
    )
    assert (ended["queue_position"], ended["reservations"]) == (None, [])
    assert ("lease.refused", lease["id"], L.TERMINATED) in notes.sent
    assert [q["id"] for q in db_api.leases_queued()] == []
    # Nothing of it is held: the other three hosts are free for 3h.
    advance(manager, "adv", 3, T0, T0 + 3 * HOUR)
    # A later pass leaves it alone; it may be deleted.
    assert scheduler(manager, host_plugins).run_pass() == []
    assert manager.delete(user(), lease["id"]) is None


def test_a_lease_ending_beyond_the_booking_horizon_is_not_queued(
    lease_manager, hosts, config
):
    config.config(booking_horizon=2, group="manager")
    with pytest.raises(exceptions.InvalidPeriod) as info:
        best_effort(
            lease_manager, "far", 1, "2h", start_date=wire(T0 + 47 * HOUR)
        )
    assert info.value.code == 400
    assert "beyond the booking horizon of 2 days" in info.value.message
    with pytest.raises(exceptions.InvalidPeriod):
        best_effort(lease_manager, "long", 1, "49h")
    assert db_api.leases_queued() == []
    near = best_effort(
        lease_manager, "near", 1, "2h", start_date=wire(T0 + 46 * HOUR)
    )
    assert near["status"] == L.QUEUED


def test_placement_never_goes_beyond_the_booking_horizon(
    lease_manager, host_plugins, hosts, config
):
    config.config(booking_horizon=2, group="manager")
    lease = best_effort(
        lease_manager, "far", 1, "2h", start_date=wire(T0 + 40 * HOUR)
    )
    # The operator shortens the horizon: the lease waits until its
    # window comes within it.
    config.config(booking_horizon=1, group="manager")
    assert scheduler(lease_manager, host_plugins).run_pass() == []
    assert status(lease) == L.QUEUED
    clock.get().advance(18 * HOUR)
    [placed] = scheduler(lease_manager, host_plugins).run_pass()
    assert placed["id"] == lease["id"]
    assert placed["start_date"] == T0 + 40 * HOUR


def test_a_queued_lease_changes_its_request_and_stays_queued(
    host_plugins, hosts, config
):
    manager = limited_manager(host_plugins)
    config.config(
        max_lease_duration=7 * 24 * 60, booking_horizon=365, group="manager"
    )
    advance(manager, "all", 4, T0, T0 + 10 * HOUR)
    lease = best_effort(manager, "be", 4, "4h")
    changed = manager.update(
        user(),
        lease["id"],
        {
            "duration": "2h",
            "start_date": wire(T0 + 12 * HOUR),
            "reservations": [{"resource_type": HOSTS, "min": 2, "max": 2}],
        },
    )
    assert changed["status"] == L.QUEUED
    assert changed["duration"] == 2 * 3600
    assert changed["not_before"] == T0 + 12 * HOUR
    assert (changed["start_date"], changed["end_date"]) == (
        T0 + 12 * HOUR,
        T0 + 14 * HOUR,
    )
    assert changed["earliest_start"] == T0 + 12 * HOUR
    # Checked as at queueing: each refusal leaves the lease as it was.
    for values, error, code, words in [
        ({"duration": "30d"}, exceptions.InvalidPeriod, 400, "maximum"),
        ({"duration": "soon"}, exceptions.InvalidInput, 400, "duration"),
        (
            {"start_date": wire(T0 + 400 * 24 * HOUR)},
            exceptions.InvalidPeriod,
            400,
            "booking horizon",
        ),
        (
            {"reservations": [{"resource_type": HOSTS, "min": "two"}]},
            exceptions.Invalid,
            400,
            "",
        ),
        (
            {"end_date": wire(T0 + 20 * HOUR)},
            exceptions.InvalidState,
            409,
            "this update also gives end_date",
        ),
    ]:
        with pytest.raises(error) as info:
            manager.update(user(), lease["id"], values)
        assert info.value.code == code
        assert words in info.value.message
    config.config(max_lease_duration=3 * 60, group="enforcement")
    with pytest.raises(exceptions.MaxLeaseDurationExceeded):
        manager.update(user(), lease["id"], {"duration": "4h"})
    assert db_api.lease_get(lease["id"])["duration"] == 2 * 3600
    # The kept earliest start is not re-judged as "in the past".
    clock.get().advance(13 * HOUR)
    kept = manager.update(user(), lease["id"], {"duration": "1h"})
    assert kept["not_before"] == T0 + 12 * HOUR
    [placed] = scheduler(manager, host_plugins).run_pass()
    assert placed["id"] == lease["id"]
    assert (placed["start_date"], placed["end_date"]) == (
        T0 + 13 * HOUR,
        T0 + 14 * HOUR,
    )
    assert len(placed["reservations"]) == 1
