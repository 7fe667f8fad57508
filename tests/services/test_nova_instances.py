"""virtual:instance reservations against a real Nova and Placement.

One stack for the module (``tests/services/nova_stack.py``: placement,
nova-api with Climate's ``climate.nova.api`` filter in its paste
pipeline, nova-conductor, nova-scheduler with ``ClimateFilter``, two
fake computes) and ``climate-all`` with ``[compute] driver = nova``
reaching Placement without Keystone.  The tests run in order on that
one cloud: the first makes ``compute1`` reservable and boots on
``compute2`` (outside Climate); the capacity test makes ``compute2``
reservable too.
"""

import datetime
import json
import time

import pytest
import requests

from climate.nova.api import LEASE_HEADER
from tests import helpers
from tests.services import nova_stack
from tests.services.conftest import unavailable
from tests.services.test_nova import (  # noqa: F401  (module fixtures)
    NO_VALID_HOST,
    _databases,
    _delete_and_wait,
    _fault,
    _vhost,
)

pytestmark = pytest.mark.services

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "ops", "X-Roles": "admin"}
OWNER = "project-owner"
OTHER = "project-other"
PLACEMENT = {
    "X-Auth-Token": nova_stack.PLACEMENT_TOKEN,
    "OpenStack-API-Version": "placement 1.26",
}


def _project(project):
    return {"X-User-Id": f"user-{project}", "X-Project-Id": project}


class Cloud:
    def __init__(self, nova, url):
        self.nova = nova
        self.url = url

    def climate(self, method, path, headers, **kwargs):
        return requests.request(
            method, self.url + path, headers=headers, timeout=120, **kwargs
        )

    def placement(self, path):
        response = requests.get(
            self.nova.placement_url + path, headers=PLACEMENT, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, _databases, _vhost):  # noqa: F811
    missing = nova_stack.available()
    if missing:
        unavailable(missing)
    workdir = tmp_path_factory.mktemp("nova-instances")
    port = helpers.free_port()
    url = f"http://127.0.0.1:{port}"
    # nova-api runs climate.nova.api in its pipeline, against climate-all.
    nova = nova_stack.NovaStack(workdir, _databases, _vhost, climate_url=url)
    climate = None
    try:
        nova.start()
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
                "placement": {
                    "endpoint_override": nova.placement_url,
                    "additional_headers": "X-Auth-Token:"
                    + nova_stack.PLACEMENT_TOKEN,
                },
            },
        )
        climate = helpers.ClimateProcess(
            "climate-all", config_file, workdir / "climate-all.log"
        )
        climate.wait_http(f"{url}/", timeout=60)
        yield Cloud(nova, url)
    except BaseException:
        print(f"\nnova logs:\n{nova.logs()}")
        raise
    finally:
        if climate is not None:
            climate.stop()
            print(f"\nclimate-all log:\n{climate.log()[-6000:]}")
        nova.stop()


def _boot(nova, project, flavor):
    """POST /servers in ``project`` with ``flavor``: the answer."""
    body = {
        "server": {
            "name": f"server-{project}",
            "imageRef": nova_stack.IMAGE_ID,
            "flavorRef": flavor,
            "networks": "none",
        }
    }
    return nova.post("/servers", body, headers=nova_stack.headers(project))


