"""Preparing hosts with an image before a lease, and reclaiming them after.

The physical:host plugin on the real database, its events run by the
real event runner on a virtual clock.  Hosts are loaded by the
``test.scripted`` provisioning driver (tests/plugins, through its entry
point: it answers by host name) or the ``simulated`` one; nothing leaves
this machine, so nothing is mocked.
"""

import datetime

import climate_test_provisioning
import pytest
from oslo_messaging.notify import _impl_test

from climate import exceptions, provisioning
from climate.db import api as db_api
from climate.plugins.hosts import estimates
from climate.plugins.hosts.db import api as host_db
from tests.unit.plugins.hosts.conftest import END, START, user

MINUTE = datetime.timedelta(minutes=1)
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _scripted(config):
    config.config(default_driver="test.scripted", group="provisioning")
    provisioning.reset()
    climate_test_provisioning.CALLS.clear()
    yield
    provisioning.reset()


@pytest.fixture
def image(plugin):
    return plugin.images.create_image(
        {
            "name": "ubuntu",
            "reference": "http://images/u.img",
            "default_load_time": 600,
        }
    )


def _events(lease_id):
    return {e["event_type"]: e for e in db_api.lease_get(lease_id)["events"]}


def _fields(lease_id):
    return db_api.lease_get(lease_id)["reservations"][0]


def _host(name):
    for host in host_db.host_list():
        if host["hypervisor_hostname"] == name:
            return host
    raise AssertionError(name)


def test_an_image_adds_a_prepare_stage_before_the_start(
    add_host, reserve, image
):
    add_host("n1")
    lease = reserve(image="ubuntu")
    events = _events(lease["id"])
    # 600 s of load and the larger margin: 5 minutes.
    assert events["prepare_hosts"]["time"] == START - 15 * MINUTE
    assert events["reclaim_hosts"]["time"] == END + SECOND
    (allocation,) = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert allocation["start_date"] == START - 15 * MINUTE
    # Held through the reclaim: a reload and its margin.
    assert allocation["end_date"] == END + SECOND + 15 * MINUTE
    fields = _fields(lease["id"])
    assert fields["image"] == "ubuntu"
    assert fields["expected_at"] == START - 5 * MINUTE
    assert [h["name"] for h in fields["hosts"]] == ["n1"]


def test_without_an_image_nothing_changes(add_host, reserve):
    add_host("n1")
    lease = reserve()
    assert set(_events(lease["id"])) == {
        "start_lease",
        "before_end_lease",
        "end_lease",
    }


def test_prepare_loads_the_hosts_and_start_hands_them_over_ready(
    add_host, reserve, image, run_at
):
    add_host("n1")
    add_host("n2")
    lease = reserve(image="ubuntu", count=2)
    run_at(START - 15 * MINUTE)
    assert db_api.lease_get(lease["id"])["status"] == "PENDING"
    loads = host_db.loads_of(lease["reservations"][0]["id"])
    assert [(r["kind"], r["status"], r["attempt"]) for r in loads] == [
        ("prepare", "ready", 1),
        ("prepare", "ready", 1),
    ]
    for name in ("n1", "n2"):
        host = _host(name)["provisioning"]
        assert host["current_image_id"] == image["id"]
        assert host["clean"] is True
        assert host["address"] == f"{name}.lab.example"
    shown = _fields(lease["id"])
    assert shown["ready_at"] <= START
    assert {h["address"] for h in shown["hosts"]} == {
        "n1.lab.example",
        "n2.lab.example",
    }
    run_at(START)
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    assert _host("n1")["provisioning"]["clean"] is False


def test_staggered_loads_start_earlier_in_waves(
    add_host, reserve, image, config
):
    config.config(max_concurrent_loads=2, group="provisioning")
    for index in range(5):
        add_host(f"n{index}")
    lease = reserve(image="ubuntu", count=5)
    rid = lease["reservations"][0]["id"]
    planned = sorted(
        r["planned_at"] for r in host_db.loads_of(rid, "prepare", planned=True)
    )
    ten = 10 * MINUTE
    latest = START - 5 * MINUTE - ten
    assert planned == [
        latest - 2 * ten,
        latest - ten,
        latest - ten,
        latest,
        latest,
    ]
    assert _events(lease["id"])["prepare_hosts"]["time"] == planned[0]
    # A second lease at the same start takes the lane the first left
    # free, then queues before the first's loads.
    add_host("n5")
    add_host("n6")
    second = reserve("second", image="ubuntu", count=2)
    slots = sorted(
        r["planned_at"]
        for r in host_db.loads_of(
            second["reservations"][0]["id"], "prepare", planned=True
        )
    )
    assert slots == [latest - 3 * ten, latest - 2 * ten]


