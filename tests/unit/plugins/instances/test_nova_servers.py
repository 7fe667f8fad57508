"""What the virtual:instance plugin does to servers in Nova, over real
HTTP to the fake Compute API on loopback (tests/unit/compute/fake_nova.py;
Nova is outside this machine's unit tests): the ``on_end`` policies
(``delete``, ``shelve``, ``snapshot_then_delete``) of both forms, the
``before_end = snapshot`` snapshots, each taken once however often its
stage is retried, and a reserved server whose lease is deleted before
its start (handled by ``on_end``, as at the end).
tests/services/test_nova_instances.py runs the plugin against a real
Nova."""

import datetime

import pytest

from climate import compute, context, exceptions, plugins, states
from climate.common import service_auth
from climate.db import api as db_api
from climate.manager import leases
from climate.plugins.instances import nova as instance_nova
from climate.plugins.instances.db import snapshot_api
from tests.unit.compute import fake_nova

FLAVOR = {"id": "r1", "vcpus": 2, "ram": 2048, "disk": 10}
OWN = {"id": "own", "vcpus": 2, "ram": 2048, "disk": 10}


@pytest.fixture
def fake():
    server = fake_nova.FakeNova()
    server.add_hypervisor("compute1")
    server.add_hypervisor("compute2")
    yield server
    server.close()


@pytest.fixture
def settings(config, fake):
    service_auth.reset()
    config.config(auth_type="none", group="service_credentials")
    config.config(
        endpoint_override=fake.url,
        retries=1,
        reclaim_timeout=3,
        additional_headers={"X-Project-Id": "service", "X-Roles": "admin"},
        group="nova",
    )
    config.config(driver="nova", group="compute")
    yield config
    service_auth.reset()


@pytest.fixture
def reservation_r1(database):
    """A lease whose reservation is ``r1`` (the fake flavor's id): the
    snapshots Climate records belong to a reservation of its database."""
    db_api.lease_create(
        {
            "id": "l1",
            "name": "l1",
            "project_id": "p1",
            "start_date": datetime.datetime(2030, 12, 26, 12, 0),
            "end_date": datetime.datetime(2030, 12, 27, 12, 0),
            "status": states.LeaseStatus.ACTIVE,
        },
        reservations=[
            {
                "id": "r1",
                "resource_type": "virtual:instance",
                "status": states.ReservationStatus.ACTIVE,
            }
        ],
    )


@pytest.fixture
def capacity(settings, reservation_r1):
    return instance_nova.NovaCapacity(compute.load("nova"))


def _actions(fake, server_id):
    """The calls made on one server, in order: ``DELETE`` or the
    action's name."""
    found = []
    for method, path, _ in fake.requests:
        if not path.endswith(f"/servers/{server_id}/action") and not (
            method == "DELETE" and path.endswith(f"/servers/{server_id}")
        ):
            continue
        found.append(method)
    return found


def _deleted(fake):
    return {s["id"] for s in fake.deleted}


# on_end, capacity form ------------------------------------------------------


def test_on_end_shelve_shelves_the_servers_of_the_flavor(fake, capacity):
    mine = [fake.add_server("compute1", flavor=FLAVOR) for _ in range(2)]
    other = fake.add_server("compute1", flavor=OWN)

    capacity.reclaim_servers("r1", "shelve")

    for server_id in mine:
        assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert fake.servers[other]["status"] == "ACTIVE"
    assert fake.deleted == [] and fake.images == []


def test_on_end_snapshot_then_delete_snapshots_each_before_deleting(
    fake, capacity
):
    mine = [
        fake.add_server("compute1", flavor=FLAVOR, name=f"vm{i}")
        for i in range(2)
    ]
    other = fake.add_server("compute2", flavor=OWN)

    capacity.reclaim_servers("r1", "snapshot_then_delete")

    assert _deleted(fake) == set(mine)
    assert sorted(fake.images) == sorted(
        (server_id, f"vm{i}-r1-end") for i, server_id in enumerate(mine)
    )
    for server_id in mine:
        # createImage (a POST on the action) first, then the DELETE.
        assert _actions(fake, server_id) == ["POST", "DELETE"]
    assert other in fake.servers
    # Each DELETE waited for its snapshot: Nova would have dropped it.
    assert fake.lost_images == []


@pytest.mark.parametrize("end", ["reclaim_servers", "end_server", "release"])
def test_snapshot_then_delete_waits_for_the_snapshot(fake, capacity, end):
    """Nova takes a while to upload the image (the fake: while the server
    is shown three times), and cancels it, deleting the image, if the
    server is deleted meanwhile: the DELETE waits."""
    fake.snapshot_polls = 3
    server_id = fake.add_server("compute1", flavor=FLAVOR, name="vm")

    if end == "reclaim_servers":
        capacity.reclaim_servers("r1", "snapshot_then_delete")
    elif end == "end_server":
        capacity.end_server({"id": "r1"}, server_id, "snapshot_then_delete")
    else:
        capacity.release_server(
            {"id": "r1"}, server_id, "snapshot_then_delete"
        )

    assert fake.images == [(server_id, "vm-r1-end")]
    assert fake.lost_images == []
    assert _deleted(fake) == {server_id}


