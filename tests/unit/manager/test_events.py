"""Running events through their stages (climate.manager.events) and the
runner that claims them (climate.manager.runner), on the real SQLite
database and a virtual clock.

Most tests drive the runner step by step (``at(moment)``); the recorder
plugin writes each hook call to ``record_file`` and misbehaves on request
through the lease's name (see tests/plugins/climate_test_plugins.py).
"""

import collections
import datetime
import threading
import time

import pytest

from climate import clock, exceptions, plugins
from climate.common import dates
from climate.db import api as db_api
from climate.manager import events, runner, service
from tests import helpers
from tests.unit.manager.conftest import (
    BEFORE_END,
    END,
    ET,
    RECORDER,
    SECOND,
    START,
    E,
    L,
    R,
    force_status,
    get,
    user,
)


def body(name="lease", start=START, end=END, count=1):
    return {
        "name": name,
        "start_date": start if isinstance(start, str) else helpers.wire(start),
        "end_date": helpers.wire(end),
        "reservations": [{"resource_type": RECORDER}] * count,
    }


def hooks(record_file, lease_id=None):
    return [
        r["hook"]
        for r in helpers.read_records(record_file)
        if lease_id is None or r["lease_id"] == lease_id
    ]


def reservation_statuses(lease):
    return {r["status"] for r in lease["reservations"]}


def claim(claimer, now=None, limit=10, timeout=10):
    """Claim what is due, as a manager named ``claimer`` would."""
    now = now or clock.now()
    stale_before = now - datetime.timedelta(seconds=timeout)
    rank = events.EventHandler({}).rank
    return db_api.events_claim_due(now, claimer, stale_before, limit, rank)


# Ranking ------------------------------------------------------------------


def _ev(event_type, lease_id, minute=0):
    return {
        "event_type": event_type,
        "lease_id": lease_id,
        "time": START + datetime.timedelta(minutes=minute),
    }


def test_rank_releasing_stages_first_then_by_time(handler):
    due = [
        _ev(ET.START_LEASE, "a", 0),
        _ev(ET.END_LEASE, "b", 5),
        _ev(ET.BEFORE_END_LEASE, "c", 9),
        _ev(ET.DELETE_LEASE, "d", 7),
        _ev(ET.END_LEASE, "e", 1),
    ]
    ordered = sorted(due, key=handler.rank)
    assert [(e["event_type"], e["lease_id"]) for e in ordered] == [
        (ET.END_LEASE, "e"),
        (ET.END_LEASE, "b"),
        (ET.DELETE_LEASE, "d"),
        (ET.START_LEASE, "a"),
        (ET.BEFORE_END_LEASE, "c"),
    ]


def test_rank_at_one_time_hands_over_before_the_rest(handler):
    due = [_ev(ET.BEFORE_END_LEASE, "a"), _ev(ET.START_LEASE, "a")]
    assert [e["event_type"] for e in sorted(due, key=handler.rank)] == [
        ET.START_LEASE,
        ET.BEFORE_END_LEASE,
    ]


# A lease's life -----------------------------------------------------------


def test_start_before_end_and_end_run_at_their_times(
    lease_manager, at, record_file
):
    lease = lease_manager.create(user(), body(count=2))
    assert at(START - SECOND) == 0
    assert get(lease["id"])["status"] == L.PENDING

    assert at(START) == 1
    active = get(lease["id"])
    assert active["status"] == L.ACTIVE
    assert active["status_reason"] is None
    assert reservation_statuses(active) == {R.ACTIVE}
    start = active["by_type"][ET.START_LEASE]
    assert start["status"] == E.DONE
    assert start["attempts"] == 1
    assert start["claimed_by"] == "runner-a"
    assert hooks(record_file) == ["reserve", "reserve", "on_start", "on_start"]

    assert at(BEFORE_END - SECOND) == 0
    assert at(BEFORE_END) == 1
    assert get(lease["id"])["status"] == L.ACTIVE
    assert hooks(record_file)[-2:] == ["before_end", "before_end"]

    assert at(END) == 1
    ended = get(lease["id"])
    assert ended["status"] == L.TERMINATED
    assert reservation_statuses(ended) == {R.DELETED}
    assert {e["status"] for e in ended["events"]} == {E.DONE}
    assert hooks(record_file)[-2:] == ["on_end", "on_end"]

    assert at(END + datetime.timedelta(days=365)) == 0


