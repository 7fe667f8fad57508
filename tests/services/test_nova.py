"""The nova compute driver and ClimateFilter against a real Nova.

One stack for the module (``tests/services/nova_stack.py``): placement,
nova-api, nova-conductor, nova-scheduler with ``ClimateFilter`` and two
fake computes, on MariaDB databases and a RabbitMQ vhost of their own,
and ``climate-all`` with ``[compute] driver = nova`` talking to that
nova-api without Keystone.  Aggregate changes reach nova-scheduler
asynchronously (a fanout cast), so the first boots after a change are
retried, bounded, until the scheduler has seen it.
"""

import datetime

import pytest
import requests

from tests import helpers
from tests.services import conftest, nova_stack
from tests.services.conftest import unavailable

pytestmark = pytest.mark.services

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "ops", "X-Roles": "admin"}
OWNER = "project-owner"
OTHER = "project-other"
NO_VALID_HOST = "No valid host"


def _project(project):
    return {"X-User-Id": f"user-{project}", "X-Project-Id": project}


@pytest.fixture(scope="module")
def _vhost():
    if conftest.shutil.which("rabbitmqctl") is None:
        unavailable("rabbitmqctl is not installed")
    vhost = conftest.unique_name()
    user = conftest.urllib.parse.urlsplit(conftest.RABBIT_URL).username
    created = conftest._rabbitmqctl("add_vhost", vhost, check=False)
    if created.returncode != 0:
        unavailable(f"rabbitmqctl add_vhost failed: {created.stderr.strip()}")
    try:
        conftest._rabbitmqctl(
            "set_permissions", "-p", vhost, user or "guest", ".*", ".*", ".*"
        )
        yield conftest.RABBIT_URL.rstrip("/") + "/" + vhost
    finally:
        conftest._rabbitmqctl("delete_vhost", vhost, check=False)


@pytest.fixture(scope="module")
def _databases(_servers):
    server = _servers["mariadb"]
    server.check()
    made = {}
    try:
        for key in ("nova_api", "nova", "nova_cell0", "placement"):
            name = conftest.unique_name(f"climate_{key}")
            made[key] = (name, server.create(name))
        yield {key: url for key, (_, url) in made.items()}
    finally:
        for name, _ in made.values():
            server.drop(name)


class Cloud:
    def __init__(self, nova, url):
        self.nova = nova
        self.url = url

    def climate(self, method, path, headers, **kwargs):
        return requests.request(
            method, self.url + path, headers=headers, timeout=120, **kwargs
        )


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, _databases, _vhost):
    missing = nova_stack.available()
    if missing:
        unavailable(missing)
    workdir = tmp_path_factory.mktemp("nova")
    nova = nova_stack.NovaStack(workdir, _databases, _vhost)
    climate = None
    try:
        nova.start()
        port = helpers.free_port()
        config_file = helpers.write_config(
            workdir / "climate.conf",
            {
                "DEFAULT": {"state_path": workdir / "climate-state"},
                "api": {"port": port},
                "manager": {"poll_interval": 1, "min_lease_duration": 0},
                "compute": {"driver": "nova", "freepool_name": "freepool"},
                "service_credentials": {"auth_type": "none"},
                "nova": {
                    "endpoint_override": nova.url,
                    "additional_headers": "X-User-Id:climate,"
                    "X-Project-Id:service,X-Roles:admin,"
                    "X-Auth-Token:unchecked",
                    "reclaim_timeout": 60,
                },
            },
        )
        climate = helpers.ClimateProcess(
            "climate-all", config_file, workdir / "climate-all.log"
        )
        url = f"http://127.0.0.1:{port}"
        climate.wait_http(f"{url}/", timeout=60)
        yield Cloud(nova, url)
    except BaseException:
        print(f"\nnova logs:\n{nova.logs()}")
        raise
    finally:
        if climate is not None:
            climate.stop()
            print(f"\nclimate-all log:\n{climate.log()[-4000:]}")
        nova.stop()


def _fault(server):
    return (server.get("fault") or {}).get("message", "")


