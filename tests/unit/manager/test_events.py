"""The event loop (climate.manager.events) on the real SQLite database.

Most tests drive ``EventLoop.run_once`` with explicit ``now`` values on
leases in 2035; the recorder plugin writes each hook call to
``record_file``.
"""

import collections
import datetime
import threading
import time
import uuid

import pytest

from climate import context, plugins, states
from climate.common import dates
from climate.db import api as db_api
from climate.manager import events, leases, service
from tests import helpers

L = states.LeaseStatus
E = states.EventStatus
R = states.ReservationStatus
ET = states.EventType

START = datetime.datetime(2035, 1, 1, 12, 0)
END = datetime.datetime(2035, 1, 2, 12, 0)
BEFORE_END = END - datetime.timedelta(hours=1)
SECOND = datetime.timedelta(seconds=1)


def ctx():
    return context.RequestContext(
        user_id="u1", project_id="p1", overwrite=False
    )


def body(name="lease", start=START, end=END, count=1):
    return {
        "name": name,
        "start_date": start if isinstance(start, str) else helpers.wire(start),
        "end_date": helpers.wire(end),
        "reservations": [{"resource_type": "test:recorder"}] * count,
    }


@pytest.fixture
def loaded_plugins():
    return plugins.load(["test.recorder.plugin"])


@pytest.fixture
def lease_manager(database, record_file, loaded_plugins):
    return leases.LeaseManager(loaded_plugins)


@pytest.fixture
def handler(loaded_plugins):
    return events.EventHandler(loaded_plugins)


@pytest.fixture
def loop(database, handler):
    return events.EventLoop(handler, "loop-a")


def hooks(record_file, lease_id=None):
    return [
        r["hook"]
        for r in helpers.read_records(record_file)
        if lease_id is None or r["lease_id"] == lease_id
    ]


def get(lease_id):
    lease = db_api.lease_get(lease_id)
    lease["by_type"] = {e["event_type"]: e for e in lease["events"]}
    return lease


def reservation_statuses(lease):
    return {r["status"] for r in lease["reservations"]}


# run_order ----------------------------------------------------------------


def _ev(event_type, lease_id, minute=0):
    return {
        "id": str(uuid.uuid4()),
        "event_type": event_type,
        "lease_id": lease_id,
        "time": START + datetime.timedelta(minutes=minute),
    }


def _order(events_):
    return [(e["event_type"], e["lease_id"]) for e in events_]


def test_run_order_before_end_then_end_then_start():
    due = [
        _ev(ET.START_LEASE, "a", 0),
        _ev(ET.END_LEASE, "b", 5),
        _ev("prepare_hosts", "d", 0),
        _ev(ET.BEFORE_END_LEASE, "c", 9),
    ]
    assert _order(events.run_order(due)) == [
        (ET.BEFORE_END_LEASE, "c"),
        (ET.END_LEASE, "b"),
        ("prepare_hosts", "d"),
        (ET.START_LEASE, "a"),
    ]


def test_run_order_same_type_by_time():
    due = [
        _ev(ET.END_LEASE, "late", 9),
        _ev(ET.END_LEASE, "early", 1),
        _ev(ET.END_LEASE, "middle", 5),
    ]
    assert [e["lease_id"] for e in events.run_order(due)] == [
        "early",
        "middle",
        "late",
    ]


def test_run_order_a_starting_lease_has_its_before_end_after_its_start():
    # A very short lease: its start and before_end fall in one pass.
    due = [
        _ev(ET.BEFORE_END_LEASE, "short", 1),
        _ev(ET.START_LEASE, "short", 0),
        _ev(ET.BEFORE_END_LEASE, "other", 2),
        _ev(ET.END_LEASE, "ending", 0),
    ]
    assert _order(events.run_order(due)) == [
        (ET.BEFORE_END_LEASE, "other"),
        (ET.END_LEASE, "ending"),
        (ET.START_LEASE, "short"),
        (ET.BEFORE_END_LEASE, "short"),
    ]


def test_run_order_a_lease_whose_end_is_due_too_keeps_before_end_first():
    due = [
        _ev(ET.START_LEASE, "missed", 0),
        _ev(ET.END_LEASE, "missed", 2),
        _ev(ET.BEFORE_END_LEASE, "missed", 1),
    ]
    assert _order(events.run_order(due)) == [
        (ET.BEFORE_END_LEASE, "missed"),
        (ET.END_LEASE, "missed"),
        (ET.START_LEASE, "missed"),
    ]