def test_lease_without_reservations_goes_through_its_states(lease_manager, at):
    lease = lease_manager.create(user(), body(count=0))
    at(START)
    assert get(lease["id"])["status"] == L.ACTIVE
    at(END)
    assert get(lease["id"])["status"] == L.TERMINATED


def test_manager_down_for_the_whole_window_ends_without_starting(
    lease_manager, at, record_file
):
    lease = lease_manager.create(user(), body())
    # After the window: start, before_end and end are all due.
    assert at(END + datetime.timedelta(hours=1)) == 3
    ended = get(lease["id"])
    assert ended["status"] == L.TERMINATED
    assert ended["status_reason"] is None
    assert {e["status"] for e in ended["events"]} == {E.DONE}
    assert reservation_statuses(ended) == {R.DELETED}
    # on_end runs (idempotent, harmless on what never started); on_start
    # and before_end never do.
    assert hooks(record_file) == ["reserve", "on_end"]


def test_a_short_lease_starts_then_runs_its_before_end(
    lease_manager, at, record_file
):
    # Shorter than minutes_before_end_lease: before_end is at the start.
    end = START + datetime.timedelta(minutes=10)
    lease = lease_manager.create(user(), body(end=end))
    assert at(START) == 2
    assert get(lease["id"])["status"] == L.ACTIVE
    assert hooks(record_file) == ["reserve", "on_start", "before_end"]


def test_back_to_back_leases_end_before_the_next_starts(
    lease_manager, at, record_file
):
    first = lease_manager.create(user(), body("first"))
    second = lease_manager.create(
        user(), body("second", start=END, end=END + datetime.timedelta(1))
    )
    at(START)
    at(BEFORE_END)
    assert at(END) == 2
    calls = [
        (r["hook"], r["lease_id"]) for r in helpers.read_records(record_file)
    ]
    assert calls[-2:] == [("on_end", first["id"]), ("on_start", second["id"])]
    assert get(first["id"])["status"] == L.TERMINATED
    assert get(second["id"])["status"] == L.ACTIVE


def test_an_event_of_an_unknown_type_is_done_without_hooks(
    lease_manager, at, record_file
):
    lease = lease_manager.create(user(), body())
    extra = db_api.event_create(
        {
            "lease_id": lease["id"],
            "event_type": "prepare_hosts",
            "time": START - datetime.timedelta(minutes=5),
            "status": E.UNDONE,
            "attempts": 0,
        }
    )
    assert at(START - SECOND) == 1
    got = get(lease["id"])
    assert got["by_type"]["prepare_hosts"]["status"] == E.DONE
    assert got["status"] == L.PENDING
    assert hooks(record_file) == ["reserve"]
    assert extra["id"] in {e["id"] for e in got["events"]}


def test_events_of_a_deleted_lease_never_run(lease_manager, at, record_file):
    lease = lease_manager.create(user(), body())
    lease_manager.delete(user(), lease["id"])
    assert at(END) == 0
    assert hooks(record_file) == ["reserve", "release"]


# Failures and retries -----------------------------------------------------


