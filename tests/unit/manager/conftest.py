"""The manager's parts on the real SQLite database and a virtual clock.

Leases fall in 2035; the clock starts the day before and tests move it
(``at``).  The event runner runs step by step in the test's thread, and
the lease manager drives it when a write needs an event run at once, as
the manager's own runner thread would.
"""

import datetime
import types

import pytest

from climate import clock, context, plugins, stages, states
from climate.db import api as db_api
from climate.manager import events, leases, runner

L = states.LeaseStatus
E = states.EventStatus
R = states.ReservationStatus
ET = types.SimpleNamespace(
    START_LEASE=stages.START.event_type,
    END_LEASE=stages.END.event_type,
    BEFORE_END_LEASE=stages.BEFORE_END.event_type,
    UPDATE_LEASE=stages.UPDATE.event_type,
    DELETE_LEASE=stages.DELETE.event_type,
)

START = datetime.datetime(2035, 1, 1, 12, 0)
END = datetime.datetime(2035, 1, 2, 12, 0)
BEFORE_END = END - datetime.timedelta(hours=1)
SECOND = datetime.timedelta(seconds=1)
RECORDER = "test:recorder"


def user(project_id="p1"):
    return context.RequestContext(
        user_id="u1", project_id=project_id, overwrite=False
    )


class Changes:
    """The lease manager's ``on_change``: counts the calls, remembers the
    times, and runs what is due now when ``drive`` is set."""

    def __init__(self):
        self.times = []
        self.drive = None

    @property
    def count(self):
        return len(self.times)

    def __call__(self, at):
        self.times.append(at)
        if self.drive is not None:
            self.drive.run_pending()


@pytest.fixture
def virtual_clock():
    with clock.use(clock.VirtualClock(START - datetime.timedelta(days=1))):
        yield clock.get()


@pytest.fixture
def loaded_plugins():
    return plugins.load(["test.recorder.plugin"])


@pytest.fixture
def handler(loaded_plugins):
    return events.EventHandler(loaded_plugins)


@pytest.fixture
def event_runner(database, virtual_clock, handler):
    return runner.EventRunner(handler, "runner-a", workers=4)


@pytest.fixture
def changes(event_runner):
    changes = Changes()
    changes.drive = event_runner
    return changes


@pytest.fixture
def lease_manager(database, record_file, loaded_plugins, changes):
    return leases.LeaseManager(loaded_plugins, on_change=changes)


@pytest.fixture
def at(virtual_clock, event_runner):
    """``at(moment)``: move the clock there and run what is due; return
    how many events ran."""

    def run(moment):
        virtual_clock.set(moment)
        return event_runner.run_pending()

    return run


def get(lease_id):
    """A lease, with its events by type (``by_type``)."""
    lease = db_api.lease_get(lease_id)
    lease["by_type"] = {e["event_type"]: e for e in lease["events"]}
    return lease


def force_status(lease_id, status):
    """Put a lease in ``status`` whatever the table says (test set-up)."""
    db_api.lease_transition(lease_id, status, L.ALL)
