"""virtual:instance reservations against a real Nova and Placement.

One stack for the module (``tests/services/nova_stack.py``: placement,
nova-api, nova-conductor, nova-scheduler with ``ClimateFilter``, two
fake computes) and ``climate-all`` with ``[compute] driver = nova``
reaching Placement without Keystone.  The tests run in order on that
one cloud: the first registers both hosts.
"""

import datetime

import pytest
import requests

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
        url = f"http://127.0.0.1:{port}"
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


def test_a_capacity_lease_boots_exactly_amount_servers_of_its_flavor(cloud):
    nova = cloud.nova
    for host in nova_stack.HOSTS:
        response = cloud.climate(
            "POST", "/v1/os-hosts", ADMIN, json={"name": host}
        )
        assert response.status_code in (200, 201), response.text
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

    # The end (on_end delete, the default): servers, flavor, aggregate,
    # providers and class gone.
    end = helpers.utcnow() + datetime.timedelta(seconds=5)
    response = cloud.climate(
        "PUT",
        f"/v1/leases/{lease['id']}",
        _project(OWNER),
        json={"end_date": end.isoformat(timespec="seconds")},
    )
    assert response.status_code == 200, response.text

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