def test_a_failed_hook_is_retried_with_backoff_then_gives_up(
    lease_manager, at, config, record_file, virtual_clock
):
    config.config(
        event_max_attempts=3, event_retry_backoff=30, group="manager"
    )
    lease = lease_manager.create(user(), body("fail-on_start"))

    assert at(START) == 1
    waiting = get(lease["id"])
    start = waiting["by_type"][ET.START_LEASE]
    # Back to PENDING while it waits, so it can be changed or deleted.
    assert waiting["status"] == L.PENDING
    assert "on_start failed on purpose" in waiting["status_reason"]
    assert reservation_statuses(waiting) == {R.PENDING}
    assert start["status"] == E.UNDONE
    assert start["attempts"] == 1
    assert "on_start failed on purpose" in start["last_error"]
    assert start["retry_at"] == START + 30 * SECOND
    # Not due again before retry_at.
    assert at(start["retry_at"] - SECOND) == 0
    assert (
        db_api.event_next_due_time(datetime.timedelta(0))
        == (start["retry_at"])
    )

    assert at(start["retry_at"]) == 1
    start = get(lease["id"])["by_type"][ET.START_LEASE]
    assert start["attempts"] == 2
    assert start["status"] == E.UNDONE
    # The second wait is twice as long.
    assert start["retry_at"] == dates.utcnow() + 60 * SECOND

    assert at(start["retry_at"]) == 1
    failed = get(lease["id"])
    start = failed["by_type"][ET.START_LEASE]
    assert start["status"] == E.ERROR
    assert start["attempts"] == 3
    assert failed["status"] == L.ERROR
    assert "on_start failed on purpose" in failed["status_reason"]
    assert "after 3 attempts" in failed["status_reason"]
    assert reservation_statuses(failed) == {R.ERROR}
    assert hooks(record_file) == ["reserve"] + ["on_start"] * 3
    # An ERROR event is never due again.
    assert at(virtual_clock.now() + datetime.timedelta(hours=1)) == 0


@pytest.mark.parametrize(
    "hook,event_type,waiting_status",
    [
        ("on_start", ET.START_LEASE, L.PENDING),
        ("on_end", ET.END_LEASE, L.TERMINATING),
    ],
)
def test_a_failing_start_or_end_puts_the_lease_in_error(
    lease_manager, at, config, record_file, hook, event_type, waiting_status
):
    config.config(event_max_attempts=2, group="manager")
    lease = lease_manager.create(user(), body(f"fail-{hook}"))
    due = get(lease["id"])["by_type"][event_type]["time"]
    for now in (START, BEFORE_END):
        if now < due:
            at(now)
    assert at(due) == 1
    waiting = get(lease["id"])
    # An end waiting for its retry stays TERMINATING: the lease can no
    # longer be changed.
    assert waiting["status"] == waiting_status
    retry = waiting["by_type"][event_type]
    assert retry["status"] == E.UNDONE
    assert retry["retry_at"] is not None

    assert at(retry["retry_at"]) == 1
    failed = get(lease["id"])
    assert failed["status"] == L.ERROR
    assert f"{event_type} failed" in failed["status_reason"]
    assert failed["by_type"][event_type]["status"] == E.ERROR
    assert failed["by_type"][event_type]["attempts"] == 2
    assert reservation_statuses(failed) == {R.ERROR}
    assert hooks(record_file).count(hook) == 2


def test_a_failing_before_end_degrades_a_working_lease(
    lease_manager, at, config, record_file
):
    config.config(event_max_attempts=2, group="manager")
    lease = lease_manager.create(user(), body("fail-before_end"))
    at(START)
    at(BEFORE_END)
    retry_at = get(lease["id"])["by_type"][ET.BEFORE_END_LEASE]["retry_at"]
    at(retry_at)
    lease = get(lease["id"])
    assert lease["status"] == L.ACTIVE
    assert lease["degraded"] is True
    assert "before_end_lease failed" in lease["status_reason"]
    assert reservation_statuses(lease) == {R.ACTIVE}
    # It still ends.
    at(END)
    assert get(lease["id"])["status"] == L.TERMINATED


def test_a_lease_in_error_still_ends(lease_manager, at, config, record_file):
    config.config(event_max_attempts=1, group="manager")
    lease = lease_manager.create(user(), body("fail-on_start"))
    at(START)
    assert get(lease["id"])["status"] == L.ERROR
    # Its end still takes back whatever the failed start handed over.
    at(END)
    ended = get(lease["id"])
    assert hooks(record_file)[-1] == "on_end"
    assert ended["by_type"][ET.END_LEASE]["status"] == E.DONE
    # Over now; why it failed is still said.
    assert ended["status"] == L.TERMINATED
    assert "on_start failed on purpose" in ended["status_reason"]
    assert reservation_statuses(ended) == {R.DELETED}