def _boot_until_active(nova, project, flavor, timeout=30):
    """Boot until the scheduler (which learns of aggregate changes
    asynchronously) places the server; return it."""
    seen = []

    def attempt():
        response = _boot(nova, project, flavor)
        assert response.status_code == 202, response.text
        server = nova.wait_server(response.json()["server"]["id"])
        if server["status"] == "ACTIVE":
            return server
        seen.append(_fault(server))
        _delete_and_wait(nova, server["id"])
        return None

    try:
        return helpers.wait_for(attempt, timeout, interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: boots gave {seen}") from None


def _providers(cloud, reservation_id):
    return [
        p
        for p in cloud.placement("/resource_providers")["resource_providers"]
        if reservation_id in p["name"]
    ]


def _register(cloud, host):
    response = cloud.climate(
        "POST", "/v1/os-hosts", ADMIN, json={"name": host}
    )
    assert response.status_code in (200, 201, 409), response.text


def _hinted_boot(nova, project, lease_params):
    body = {
        "server": {
            "name": "hinted",
            "imageRef": nova_stack.IMAGE_ID,
            "flavorRef": nova.flavor,
            "networks": "none",
        },
        "os:scheduler_hints": {
            "reserved": "True",
            "lease_params": lease_params,
        },
    }
    return nova.post(
        "/servers", body, headers=nova_stack.headers(project), timeout=180
    )


def _project_servers(nova, project):
    response = nova.get(
        "/servers", params={"all_tenants": 1, "project_id": project}
    )
    assert response.status_code == 200, response.text
    return {s["id"] for s in response.json()["servers"]}


def _in(seconds):
    when = helpers.utcnow() + datetime.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def test_a_hinted_boot_reserves_the_server_until_its_lease_starts(cloud):
    nova = cloud.nova
    _register(cloud, "compute1")
    params = json.dumps(
        {"name": "reserved-server", "start": _in(40), "end": _in(3600)}
    )
    response = _hinted_boot(nova, OWNER, params)
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    lease_id = response.headers[LEASE_HEADER]

    # Shelved and offloaded until the start; RESERVED in Climate.
    def shelved():
        server = nova.server(server_id)
        return server if server["status"] == "SHELVED_OFFLOADED" else None

    helpers.wait_for(shelved, 60, interval=0.5, message="the shelve")
    lease = cloud.climate(
        "GET", f"/v1/leases/{lease_id}", _project(OWNER)
    ).json()["lease"]
    (reservation,) = lease["reservations"]
    assert reservation["server"] == {"id": server_id, "state": "RESERVED"}
    assert [h["name"] for h in reservation["hosts"]] == ["compute1"]

    # At the start: unshelved onto the reserved host.
    def awake():
        server = nova.server(server_id)
        return server if server["status"] == "ACTIVE" else None

    server = helpers.wait_for(awake, 120, interval=0.5, message="unshelve")
    assert server["OS-EXT-SRV-ATTR:host"] == "compute1"
    lease = cloud.climate(
        "GET", f"/v1/leases/{lease_id}", _project(OWNER)
    ).json()["lease"]
    assert lease["reservations"][0]["server"]["state"] == "ACTIVE"

    # The end (on_end delete): the server goes, and its pool.
    end = helpers.utcnow() + datetime.timedelta(seconds=5)
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease_id}",
        _project(OWNER),
        json={"end_date": end.isoformat(timespec="seconds")},
    )
    assert response.status_code == 200, response.text
    helpers.wait_for(
        lambda: nova.server(server_id) is None,
        120,
        interval=1,
        message="the server deleted at the end",
    )
    reservation_id = reservation["id"]
    helpers.wait_for(
        lambda: reservation_id not in nova.aggregates(),
        30,
        interval=0.5,
        message="the server's pool removed",
    )


def test_a_hinted_boot_that_cannot_be_leased_leaves_no_server(cloud):
    nova = cloud.nova
    before = _project_servers(nova, OWNER)
    for params, needs in (
        ("{not json", "not JSON"),
        (json.dumps({"name": "x", "start": "now"}), "needs end"),
    ):
        response = _hinted_boot(nova, OWNER, params)
        assert response.status_code == 400, response.text
        assert needs in response.text
    assert _project_servers(nova, OWNER) == before

    # A name the project already uses: the Lease API answers 409, and
    # the server the filter let Nova create is deleted.
    params = json.dumps(
        {"name": "reserved-server", "start": "now", "end": _in(3600)}
    )
    response = _hinted_boot(nova, OWNER, params)
    assert response.status_code == 409, response.text
    assert (
        "reserved-server" in response.json()["conflictingRequest"]["message"]
    )
    helpers.wait_for(
        lambda: _project_servers(nova, OWNER) == before,
        60,
        interval=0.5,
        message="the hinted server deleted",
    )