def test_on_end_delete_deletes_without_a_snapshot(fake, capacity):
    mine = fake.add_server("compute1", flavor=FLAVOR)

    capacity.reclaim_servers("r1", "delete")

    assert _deleted(fake) == {mine}
    assert fake.images == []


# on_end, reserved-server form -----------------------------------------------


@pytest.mark.parametrize(
    "policy, gone, images",
    [
        ("delete", True, []),
        ("shelve", False, []),
        ("snapshot_then_delete", True, ["vm-r1-end"]),
    ],
)
def test_the_end_of_a_reserved_server_follows_on_end(
    fake, capacity, policy, gone, images
):
    server_id = fake.add_server("compute1", flavor=OWN)
    capacity._nova.ensure_pool("r1", {})

    capacity.end_server({"id": "r1"}, server_id, policy)

    assert (server_id in _deleted(fake)) is gone
    if not gone:
        assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert [name for _, name in fake.images] == images
    assert "r1" not in fake.pools()


# before_end = snapshot ------------------------------------------------------


def test_before_end_snapshots_the_servers_holding_a_host(fake, capacity):
    running = fake.add_server("compute1", flavor=FLAVOR, name="a")
    shelved = fake.add_server(
        None, status="SHELVED_OFFLOADED", flavor=FLAVOR, name="b"
    )

    done = capacity.snapshot_servers({"id": "r1"})

    assert done == [running]
    assert fake.images == [(running, "a-r1-before-end")]
    # Nothing else happens to them: the end is on_end's.
    assert fake.servers[running]["status"] == "ACTIVE"
    assert shelved in fake.servers and fake.deleted == []


def test_before_end_snapshots_a_reserved_server(fake, capacity):
    server_id = fake.add_server("compute1", flavor=OWN, name="mine")
    reservation = {"id": "r1", "server": {"id": server_id, "state": "ACTIVE"}}

    assert capacity.snapshot_servers(reservation) == [server_id]
    assert fake.images == [(server_id, "mine-r1-before-end")]

    fake.servers.pop(server_id)
    assert capacity.snapshot_servers(reservation) == []


# A reserved server whose lease is deleted before its start -----------------


@pytest.fixture
def reserved(settings, fake, database):
    """Reserve the tenant's server ``server_id`` in a lease starting in
    2030; return ``(manager, lease)``."""
    loaded = plugins.load(["physical.host.plugin", "virtual.instance.plugin"])
    loaded["physical:host"].inventory.create({"name": "compute1"})
    manager = leases.LeaseManager(loaded)

    def _reserve(server_id, **fields):
        lease = manager.create(
            _user(),
            {
                "name": "mine",
                "start_date": "2030-12-26 12:00",
                "end_date": "2030-12-27 12:00",
                "reservations": [
                    {
                        "resource_type": "virtual:instance",
                        "server_id": server_id,
                        **fields,
                    }
                ],
            },
        )
        return manager, lease

    return _reserve


def _user():
    return context.RequestContext(
        user_id="u1", project_id="p1", overwrite=False
    )


@pytest.mark.parametrize(
    "on_end, gone",
    [("delete", True), ("shelve", False), ("snapshot_then_delete", False)],
)
def test_deleting_a_pending_lease_applies_on_end_to_its_server(
    fake, reserved, on_end, gone
):
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id, on_end=on_end)
    assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert lease["reservations"][0]["server"]["state"] == "RESERVED"

    manager.delete(_user(), lease["id"])

    assert (server_id in _deleted(fake)) is gone
    if not gone:
        # snapshot_then_delete: Nova cannot snapshot an offloaded server
        # and its shelve image is the only copy of its disk: kept.
        assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert fake.images == []
    # The server is free to be reserved again.
    if not gone:
        reserved(server_id)


def test_deleting_a_pending_lease_whose_server_is_gone_succeeds(
    fake, reserved
):
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)
    fake.servers.pop(server_id)

    manager.delete(_user(), lease["id"])

    assert manager.list(_user()) == []


def test_a_server_not_yet_offloaded_is_snapshotted_then_deleted(
    fake, capacity
):
    """Deleted before the start while Nova had not shelved it yet: it
    still has its disk, so snapshot_then_delete does both."""
    server_id = fake.add_server("compute1", flavor=OWN, name="late")

    capacity.release_server({"id": "r1"}, server_id, "snapshot_then_delete")

    assert fake.images == [(server_id, "late-r1-end")]
    assert _deleted(fake) == {server_id}


