"""``--wait``: follow a new lease until it is ACTIVE.

A lease that starts later is waited for until its start: the first line
says when that is, and what ``--timeout`` does.  On a terminal the last
line is redrawn every second with the status and a countdown to the
start; elsewhere (a pipe, a log) one plain line is written per status
change.  A lease that goes into ERROR, disappears or does not start in
time raises, so the command exits non-zero with a message that says
which.
"""

import datetime
import math
import time

from climateclient import exceptions
from climateclient.cli import parsing

ACTIVE = "ACTIVE"
ERROR = "ERROR"
TERMINATED = "TERMINATED"
PENDING = "PENDING"
QUEUED = "QUEUED"
#: Seconds between polls once the start is due or something is moving.
FAST_POLL = 0.5
#: Longest pause between two polls of a lease far in the future (it may be
#: moved or deleted meanwhile).
SLOW_POLL = 30.0
#: Seconds between polls of a queued lease.
QUEUE_POLL = 1.0
#: Seconds to the start past which --wait first says when the start is.
ANNOUNCE_AFTER = 10.0


def _clock_text(seconds):
    # Rounded up: "starts in 0:00:00" would claim it has started.
    seconds = max(0, math.ceil(seconds))
    days, seconds = divmod(seconds, 86400)
    text = str(datetime.timedelta(seconds=seconds))
    return f"{days}d {text}" if days else text


def _queue_text(lease):
    """Where a queued lease is: its place and its earliest start."""
    parts = []
    if lease.get("queue_position"):
        parts.append(f"position {lease['queue_position']} in the queue")
    earliest = lease.get("earliest_start")
    if earliest:
        try:
            at = datetime.datetime.fromisoformat(earliest)
        except (TypeError, ValueError):
            at = None
        if at is not None:
            parts.append(f"earliest start {at:%Y-%m-%d %H:%M:%S} UTC")
    return f" ({', '.join(parts)})" if parts else ""


class LeaseWaiter:
    """Polls a lease until it starts.

    :param get_lease: ``lease_id -> lease dict`` (the client's
        ``leases.get``).
    :param stream: where progress goes (the command's stderr).
    :param timeout: seconds to wait at most, or None for no limit.
    :param interactive: redraw a countdown line; defaults to whether
        ``stream`` is a terminal.
    :param clock, sleep, utcnow: time sources, replaceable in tests.
    """

    def __init__(
        self,
        get_lease,
        stream,
        timeout=None,
        interactive=None,
        clock=time.monotonic,
        sleep=time.sleep,
        utcnow=parsing.utcnow,
    ):
        self._get = get_lease
        self._stream = stream
        self._timeout = timeout
        if interactive is None:
            isatty = getattr(stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self._interactive = interactive
        self._clock = clock
        self._sleep = sleep
        self._utcnow = utcnow
        self._drawn = False

    def wait(self, lease):
        """Return the lease once ACTIVE (or already TERMINATED).

        :raises WaitFailed: the lease went into ERROR or was deleted.
        :raises WaitTimeout: it did not start within the timeout.
        """
        deadline = None
        if self._timeout is not None:
            deadline = self._clock() + self._timeout
        self._announce(lease)
        last_status = None
        try:
            while True:
                status = lease["status"]
                # A queued lease is followed through the queue too.
                seen = (status, lease.get("queue_position"))
                if seen != last_status:
                    self._report(lease)
                    last_status = seen
                if status == ACTIVE:
                    return lease
                if status == TERMINATED:
                    self._say(f"{self._label(lease)} has already ended")
                    return lease
                if status == ERROR:
                    reason = lease.get("status_reason") or "no reason given"
                    raise exceptions.WaitFailed(
                        f"{self._label(lease)} went into ERROR: {reason}"
                    )
                self._pause(lease, deadline)
                if deadline is not None and self._clock() >= deadline:
                    raise exceptions.WaitTimeout(
                        f"Gave up after {self._timeout:g} s: "
                        f"{self._label(lease)} is still {status}"
                        f"{self._start_text(lease)}; the lease is kept"
                    )
                try:
                    lease = self._get(lease["id"])
                except exceptions.NotFound:
                    raise exceptions.WaitFailed(
                        f"{self._label(lease)} was deleted while waiting for "
                        "it to start"
                    )
        finally:
            self._clear()

    # Progress ------------------------------------------------------------

    def _announce(self, lease):
        """Before waiting for a start that is a while away, say when it
        is and what the timeout does."""
        start = self._start(lease)
        if lease["status"] != PENDING or start is None:
            return
        left = (start - self._utcnow()).total_seconds()
        if left <= ANNOUNCE_AFTER:
            return
        line = (
            f"{self._label(lease)} starts at {start:%Y-%m-%d %H:%M:%S} UTC, "
            f"in {_clock_text(left)}: waiting until it is ACTIVE"
        )
        if self._timeout is None:
            line += (
                " (--timeout SECONDS gives up sooner; Ctrl-C stops "
                "waiting; the lease is kept either way)"
            )
        else:
            line += f", for at most {self._timeout:g} s (--timeout)"
            if self._timeout < left:
                line += ", which ends before it starts"
            line += "; the lease is kept if the wait gives up"
        self._say(line)

    def _label(self, lease):
        return f"Lease {lease.get('name')} ({lease['id']})"

    def _start(self, lease):
        try:
            return datetime.datetime.fromisoformat(lease["start_date"])
        except (KeyError, TypeError, ValueError):
            return None

    def _start_text(self, lease):
        start = self._start(lease)
        if lease["status"] != PENDING or start is None:
            return ""
        return f"; it starts at {start:%Y-%m-%d %H:%M:%S} UTC"

    def _report(self, lease):
        line = f"{self._label(lease)} is {lease['status']}"
        if lease["status"] == QUEUED:
            line += _queue_text(lease)
        elif lease.get("kind") == "best_effort" and lease["status"] == PENDING:
            start = self._start(lease)
            if start is not None:
                line += f": placed, from {start:%Y-%m-%d %H:%M:%S} UTC"
        self._say(line)

    def _say(self, line):
        self._clear()
        self._stream.write(line + "\n")
        self._stream.flush()

    def _clear(self):
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False

    def _draw(self, lease, deadline):
        start = self._start(lease)
        text = f"  {lease['status']}"
        if lease["status"] == PENDING and start is not None:
            left = (start - self._utcnow()).total_seconds()
            text += (
                f", starts in {_clock_text(left)}"
                if left > 0
                else ", starting"
            )
        if deadline is not None:
            text += f" (gives up in {_clock_text(deadline - self._clock())})"
        self._stream.write("\r\x1b[K" + text)
        self._stream.flush()
        self._drawn = True

    # Pacing --------------------------------------------------------------

    def _poll_interval(self, lease):
        if lease["status"] == QUEUED:
            return QUEUE_POLL
        start = self._start(lease)
        if lease["status"] != PENDING or start is None:
            return FAST_POLL
        left = (start - self._utcnow()).total_seconds()
        if left <= 2:
            return FAST_POLL
        # Far from the start, poll less often, but be there when it comes.
        return min(SLOW_POLL, max(1.0, left / 10), left)

    def _pause(self, lease, deadline):
        until = self._clock() + self._poll_interval(lease)
        if deadline is not None:
            until = min(until, deadline)
        while True:
            now = self._clock()
            if now >= until:
                return
            if self._interactive:
                self._draw(lease, deadline)
                self._sleep(min(1.0, until - now))
            else:
                self._sleep(until - now)