def test_a_lease_refused_after_its_server_reservation_shelves_nothing(cloud):
    """The lease's second reservation is refused (409): the lease's
    transaction rolls back, and the server its first reservation named
    was only recorded, never shelved (the reserve_server stage shelves
    once a lease is committed)."""
    nova = cloud.nova
    # compute2 is not reservable yet: an ordinary boot lands there.
    server = _boot_until_active(nova, OWNER, nova.flavor)
    response = cloud.climate(
        "POST",
        "/v1/leases",
        _project(OWNER),
        json=helpers.lease_body(
            "refused",
            start=_in(3600),
            end=_in(7200),
            reservations=[
                {
                    "resource_type": "virtual:instance",
                    "server_id": server["id"],
                },
                {"resource_type": "physical:host", "min": 5, "max": 5},
            ],
        ),
    )
    assert response.status_code == 409, response.text

    # Time for a shelve to show, had one been sent.
    time.sleep(5)
    after = nova.server(server["id"])
    assert after["status"] == "ACTIVE", after
    assert not after.get("OS-EXT-STS:task_state"), after
    assert after["OS-EXT-SRV-ATTR:host"] == server["OS-EXT-SRV-ATTR:host"]
    leases = cloud.climate("GET", "/v1/leases", _project(OWNER)).json()
    assert "refused" not in {lease["name"] for lease in leases["leases"]}
    _delete_and_wait(nova, server["id"])


