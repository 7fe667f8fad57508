"""--wait's progress and outcome, on a scripted lease and a fake clock."""

import datetime
import io

import pytest

from climateclient import exceptions
from climateclient.cli import wait

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0)


class Clock:
    """A monotonic clock and a UTC clock that move only when slept on."""

    def __init__(self):
        self.elapsed = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.elapsed

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.elapsed += seconds

    def utcnow(self):
        return NOW + datetime.timedelta(seconds=self.elapsed)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def lease(status, start_in=0.0, reason=None):
    start = NOW + datetime.timedelta(seconds=start_in)
    return {
        "id": "L1",
        "name": "tour",
        "status": status,
        "status_reason": reason,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    }


class Script:
    """``leases.get``: the next state on each call (the last one stays)."""

    def __init__(self, *states):
        self.states = list(states)
        self.calls = 0

    def __call__(self, lease_id):
        assert lease_id == "L1"
        self.calls += 1
        state = self.states[0] if len(self.states) == 1 else self.states.pop(0)
        if isinstance(state, Exception):
            raise state
        return state


def waiter(get, stream, clock, timeout=None, interactive=None):
    return wait.LeaseWaiter(
        get,
        stream,
        timeout=timeout,
        interactive=interactive,
        clock=clock.monotonic,
        sleep=clock.sleep,
        utcnow=clock.utcnow,
    )


def test_plain_lines_one_per_status_change():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("PENDING"), lease("STARTING"), lease("ACTIVE"))

    result = waiter(get, stream, clock).wait(lease("PENDING"))

    assert result["status"] == "ACTIVE"
    assert stream.getvalue().splitlines() == [
        "Lease tour (L1) is PENDING",
        "Lease tour (L1) is STARTING",
        "Lease tour (L1) is ACTIVE",
    ]
    # A lease due now is polled quickly.
    assert clock.sleeps == [wait.FAST_POLL] * 3


def test_an_active_lease_returns_at_once():
    clock, stream = Clock(), io.StringIO()
    get = Script(AssertionError("not polled"))

    assert waiter(get, stream, clock).wait(lease("ACTIVE"))["status"] == (
        "ACTIVE"
    )
    assert get.calls == 0
    assert stream.getvalue() == "Lease tour (L1) is ACTIVE\n"


def test_a_lease_that_already_ended_is_a_success():
    clock, stream = Clock(), io.StringIO()

    waiter(Script(lease("TERMINATED")), stream, clock).wait(lease("PENDING"))

    assert "has already ended" in stream.getvalue()


def test_error_raises_with_the_server_reason():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("ERROR", reason="start_lease failed: no hosts"))

    with pytest.raises(exceptions.WaitFailed) as error:
        waiter(get, stream, clock).wait(lease("PENDING"))

    assert str(error.value) == (
        "Lease tour (L1) went into ERROR: start_lease failed: no hosts"
    )
    assert stream.getvalue().splitlines()[-1] == "Lease tour (L1) is ERROR"


def test_a_lease_deleted_meanwhile_fails_the_wait():
    clock, stream = Clock(), io.StringIO()
    get = Script(exceptions.NotFound("gone", code=404))

    with pytest.raises(exceptions.WaitFailed, match="was deleted"):
        waiter(get, stream, clock).wait(lease("PENDING"))


def test_timeout_says_when_the_lease_starts():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("PENDING", start_in=3600))

    with pytest.raises(exceptions.WaitTimeout) as error:
        waiter(get, stream, clock, timeout=5).wait(
            lease("PENDING", start_in=3600)
        )

    assert str(error.value) == (
        "Gave up after 5 s: Lease tour (L1) is still PENDING; it starts at "
        "2030-01-01 13:00:00 UTC; the lease is kept"
    )
    assert clock.elapsed == pytest.approx(5)


def test_a_far_start_is_polled_slowly_but_not_missed():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("PENDING", start_in=40), lease("ACTIVE", start_in=40))

    waiter(get, stream, clock).wait(lease("PENDING", start_in=40))

    # 40 s away: one poll after 4 s (a tenth of the way), not 80 polls.
    assert get.calls == 2
    assert clock.sleeps[0] == pytest.approx(4)


