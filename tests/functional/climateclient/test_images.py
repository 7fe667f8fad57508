"""``climate image ...``, ``climate block ...`` and a lease with an image
(its hosts and their addresses in ``lease show``) against a real
climate-all, whose provisioning driver is the simulated one."""

import uuid

import pytest

from tests.functional.climateclient import support

pytestmark = pytest.mark.functional


@pytest.fixture
def admin(cli):
    return cli.as_admin()


@pytest.fixture
def image(admin):
    name = f"img-{uuid.uuid4().hex[:8]}"
    created = admin.json(
        "image",
        "create",
        name,
        "--reference",
        f"http://images.example.org/{name}.qcow2",
        "--default-load-time",
        "300",
    )
    assert created["name"] == name
    assert created["estimated_load_time"] == 300
    return name


def test_images_and_a_lease_prepared_with_one(cli, admin, image, pool):
    admin.json(
        "host",
        "create",
        f"{pool}-a",
        "--extra",
        f"pool={pool}",
        "--extra",
        "address=198.51.100.7",
    )
    assert image in [i["name"] for i in cli.json("image", "list")]
    shown = cli.json("image", "show", image)
    assert shown["estimates"] == {"simulated": {"seconds": 300, "samples": 0}}
    lease = cli.json(
        "lease",
        "create",
        "lab",
        "--start-date",
        "2031-02-03 09:00",
        "--end-date",
        "2031-02-03 12:00",
        "--reservation",
        support.in_pool(pool, image=image),
    )
    (reservation,) = lease["reservations"]
    assert reservation["image"] == image
    assert reservation["hosts"][0]["address"] == "198.51.100.7"
    table = cli.run("lease", "show", "lab", "-c", "reservations")
    assert f"{pool}-a (198.51.100.7)" in table.stdout
    assert f"image={image}" in table.stdout
    refused = admin.run("image", "delete", image)
    assert refused.code != 0
    assert "delete them first" in refused.stderr


def test_blocks(admin, image, pool):
    admin.json("host", "create", f"{pool}-a", "--extra", f"pool={pool}")
    block = admin.json(
        "block",
        "create",
        "--image",
        image,
        "--machine-count",
        "1",
        "--project",
        f"class-{pool}",
        "--slot",
        "2031-03-03 09:00",
        "2031-03-03 11:00",
        "--weekly-until",
        "2031-03-20 00:00",
    )
    assert len(block["slots"]) == 3
    assert {s["allocated"] for s in block["slots"]} == {1}
    assert block["id"] in [b["id"] for b in admin.json("block", "list")]
    assert admin.run("block", "delete", block["id"]).code == 0
    assert block["id"] not in [b["id"] for b in admin.json("block", "list")]