def test_a_flaky_host_is_loaded_again(add_host, reserve, image, run_at):
    add_host("flaky-1")
    lease = reserve(image="ubuntu")
    run_at(START - 15 * MINUTE)
    loads = host_db.loads_of(lease["reservations"][0]["id"])
    assert [(r["status"], r["attempt"]) for r in loads] == [
        ("retry", 1),
        ("ready", 2),
    ]
    assert not _fields(lease["id"])["missing_resources"]


def test_a_broken_host_is_swapped_for_a_free_one(
    add_host, reserve, image, run_at
):
    add_host("a-broken")
    lease = reserve(image="ubuntu")
    add_host("b-spare")
    run_at(START - 15 * MINUTE)
    rid = lease["reservations"][0]["id"]
    assert [
        a["hypervisor_hostname"] for a in host_db.host_allocations_of(rid)
    ] == ["b-spare"]
    assert not _fields(lease["id"])["missing_resources"]
    calls = [c[1] for c in climate_test_provisioning.CALLS]
    assert calls == ["a-broken", "b-spare"]


def test_no_spare_host_marks_the_reservation_and_tells_the_tenant(
    add_host, reserve, image, run_at, config
):
    config.config(driver=["test"], group="oslo_messaging_notifications")
    _impl_test.reset()
    from climate.plugins.hosts import notices

    notices.reset()
    add_host("dead-1")
    lease = reserve(image="ubuntu")
    run_at(START - 15 * MINUTE)
    assert [
        (r["status"], r["attempt"])
        for r in host_db.loads_of(lease["reservations"][0]["id"])
    ] == [("retry", 1), ("retry", 2), ("retry", 3)]
    assert _fields(lease["id"])["missing_resources"] is True
    ((context, message, priority, _),) = [
        n
        for n in _impl_test.NOTIFICATIONS
        if n[1]["event_type"] == "lease.reservation.missing_resources"
    ]
    assert priority == "WARN"
    assert message["payload"]["missing_hosts"] == ["dead-1"]
    assert message["payload"]["lease_id"] == lease["id"]
    assert context["project_id"] == "p1"
    notices.reset()
    # The lease still starts, with what it has.
    run_at(START)
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"


def test_a_lease_starting_now_is_granted_and_says_when_it_is_ready(
    add_host, lease_manager, image, run_at
):
    add_host("n1")
    lease = lease_manager.create(
        user(),
        {
            "name": "now",
            "start_date": "now",
            "end_date": "2031-01-01 00:00",
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    "image": "ubuntu",
                }
            ],
        },
    )
    fields = _fields(lease["id"])
    start = db_api.lease_get(lease["id"])["start_date"]
    assert fields["ready_at"] > start
    # Its preparation ran at once (the lease manager runs what is due):
    # the simulated 600 s load began within moments of the start.
    assert fields["ready_at"] - start <= 11 * MINUTE


def test_sanitized_hosts_skip_the_next_load(
    add_host, reserve, image, run_at, config
):
    config.config(default_os_module="simulated", group="provisioning")
    config.config(login_rate=0.0, group="simulated_provisioning")
    add_host("n1")
    first = reserve("first", image="ubuntu")
    second = reserve(
        "second",
        start=END + datetime.timedelta(hours=2),
        end=END + datetime.timedelta(hours=6),
        image="ubuntu",
    )
    run_at(START - 15 * MINUTE)
    run_at(START)
    run_at(END)
    run_at(END + SECOND)
    assert db_api.lease_get(first["id"])["status"] == "TERMINATED"
    reclaimed = host_db.loads_of(first["reservations"][0]["id"])
    assert [(r["kind"], r["status"]) for r in reclaimed][-1] == (
        "sanitize",
        "ready",
    )
    assert _host("n1")["provisioning"]["clean"] is True
    run_at(END + datetime.timedelta(hours=2) - 15 * MINUTE)
    (load,) = host_db.loads_of(second["reservations"][0]["id"])
    assert (load["kind"], load["status"]) == ("prepare", "skipped")
    assert len(climate_test_provisioning.CALLS) == 1


def test_a_used_host_is_reloaded_at_reclaim(
    add_host, reserve, image, run_at, config
):
    config.config(default_os_module="simulated", group="provisioning")
    config.config(login_rate=1.0, group="simulated_provisioning")
    add_host("n1")
    lease = reserve(image="ubuntu")
    for moment in (START - 15 * MINUTE, START, END, END + SECOND):
        run_at(moment)
    kinds = [
        (r["kind"], r["status"])
        for r in host_db.loads_of(lease["reservations"][0]["id"])
    ]
    assert kinds == [("prepare", "ready"), ("reload", "ready")]
    assert _host("n1")["provisioning"]["clean"] is True
    assert db_api.lease_get(lease["id"])["status"] == "TERMINATED"


def test_a_host_the_none_module_cannot_judge_is_reloaded(
    add_host, reserve, image, run_at
):
    add_host("n1")
    lease = reserve(image="ubuntu")
    for moment in (START - 15 * MINUTE, START, END, END + SECOND):
        run_at(moment)
    assert [
        r["kind"] for r in host_db.loads_of(lease["reservations"][0]["id"])
    ] == ["prepare", "reload"]


