"""``climate lease ...`` with instance reservations against a real
climate-all running both plugins: create with ``--reservation
resource_type=virtual:instance,...`` (and blazar's ``lease-create``),
show the flavor once active, refusals."""

import pytest

from tests.functional.climateclient import support

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    service = support.start_service(
        tmp_path_factory.mktemp("climate"),
        manager={
            "plugins": "physical.host.plugin,virtual.instance.plugin",
        },
    )
    yield service
    service.process.stop()


def instances(pool, **fields):
    values = {
        "resource_type": "virtual:instance",
        "amount": 2,
        "vcpus": 1,
        "memory_mb": 512,
        "disk_gb": 10,
        **fields,
    }
    text = ",".join(f"{k}={v}" for k, v in values.items())
    return f'{text},resource_properties=["==","$pool","{pool}"]'


def test_an_instance_lease_shows_its_flavor_once_active(cli, add_hosts, pool):
    add_hosts(2, vcpus=4, memory_mb=4096, local_gb=50)

    done = cli.spawn(
        "lease",
        "create",
        "vms",
        "--duration",
        "1h",
        "--reservation",
        instances(pool, affinity="false"),
        "--wait",
        "-f",
        "json",
    )

    lease = done.json()
    assert lease["status"] == "ACTIVE"
    reservation = lease["reservations"][0]
    assert reservation["resource_type"] == "virtual:instance"
    assert reservation["affinity"] is False
    assert reservation["flavor_id"]
    assert sorted(h["name"] for h in reservation["hosts"]) == [
        f"{pool}-node0",
        f"{pool}-node1",
    ]
    shown = cli.run("lease", "show", "vms", "-c", "reservations")
    assert shown.code == 0, shown
    assert f"flavor_id={reservation['flavor_id']}" in shown.stdout
    assert "(1 instance(s))" in shown.stdout


def test_blazar_lease_create_and_refusals(cli, add_hosts, pool):
    add_hosts(1, vcpus=4, memory_mb=4096, local_gb=50)

    created = cli.json(
        "lease-create",
        "--start-date",
        "2030-12-26 12:00",
        "--end-date",
        "2030-12-27 12:00",
        "--reservation",
        instances(pool, amount=4),
        "blazar-vms",
    )
    assert created["reservations"][0]["amount"] == 4

    refused = cli.run(
        "lease",
        "create",
        "more",
        "--start-date",
        "2030-12-26 12:00",
        "--end-date",
        "2030-12-27 12:00",
        "--reservation",
        instances(pool, amount=1),
    )
    assert refused.code != 0
    assert "0 fit from 2030-12-26 12:00" in refused.stderr

    too_big = cli.run(
        "lease",
        "create",
        "big",
        "--start-date",
        "2030-12-26 12:00",
        "--end-date",
        "2030-12-27 12:00",
        "--reservation",
        instances(pool, vcpus=1000),
    )
    assert too_big.code != 0
    assert "vcpus (1000) is larger than the largest" in too_big.stderr