def test_run_order_does_not_change_its_input():
    due = [_ev(ET.START_LEASE, "a"), _ev(ET.END_LEASE, "b")]
    copy = list(due)
    events.run_order(due)
    assert due == copy


# A lease's life -----------------------------------------------------------


def test_start_before_end_and_end_run_at_their_times(
    lease_manager, loop, record_file
):
    lease = lease_manager.create(ctx(), body(count=2))
    assert loop.run_once(now=START - SECOND) == 0
    assert get(lease["id"])["status"] == L.PENDING

    assert loop.run_once(now=START) == 1
    active = get(lease["id"])
    assert active["status"] == L.ACTIVE
    assert active["status_reason"] is None
    assert reservation_statuses(active) == {R.ACTIVE}
    start = active["by_type"][ET.START_LEASE]
    assert start["status"] == E.DONE
    assert start["attempts"] == 1
    assert start["claimed_by"] == "loop-a"
    assert hooks(record_file) == ["reserve", "reserve", "on_start", "on_start"]

    assert loop.run_once(now=BEFORE_END - SECOND) == 0
    assert loop.run_once(now=BEFORE_END) == 1
    assert get(lease["id"])["status"] == L.ACTIVE
    assert hooks(record_file)[-2:] == ["before_end", "before_end"]

    assert loop.run_once(now=END) == 1
    ended = get(lease["id"])
    assert ended["status"] == L.TERMINATED
    assert reservation_statuses(ended) == {R.DELETED}
    assert {e["status"] for e in ended["events"]} == {E.DONE}
    assert hooks(record_file)[-2:] == ["on_end", "on_end"]

    assert loop.run_once(now=END + datetime.timedelta(days=365)) == 0


def test_lease_without_reservations_goes_through_its_states(
    lease_manager, loop
):
    lease = lease_manager.create(ctx(), body(count=0))
    loop.run_once(now=START)
    assert get(lease["id"])["status"] == L.ACTIVE
    loop.run_once(now=END)
    assert get(lease["id"])["status"] == L.TERMINATED


def test_manager_down_for_the_whole_window_ends_without_starting(
    lease_manager, loop, record_file
):
    lease = lease_manager.create(ctx(), body())
    # The first pass after the window: start, before_end and end are due.
    assert loop.run_once(now=END + datetime.timedelta(hours=1)) == 3
    ended = get(lease["id"])
    assert ended["status"] == L.TERMINATED
    assert ended["status_reason"] is None
    assert {e["status"] for e in ended["events"]} == {E.DONE}
    assert reservation_statuses(ended) == {R.DELETED}
    # on_end runs (idempotent, harmless on what never started); on_start
    # and before_end never do.
    assert hooks(record_file) == ["reserve", "on_end"]


def test_a_short_lease_starts_then_runs_its_before_end(
    lease_manager, loop, record_file
):
    # Shorter than minutes_before_end_lease: before_end is at the start.
    end = START + datetime.timedelta(minutes=10)
    lease = lease_manager.create(ctx(), body(end=end))
    assert loop.run_once(now=START) == 2
    assert get(lease["id"])["status"] == L.ACTIVE
    assert hooks(record_file) == ["reserve", "on_start", "before_end"]


def test_back_to_back_leases_end_before_the_next_starts(
    lease_manager, loop, record_file
):
    first = lease_manager.create(ctx(), body("first"))
    second = lease_manager.create(
        ctx(), body("second", start=END, end=END + datetime.timedelta(1))
    )
    loop.run_once(now=START)
    loop.run_once(now=BEFORE_END)
    assert loop.run_once(now=END) == 2
    calls = [
        (r["hook"], r["lease_id"]) for r in helpers.read_records(record_file)
    ]
    assert calls[-2:] == [("on_end", first["id"]), ("on_start", second["id"])]
    assert get(first["id"])["status"] == L.TERMINATED
    assert get(second["id"])["status"] == L.ACTIVE


def test_an_event_of_an_unknown_type_is_done_without_hooks(
    lease_manager, loop, record_file
):
    lease = lease_manager.create(ctx(), body())
    extra = db_api.event_create(
        {
            "lease_id": lease["id"],
            "event_type": "prepare_hosts",
            "time": START - datetime.timedelta(minutes=5),
            "status": E.UNDONE,
            "attempts": 0,
        }
    )
    assert loop.run_once(now=START - SECOND) == 1
    got = get(lease["id"])
    assert got["by_type"]["prepare_hosts"]["status"] == E.DONE
    assert got["status"] == L.PENDING
    assert hooks(record_file) == ["reserve"]
    assert extra["id"] in {e["id"] for e in got["events"]}