@pytest.mark.parametrize(
    "hook,event_type,done_status",
    [
        ("on_start", ET.START_LEASE, L.ACTIVE),
        ("on_end", ET.END_LEASE, L.TERMINATED),
    ],
)
def test_a_flaky_hook_succeeds_on_retry(
    lease_manager, at, record_file, hook, event_type, done_status
):
    lease = lease_manager.create(user(), body(f"flaky-{hook}"))
    due = get(lease["id"])["by_type"][event_type]["time"]
    if due > START:
        at(START)
        at(BEFORE_END)
    assert at(due) == 1
    waiting = get(lease["id"])
    assert waiting["status_reason"] is not None
    retry_at = waiting["by_type"][event_type]["retry_at"]
    assert at(retry_at) == 1
    done = get(lease["id"])
    assert done["status"] == done_status
    assert done["status_reason"] is None
    event = done["by_type"][event_type]
    assert event["status"] == E.DONE
    assert event["attempts"] == 2
    assert hooks(record_file).count(hook) == 2


def test_a_hook_past_its_timeout_fails_the_attempt(
    lease_manager, at, config, record_file
):
    config.config(hook_timeout=1, group="manager")
    lease = lease_manager.create(user(), body("slow-on_start-3000"))
    began = time.monotonic()
    assert at(START) == 1
    assert time.monotonic() - began < 2.5
    waiting = get(lease["id"])
    start = waiting["by_type"][ET.START_LEASE]
    assert start["status"] == E.UNDONE
    assert "did not finish within 1 seconds" in start["last_error"]
    assert waiting["status"] == L.PENDING


# Claims: fencing, take-over, one event of a lease at a time ---------------


def _die_in_on_start(lease_id, claimer="dead"):
    """A manager claims the start, takes STARTING, runs part of on_start,
    then dies."""
    [claimed] = claim(claimer)
    assert claimed["lease_id"] == lease_id
    force_status(lease_id, L.STARTING)
    return claimed


def test_every_claim_raises_the_fencing_token(lease_manager, virtual_clock):
    lease = lease_manager.create(user(), body())
    virtual_clock.set(START)
    [first] = claim("a")
    assert first["claim_token"] == 1
    assert first["claimed_by"] == "a"
    virtual_clock.advance(11)
    [second] = claim("b")
    assert second["id"] == first["id"]
    assert second["claim_token"] == 2
    assert second["attempts"] == 2
    assert get(lease["id"])["by_type"][ET.START_LEASE]["claimed_by"] == "b"


def test_a_stale_claim_is_taken_over_within_the_claim_timeout(
    lease_manager, event_runner, virtual_clock, config, record_file
):
    config.config(claim_timeout=10, group="manager")
    lease = lease_manager.create(user(), body())
    virtual_clock.set(START)
    claimed = _die_in_on_start(lease["id"])
    # Claimed 9 s ago: the dead manager may still be working on it.
    virtual_clock.advance(9)
    assert event_runner.run_pending() == 0
    virtual_clock.advance(2)
    assert event_runner.run_pending() == 1
    active = get(lease["id"])
    # The new claimer resumed the start the dead one left STARTING.
    assert active["status"] == L.ACTIVE
    start = active["by_type"][ET.START_LEASE]
    assert start["id"] == claimed["id"]
    assert start["status"] == E.DONE
    assert start["claimed_by"] == "runner-a"
    assert start["attempts"] == 2
    assert hooks(record_file) == ["reserve", "on_start"]


def test_a_runner_whose_claim_was_taken_over_records_nothing(
    lease_manager, handler, event_runner, virtual_clock, config
):
    config.config(claim_timeout=10, group="manager")
    lease = lease_manager.create(user(), body())
    virtual_clock.set(START)
    zombie = _die_in_on_start(lease["id"])
    virtual_clock.advance(20)
    event_runner.run_pending()
    before = get(lease["id"])
    assert before["status"] == L.ACTIVE

    # The first manager wakes up and reports: nothing changes.
    assert not db_api.event_finish(zombie, E.DONE)
    assert not db_api.event_finish(zombie, E.UNDONE)
    assert handler.process(zombie) == events.LOST
    assert get(lease["id"]) == before


