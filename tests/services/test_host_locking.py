"""Host row locks on PostgreSQL and MariaDB: requests that compete for
nothing both win, and deadlocks are retried.

A request holds the rows of the hosts it books until its transaction ends.
Another request for a different window of such a host must wait for it,
not give up on the host: it is free for that window.
"""

import datetime
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from climate import context, exceptions, plugins
from climate.db import api as db_api
from climate.db import engine as db_engine
from climate.manager import leases
from climate.plugins.hosts.db import api as host_db

pytestmark = pytest.mark.services

START = datetime.datetime(2035, 1, 1, 12, 0)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def db(service_db, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    assert db_engine.backend_name() in ("postgresql", "mysql")
    return service_db


@pytest.fixture
def lease_manager(db):
    return leases.LeaseManager(plugins.load(["physical.host.plugin"]))


def _user():
    return context.RequestContext(user_id="u", project_id="p", overwrite=False)


def _body(name, start, end, count=1):
    return {
        "name": name,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "reservations": [
            {"resource_type": "physical:host", "min": count, "max": count}
        ],
    }


def test_a_request_for_another_window_waits_for_a_locked_host(
    lease_manager,
):
    plugin = plugins.load(["physical.host.plugin"])["physical:host"]
    host = plugin.inventory.create({"name": "only-host"})
    locked, release = threading.Event(), threading.Event()

    def hold_the_host():
        # A competitor's transaction holding the host's row, as a request
        # booking another window of it would.
        with db_api.writer():
            host_db.host_lock(host["id"])
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_host)
    holder.start()
    assert locked.wait(10)
    result = {}

    def create():
        result["lease"] = lease_manager.create(
            _user(), _body("later", START + 2 * HOUR, START + 3 * HOUR)
        )

    creator = threading.Thread(target=create)
    creator.start()
    time.sleep(0.5)
    assert creator.is_alive(), "the create should wait for the host's lock"
    release.set()
    holder.join(10)
    creator.join(10)
    lease = result["lease"]
    allocations = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert [a["hypervisor_hostname"] for a in allocations] == ["only-host"]


def _deadlock_once(url):
    """Two connections locking two rows in opposite orders: the database
    aborts one of them; return that error."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    table = sa.Table(
        f"deadlock_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
    )
    table.create(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(table), [{"id": 1}, {"id": 2}])
    barrier = threading.Barrier(2)
    errors = []

    def lock(first, second):
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                for row in (first, second):
                    connection.execute(
                        sa.select(table.c.id)
                        .where(table.c.id == row)
                        .with_for_update()
                    )
                    if row == first:
                        barrier.wait(10)
                transaction.commit()
            except sa.exc.DBAPIError as exc:
                errors.append(exc)
                transaction.rollback()

    threads = [
        threading.Thread(target=lock, args=(1, 2)),
        threading.Thread(target=lock, args=(2, 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    table.drop(engine)
    engine.dispose()
    assert len(errors) == 1
    return errors[0]


def test_a_real_deadlock_is_recognised(db):
    assert db_engine.is_deadlock(_deadlock_once(db))


def test_a_deadlocked_call_is_retried(db):
    calls = []

    @db_api.retry_on_deadlock
    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise _deadlock_once(db)
        return "done"

    assert flaky() == "done"
    assert len(calls) == 2


def test_a_call_that_keeps_deadlocking_is_a_conflict(db):
    error = _deadlock_once(db)

    @db_api.retry_on_deadlock
    def hopeless():
        raise error

    with pytest.raises(exceptions.ConcurrentUpdate) as raised:
        hopeless()
    assert raised.value.code == 409


def test_other_database_errors_are_not_retried(db):
    calls = []

    @db_api.retry_on_deadlock
    def broken():
        calls.append(1)
        with db_api.writer() as session:
            session.execute(sa.text("SELECT * FROM no_such_table"))

    with pytest.raises(sa.exc.DBAPIError):
        broken()
    assert len(calls) == 1