def test_events_of_a_deleted_lease_never_run(lease_manager, loop, record_file):
    lease = lease_manager.create(ctx(), body())
    lease_manager.delete(ctx(), lease["id"])
    assert loop.run_once(now=END) == 0
    assert hooks(record_file) == ["reserve", "release"]


# Failures and retries -----------------------------------------------------


def test_a_failed_hook_is_retried_with_backoff_then_gives_up(
    lease_manager, loop, config, record_file
):
    config.config(
        event_max_attempts=3, event_retry_backoff=30, group="manager"
    )
    lease = lease_manager.create(ctx(), body("fail-on_start", start="now"))

    assert loop.run_once() == 1
    waiting = get(lease["id"])
    start = waiting["by_type"][ET.START_LEASE]
    # Back to PENDING while it waits, so it can be changed or deleted.
    assert waiting["status"] == L.PENDING
    assert "on_start failed on purpose" in waiting["status_reason"]
    assert reservation_statuses(waiting) == {R.PENDING}
    assert start["status"] == E.UNDONE
    assert start["attempts"] == 1
    assert "on_start failed on purpose" in start["last_error"]
    delay = (start["retry_at"] - dates.utcnow()).total_seconds()
    assert 28 <= delay <= 30
    # Not due again before retry_at.
    assert loop.run_once(now=start["retry_at"] - SECOND) == 0
    assert (
        db_api.event_next_due_time(datetime.timedelta(minutes=10))
        == (start["retry_at"])
    )

    assert loop.run_once(now=start["retry_at"]) == 1
    start = get(lease["id"])["by_type"][ET.START_LEASE]
    assert start["attempts"] == 2
    assert start["status"] == E.UNDONE
    # The second wait is twice as long.
    delay = (start["retry_at"] - dates.utcnow()).total_seconds()
    assert 58 <= delay <= 60

    assert loop.run_once(now=start["retry_at"]) == 1
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
    assert loop.run_once(now=dates.utcnow() + datetime.timedelta(1)) == 0


@pytest.mark.parametrize(
    "hook,event_type,waiting_status",
    [
        ("on_start", ET.START_LEASE, L.PENDING),
        ("before_end", ET.BEFORE_END_LEASE, L.ACTIVE),
        ("on_end", ET.END_LEASE, L.ACTIVE),
    ],
)
def test_each_hook_gives_up_after_event_max_attempts(
    lease_manager, loop, config, record_file, hook, event_type, waiting_status
):
    config.config(event_max_attempts=2, group="manager")
    lease = lease_manager.create(ctx(), body(f"fail-{hook}"))
    due = get(lease["id"])["by_type"][event_type]["time"]
    for now in (START, BEFORE_END):
        if now < due:
            loop.run_once(now=now)
    assert loop.run_once(now=due) == 1
    waiting = get(lease["id"])
    assert waiting["status"] == waiting_status
    retry = waiting["by_type"][event_type]
    assert retry["status"] == E.UNDONE
    assert retry["retry_at"] is not None

    assert loop.run_once(now=max(due, retry["retry_at"])) == 1
    failed = get(lease["id"])
    assert failed["status"] == L.ERROR
    assert f"{event_type} failed" in failed["status_reason"]
    assert failed["by_type"][event_type]["status"] == E.ERROR
    assert failed["by_type"][event_type]["attempts"] == 2
    assert reservation_statuses(failed) == {R.ERROR}
    assert hooks(record_file).count(hook) == 2


def test_a_lease_in_error_still_ends(lease_manager, loop, config, record_file):
    config.config(event_max_attempts=1, group="manager")
    lease = lease_manager.create(ctx(), body("fail-on_start"))
    loop.run_once(now=START)
    assert get(lease["id"])["status"] == L.ERROR
    # Its end still takes back whatever the failed start handed over.
    loop.run_once(now=END)
    ended = get(lease["id"])
    assert hooks(record_file)[-1] == "on_end"
    assert ended["by_type"][ET.END_LEASE]["status"] == E.DONE
    assert ended["status"] == L.ERROR