def _boot_until(nova, project, hint, want_active, timeout=30):
    """Boot until the scheduler (which learns of aggregate changes
    asynchronously) gives the wanted outcome; return that server.

    Servers with the other outcome are deleted and counted in the
    assertion message when the bound is reached.
    """
    seen = []

    def attempt():
        server = nova.wait_server(nova.boot(project, hint=hint))
        if (server["status"] == "ACTIVE") == want_active:
            if not want_active:
                assert NO_VALID_HOST in _fault(server), server
            return server
        seen.append((server["status"], _fault(server)))
        _delete_and_wait(nova, server["id"])
        return None

    try:
        server = helpers.wait_for(attempt, timeout, interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: boots gave {seen}") from None
    print(f"boot in {project} with hint {hint}: retried {len(seen)} time(s)")
    return server


def _delete_and_wait(nova, server_id):
    nova.delete(f"/servers/{server_id}")
    helpers.wait_for(
        lambda: nova.server(server_id) is None,
        60,
        interval=0.3,
        message=f"server {server_id} deleted",
    )


def test_registering_a_hypervisor_nova_does_not_know_is_404(cloud):
    response = cloud.climate(
        "POST", "/v1/os-hosts", ADMIN, json={"name": "compute9"}
    )
    assert response.status_code == 404, response.text
    assert "compute9" in response.text
    for aggregate in cloud.nova.aggregates().values():
        assert "compute9" not in aggregate["hosts"]


def test_a_lease_reserves_a_nova_host_for_its_project(cloud):
    nova = cloud.nova
    for host in nova_stack.HOSTS:
        response = cloud.climate(
            "POST", "/v1/os-hosts", ADMIN, json={"name": host}
        )
        assert response.status_code in (200, 201), response.text
        assert response.json()["host"]["vcpus"] > 0
    freepool = nova.aggregates()["freepool"]
    assert sorted(freepool["hosts"]) == sorted(nova_stack.HOSTS)
    assert freepool["metadata"].get("climate:freepool") == "true"

    # Every host in the free pool: nothing boots.
    _boot_until(nova, OWNER, None, want_active=False)

    response = cloud.climate(
        "POST",
        "/v1/leases",
        _project(OWNER),
        json=helpers.lease_body(
            "nova-lease",
            reservations=[
                {"resource_type": "physical:host", "min": 1, "max": 1}
            ],
        ),
    )
    assert response.status_code in (200, 201), response.text
    lease = response.json()["lease"]
    reservation_id = lease["reservations"][0]["id"]

    def reserved():
        aggregate = nova.aggregates().get(reservation_id)
        if aggregate and aggregate["hosts"]:
            return aggregate
        return None

    aggregate = helpers.wait_for(
        reserved, 60, interval=0.5, message="the reservation's aggregate"
    )
    assert aggregate["metadata"].get("climate:owner") == OWNER
    (host,) = aggregate["hosts"]
    free = [h for h in nova_stack.HOSTS if h != host]
    assert nova.aggregates()["freepool"]["hosts"] == free

    # The owner's hinted boot lands on the reserved host.
    server = _boot_until(nova, OWNER, reservation_id, want_active=True)
    assert server["OS-EXT-SRV-ATTR:host"] == host
    # The scheduler has now seen the change: the others fail at once.
    for project, hint in ((OTHER, reservation_id), (OWNER, None)):
        other = nova.wait_server(nova.boot(project, hint=hint))
        assert other["status"] == "ERROR", (project, hint, other)
        assert NO_VALID_HOST in _fault(other), other
        _delete_and_wait(nova, other["id"])

    # The lease ends in a few seconds: the server is deleted and the
    # host goes back to the free pool.
    end = helpers.utcnow() + datetime.timedelta(seconds=8)
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease['id']}",
        _project(OWNER),
        json={"end_date": end.isoformat(timespec="seconds")},
    )
    assert response.status_code == 200, response.text

    def ended():
        aggregates = nova.aggregates()
        return reservation_id not in aggregates and sorted(
            aggregates["freepool"]["hosts"]
        ) == sorted(nova_stack.HOSTS)

    helpers.wait_for(ended, 90, interval=0.5, message="the lease's end")
    assert nova.server(server["id"]) is None
    assert nova.servers_on(host) == []