def test_a_runner_cannot_record_over_a_claim_taken_over_still_running(
    lease_manager, virtual_clock
):
    lease = lease_manager.create(user(), body())
    virtual_clock.set(START)
    [zombie] = claim("dead")
    virtual_clock.advance(20)
    [taken] = claim("b")
    assert taken["id"] == zombie["id"]
    assert not db_api.event_finish(zombie, E.DONE)
    assert not db_api.event_finish(zombie, E.ERROR)
    start = get(lease["id"])["by_type"][ET.START_LEASE]
    assert (start["status"], start["claimed_by"]) == (E.IN_PROGRESS, "b")
    assert db_api.event_finish(taken, E.DONE)


def test_a_start_left_half_done_is_undone_by_the_end(
    lease_manager, event_runner, virtual_clock, record_file
):
    # The manager died in on_start and nothing ran until after the end:
    # the lease is STARTING, its start is stale and its end due.
    lease = lease_manager.create(user(), body())
    virtual_clock.set(START)
    _die_in_on_start(lease["id"])
    virtual_clock.set(END + datetime.timedelta(hours=1))
    event_runner.run_pending()
    # The end waited for the start, which found the lease over and gave
    # it back to the end; one second later the end runs.
    virtual_clock.advance(1)
    event_runner.run_pending()
    ended = get(lease["id"])
    assert hooks(record_file) == ["reserve", "on_end"]
    assert ended["status"] == L.TERMINATED
    assert reservation_statuses(ended) == {R.DELETED}
    assert {e["status"] for e in ended["events"]} == {E.DONE}


def test_one_event_of_a_lease_at_a_time(lease_manager, virtual_clock):
    short = START + datetime.timedelta(minutes=10)
    lease = lease_manager.create(user(), body(end=short))
    virtual_clock.set(START)
    # start and before_end are both due: only the start is claimed.
    [first] = claim("a")
    assert first["event_type"] == ET.START_LEASE
    assert claim("b") == []
    assert db_api.event_finish(first, E.DONE)
    [second] = claim("b")
    assert second["event_type"] == ET.BEFORE_END_LEASE
    assert second["lease_id"] == lease["id"]


def test_a_manager_claims_only_what_its_workers_can_start(
    lease_manager, virtual_clock
):
    for index in range(5):
        lease_manager.create(user(), body(f"lease-{index}"))
    virtual_clock.set(START)
    assert len(claim("a", limit=2)) == 2
    assert len(claim("b", limit=10)) == 3
    assert claim("c") == []


def test_a_start_waits_for_the_end_of_the_lease_before_it(
    lease_manager, event_runner, virtual_clock, record_file
):
    first = lease_manager.create(user(), body("first"))
    second = lease_manager.create(
        user(),
        body(
            f"after-{first['id']}",
            start=END,
            end=END + datetime.timedelta(days=1),
        ),
    )
    virtual_clock.set(BEFORE_END)
    event_runner.run_pending()
    virtual_clock.set(END)
    # The first lease's end is claimed by a manager still working on it.
    [ending] = claim("other", limit=1)
    assert ending["event_type"] == ET.END_LEASE
    force_status(first["id"], L.TERMINATING)
    assert event_runner.run_pending() == 1
    start = get(second["id"])["by_type"][ET.START_LEASE]
    # Put off: due again shortly, the attempt not counted.
    assert (start["status"], start["attempts"]) == (E.UNDONE, 0)
    assert "still give back" in start["last_error"]
    assert start["retry_at"] > END
    assert "on_start" not in hooks(record_file, second["id"])
    # The end finishes; the start goes on.
    assert db_api.event_finish(ending, E.DONE)
    virtual_clock.advance(1)
    assert event_runner.run_pending() == 1
    assert get(second["id"])["status"] == L.ACTIVE