def test_a_capacity_lease_boots_exactly_amount_servers_of_its_flavor(cloud):
    nova = cloud.nova
    helpers.wait_for(
        lambda: not nova.servers_on("compute2"),
        60,
        interval=0.5,
        message="compute2 without servers",
    )
    for host in nova_stack.HOSTS:
        _register(cloud, host)
    # Every host in the free pool: an ordinary boot finds none.
    response = _boot(nova, OWNER, nova.flavor)
    assert response.status_code == 202, response.text
    plain = nova.wait_server(response.json()["server"]["id"])
    assert plain["status"] == "ERROR" and NO_VALID_HOST in _fault(plain)
    _delete_and_wait(nova, plain["id"])

    amount = 3
    response = cloud.climate(
        "POST",
        "/v1/leases",
        _project(OWNER),
        json=helpers.lease_body(
            "instances",
            reservations=[
                {
                    "resource_type": "virtual:instance",
                    "amount": amount,
                    "vcpus": 1,
                    "memory_mb": 64,
                    "disk_gb": 1,
                    "affinity": None,
                    "before_end": "snapshot",
                }
            ],
        ),
    )
    assert response.status_code in (200, 201), response.text
    lease = response.json()["lease"]
    reservation_id = lease["reservations"][0]["id"]

    def started():
        shown = cloud.climate(
            "GET", f"/v1/leases/{lease['id']}", _project(OWNER)
        ).json()["lease"]
        (reservation,) = shown["reservations"]
        if reservation.get("flavor_id") and reservation["status"] == "active":
            return reservation
        return None

    reservation = helpers.wait_for(
        started, 60, interval=0.5, message="the reservation's start"
    )
    flavor = reservation["flavor_id"]
    held = {h["name"]: h["instances"] for h in reservation["hosts"]}
    assert sum(held.values()) == amount

    # Placement holds one provider per host, nested under its compute
    # node, with as many units of the reservation's class as it holds.
    rc = "CUSTOM_RESERVATION_" + reservation_id.upper().replace("-", "_")
    providers = _providers(cloud, reservation_id)
    assert len(providers) == len(held)
    for provider in providers:
        host = provider["name"].rsplit("-", 1)[1]
        assert provider["parent_provider_uuid"] is not None
        inventory = cloud.placement(
            f"/resource_providers/{provider['uuid']}/inventories"
        )["inventories"]
        assert inventory[rc]["total"] == held[host]
    # The flavor is private to the owner and asks for one unit.
    shown = nova.get(f"/flavors/{flavor}").json()["flavor"]
    assert shown["os-flavor-access:is_public"] is False
    specs = nova.get(f"/flavors/{flavor}/os-extra_specs").json()
    assert specs["extra_specs"][f"resources:{rc}"] == "1"
    access = nova.get(f"/flavors/{flavor}/os-flavor-access").json()
    assert [a["tenant_id"] for a in access["flavor_access"]] == [OWNER]

    # Another project cannot boot with it.
    refused = _boot(nova, OTHER, flavor)
    assert refused.status_code == 400, refused.text
    assert "flavor" in refused.text.lower()

    servers = [_boot_until_active(nova, OWNER, flavor)]
    for _ in range(amount - 1):
        response = _boot(nova, OWNER, flavor)
        assert response.status_code == 202, response.text
        servers.append(nova.wait_server(response.json()["server"]["id"]))
    assert [s["status"] for s in servers] == ["ACTIVE"] * amount
    landed = {}
    for server in servers:
        host = server["OS-EXT-SRV-ATTR:host"]
        landed[host] = landed.get(host, 0) + 1
    assert landed == held
    # One more than amount: no valid host.
    response = _boot(nova, OWNER, flavor)
    assert response.status_code == 202, response.text
    beyond = nova.wait_server(response.json()["server"]["id"])
    assert beyond["status"] == "ERROR", beyond
    assert NO_VALID_HOST in _fault(beyond), beyond
    _delete_and_wait(nova, beyond["id"])
    # Ordinary boots still find no host.
    response = _boot(nova, OWNER, nova.flavor)
    plain = nova.wait_server(response.json()["server"]["id"])
    assert plain["status"] == "ERROR", plain
    _delete_and_wait(nova, plain["id"])

    # The started reservation grows by one: the update hands the new
    # unit over (Placement's inventory follows) and one more boots; the
    # three running keep their hosts.
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease['id']}",
        _project(OWNER),
        json={"reservations": [{"id": reservation_id, "amount": amount + 1}]},
    )
    assert response.status_code == 200, response.text

    def inventory_total():
        total = 0
        for provider in _providers(cloud, reservation_id):
            inventory = cloud.placement(
                f"/resource_providers/{provider['uuid']}/inventories"
            )["inventories"]
            total += inventory.get(rc, {}).get("total", 0)
        return total == amount + 1

    helpers.wait_for(
        inventory_total, 60, interval=0.5, message="the grown inventory"
    )
    servers.append(_boot_until_active(nova, OWNER, flavor))
    shrink = cloud.climate(
        "PUT",
        f"/v1/leases/{lease['id']}",
        _project(OWNER),
        json={"reservations": [{"id": reservation_id, "amount": 1}]},
    )
    assert shrink.status_code == 409, shrink.text
    assert "may grow but not shrink" in shrink.json()["error_message"]

    # before_end = snapshot: at the before_end_date, a snapshot of each
    # server (createImage; the Glance stand-in keeps the images).  Then
    # the end (on_end delete, the default): servers, flavor, aggregate,
    # providers and class gone.
    now = helpers.utcnow()
    before_end = now + datetime.timedelta(seconds=2)
    end = now + datetime.timedelta(seconds=15)
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease['id']}",
        _project(OWNER),
        json={
            "end_date": end.isoformat(timespec="seconds"),
            "before_end_date": before_end.isoformat(timespec="seconds"),
        },
    )
    assert response.status_code == 200, response.text
    images = nova.glance.server.RequestHandlerClass.snapshots

    def snapshotted():
        name = f"server-{OWNER}-{reservation_id}-before-end"
        made = [i for i in list(images.values()) if i.get("name") == name]
        return made if len(made) == len(servers) else None

    made = helpers.wait_for(
        snapshotted, 30, interval=0.5, message="the before-end snapshots"
    )
    assert sorted(i.get("instance_uuid") for i in made) == sorted(
        s["id"] for s in servers
    )

    # Climate records each image Nova answered (what a retry skips), just
    # after Nova made it.
    def recorded():
        shown = _shown(cloud, lease["id"]).get("snapshots") or []
        return shown if len(shown) == len(servers) else None

    shown = helpers.wait_for(
        recorded, 30, interval=0.5, message="the snapshots recorded"
    )
    assert sorted(
        (s["server_id"], s["image_id"], s["stage"]) for s in shown
    ) == sorted((i["instance_uuid"], i["id"], "before_end") for i in made)

    def ended():
        return (
            all(nova.server(s["id"]) is None for s in servers)
            and nova.get(f"/flavors/{flavor}").status_code == 404
            and reservation_id not in nova.aggregates()
            and not _providers(cloud, reservation_id)
        )

    helpers.wait_for(ended, 120, interval=1, message="the lease's end")
    classes = cloud.placement("/resource_classes")["resource_classes"]
    assert rc not in [c["name"] for c in classes]
    assert sorted(nova.aggregates()["freepool"]["hosts"]) == sorted(
        nova_stack.HOSTS
    )