def test_a_server_not_yet_offloaded_is_shelved_by_shelve(fake, capacity):
    server_id = fake.add_server("compute1", flavor=OWN)

    capacity.release_server({"id": "r1"}, server_id, "shelve")

    assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert fake.images == [] and fake.deleted == []


# Snapshots across retries ----------------------------------------------------


def _recorded(reservation_id="r1"):
    """``{(stage, server id): image id}`` Climate recorded."""
    return {
        (s["stage"], s["server_id"]): s["image_id"]
        for s in snapshot_api.snapshots_of([reservation_id]).get(
            reservation_id, []
        )
    }


def test_a_retried_before_end_snapshots_each_server_once(fake, capacity):
    servers = [
        fake.add_server("compute1", flavor=FLAVOR, name=f"vm{i}")
        for i in range(3)
    ]
    # Nova fails the second server's createImage (past the retries).
    fake.fail_matching = ("POST", f"/servers/{servers[1]}/action", 500)
    with pytest.raises(exceptions.ComputeUnavailable):
        capacity.snapshot_servers({"id": "r1"})
    assert [server for server, _ in fake.images] == servers[:1]

    # The event runner retries the stage once Nova recovers.
    fake.fail_matching = None
    assert capacity.snapshot_servers({"id": "r1"}) == servers

    assert sorted(fake.images) == sorted(
        (server_id, f"vm{i}-r1-before-end")
        for i, server_id in enumerate(servers)
    )
    # Each image id Nova answered is recorded for its server.
    assert _recorded() == {
        ("before_end", server_id): image_id
        for image_id, server_id in fake.image_ids.items()
    }
    # A third run (the stage retried after a later failure) makes none.
    assert capacity.snapshot_servers({"id": "r1"}) == servers
    assert len(fake.images) == 3


def test_a_retried_snapshot_then_delete_snapshots_once(fake, capacity):
    server_id = fake.add_server("compute1", flavor=FLAVOR, name="vm")
    fake.fail_matching = ("DELETE", f"/servers/{server_id}", 500)
    with pytest.raises(exceptions.ComputeUnavailable):
        capacity.reclaim_servers("r1", "snapshot_then_delete")
    assert fake.images == [(server_id, "vm-r1-end")]

    fake.fail_matching = None
    capacity.reclaim_servers("r1", "snapshot_then_delete")

    assert fake.images == [(server_id, "vm-r1-end")]
    assert _deleted(fake) == {server_id}
    (image_id,) = fake.image_ids
    assert _recorded() == {("end", server_id): image_id}


def test_the_stages_snapshot_a_server_each_and_busy_is_not_recorded(
    fake, capacity
):
    server_id = fake.add_server("compute1", flavor=FLAVOR, name="vm")
    fake.fail_matching = ("POST", f"/servers/{server_id}/action", 409)
    assert capacity.snapshot_servers({"id": "r1"}) == []
    assert _recorded() == {}

    fake.fail_matching = None
    capacity.snapshot_servers({"id": "r1"})
    capacity.reclaim_servers("r1", "snapshot_then_delete")

    # before_end's snapshot does not stand for the end's: one each.
    assert sorted(name for _, name in fake.images) == [
        "vm-r1-before-end",
        "vm-r1-end",
    ]
    assert set(_recorded()) == {("before_end", server_id), ("end", server_id)}


def test_the_snapshots_are_shown_and_go_away_with_the_reservation(
    fake, reserved, capacity
):
    server_id = fake.add_server("compute1", flavor=OWN, name="mine")
    manager, lease = reserved(server_id, on_end="snapshot_then_delete")
    reservation = lease["reservations"][0]
    # Running again, as Nova's unshelve at the lease's start leaves it.
    fake.servers[server_id].update(
        {"status": "ACTIVE", "OS-EXT-SRV-ATTR:host": "compute1"}
    )
    capacity.snapshot_servers(reservation)
    (image_id,) = fake.image_ids

    shown = manager.get(_user(), lease["id"])["reservations"][0]
    assert shown["snapshots"] == [
        {"server_id": server_id, "image_id": image_id, "stage": "before_end"}
    ]

    # Deleted: on_end snapshots then deletes the server; Climate forgets
    # both snapshots (the images stay in Nova's image service).
    manager.delete(_user(), lease["id"])

    assert len(fake.images) == 2 and _deleted(fake) == {server_id}
    assert snapshot_api.snapshots_of([reservation["id"]]) == {}


def test_a_reservation_without_snapshots_shows_none(fake, reserved):
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)

    shown = manager.get(_user(), lease["id"])["reservations"][0]
    assert "snapshots" not in shown
