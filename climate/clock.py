"""The one clock every part of Climate reads the time from.

Admission, the event runner and periodic tasks ask ``clock.now()`` rather
than the system, so that tests, simulations and benchmarks can put a
``VirtualClock`` in its place and replay a month of leases through the
real manager and database in seconds.

Times are naive UTC datetimes, as Climate stores them.  Bounds on how
long a request waits for another thread (not schedule times) are real
time, measured with ``time.monotonic``.
"""

import contextlib
import datetime
import threading
import time


class Clock:
    """The system's clock: UTC now, and sleeping in real time."""

    def now(self):
        """Now, naive UTC, to the microsecond."""
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    def wait(self, event, seconds):
        """Sleep until ``event`` is set or ``seconds`` of this clock pass.

        :returns: True if the event was set.
        """
        return event.wait(seconds)


class VirtualClock(Clock):
    """A clock that moves only when told to.

    ``now()`` is the time last set; ``advance()`` and ``set()`` move it.
    Waiting returns at once (a simulation drives the runner step by step
    instead of letting threads sleep), after yielding the processor so
    that real threads still make progress.

    :param start: the first time it shows (naive UTC).
    """

    def __init__(self, start):
        self._now = start
        self._lock = threading.Lock()

    def now(self):
        with self._lock:
            return self._now

    def set(self, moment):
        """Move to ``moment``; a virtual clock never goes back."""
        with self._lock:
            if moment < self._now:
                raise ValueError(
                    f"the clock shows {self._now}; it cannot go back to "
                    f"{moment}"
                )
            self._now = moment

    def advance(self, delta):
        """Move forward by ``delta`` (a ``timedelta`` or seconds)."""
        if not isinstance(delta, datetime.timedelta):
            delta = datetime.timedelta(seconds=delta)
        with self._lock:
            self._now += delta
        return self._now

    def wait(self, event, seconds):
        if event.is_set():
            return True
        time.sleep(0)
        return event.is_set()


_current = Clock()


def get():
    """The clock in use."""
    return _current


def now():
    """Now, from the clock in use (naive UTC, microseconds)."""
    return _current.now()


@contextlib.contextmanager
def use(clock):
    """Put ``clock`` in use for the duration of a ``with`` block."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
