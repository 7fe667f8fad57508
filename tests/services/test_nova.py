"""The nova compute driver and ClimateFilter against a real Nova.

One stack for the module (``tests/services/nova_stack.py``): placement,
nova-api, nova-conductor, nova-scheduler with ``ClimateFilter`` and two
fake computes, on MariaDB databases and a RabbitMQ vhost of their own,
and ``climate-all`` with ``[compute] driver = nova`` (and the default
``[nova] availability_zone_prefix``, so reservation aggregates have an
availability zone) talking to that nova-api without Keystone.  The tests
run in order on that one cloud: the first registers both hosts, each
leaves them in the free pool.  Aggregate changes reach nova-scheduler
asynchronously (a fanout cast), so the first boots after a change are
retried, bounded, until the scheduler has seen it.
"""

import datetime
import time

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
                # The health pass: a host whose nova-compute is down is
                # marked down at the second pass that sees it.
                "power": {"interval": 2, "max_failures": 2},
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


# End-of-lease policies and healing ------------------------------------------


def _reserve(cloud, name, start="now", **fields):
    response = cloud.climate(
        "POST",
        "/v1/leases",
        _project(OWNER),
        json=helpers.lease_body(
            name,
            start=start,
            reservations=[
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    **fields,
                }
            ],
        ),
    )
    assert response.status_code in (200, 201), response.text
    lease = response.json()["lease"]
    return lease, lease["reservations"][0]["id"]


def _handed_over(nova, reservation_id):
    """Wait until the reservation's aggregate holds its host; its name."""

    def reserved():
        aggregate = nova.aggregates().get(reservation_id)
        return aggregate and aggregate["hosts"]

    (host,) = helpers.wait_for(
        reserved, 60, interval=0.5, message="the reservation's aggregate"
    )
    return host


def _end_in_seconds(cloud, lease, seconds=8):
    end = helpers.utcnow() + datetime.timedelta(seconds=seconds)
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease['id']}",
        _project(OWNER),
        json={"end_date": end.isoformat(timespec="seconds")},
    )
    assert response.status_code == 200, response.text


def _host(cloud, name):
    response = cloud.climate("GET", "/v1/os-hosts", ADMIN)
    assert response.status_code == 200, response.text
    (host,) = [
        h for h in response.json()["hosts"] if h["hypervisor_hostname"] == name
    ]
    return host


def _holding(aggregates, host):
    return sorted(n for n, a in aggregates.items() if host in a["hosts"])


def _zone_keepers(aggregates):
    return {
        name: a
        for name, a in aggregates.items()
        if "climate:zone_keeper" in a["metadata"]
    }


def _ended_keeping_the_server(cloud, on_end):
    """A lease whose owner runs a server on its host ends with ``on_end``
    (default availability zone prefix: its aggregate has a zone); wait
    for the end; return (host, server, zone)."""
    nova = cloud.nova
    lease, reservation_id = _reserve(cloud, f"nova-{on_end}", on_end=on_end)
    host = _handed_over(nova, reservation_id)
    zone = nova.aggregates()[reservation_id]["availability_zone"]
    assert zone == f"climate_{reservation_id}"
    server = _boot_until(nova, OWNER, reservation_id, want_active=True)
    assert server["OS-EXT-SRV-ATTR:host"] == host
    assert server["OS-EXT-AZ:availability_zone"] == zone
    _end_in_seconds(cloud, lease)
    helpers.wait_for(
        lambda: reservation_id not in nova.aggregates(),
        90,
        interval=0.5,
        message="the reservation's aggregate deleted at the end",
    )
    # The server runs on, in the zone it was booted in.
    kept = nova.server(server["id"])
    assert kept["status"] == "ACTIVE", kept
    assert kept["OS-EXT-SRV-ATTR:host"] == host
    assert kept["OS-EXT-AZ:availability_zone"] == zone
    return host, server, zone


def test_recycle_keeps_the_server_and_frees_the_host_once_it_is_gone(cloud):
    nova = cloud.nova
    host, server, zone = _ended_keeping_the_server(cloud, "recycle")
    aggregates = nova.aggregates()
    recycling = aggregates["freepool-recycling"]
    # Marked like the free pool (no server lands there) and without a
    # zone, so a host running servers can enter and leave it.
    assert recycling["metadata"].get("climate:freepool") == "true"
    assert recycling["availability_zone"] is None
    (keeper,) = _zone_keepers(aggregates).values()
    assert keeper["availability_zone"] == zone
    assert _holding(aggregates, host) == sorted(
        ["freepool-recycling", keeper["name"]]
    )
    assert _host(cloud, host)["reservable"] is False

    # Its last server gone, the host is free again at the next pass.
    _delete_and_wait(nova, server["id"])

    def recycled():
        aggregates = nova.aggregates()
        return _holding(aggregates, host) == ["freepool"] and not (
            _zone_keepers(aggregates)
        )

    helpers.wait_for(recycled, 60, interval=0.5, message="the host recycled")
    assert nova.aggregates()["freepool-recycling"]["hosts"] == []
    assert _host(cloud, host)["reservable"] is True


