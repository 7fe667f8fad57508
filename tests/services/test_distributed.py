"""The distributed deployment: one API and two managers over RabbitMQ.

Real processes, a fresh vhost and a fresh database per test.  Leases are
created over HTTP; the managers share the RPC topic and the event table, and
the recorder plugin notes every hook call with the pid that made it.
"""

import collections
import concurrent.futures
import datetime
import subprocess
import time

import pytest
import requests
import sqlalchemy as sa

from tests import helpers
from tests.services import conftest

pytestmark = pytest.mark.services

MANAGERS = ("manager-a", "manager-b")
# The statuses a lease passes through, in order.
LIFECYCLE = ["PENDING", "STARTING", "ACTIVE", "TERMINATING", "TERMINATED"]


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


class Deployment:
    """Configuration, processes and HTTP access of one deployment."""

    def __init__(self, tmp_path, db_url, transport_url, start, run_climate):
        self.db_url = db_url
        self.record = tmp_path / "hooks.jsonl"
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp_path = tmp_path
        self._start = start
        self._common = {
            "DEFAULT": {
                "transport_url": transport_url,
                "state_path": tmp_path / "state",
                "rpc_response_timeout": 20,
            },
            "database": {"connection": db_url},
            "api": {"host": "127.0.0.1", "port": self.port},
            "manager": {
                "plugins": "test.recorder.plugin",
                "min_lease_duration": 0,
                "poll_interval": 1,
            },
        }
        migrate = run_climate(
            "climate-db-manage", self._config("db-manage"), "upgrade", "head"
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        self.managers = {}

    def _config(self, name, host=None):
        sections = {k: dict(v) for k, v in self._common.items()}
        if host is not None:
            sections["DEFAULT"]["host"] = host
        return helpers.write_config(self._tmp_path / f"{name}.conf", sections)

    def start(self):
        env = {"CLIMATE_TEST_RECORD": str(self.record)}
        for name in MANAGERS:
            self.managers[name] = self._start(
                "climate-manager", self._config(name, host=name), name, env
            )
        self.api = self._start("climate-api", self._config("api"), "api")
        for manager in self.managers.values():

            def started(manager=manager):
                manager.assert_running()
                return "started with plugins" in manager.log()

            helpers.wait_for(started, 30, 0.1, f"{manager.name} to start")
        self.api.wait_http(self.url + "/")

    def claimer(self, claimed_by):
        """The name of the manager that signed a claim ``host:pid:start``."""
        pids = {f"{n}:{p.pid}": n for n, p in self.managers.items()}
        return pids.get(claimed_by.rsplit(":", 1)[0])

    def post_lease(self, name, start="now", end=None):
        """POST a lease; return the response, whatever its status."""
        return requests.post(
            self.url + "/v1/leases",
            json={
                "name": name,
                "start_date": start,
                "end_date": end or helpers.future(days=1),
                "reservations": [{"resource_type": "test:recorder"}],
                "events": [],
            },
            timeout=30,
        )

    def create_lease(self, name, start, end):
        response = self.post_lease(name, start, end)
        assert response.status_code == 201, response.text
        return response.json()["lease"]

    def update_lease(self, lease_id, values):
        response = requests.put(
            f"{self.url}/v1/leases/{lease_id}", json=values, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()["lease"]

    def get_lease(self, lease_id):
        response = requests.get(f"{self.url}/v1/leases/{lease_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["lease"]

    def events(self):
        """Every event row, read straight from the database."""
        engine = sa.create_engine(self.db_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.text(
                        "SELECT lease_id, event_type, status, attempts, "
                        "claimed_by FROM events"
                    )
                )
                return [row._asdict() for row in rows]
        finally:
            engine.dispose()


@pytest.fixture
def deployment(tmp_path, transport_url, climate_processes, run_climate):
    def make(db_url):
        return Deployment(
            tmp_path, db_url, transport_url, climate_processes, run_climate
        )

    return make


def _watch(deployment, seen, wait_for, timeout):
    """Poll leases until each of ``wait_for`` is in one of its statuses.

    Every lease of ``seen`` that has not ended is polled, and each status it
    shows is appended to ``seen[lease_id]`` (repeats collapsed).

    :param seen: ``{lease_id: [status, ...]}``, updated in place.
    :param wait_for: ``{lease_id: {status, ...}}``.
    :returns: ``{lease_id: lease}`` as last read.
    """
    latest = {}
    deadline = time.monotonic() + timeout
    while True:
        for lease_id, statuses in seen.items():
            if statuses[-1] in ("TERMINATED", "ERROR"):
                continue
            lease = deployment.get_lease(lease_id)
            latest[lease_id] = lease
            if lease["status"] != statuses[-1]:
                statuses.append(lease["status"])
        waiting = {
            lease_id: seen[lease_id]
            for lease_id, wanted in wait_for.items()
            if seen[lease_id][-1] not in wanted
        }
        if not waiting:
            return latest
        assert time.monotonic() < deadline, (
            f"after {timeout}s, still waiting for {wait_for}: {waiting}"
        )
        time.sleep(0.1)


def _check_errors_cross_the_broker(deployment):
    """Errors the manager raises come back as themselves, over RabbitMQ."""
    full = deployment.post_lease("full-house")
    assert full.status_code == 409, full.text
    assert full.json()["error_name"] == "NotEnoughResourcesAvailable"

    gone = requests.delete(
        deployment.url + "/v1/leases/no-such-lease", timeout=30
    )
    assert gone.status_code == 404, gone.text
    assert gone.json()["error_name"] == "LeaseNotFound"

    # Racing creates of one name, spread over both managers: one wins.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda _: deployment.post_lease(
                    "contested", start=helpers.future(hours=1)
                ),
                range(6),
            )
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 5, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error_name"] == "LeaseNameAlreadyExists"
    winner = next(a for a in answers if a.status_code == 201)
    lease_id = winner.json()["lease"]["id"]
    deleted = requests.delete(
        f"{deployment.url}/v1/leases/{lease_id}", timeout=30
    )
    assert deleted.status_code == 204, deleted.text


def _run_scenario(deployment, count, errors=False):
    deployment.start()
    if errors:
        _check_errors_cross_the_broker(deployment)
        # Only the scenario's leases below remain.
        open(deployment.record, "w").close()
    pids = {p.pid: n for n, p in deployment.managers.items()}

    # Half the leases end a few seconds after they start.  The other half
    # are held ACTIVE until the test has seen them so, then cut short with
    # an update: a busy machine may poll too slowly to catch a few seconds
    # of ACTIVE, but not to catch a state that waits for it.
    leases, held, fixed = [], [], []
    for index in range(count):
        # A quarter start at once, the rest up to 3 s ahead.  The window
        # counts from the whole-second start, so a fixed lease lasts at
        # least 3 s however long the creates before it took: its start is
        # not still waiting when its end falls due.
        delay = index % 4
        start = helpers.utcnow().replace(microsecond=0) + datetime.timedelta(
            seconds=delay
        )
        length = datetime.timedelta(minutes=30 if index % 2 else 0, seconds=4)
        lease = deployment.create_lease(
            f"lease-{index}",
            "now" if delay == 0 else _iso(start),
            _iso(start + length),
        )
        assert lease["status"] == "PENDING"
        leases.append(lease)
        (held if index % 2 else fixed).append(lease["id"])
    seen = {lease["id"]: [lease["status"]] for lease in leases}

    final = _watch(
        deployment, seen, {i: {"ACTIVE", "ERROR"} for i in held}, 60
    )
    for lease_id in held:
        assert deployment.get_lease(lease_id)["status"] == "ACTIVE"
        end = _iso(helpers.utcnow() + datetime.timedelta(seconds=2))
        updated = deployment.update_lease(lease_id, {"end_date": end})
        assert updated["status"] == "ACTIVE"
        assert updated["end_date"].startswith(end)
    final.update(
        _watch(
            deployment, seen, {i: {"TERMINATED", "ERROR"} for i in seen}, 60
        )
    )

    for lease_id, statuses in seen.items():
        # In order, from PENDING to TERMINATED; transitional states may or
        # may not be caught between two polls.
        assert statuses == sorted(statuses, key=LIFECYCLE.index), statuses
        assert statuses[0] == "PENDING" and statuses[-1] == "TERMINATED", (
            lease_id,
            statuses,
        )
        if lease_id in held:
            assert "ACTIVE" in statuses, (lease_id, statuses)
        assert [r["status"] for r in final[lease_id]["reservations"]] == [
            "deleted"
        ]

    reservations = {
        lease["reservations"][0]["id"]: lease["id"] for lease in leases
    }
    records = helpers.read_records(deployment.record)
    calls = collections.Counter(
        (r["hook"], r["reservation_id"]) for r in records
    )
    for hook in ("reserve", "on_start", "on_end"):
        ran = {rid: calls[(hook, rid)] for rid in reservations}
        assert set(ran.values()) == {1}, (hook, ran)
    assert {r["pid"] for r in records} <= set(pids)
    # A fixed lease may start and end between two polls: the record file
    # shows it went through ACTIVE (its start ran, and before its end).
    order = [(r["hook"], r["lease_id"]) for r in records]
    for lease_id in fixed:
        assert order.index(("on_start", lease_id)) < order.index(
            ("on_end", lease_id)
        )

    events = deployment.events()
    assert len(events) == 3 * count
    for event in events:
        assert event["status"] == "DONE", event
        assert event["attempts"] == 1, event
        assert deployment.claimer(event["claimed_by"]), event

    # Both managers took part: the RPC topic spreads the creates, and the
    # two event loops race for due events.
    creates = collections.Counter(
        pids[r["pid"]] for r in records if r["hook"] == "reserve"
    )
    hooks = collections.Counter(
        pids[r["pid"]] for r in records if r["hook"] in ("on_start", "on_end")
    )
    claims = collections.Counter(
        deployment.claimer(e["claimed_by"]) for e in events
    )
    print(f"reserve: {creates}, hooks: {hooks}, events claimed: {claims}")
    assert set(creates) == set(MANAGERS), creates
    assert set(hooks) == set(MANAGERS), hooks
    assert set(claims) == set(MANAGERS), claims

    # Nothing went wrong quietly: no logged error or traceback.
    for process in [*deployment.managers.values(), deployment.api]:
        log = process.log()
        assert " ERROR " not in log and "Traceback" not in log, process.name


def test_two_managers_run_every_lease_once_postgresql(
    deployment, postgresql_url
):
    _run_scenario(deployment(postgresql_url), count=20, errors=True)


def test_two_managers_run_every_lease_once_mariadb(deployment, mariadb_url):
    _run_scenario(deployment(mariadb_url), count=10)


def _exit_of(process, timeout=30):
    try:
        return process.process.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{process.name} did not exit:\n{process.log()}")


def test_manager_without_transport_url_refuses_to_start(
    tmp_path, climate_processes
):
    config_file = helpers.write_config(
        tmp_path / "manager.conf",
        {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "manager": {"plugins": "test.recorder.plugin"},
        },
    )

    manager = climate_processes("climate-manager", config_file, "manager")

    assert _exit_of(manager) != 0
    assert "transport_url is not set" in manager.log()


def test_manager_with_unknown_plugin_refuses_to_start(
    tmp_path, climate_processes
):
    config_file = helpers.write_config(
        tmp_path / "manager.conf",
        {
            "DEFAULT": {
                "state_path": tmp_path / "state",
                "transport_url": conftest.RABBIT_URL,
            },
            "database": {"connection": f"sqlite:///{tmp_path}/climate.sqlite"},
            "manager": {"plugins": "nope"},
        },
    )

    manager = climate_processes("climate-manager", config_file, "manager")

    assert _exit_of(manager) != 0
    log = manager.log()
    assert "climate-manager cannot start" in log
    assert "[manager] plugins names nope, which is not installed" in log
    assert "Traceback" not in log
