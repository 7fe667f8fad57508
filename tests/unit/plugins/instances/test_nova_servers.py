"""What the virtual:instance plugin does to servers in Nova, over real
HTTP to the fake Compute API on loopback (tests/unit/compute/fake_nova.py;
Nova is outside this machine's unit tests): the ``on_end`` policies
(``delete``, ``shelve``, ``snapshot_then_delete``) of both forms, the
``before_end = snapshot`` snapshots, each taken once however often its
stage is retried, the reserved server shelved by the ``reserve_server``
stage once its lease is committed (never by a lease that failed to
commit), and a reserved server whose lease is deleted before its start
(handled by ``on_end``, as at the end, or left as it was when it was
not shelved yet).
tests/services/test_nova_instances.py runs the plugin against a real
Nova."""

import datetime

import pytest

from climate import (
    clock,
    compute,
    context,
    exceptions,
    plugins,
    stages,
    states,
)
from climate.common import service_auth
from climate.db import api as db_api
from climate.manager import events, leases, runner
from climate.plugins.instances import nova as instance_nova
from climate.plugins.instances import server_form
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
    # No event runner runs beside these tests: a delete that must act on
    # the cloud answers at once (DELETING), and the test runs its event.
    config.config(act_now_wait=0, group="manager")
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
def loaded(settings, fake, database):
    """Both plugins, with one reservable host, compute1."""
    loaded = plugins.load(["physical.host.plugin", "virtual.instance.plugin"])
    loaded["physical:host"].inventory.create({"name": "compute1"})
    return loaded


@pytest.fixture
def each(loaded):
    """The event runner, run by hand (``run_once``, ``run_pending``)."""
    return runner.EventRunner(events.EventHandler(loaded), "tests")


@pytest.fixture
def reserved(loaded):
    """Reserve the tenant's server ``server_id`` in a lease (starting in
    2030 unless told); return ``(manager, lease)``.  Nothing has run
    yet: the server is shelved by the lease's ``reserve_server``
    event."""
    manager = leases.LeaseManager(loaded)

    def _reserve(
        server_id,
        start="2030-12-26 12:00",
        end="2030-12-27 12:00",
        more=(),
        **fields,
    ):
        lease = manager.create(
            _user(),
            {
                "name": "mine",
                "start_date": start,
                "end_date": end,
                "reservations": [
                    {
                        "resource_type": "virtual:instance",
                        "server_id": server_id,
                        **fields,
                    },
                    *more,
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
    fake, reserved, each, on_end, gone
):
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id, on_end=on_end)
    assert each.run_pending() == 1  # reserve_server
    assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert _server_state(lease) == "RESERVED"

    # Shelved, it is given back through on_end, by the event runner.
    assert manager.delete(_user(), lease["id"])["status"] == "DELETING"
    assert each.run_pending() == 1

    assert manager.list(_user()) == []
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
    fake, reserved, each
):
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)
    each.run_pending()
    fake.servers.pop(server_id)

    manager.delete(_user(), lease["id"])
    assert each.run_pending() == 1

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


# The shelve, once the lease is committed (the reserve_server stage) ---------


def _server_state(lease):
    (reservation,) = [
        r
        for r in db_api.lease_get(lease["id"])["reservations"]
        if r["resource_type"] == "virtual:instance"
    ]
    return reservation["server"]["state"]


def _events(lease, event_type):
    return [
        e
        for e in db_api.lease_get(lease["id"])["events"]
        if e["event_type"] == event_type
    ]


def _hours_later(hours):
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return clock.VirtualClock(now + datetime.timedelta(hours=hours))


def test_a_lease_that_fails_to_commit_leaves_its_server_running(
    fake, reserved, loaded
):
    """The lease's second reservation is refused (409): the whole
    lease rolls back, and the server, which admission only recorded, was
    never shelved; it can be reserved again."""
    server_id = fake.add_server("compute1", flavor=OWN)
    too_many = {"resource_type": "physical:host", "min": 3, "max": 3}

    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as refused:
        reserved(server_id, more=[too_many])

    assert refused.value.code == 409
    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert fake.servers[server_id]["OS-EXT-SRV-ATTR:host"] == "compute1"
    assert _actions(fake, server_id) == []
    assert leases.LeaseManager(loaded).list(_user()) == []
    manager, lease = reserved(server_id)
    assert _server_state(lease) == "PENDING"