def test_release_hands_the_host_to_the_multi_tenant_pool(cloud):
    nova = cloud.nova
    host, server, zone = _ended_keeping_the_server(cloud, "release")
    aggregates = nova.aggregates()
    held_by = _holding(aggregates, host)
    (keeper,) = _zone_keepers(aggregates)
    assert held_by == [keeper]  # only its zone: in no Climate pool
    assert aggregates[keeper]["metadata"] == {
        "availability_zone": zone,
        "climate:zone_keeper": zone,
    }
    assert _host(cloud, host)["reservable"] is False
    # Multi-tenant: another project's on-demand server lands on it (the
    # other host waits in the free pool).
    other = _boot_until(nova, OTHER, None, want_active=True)
    assert other["OS-EXT-SRV-ATTR:host"] == host

    # The operator cannot return it while servers run on it.
    host_id = _host(cloud, host)["id"]
    response = cloud.climate(
        "PUT", f"/v1/os-hosts/{host_id}", ADMIN, json={"reservable": True}
    )
    assert response.status_code == 409, response.text
    assert "still runs servers" in response.text
    for gone in (server, other):
        _delete_and_wait(nova, gone["id"])
    response = cloud.climate(
        "PUT", f"/v1/os-hosts/{host_id}", ADMIN, json={"reservable": True}
    )
    assert response.status_code == 200, response.text

    def returned():
        aggregates = nova.aggregates()
        return _holding(aggregates, host) == ["freepool"] and not (
            _zone_keepers(aggregates)
        )

    helpers.wait_for(returned, 60, interval=0.5, message="the host returned")
    assert _host(cloud, host)["reservable"] is True


def test_a_host_whose_nova_compute_stops_is_healed(cloud):
    nova = cloud.nova
    start = helpers.utcnow() + datetime.timedelta(hours=1)
    lease, reservation_id = _reserve(
        cloud, "nova-heal", start=helpers.wire(start)
    )
    (failing,) = [h["name"] for h in lease["reservations"][0]["hosts"]]
    (spare,) = [h for h in nova_stack.HOSTS if h != failing]
    failing_id = _host(cloud, failing)["id"]
    stopped = time.monotonic()
    nova.stop_compute(failing)
    try:

        def reservation():
            response = cloud.climate(
                "GET", f"/v1/leases/{lease['id']}", _project(OWNER)
            )
            assert response.status_code == 200, response.text
            (reservation,) = response.json()["lease"]["reservations"]
            return reservation

        def healed():
            # Marked down, out of the free pool (the spare stays there,
            # now reserved), its reservation moved: in that order.
            host = _host(cloud, failing)
            return (
                host["health"] == "down"
                and nova.aggregates()["freepool"]["hosts"] == [spare]
                and [h["name"] for h in reservation()["hosts"]] == [spare]
                and host
            )

        host = helpers.wait_for(
            healed,
            nova_stack.SERVICE_DOWN_TIME + 60,
            interval=1,
            message=f"{failing} marked down and healed",
        )
        print(
            f"{failing} marked down and healed "
            f"{time.monotonic() - stopped:.0f} s after its nova-compute "
            "stopped"
        )
        assert nova.compute_state(failing) == "down"
        assert host["reservable"] is False
        moved = reservation()
        assert moved["resources_changed"] is True
        assert moved["missing_resources"] is False
    finally:
        nova.start_compute(failing)
    helpers.wait_for(
        lambda: nova.compute_state(failing) == "up",
        60,
        interval=1,
        message=f"{failing}'s nova-compute up again",
    )
    # Back in service at the operator's word.
    response = cloud.climate(
        "PUT", f"/v1/os-hosts/{failing_id}", ADMIN, json={"reservable": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["host"]["health"] == "ok"
    assert sorted(nova.aggregates()["freepool"]["hosts"]) == sorted(
        nova_stack.HOSTS
    )
    response = cloud.climate(
        "DELETE", f"/v1/leases/{lease['id']}", _project(OWNER)
    )
    assert response.status_code in (200, 204), response.text