@pytest.mark.parametrize(
    "hook,event_type,done_status",
    [
        ("on_start", ET.START_LEASE, L.ACTIVE),
        ("on_end", ET.END_LEASE, L.TERMINATED),
    ],
)
def test_a_flaky_hook_succeeds_on_retry(
    lease_manager, loop, record_file, hook, event_type, done_status
):
    lease = lease_manager.create(ctx(), body(f"flaky-{hook}"))
    due = get(lease["id"])["by_type"][event_type]["time"]
    if due > START:
        loop.run_once(now=START)
        loop.run_once(now=BEFORE_END)
    assert loop.run_once(now=due) == 1
    waiting = get(lease["id"])
    assert waiting["status_reason"] is not None
    retry_at = waiting["by_type"][event_type]["retry_at"]
    assert loop.run_once(now=max(due, retry_at)) == 1
    done = get(lease["id"])
    assert done["status"] == done_status
    assert done["status_reason"] is None
    event = done["by_type"][event_type]
    assert event["status"] == E.DONE
    assert event["attempts"] == 2
    assert hooks(record_file).count(hook) == 2


# Claims by managers that died ---------------------------------------------


def _claim_and_die(handler, now, claimer="dead"):
    """A manager claims the due events and runs their hooks, then dies."""
    claimed = db_api.events_claim_due(now, claimer, now)
    for event in claimed:
        handler.run(event)
    return claimed


def test_a_stale_claim_is_taken_over_and_run(
    lease_manager, handler, config, record_file
):
    config.config(event_timeout=60, group="manager")
    lease = lease_manager.create(ctx(), body())
    [claimed] = _claim_and_die(handler, START)
    assert get(lease["id"])["status"] == L.STARTING

    other = events.EventLoop(handler, "loop-b")
    # Claimed 59 s ago: the dead manager may still be working on it.
    assert other.run_once(now=START + 59 * SECOND) == 0
    assert other.run_once(now=START + 61 * SECOND) == 1
    active = get(lease["id"])
    assert active["status"] == L.ACTIVE
    start = active["by_type"][ET.START_LEASE]
    assert start["status"] == E.DONE
    assert start["claimed_by"] == "loop-b"
    assert start["attempts"] == 2
    # The hook ran again: hooks are idempotent.
    assert hooks(record_file) == ["reserve", "on_start", "on_start"]
    assert claimed["id"] == start["id"]


def test_a_zombie_cannot_finish_a_reclaimed_event(
    lease_manager, handler, config
):
    config.config(event_timeout=60, group="manager")
    lease = lease_manager.create(ctx(), body())
    [zombie_event] = _claim_and_die(handler, START)
    events.EventLoop(handler, "loop-b").run_once(now=START + 2 * 60 * SECOND)
    before = get(lease["id"])
    assert before["status"] == L.ACTIVE

    # The first manager wakes up and reports its outcome: nothing changes.
    assert not db_api.event_finish(zombie_event["id"], "dead", E.DONE)
    handler.finish(zombie_event, "dead", True)
    handler.fail(zombie_event, "dead", RuntimeError("late failure"))
    assert get(lease["id"]) == before


def test_a_zombie_cannot_finish_an_event_reclaimed_but_still_running(
    lease_manager, handler, config
):
    config.config(event_timeout=60, group="manager")
    lease = lease_manager.create(ctx(), body())
    [zombie_event] = _claim_and_die(handler, START)
    now = START + 2 * 60 * SECOND
    [reclaimed] = db_api.events_claim_due(now, "loop-b", now - 60 * SECOND)
    assert reclaimed["id"] == zombie_event["id"]
    assert not db_api.event_finish(zombie_event["id"], "dead", E.DONE)
    assert not db_api.event_finish(zombie_event["id"], "dead", E.ERROR)
    start = get(lease["id"])["by_type"][ET.START_LEASE]
    assert (start["status"], start["claimed_by"]) == (E.IN_PROGRESS, "loop-b")
    assert db_api.event_finish(reclaimed["id"], "loop-b", E.DONE)


def test_a_start_left_half_done_is_ended_after_the_window(
    lease_manager, handler, config, record_file
):
    # The manager died in on_start and nothing ran until after the end: the
    # lease is STARTING, its start is stale and its end due, in one pass.
    config.config(event_timeout=60, group="manager")
    lease = lease_manager.create(ctx(), body())
    _claim_and_die(handler, START)
    loop = events.EventLoop(handler, "restarted")
    assert loop.run_once(now=END + datetime.timedelta(hours=1)) == 3
    ended = get(lease["id"])
    # What the dead manager's on_start handed over is taken back.
    assert hooks(record_file) == ["reserve", "on_start", "on_end"]
    assert ended["status"] == L.TERMINATED
    assert reservation_statuses(ended) == {R.DELETED}
    assert {e["status"] for e in ended["events"]} == {E.DONE}