def test_the_server_is_shelved_after_the_commit_and_a_failure_retried(
    fake, reserved, each
):
    """Committed, the lease's reserve_server event is due at once; Nova
    fails its first attempt (500, outside this machine's reach, so the
    fake answers it), which is retried after its backoff."""
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)
    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert _server_state(lease) == "PENDING"
    (event,) = _events(lease, "reserve_server")
    assert event["time"] <= datetime.datetime.now(datetime.UTC).replace(
        tzinfo=None
    )

    fake.fail_matching = ("POST", rf"/servers/{server_id}/action", 500)
    assert each.run_once() == 1
    stored = db_api.lease_get(lease["id"])
    assert stored["status"] == states.LeaseStatus.PENDING
    assert "reserve_server failed" in stored["status_reason"]
    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert _server_state(lease) == "PENDING"

    fake.fail_matching = None
    with clock.use(_hours_later(1)):
        assert each.run_once() == 1
    stored = db_api.lease_get(lease["id"])
    assert stored["status"] == states.LeaseStatus.PENDING
    assert stored["degraded"] is False
    assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"
    assert _server_state(lease) == "RESERVED"
    (event,) = _events(lease, "reserve_server")
    assert (event["status"], event["attempts"]) == ("DONE", 2)
    # Nothing else is due before the start.
    assert each.run_pending() == 0


def test_a_lease_starting_now_shelves_then_wakes_its_server(
    fake, reserved, each
):
    """reserve_server falls before start_lease: the server is shelved,
    then unshelved onto the host admission set aside for it."""
    server_id = fake.add_server("compute2", flavor=OWN)
    manager, lease = reserved(server_id, start="now", end="2035-01-01 00:00")

    assert each.run_pending() == 2

    stored = db_api.lease_get(lease["id"])
    assert stored["status"] == states.LeaseStatus.ACTIVE
    server = fake.servers[server_id]
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-SRV-ATTR:host"] == "compute1"
    assert _server_state(lease) == "ACTIVE"
    bodies = [
        next(iter(body))
        for method, path, body in _action_bodies(fake, server_id)
    ]
    assert bodies == ["shelve", "unshelve"]


def test_a_shelve_given_up_degrades_the_lease_and_the_start_shelves(
    fake, reserved, each, settings
):
    """Nova refuses every attempt of reserve_server: the lease stays
    PENDING, degraded with the reason, the server running where it was;
    at the start, the start shelves it and wakes it on its reserved
    host."""
    settings.config(event_max_attempts=2, group="manager")
    server_id = fake.add_server("compute2", flavor=OWN)
    manager, lease = reserved(server_id)
    fake.fail_matching = ("POST", rf"/servers/{server_id}/action", 500)
    for hours in (0, 1):
        with clock.use(_hours_later(hours)):
            assert each.run_once() == 1
    stored = db_api.lease_get(lease["id"])
    assert stored["status"] == states.LeaseStatus.PENDING
    assert stored["degraded"] is True
    assert "reserve_server failed" in stored["status_reason"]
    assert "after 2 attempts" in stored["status_reason"]
    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert _server_state(lease) == "PENDING"

    fake.fail_matching = None
    with clock.use(clock.VirtualClock(datetime.datetime(2030, 12, 26, 12))):
        assert each.run_pending() == 1
    assert db_api.lease_get(lease["id"])["status"] == states.LeaseStatus.ACTIVE
    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert fake.servers[server_id]["OS-EXT-SRV-ATTR:host"] == "compute1"
    assert _server_state(lease) == "ACTIVE"


@pytest.mark.parametrize("failed_attempts", [0, 1])
def test_deleting_the_lease_before_the_shelve_leaves_the_server(
    fake, reserved, each, failed_attempts
):
    """Deleted before reserve_server ran (or after it failed): on_end is
    not applied (the default, delete, would delete it); the server is as
    it was, and no event is left to shelve it."""
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id, on_end="delete")
    fake.fail_matching = ("POST", rf"/servers/{server_id}/action", 500)
    for _ in range(failed_attempts):
        assert each.run_once() == 1
    fake.fail_matching = None

    manager.delete(_user(), lease["id"])
    # A shelve tried (and failed) goes through on_end, which leaves the
    # server as it is.
    each.run_pending()

    assert manager.list(_user()) == []
    with clock.use(_hours_later(1)):
        assert each.run_pending() == 0
    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert fake.servers[server_id]["OS-EXT-SRV-ATTR:host"] == "compute1"
    assert fake.deleted == []
    # Only the shelves Nova refused (the adapter retries a 500 once).
    assert "DELETE" not in _actions(fake, server_id)
    assert bool(_actions(fake, server_id)) is bool(failed_attempts)


def test_a_lease_is_busy_while_its_server_is_being_shelved(fake, reserved):
    """While reserve_server runs the lease is RESERVING: a delete then
    would race the shelve, so it is refused (409) until it is done."""
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)
    db_api.lease_transition(
        lease["id"],
        states.LeaseStatus.RESERVING,
        {states.LeaseStatus.PENDING},
    )

    with pytest.raises(exceptions.LeaseBusy):
        manager.delete(_user(), lease["id"])


