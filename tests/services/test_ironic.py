"""The ``ironic`` provisioning driver against a real standalone Ironic
(tests/services/ironic_server.py: ironic from PyPI, fake-hardware,
noauth, SQLite, on a loopback port), through the physical:host plugin's
prepare, start, end and reclaim stages, with the retry and fatal paths.

Failures are Ironic's own: a node with the ``direct`` deploy interface
really fetches the image and fails its deploy when the URL cannot be
reached; a node in maintenance refuses to deploy.  The image reference is
such an unreachable URL, which fake nodes accept as they accept any.
Nothing is mocked.
"""

import datetime

import pytest

from climate import clock, exceptions, plugins, provisioning
from climate.common import dates, service_auth
from climate.db import api as db_api
from climate.manager import events, leases, runner
from climate.plugins.hosts.db import api as host_db
from tests import helpers
from tests.services import conftest as services
from tests.services import ironic_server
from tests.unit.plugins.hosts.conftest import user

pytestmark = pytest.mark.services

SECOND = datetime.timedelta(seconds=1)


@pytest.fixture(scope="module")
def ironic(tmp_path_factory):
    reason = ironic_server.available()
    if reason:
        services.unavailable(reason)
    server = ironic_server.IronicServer(tmp_path_factory.mktemp("ironic"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def image_url():
    return f"http://127.0.0.1:{helpers.free_port()}/debian.qcow2"


@pytest.fixture
def lab(database, config, ironic, image_url):
    config.config(auth_type="none", group="service_credentials")
    config.config(
        endpoint_override=ironic.url,
        poll_interval=0.2,
        deploy_timeout=60,
        group="ironic",
    )
    config.config(
        default_driver="ironic",
        default_os_module="none",
        max_concurrent_loads=2,
        group="provisioning",
    )
    service_auth.reset()
    provisioning.reset()
    loaded = plugins.load(["physical.host.plugin"])
    config.config(max_load_attempts=2, group="physical:host")
    plugin = loaded["physical:host"]
    each = runner.EventRunner(events.EventHandler(loaded), "tests")

    def run_at(moment):
        with clock.use(clock.VirtualClock(moment)):
            return each.run_pending()

    plugin.images.create_image(
        {
            "name": "debian",
            "reference": image_url,
            # The direct deploy interface checks images: it needs one.
            "checksum": "0" * 32,
            "default_load_time": 60,
        }
    )
    yield plugin, leases.LeaseManager(loaded), run_at
    service_auth.reset()
    provisioning.reset()


def _node_name(prefix):
    return f"{prefix}-{services.unique_name('n')[-8:]}"


def _lease(lease_manager, count=1):
    end = dates.utcnow() + datetime.timedelta(hours=2)
    return lease_manager.create(
        user(),
        {
            "name": services.unique_name("lease"),
            "start_date": "now",
            "end_date": end.strftime("%Y-%m-%d %H:%M"),
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": count,
                    "max": count,
                    "image": "debian",
                }
            ],
        },
    )


def _loads(lease):
    return [
        (r["kind"], r["status"], r["attempt"])
        for r in host_db.loads_of(lease["reservations"][0]["id"])
    ]


def _held(lease):
    return [
        a["hypervisor_hostname"]
        for a in host_db.host_allocations_of(lease["reservations"][0]["id"])
    ]


def test_registering_a_node_ironic_does_not_know_is_400(lab):
    plugin, _, _ = lab
    with pytest.raises(exceptions.InvalidInput) as raised:
        plugin.inventory.create({"name": "no-such-node"})
    assert "Ironic has no node named 'no-such-node'" in raised.value.message


def test_a_lease_is_prepared_started_ended_and_reclaimed(
    lab, ironic, image_url
):
    plugin, lease_manager, run_at = lab
    names = [_node_name("good") for _ in range(2)]
    for index, name in enumerate(names):
        ironic.enroll(name, f"192.0.2.{10 + index}")
        plugin.inventory.create({"name": name})
    lease = _lease(lease_manager, count=2)
    run_at(dates.utcnow())
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    assert _loads(lease) == [("prepare", "ready", 1)] * 2
    for name in names:
        node = ironic.node(name)
        assert node["provision_state"] == "active"
        assert node["instance_info"]["image_source"] == image_url
    (reservation,) = db_api.lease_get(lease["id"])["reservations"]
    assert sorted(h["address"] for h in reservation["hosts"]) == [
        "192.0.2.10",
        "192.0.2.11",
    ]
    # The address users reach a node at may change with a load.
    ironic.call(
        "PATCH",
        f"/v1/nodes/{names[0]}",
        json=[
            {"op": "replace", "path": "/extra/address", "value": "192.0.2.99"}
        ],
    )
    end = db_api.lease_get(lease["id"])["end_date"]
    run_at(end)
    run_at(end + SECOND)
    assert db_api.lease_get(lease["id"])["status"] == "TERMINATED"
    # The none OS module cannot tell whether anyone logged in: reloaded
    # (an Ironic rebuild).
    assert _loads(lease)[2:] == [("reload", "ready", 1)] * 2
    for name in names:
        assert ironic.node(name)["provision_state"] == "active"
    addresses = {
        h["hypervisor_hostname"]: h["provisioning"]["address"]
        for h in host_db.host_list()
    }
    assert addresses[names[0]] == "192.0.2.99"


def test_a_failing_deploy_is_retried_then_the_node_swapped(lab, ironic):
    plugin, lease_manager, run_at = lab
    bad = _node_name("bad")
    ironic.enroll(bad, "192.0.2.20", deploy_interface="direct")
    plugin.inventory.create({"name": bad})
    lease = _lease(lease_manager)
    assert _held(lease) == [bad]
    spare = _node_name("spare")
    ironic.enroll(spare, "192.0.2.21")
    plugin.inventory.create({"name": spare})
    run_at(dates.utcnow())
    assert _loads(lease) == [
        ("prepare", "retry", 1),
        ("prepare", "retry", 2),
        ("prepare", "ready", 1),
    ]
    failed = host_db.loads_of(lease["reservations"][0]["id"])[0]
    assert "deploy failed" in failed["reason"]
    assert ironic.node(bad)["provision_state"] == "deploy failed"
    assert _held(lease) == [spare]
    assert ironic.node(spare)["provision_state"] == "active"
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"


def test_a_node_in_maintenance_is_fatal_and_without_a_spare_missing(
    lab, ironic
):
    plugin, lease_manager, run_at = lab
    for host in host_db.host_list():
        plugin.inventory.update(host["id"], {"reservable": False})
    broken = _node_name("maint")
    ironic.enroll(broken, "192.0.2.30")
    plugin.inventory.create({"name": broken})
    ironic.maintenance(broken, "disk replaced")
    lease = _lease(lease_manager)
    run_at(dates.utcnow())
    assert _loads(lease) == [("prepare", "fatal", 1)]
    (row,) = host_db.loads_of(lease["reservations"][0]["id"])
    assert "maintenance: disk replaced" in row["reason"]
    (reservation,) = db_api.lease_get(lease["id"])["reservations"]
    assert reservation["missing_resources"] is True
    assert ironic.node(broken)["provision_state"] == "available"