def test_concurrent_runners_run_each_event_exactly_once(
    lease_manager, virtual_clock, record_file
):
    count = 12
    created = [
        lease_manager.create(
            user(),
            body(
                f"lease-{i}",
                start=START + i * SECOND,
                end=END + i * SECOND,
            ),
        )
        for i in range(count)
    ]
    runners = [
        runner.EventRunner(
            events.EventHandler(plugins.load(["test.recorder.plugin"])),
            f"manager-{i}",
            workers=2,
        )
        for i in range(4)
    ]

    def run_all(now):
        virtual_clock.set(now)
        barrier = threading.Barrier(len(runners))
        errors = []

        def work(each):
            try:
                barrier.wait(5)
                each.run_pending()
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(x,)) for x in runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []

    run_all(START + count * SECOND)
    assert all(get(x["id"])["status"] == L.ACTIVE for x in created)
    run_all(BEFORE_END + count * SECOND)
    run_all(END + count * SECOND)
    assert all(get(x["id"])["status"] == L.TERMINATED for x in created)

    calls = collections.Counter(
        (r["hook"], r["lease_id"]) for r in helpers.read_records(record_file)
    )
    expected = collections.Counter(
        (hook, x["id"])
        for x in created
        for hook in ("reserve", "on_start", "before_end", "on_end")
    )
    assert calls == expected
    for lease in created:
        assert {e["attempts"] for e in get(lease["id"])["events"]} == {1}


# A month on the virtual clock ---------------------------------------------


def test_a_month_of_leases_replays_in_seconds(
    lease_manager, event_runner, virtual_clock, record_file
):
    month = datetime.timedelta(days=30)
    began = time.monotonic()
    created = []
    for index in range(120):
        start = START + index * month / 120
        created.append(
            lease_manager.create(
                user(),
                body(
                    f"lease-{index}",
                    start=start,
                    end=start + datetime.timedelta(hours=5 + index % 48),
                ),
            )
        )
    passes = 0
    while True:
        next_due = db_api.event_next_due_time(datetime.timedelta(seconds=10))
        if next_due is None:
            break
        virtual_clock.set(max(next_due, virtual_clock.now()))
        event_runner.run_pending()
        passes += 1
    assert all(get(x["id"])["status"] == L.TERMINATED for x in created)
    assert len(hooks(record_file)) == 120 * 4
    assert passes >= 120
    assert time.monotonic() - began < 60


# The runner's threads -----------------------------------------------------


@pytest.fixture
def real_manager(database, config, record_file):
    config.config(
        plugins=["test.recorder.plugin"], poll_interval=30, group="manager"
    )
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


def _wait_status(lease_id, status, timeout):
    return helpers.wait_for(
        lambda: get(lease_id)["status"] == status,
        timeout=timeout,
        message=f"lease {status}",
    )


def test_a_now_lease_is_active_within_a_second(real_manager):
    # Let the runner reach its 30 s sleep before the lease exists.
    time.sleep(0.1)
    began = time.monotonic()
    lease = real_manager.leases.create(user(), body(start="now"))
    _wait_status(lease["id"], L.ACTIVE, timeout=1)
    assert time.monotonic() - began < 1


def test_a_lease_far_ahead_does_not_wake_the_runner(real_manager):
    time.sleep(0.1)
    wakes = []
    real_manager.runner._wake.set = lambda: wakes.append(1)
    real_manager.leases.create(user(), body())
    assert wakes == []
    real_manager.leases.create(user(), body("soon", start="now"))
    assert wakes == [1]


def test_a_slow_hook_delays_no_other_start(real_manager, record_file):
    slow = real_manager.leases.create(
        user(), body("slow-on_start-3000", start="now")
    )
    time.sleep(0.2)
    began = time.monotonic()
    quick = real_manager.leases.create(user(), body("quick", start="now"))
    _wait_status(quick["id"], L.ACTIVE, timeout=1)
    assert time.monotonic() - began < 1
    assert get(slow["id"])["status"] == L.STARTING
    _wait_status(slow["id"], L.ACTIVE, timeout=5)


