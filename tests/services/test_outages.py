"""The broker killed and the database stopped under load.

One ``climate-api`` and two ``climate-manager`` processes on a RabbitMQ
node and a PostgreSQL cluster of this test's own (never the machine's
shared ones: they are killed).  Six writers create leases, each with its
own Idempotency-Key, sending it again while answered 503; two readers
list leases.  The broker is killed with ``kill -9``, or the database
stopped with ``pg_ctl stop -m immediate``, for 15 s, then started again.
The database case is repeated on a MariaDB server of the test's own,
killed with SIGKILL.
"""

import pytest
import requests

from tests.services import conftest
from tests.services import outage_scenario as scenario
from tests.services.private_services import (
    PrivateMariaDB,
    PrivatePostgres,
    PrivateRabbit,
)

pytestmark = pytest.mark.services

DOWN = 15


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    if not PrivateRabbit.available() or not PrivatePostgres.available():
        conftest.unavailable("rabbitmq-server or PostgreSQL is not installed")
    rabbit = PrivateRabbit(tmp_path_factory.mktemp("rabbit"))
    postgres = PrivatePostgres()
    try:
        rabbit.start()
        postgres.start()
        yield rabbit, postgres
    finally:
        rabbit.stop()
        postgres.stop()


@pytest.fixture(scope="module")
def mariadb():
    if not PrivateMariaDB.available():
        conftest.unavailable("mariadbd is not installed")
    server = PrivateMariaDB()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _cluster(db_url, rabbit_url, tmp_path, request):
    cluster = scenario.Cluster(str(tmp_path), db_url, rabbit_url)
    cluster.start()
    request.node.climate_processes = []
    for name, process in cluster.processes.items():
        process.name = name
        request.node.climate_processes.append(process)
    return cluster


@pytest.fixture
def cluster(services, tmp_path, request):
    rabbit, postgres = services
    db_url = postgres.create_database(conftest.unique_name())
    cluster = _cluster(db_url, rabbit.url, tmp_path, request)
    yield cluster
    cluster.stop()


@pytest.fixture
def mariadb_cluster(services, mariadb, tmp_path, request):
    rabbit, _ = services
    db_url = mariadb.create_database(conftest.unique_name())
    cluster = _cluster(db_url, rabbit.url, tmp_path, request)
    yield cluster
    cluster.stop()


def _check(outcome, reads_bound):
    print(outcome.table())
    print(outcome.summary())
    assert outcome.lost == [], "a 201 without its lease"
    assert outcome.phantom == [], "a lease nobody was answered 201 for"
    assert outcome.dropped == []
    assert outcome.bad == [], "only 200, 201 and 503"
    assert outcome.max_took("write") <= scenario.WRITE_BOUND
    if reads_bound is not None:
        assert (
            outcome.max_took("read", outcome.away, outcome.back) <= reads_bound
        )
    assert outcome.first_503() is not None, "the outage went unnoticed"
    recovery = outcome.recovery()
    assert recovery is not None and recovery <= 5, recovery


def _due_during_the_outage(cluster):
    """A lease whose start falls 5 s into the outage (``run`` begins it
    3 s after it starts the load)."""
    response = requests.post(
        cluster.url + "/v1/leases",
        json={
            "name": "due-during-the-outage",
            "start_date": scenario.now_iso(8),
            "end_date": scenario.now_iso(3600),
            "reservations": [{"resource_type": "test:recorder"}],
            "events": [],
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["lease"]["id"]


def _status(cluster, lease_id):
    response = requests.get(f"{cluster.url}/v1/leases/{lease_id}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["lease"]["status"]


def _no_traceback_per_request(log):
    """Climate logs no traceback; oslo.messaging may log one of its own
    when the broker dies under a message it was acknowledging."""
    tracebacks = [line for line in log.splitlines() if "Traceback" in line]
    assert not [t for t in tracebacks if " climate." in t], tracebacks
    assert len(tracebacks) <= 2, tracebacks


def test_broker_killed_for_15_s(services, cluster):
    rabbit, _ = services
    due = _due_during_the_outage(cluster)
    outcome = scenario.run(cluster, rabbit.kill, rabbit.start, DOWN)
    _check(outcome, reads_bound=1.0)
    # The event loops need only the database.
    assert _status(cluster, due) == "ACTIVE"
    # One warning when it began, one line when it ended, no traceback.
    log = cluster.processes["api"].log()
    assert log.count("message broker unreachable") == 1, log[-3000:]
    assert "message broker reachable again after" in log
    _no_traceback_per_request(log)


def test_database_stopped_for_15_s(services, cluster):
    _, postgres = services
    due = _due_during_the_outage(cluster)
    outcome = scenario.run(
        cluster, postgres.stop_immediately, postgres.start, DOWN
    )
    _check(outcome, reads_bound=None)
    # Started once the database was back (8 s ago), by the loops as
    # they were: no process was restarted.
    assert _status(cluster, due) == "ACTIVE"
    log = cluster.processes["api"].log()
    assert log.count("database unreachable") == 1, log[-3000:]
    assert "database reachable again after" in log
    _no_traceback_per_request(log)


def test_mariadb_killed_for_15_s(services, mariadb, mariadb_cluster):
    cluster = mariadb_cluster
    due = _due_during_the_outage(cluster)
    outcome = scenario.run(cluster, mariadb.kill, mariadb.start, DOWN)
    _check(outcome, reads_bound=None)
    assert _status(cluster, due) == "ACTIVE"
    log = cluster.processes["api"].log()
    assert log.count("database unreachable") == 1, log[-3000:]
    assert "database reachable again after" in log
    _no_traceback_per_request(log)