def test_poll_interval_never_passes_the_start():
    clock = Clock()
    plain = waiter(Script(lease("ACTIVE")), io.StringIO(), clock)

    assert plain._poll_interval(lease("PENDING", start_in=1)) == (
        wait.FAST_POLL
    )
    assert plain._poll_interval(lease("PENDING", start_in=5)) == 1.0
    assert plain._poll_interval(lease("PENDING", start_in=100)) == 10.0
    assert plain._poll_interval(lease("PENDING", start_in=86400)) == (
        wait.SLOW_POLL
    )
    assert plain._poll_interval(lease("UPDATING", start_in=86400)) == (
        wait.FAST_POLL
    )


def test_a_terminal_gets_a_countdown_redrawn_every_second():
    clock, stream = Clock(), Terminal()
    get = Script(lease("PENDING", start_in=3), lease("ACTIVE", start_in=3))

    waiter(get, stream, clock, timeout=60).wait(lease("PENDING", start_in=3))

    output = stream.getvalue()
    assert "\r\x1b[K  PENDING, starts in 0:00:03 (gives up in 0:01:00)" in (
        output
    )
    assert "starts in 0:00:02" in output
    # Ticks of at most a second between redraws.
    assert all(s <= 1.0 for s in clock.sleeps)
    # The countdown line is wiped before a status line and at the end.
    lines = [line.split("\r\x1b[K")[-1] for line in output.split("\n") if line]
    assert lines[0] == "Lease tour (L1) is PENDING"
    assert lines[-1] == "Lease tour (L1) is ACTIVE"
    assert output.endswith("ACTIVE\n")


def test_countdown_of_days():
    assert wait._clock_text(2 * 86400 + 3661) == "2d 1:01:01"
    assert wait._clock_text(-5) == "0:00:00"


def test_interactive_follows_the_stream():
    clock = Clock()

    assert waiter(Script(lease("ACTIVE")), Terminal(), clock)._interactive
    assert not waiter(
        Script(lease("ACTIVE")), io.StringIO(), clock
    )._interactive


def test_a_future_start_is_announced_with_what_the_timeout_does():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("PENDING", start_in=3600))

    with pytest.raises(exceptions.WaitTimeout):
        waiter(get, stream, clock, timeout=60).wait(
            lease("PENDING", start_in=3600)
        )

    assert stream.getvalue().splitlines()[0] == (
        "Lease tour (L1) starts at 2030-01-01 13:00:00 UTC, in 1:00:00: "
        "waiting until it is ACTIVE, for at most 60 s (--timeout), which "
        "ends before it starts; the lease is kept if the wait gives up"
    )


def test_without_a_timeout_the_announcement_says_how_to_stop():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("PENDING", start_in=40), lease("ACTIVE", start_in=40))

    waiter(get, stream, clock).wait(lease("PENDING", start_in=40))

    first = stream.getvalue().splitlines()[0]
    assert first.startswith("Lease tour (L1) starts at 2030-01-01 12:00:40 ")
    assert "in 0:00:40: waiting until it is ACTIVE" in first
    assert "--timeout SECONDS gives up sooner; Ctrl-C stops waiting" in first


def test_a_start_due_now_is_not_announced():
    clock, stream = Clock(), io.StringIO()
    get = Script(lease("ACTIVE"))

    waiter(get, stream, clock).wait(lease("PENDING", start_in=1))

    assert "starts at" not in stream.getvalue()


def test_a_queued_lease_is_followed_through_the_queue():
    clock, stream = Clock(), io.StringIO()
    queued = {
        **lease("QUEUED"),
        "kind": "best_effort",
        "queue_position": 2,
        "earliest_start": "2030-01-01T12:00:00.000000",
    }
    get = Script(
        {**queued, "queue_position": 1},
        {**lease("PENDING"), "kind": "best_effort"},
        lease("ACTIVE"),
    )

    result = waiter(get, stream, clock).wait(queued)

    assert result["status"] == "ACTIVE"
    lines = stream.getvalue().splitlines()
    assert lines[0] == (
        "Lease tour (L1) is QUEUED (position 2 in the queue, earliest start "
        "2030-01-01 12:00:00 UTC)"
    )
    assert lines[1].startswith("Lease tour (L1) is QUEUED (position 1")
    assert lines[2].startswith("Lease tour (L1) is PENDING: placed, from ")
    assert lines[3] == "Lease tour (L1) is ACTIVE"
    assert clock.sleeps[:2] == [wait.QUEUE_POLL] * 2