def test_moving_the_dates_keeps_the_one_shelve(fake, reserved, each):
    """An update moving the lease's dates neither moves reserve_server
    (still due at the creation) nor runs it again once done."""
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)
    (before,) = _events(lease, "reserve_server")

    manager.update(
        _user(),
        lease["id"],
        {"start_date": "2031-01-05 12:00", "end_date": "2031-01-06 12:00"},
    )
    (event,) = _events(lease, "reserve_server")
    assert (event["id"], event["time"]) == (before["id"], before["time"])
    assert each.run_pending() == 1
    assert fake.servers[server_id]["status"] == "SHELVED_OFFLOADED"

    manager.update(
        _user(),
        lease["id"],
        {"start_date": "2031-02-05 12:00", "end_date": "2031-02-06 12:00"},
    )
    (event,) = _events(lease, "reserve_server")
    assert event["status"] == "DONE"
    assert each.run_pending() == 0
    assert _actions(fake, server_id) == ["POST"]
    assert _server_state(lease) == "RESERVED"


def test_the_end_leaves_a_server_never_shelved_as_it_is(
    fake, capacity, database
):
    server_id = fake.add_server("compute1", flavor=OWN)
    reservation = {"id": "r1", "server": {"id": server_id, "state": "PENDING"}}

    server_form.end(capacity, reservation, "delete")

    assert fake.servers[server_id]["status"] == "ACTIVE"
    assert fake.deleted == [] and _actions(fake, server_id) == []


def test_only_the_server_form_has_a_reserve_server_event(fake, reserved):
    server_id = fake.add_server("compute1", flavor=OWN)
    capacity_form = {
        "resource_type": "virtual:instance",
        "amount": 1,
        "vcpus": 1,
        "memory_mb": 512,
        "disk_gb": 1,
    }
    manager, lease = reserved(server_id, more=[capacity_form])

    reservation_ids = [
        e["reservation_id"] for e in _events(lease, "reserve_server")
    ]
    server_reservation = lease["reservations"][0]["id"]
    assert reservation_ids == [server_reservation]


def _action_bodies(fake, server_id):
    return [
        (method, path, body)
        for method, path, body in fake.bodies
        if path.endswith(f"/servers/{server_id}/action")
    ]


def test_reserve_server_falls_before_the_start_and_holds_nothing():
    """Due at the reservation's creation (a second before the start for
    a lease starting now); the capacity is held for the lease's window
    only."""
    start = datetime.datetime(2030, 12, 26, 12)
    lease = {"start_date": start, "end_date": start + datetime.timedelta(1)}
    created = datetime.datetime(2030, 1, 1)
    reservation = {"server_id": "s1", "created_at": created}
    stage = server_form.RESERVE_SERVER

    assert stage.time_for(lease, reservation) == created
    now = dict(reservation, created_at=start)
    assert stage.time_for(lease, now) == start - datetime.timedelta(seconds=1)
    assert stage.time_for(lease, {"server_id": None}) is None
    assert stages.hold_window(lease, reservation, [stage]) == (
        lease["start_date"],
        lease["end_date"],
    )


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
    fake, reserved, capacity, each
):
    server_id = fake.add_server("compute1", flavor=OWN, name="mine")
    manager, lease = reserved(server_id, on_end="snapshot_then_delete")
    reservation = lease["reservations"][0]
    assert each.run_pending() == 1  # reserve_server: shelved
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
    assert each.run_pending() == 1  # delete_lease: on_end

    assert len(fake.images) == 2 and _deleted(fake) == {server_id}
    assert snapshot_api.snapshots_of([reservation["id"]]) == {}


def test_a_reservation_without_snapshots_shows_none(fake, reserved):
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(server_id)

    shown = manager.get(_user(), lease["id"])["reservations"][0]
    assert "snapshots" not in shown


def test_a_lease_ending_before_its_server_woke_applies_on_end_to_it(
    fake, reserved, each
):
    """The manager was down from before the start until after the end:
    the start has nothing left to hand over, and the end applies on_end
    to the server, still shelved, as a delete before the start would."""
    server_id = fake.add_server("compute1", flavor=OWN)
    manager, lease = reserved(
        server_id,
        start="2030-12-26 12:00",
        end="2030-12-26 13:00",
        on_end="delete",
    )
    assert each.run_pending() == 1  # reserve_server
    assert _server_state(lease) == "RESERVED"

    after = datetime.datetime(2030, 12, 26, 14, 0)
    with clock.use(clock.VirtualClock(after)):
        each.run_pending()

    assert manager.get(_user(), lease["id"])["status"] == "TERMINATED"
    assert _deleted(fake) == {server_id}
    assert _server_state(lease) == "ENDED"