# Estimates ----------


def _record(image, seconds, driver="test.scripted", status="ready", when=None):
    host_db.load_record(
        {
            "computehost_id": _host("n1")["id"],
            "image_id": image["id"],
            "driver": driver,
            "kind": "prepare",
            "attempt": 1,
            "status": status,
            "finished_at": when or datetime.datetime(2030, 1, 1),
            "duration": seconds,
        }
    )


def test_the_estimate_learns_from_successful_recent_loads(
    add_host, image, config
):
    add_host("n1")
    as_image = provisioning.Image(
        image["id"], "ubuntu", "http://images/u.img", 600
    )
    # No history: the default.
    assert estimates.estimate(as_image, "test.scripted") == 600
    for seconds in (100, 110, 120, 130, 140, 150, 160, 170, 180, 190):
        _record(image, seconds)
    _record(image, 5)  # did nothing: ignored
    _record(image, 50000)  # hung for hours: ignored
    _record(image, 900, status="retry")  # failed: ignored
    _record(image, 900, when=datetime.datetime(2020, 1, 1))  # too old
    _record(image, 900, driver="other")  # another driver's
    # The 90th percentile of the ten that count.
    assert estimates.estimate(as_image, "test.scripted") == 180
    config.config(estimate_percentile=50, group="physical:host")
    assert estimates.estimate(as_image, "test.scripted") == 140


# Bad input ----------


def test_an_unknown_image_is_404(add_host, reserve):
    add_host("n1")
    with pytest.raises(exceptions.ImageNotFound):
        reserve(image="nope")


def test_a_type_that_cannot_load_an_image_refuses_it(lease_manager):
    with pytest.raises(exceptions.InvalidInput) as raised:
        lease_manager.create(
            user(),
            {
                "name": "x",
                "start_date": "2030-12-26 12:00",
                "end_date": "2030-12-27 12:00",
                "reservations": [
                    {"resource_type": "test:recorder", "image": "ubuntu"}
                ],
            },
        )
    assert raised.value.code == 400
    assert "image" in raised.value.message


def test_a_host_whose_driver_cannot_be_reached_is_refused(plugin, config):
    from tests import helpers

    config.config(auth_type="none", group="service_credentials")
    port = helpers.free_port()
    config.config(
        endpoint_override=f"http://127.0.0.1:{port}",
        retries=0,
        group="ironic",
    )
    with pytest.raises(exceptions.ProvisioningUnavailable) as raised:
        plugin.inventory.create(
            {"name": "node-9", "provisioning_driver": "ironic"}
        )
    assert raised.value.code == 400
    assert "ironic" in raised.value.message
    assert host_db.host_list() == []


def test_an_unknown_driver_is_refused(plugin):
    with pytest.raises(exceptions.InvalidInput) as raised:
        plugin.inventory.create({"name": "n", "provisioning_driver": "pxe"})
    assert "unknown provisioning driver 'pxe'" in raised.value.message


# Access restrictions ----------


def test_a_host_restricted_to_projects_goes_to_those_only(add_host, reserve):
    add_host("n1", projects=["p2"])
    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        reserve(project_id="p1")
    assert reserve("mine", project_id="p2")


# Updates ---------------------------------------------------------------


def test_moving_a_lease_moves_its_preparation(
    add_host, reserve, update, image
):
    add_host("n1")
    add_host("n2")
    lease = reserve(image="ubuntu")
    later = START + datetime.timedelta(days=1)
    update(
        lease,
        start_date=later.strftime("%Y-%m-%d %H:%M"),
        end_date=(END + datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
    )
    assert _events(lease["id"])["prepare_hosts"]["time"] == later - 15 * MINUTE
    update(lease, reservation={"max": 2, "min": 2})
    rid = lease["reservations"][0]["id"]
    planned = host_db.loads_of(rid, "prepare", planned=True)
    assert len(planned) == 2
    assert {a["start_date"] for a in host_db.host_allocations_of(rid)} == {
        later - 15 * MINUTE
    }


def test_an_image_can_be_added_or_changed_until_the_preparation(
    add_host, reserve, update, image, plugin, run_at
):
    add_host("n1")
    plugin.images.create_image(
        {
            "name": "big",
            "reference": "http://images/big",
            "default_load_time": 3600,
        }
    )
    lease = reserve()
    assert "prepare_hosts" not in _events(lease["id"])
    update(lease, reservation={"image": "ubuntu"})
    assert _events(lease["id"])["prepare_hosts"]["time"] == START - 15 * MINUTE
    update(lease, reservation={"image": "big"})
    # 3600 s and a quarter of it as the margin.
    assert _events(lease["id"])["prepare_hosts"]["time"] == START - 75 * MINUTE
    run_at(START - 75 * MINUTE)
    with pytest.raises(exceptions.InvalidState):
        update(lease, reservation={"image": "ubuntu"})