def test_the_heartbeat_keeps_a_long_hook_from_being_taken_over(
    database, config, record_file
):
    config.config(
        plugins=["test.recorder.plugin"],
        claim_timeout=1,
        heartbeat_interval=0.2,
        group="manager",
    )
    manager = service.ManagerService()
    manager.start()
    try:
        lease = manager.leases.create(
            user(), body("slow-on_start-2500", start="now")
        )
        _wait_status(lease["id"], L.STARTING, timeout=2)
        time.sleep(1.5)
        # Past the claim timeout, yet renewed: nobody may take it.
        assert claim("thief", timeout=1) == []
        _wait_status(lease["id"], L.ACTIVE, timeout=5)
    finally:
        manager.stop()
    start = get(lease["id"])["by_type"][ET.START_LEASE]
    assert start["attempts"] == 1


def test_a_clean_stop_gives_claims_back(database, config, record_file):
    config.config(plugins=["test.recorder.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    lease = manager.leases.create(
        user(), body("slow-on_start-3000", start="now")
    )
    _wait_status(lease["id"], L.STARTING, timeout=2)
    manager.runner.stop(timeout=0.2)
    manager.stop()
    start = get(lease["id"])["by_type"][ET.START_LEASE]
    # Due again at once, for any manager, the attempt not counted.
    assert (start["status"], start["claimed_by"]) == (E.UNDONE, None)
    assert start["attempts"] == 0


def test_the_runner_sleeps_only_until_the_next_due_event(
    database, config, record_file, loaded_plugins
):
    from climate.manager import leases

    config.config(poll_interval=30, group="manager")
    lease_manager = leases.LeaseManager(loaded_plugins)
    soon = dates.utcnow() + SECOND
    lease = lease_manager.create(user(), body(start=soon.isoformat()))
    each = runner.EventRunner(events.EventHandler(loaded_plugins), "sleeper")
    each.start()
    try:
        # Nobody wakes the runner: it wakes itself when the start is due.
        _wait_status(lease["id"], L.ACTIVE, timeout=3)
    finally:
        each.stop()
    assert get(lease["id"])["by_type"][ET.START_LEASE]["time"] == soon


def test_stop_ends_the_threads_at_once(database, config, handler):
    config.config(poll_interval=30, group="manager")
    each = runner.EventRunner(handler, "stopper")
    before = set(threading.enumerate())
    each.start()
    started = set(threading.enumerate()) - before
    assert sorted(t.name for t in started) == [
        "climate-event-heartbeat",
        "climate-event-runner",
    ]
    time.sleep(0.05)
    began = time.monotonic()
    each.stop()
    assert time.monotonic() - began < 1
    assert not any(thread.is_alive() for thread in started)


def test_a_failure_to_record_an_outcome_leaves_the_claim_to_go_stale(
    lease_manager, event_runner, handler, virtual_clock, monkeypatch
):
    first = lease_manager.create(user(), body(name="first"))
    second = lease_manager.create(user(), body(name="second"))
    finish = handler._finish
    broken = []

    def finish_failing_once(event, stage, lease):
        # Fault injection: the database goes away while the first outcome
        # is recorded.
        if not broken:
            broken.append(event["lease_id"])
            raise exceptions.ClimateException("database went away")
        return finish(event, stage, lease)

    monkeypatch.setattr(handler, "_finish", finish_failing_once)
    virtual_clock.set(START)
    assert event_runner.run_pending() == 2
    statuses = {get(first["id"])["status"], get(second["id"])["status"]}
    assert statuses == {L.STARTING, L.ACTIVE}
    # The unrecorded start is no longer renewed; once its claim is stale
    # it runs again (on_start is idempotent) and the lease starts.
    stuck = get(broken[0])["by_type"][ET.START_LEASE]
    assert stuck["status"] == E.IN_PROGRESS
    virtual_clock.advance(11)
    event_runner.run_pending()
    assert get(broken[0])["status"] == L.ACTIVE