# Several managers ---------------------------------------------------------


def test_concurrent_loops_run_each_event_exactly_once(
    lease_manager, loaded_plugins, record_file
):
    count = 12
    created = [
        lease_manager.create(
            ctx(),
            body(
                f"lease-{i}",
                start=START + i * SECOND,
                end=END + i * SECOND,
            ),
        )
        for i in range(count)
    ]
    loops = [
        events.EventLoop(
            events.EventHandler(plugins.load(["test.recorder.plugin"])),
            f"manager-{i}",
        )
        for i in range(4)
    ]

    def run_all(now):
        barrier = threading.Barrier(len(loops))
        errors = []

        def work(loop):
            try:
                barrier.wait(5)
                while loop.run_once(now=now):
                    pass
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(x,)) for x in loops]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []

    run_all(START + count * SECOND)
    assert all(get(x["id"])["status"] == L.ACTIVE for x in created)
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


# The loop's thread --------------------------------------------------------


@pytest.fixture
def slow_polling_manager(database, config, record_file):
    config.config(
        plugins=["test.recorder.plugin"], poll_interval=30, group="manager"
    )
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


def _wait_active(lease_id, timeout):
    return helpers.wait_for(
        lambda: get(lease_id)["status"] == L.ACTIVE,
        timeout=timeout,
        message="lease ACTIVE",
    )


def test_a_now_lease_is_active_within_a_second(slow_polling_manager):
    # Let the loop reach its 30 s sleep before the lease exists.
    time.sleep(0.1)
    began = time.monotonic()
    lease = slow_polling_manager.leases.create(ctx(), body(start="now"))
    _wait_active(lease["id"], timeout=1)
    assert time.monotonic() - began < 1


def test_the_loop_sleeps_only_until_the_next_due_event(
    database, config, record_file, loaded_plugins
):
    config.config(poll_interval=30, group="manager")
    lease_manager = leases.LeaseManager(loaded_plugins)
    soon = dates.utcnow() + SECOND
    lease = lease_manager.create(ctx(), body(start=soon.isoformat(), end=END))
    loop = events.EventLoop(events.EventHandler(loaded_plugins), "sleeper")
    loop.start()
    try:
        # Nobody wakes the loop: it wakes itself when the start falls due.
        _wait_active(lease["id"], timeout=3)
    finally:
        loop.stop()
    assert get(lease["id"])["by_type"][ET.START_LEASE]["time"] == soon


def test_stop_ends_the_thread_at_once(database, config, handler):
    config.config(poll_interval=30, group="manager")
    loop = events.EventLoop(handler, "stopper")
    before = set(threading.enumerate())
    loop.start()
    started = set(threading.enumerate()) - before
    assert [t.name for t in started] == ["climate-event-loop"]
    time.sleep(0.05)
    began = time.monotonic()
    loop.stop()
    assert time.monotonic() - began < 1
    assert not any(thread.is_alive() for thread in started)


def test_a_failure_to_record_one_outcome_does_not_stop_the_pass(
    lease_manager, loop, handler, monkeypatch, record_file
):
    first = lease_manager.create(ctx(), body(name="first"))
    second = lease_manager.create(ctx(), body(name="second"))
    finish = handler.finish
    broken = []

    def finish_failing_once(event, claimer, acted):
        # Fault injection: the database goes away while the first outcome
        # is recorded.
        if not broken:
            broken.append(event["lease_id"])
            raise RuntimeError("database went away")
        return finish(event, claimer, acted)

    monkeypatch.setattr(handler, "finish", finish_failing_once)
    assert loop.run_once(now=START) == 2
    statuses = {get(first["id"])["status"], get(second["id"])["status"]}
    assert statuses == {L.STARTING, L.ACTIVE}
    # The unrecorded start stays claimed until [manager] event_timeout,
    # then runs again (on_start is idempotent) and the lease starts.
    stuck = get(broken[0])
    start = next(
        e for e in stuck["events"] if e["event_type"] == ET.START_LEASE
    )
    assert start["status"] == E.IN_PROGRESS
    later = START + datetime.timedelta(seconds=3600)
    loop.run_once(now=later)
    assert get(broken[0])["status"] == L.ACTIVE