def _shown(cloud, lease_id):
    """The lease's (only) reservation as its owner sees it."""
    response = cloud.climate("GET", f"/v1/leases/{lease_id}", _project(OWNER))
    assert response.status_code == 200, response.text
    (reservation,) = response.json()["lease"]["reservations"]
    return reservation


@pytest.mark.parametrize("on_end", ["snapshot_then_delete", "shelve"])
def test_on_end_handles_the_servers_left_at_the_end(cloud, on_end):
    """A one-instance lease, its server booted, then ended: on_end
    snapshots then deletes it (one image, recorded by Climate), or
    shelves it (Nova offloads it: it holds no host)."""
    nova = cloud.nova
    for host in nova_stack.HOSTS:
        _register(cloud, host)
    response = cloud.climate(
        "POST",
        "/v1/leases",
        _project(OWNER),
        json=helpers.lease_body(
            f"end-{on_end}",
            reservations=[
                {
                    "resource_type": "virtual:instance",
                    "amount": 1,
                    "vcpus": 1,
                    "memory_mb": 64,
                    "disk_gb": 1,
                    "on_end": on_end,
                }
            ],
        ),
    )
    assert response.status_code in (200, 201), response.text
    lease_id = response.json()["lease"]["id"]

    def started():
        reservation = _shown(cloud, lease_id)
        if reservation.get("flavor_id") and reservation["status"] == "active":
            return reservation
        return None

    reservation = helpers.wait_for(
        started, 60, interval=0.5, message="the reservation's start"
    )
    reservation_id = reservation["id"]
    server = _boot_until_active(nova, OWNER, reservation["flavor_id"])

    end = helpers.utcnow() + datetime.timedelta(seconds=3)
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease_id}",
        _project(OWNER),
        json={"end_date": end.isoformat(timespec="seconds")},
    )
    assert response.status_code == 200, response.text

    def ended():
        shown = _shown(cloud, lease_id)
        return shown if shown["status"] == "deleted" else None

    shown = helpers.wait_for(ended, 120, interval=1, message="the end")
    assert reservation_id not in nova.aggregates()
    assert not _providers(cloud, reservation_id)
    images = nova.glance.server.RequestHandlerClass.snapshots
    name = f"server-{OWNER}-{reservation_id}-end"
    made = [i for i in list(images.values()) if i.get("name") == name]
    if on_end == "shelve":
        assert made == [] and "snapshots" not in shown
        assert nova.server(server["id"])["status"] == "SHELVED_OFFLOADED"
        _delete_and_wait(nova, server["id"])
        return
    assert nova.server(server["id"]) is None
    (image,) = made
    assert image["instance_uuid"] == server["id"]
    assert shown["snapshots"] == [
        {"server_id": server["id"], "image_id": image["id"], "stage": "end"}
    ]
