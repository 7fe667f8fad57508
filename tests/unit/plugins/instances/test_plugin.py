"""The virtual:instance plugin on the real database: admission of
instance capacity through lease create and update, next to whole-host
reservations of physical:host both ways, and the flavor's life at the
start and end (the ``local`` compute driver)."""

import datetime
import json

import pytest

from climate import exceptions, states
from climate.db import api as db_api
from climate.plugins.instances.db import api as instance_db
from tests.unit.plugins.instances.conftest import END, START, user

L = states.LeaseStatus


def at(hour, day=26):
    return datetime.datetime(2030, 12, day, hour, 0)


def refused(call, *args, **kwargs):
    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        call(*args, **kwargs)
    assert info.value.code == 409
    return info.value.message


def invalid(call, *args, **kwargs):
    with pytest.raises(exceptions.Invalid) as info:
        call(*args, **kwargs)
    assert info.value.code == 400
    return info.value.message


@pytest.fixture
def two_hosts(add_host):
    return [add_host(n)["hypervisor_hostname"] for n in ("h1", "h2")]


# Admission -------------------------------------------------------------------


def test_instances_pack_onto_the_fewest_hosts(two_hosts, instances, slots_of):
    # 8 vCPUs a host: four 2-vCPU instances fill one host.
    lease = instances(amount=4)

    assert slots_of(lease) == {"h1": 4}
    reservation = lease["reservations"][0]
    assert reservation["resource_type"] == "virtual:instance"
    assert (reservation["amount"], reservation["vcpus"]) == (4, 2)
    assert reservation["affinity"] is None
    assert reservation["on_end"] == "delete"
    assert reservation["flavor_id"] is None  # made at the start


def test_a_second_lease_fills_the_room_left(two_hosts, instances, slots_of):
    first = instances(amount=3)
    second = instances(amount=3, name="second")

    assert slots_of(first) == {"h1": 3}
    # The host already shared is filled first, then the next.
    assert slots_of(second) == {"h1": 1, "h2": 2}


def test_instances_beyond_the_room_left_are_refused(two_hosts, instances):
    instances(amount=6)

    message = refused(instances, amount=3, name="late")

    assert "2 fit from 2030-12-26 12:00 to 2030-12-27 12:00" in message
    assert "at most 8 with nothing else" in message


def test_memory_and_disk_limit_as_vcpus_do(add_host, instances):
    add_host("h1", vcpus=64, memory_mb=8192, local_gb=40)

    message = refused(instances, amount=3, vcpus=1, memory_mb=4096)

    assert "at most 2 fit" in message


def test_an_amount_that_could_never_fit_says_how_many_could(
    two_hosts, instances
):
    message = refused(instances, amount=9, vcpus=2)

    assert "at most 8 fit on the 2 reservable host(s)" in message
    assert "even with nothing else on them" in message


def test_affinity_true_puts_all_on_one_host(two_hosts, instances, slots_of):
    instances(amount=2)  # h1 has room for 2 more

    lease = instances(amount=3, affinity=True, name="together")

    assert slots_of(lease) == {"h2": 3}
    message = refused(instances, amount=5, affinity=True, name="too many")
    assert "at most 4 fit (all on one host)" in message


def test_affinity_false_puts_each_on_its_own_host(
    two_hosts, instances, slots_of
):
    lease = instances(amount=2, affinity=False)

    assert slots_of(lease) == {"h1": 1, "h2": 1}
    message = refused(instances, amount=3, affinity=False, name="three")
    assert "at most 2 fit (each on its own host)" in message


def test_affinity_reads_blazar_strings(two_hosts, instances):
    for text, value in (("False", False), ("true", True), ("null", None)):
        lease = instances(affinity=text, name=text)
        assert lease["reservations"][0]["affinity"] is value


def test_resource_properties_choose_the_hosts(add_host, instances, slots_of):
    add_host("h1")
    add_host("h2", gpu="a100")

    lease = instances(
        amount=2, resource_properties=json.dumps(["==", "$gpu", "a100"])
    )

    assert slots_of(lease) == {"h2": 2}
    message = refused(
        instances,
        amount=5,
        name="more",
        resource_properties=json.dumps(["==", "$gpu", "a100"]),
    )
    assert "at most 4 fit on the 1 reservable host(s)" in message


def test_leases_in_other_windows_do_not_count(two_hosts, instances, slots_of):
    instances(amount=8)
    later = instances(
        amount=8, name="later", start=END, end=END + datetime.timedelta(1)
    )

    assert sum(slots_of(later).values()) == 8


def test_shares_that_never_run_together_do_not_add_up(
    add_host, instances, slots_of
):
    # One host of 8 vCPUs: 6 taken 12h-14h, 6 more 16h-18h, never at once.
    add_host("h1")
    instances(amount=3, name="early", start=at(12), end=at(14))
    instances(amount=3, name="late", start=at(16), end=at(18))

    # 12h-18h meets both, but at most 6 vCPUs are taken at any moment.
    across = instances(amount=1, name="across", start=at(12), end=at(18))
    assert slots_of(across) == {"h1": 1}
    message = refused(
        instances, amount=1, name="more", start=at(13), end=at(17)
    )
    assert "0 fit from 2030-12-26 13:00 to 2030-12-26 17:00" in message


def test_shares_that_run_together_do_add_up(add_host, instances):
    # 4 vCPUs 12h-16h and 4 more 14h-18h: all 8 taken 14h-16h.
    add_host("h1")
    instances(amount=2, name="first", start=at(12), end=at(16))
    instances(amount=2, name="second", start=at(14), end=at(18))

    refused(instances, amount=1, name="more", start=at(15), end=at(20))
    refused(instances, amount=1, name="wider", start=at(10), end=at(20))
    assert instances(amount=2, name="before", start=at(10), end=at(14))


def test_hosts_of_unknown_size_take_no_instance(add_host, instances):
    add_host("h1", vcpus=None, memory_mb=None, local_gb=None)

    message = refused(instances, amount=1)

    assert "no reservable host of known size" in message


def test_hosts_not_reservable_take_no_instance(add_host, loaded, instances):
    host = add_host("h1")
    loaded["physical:host"].inventory.update(host["id"], {"reservable": False})

    refused(instances, amount=1)


# Next to whole hosts ---------------------------------------------------------


def test_a_host_reserved_whole_has_no_instance_room(
    two_hosts, instances, whole_hosts, slots_of
):
    whole_hosts(count=1)  # h1, whole

    lease = instances(amount=4)

    assert slots_of(lease) == {"h2": 4}
    message = refused(instances, amount=1, name="more")
    assert "0 fit" in message


def test_a_host_with_instances_cannot_be_reserved_whole(
    two_hosts, instances, whole_hosts
):
    instances(amount=1)  # on h1

    whole_hosts(count=1)  # h2
    message = refused(whole_hosts, count=1, name="another")

    assert "none is free" in message


def test_whole_and_instance_leases_share_hosts_in_turn(
    two_hosts, instances, whole_hosts
):
    instances(amount=8)  # both hosts full, START to END

    whole_hosts(count=2, start=END, end=END + datetime.timedelta(1))
    refused(whole_hosts, count=1, name="overlap", start=at(18), end=END)


def test_a_whole_host_update_onto_a_shared_host_is_refused(
    add_host, instances, whole_hosts, lease_manager
):
    add_host("h1")
    hosts = whole_hosts(count=1, start=START, end=at(18))
    instances(amount=1, start=at(18), end=END)

    message = refused(
        lease_manager.update,
        user(),
        hosts["id"],
        {"end_date": "2030-12-27 12:00"},
    )
    assert "host" in message


def test_instance_slots_do_not_count_as_hosts_in_usage(
    two_hosts, instances, whole_hosts, loaded
):
    mixed = instances(amount=3)
    held = whole_hosts(count=1, start=END, end=END + datetime.timedelta(1))

    usage = loaded["physical:host"].usage([mixed["id"], held["id"]])
    assert usage == {held["id"]: {"hosts": 1}}
    usage = loaded["virtual:instance"].usage([mixed["id"], held["id"]])
    assert usage == {mixed["id"]: {"instances": 3}}


# Bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("amount", 0),
        ("vcpus", -1),
        ("memory_mb", "lots"),
        ("disk_gb", 1.5),
        ("vcpus", True),
    ],
)
def test_sizes_must_be_positive_integers(two_hosts, instances, field, value):
    message = invalid(instances, **{field: value})

    assert f"{field} must be a positive integer" in message


@pytest.mark.parametrize(
    "field, value, largest",
    [("vcpus", 9, 8), ("memory_mb", 16385, 16384), ("disk_gb", 101, 100)],
)
def test_sizes_beyond_the_largest_host_are_refused(
    two_hosts, instances, field, value, largest, lease_manager
):
    message = invalid(instances, **{field: value})

    assert f"{field} ({value}) is larger than the largest reservable " in (
        message
    )
    assert f"({largest})" in message
    assert lease_manager.list(user()) == []


def test_affinity_must_be_true_false_or_null(two_hosts, instances):
    message = invalid(instances, affinity="sometimes")

    assert "affinity must be true" in message


def test_on_end_is_validated(two_hosts, instances):
    message = invalid(instances, on_end="keep")

    assert "on_end must be one of delete, shelve, snapshot_then_delete" in (
        message
    )
    for policy in ("delete", "shelve", "snapshot_then_delete"):
        lease = instances(on_end=policy, name=policy)
        assert lease["reservations"][0]["on_end"] == policy


def test_unknown_fields_are_refused(two_hosts, instances):
    message = invalid(instances, min=1)

    assert "unknown virtual:instance field(s) min" in message


def test_a_reserved_server_needs_a_compute_service(two_hosts, lease_manager):
    values = {
        "name": "server",
        "start_date": "2030-12-26 12:00",
        "end_date": "2030-12-27 12:00",
        "reservations": [
            {"resource_type": "virtual:instance", "server_id": "abc"}
        ],
    }

    message = invalid(lease_manager.create, user(), values)

    assert "needs a compute service" in message


def test_a_malformed_query_is_refused(two_hosts, instances):
    message = invalid(instances, resource_properties='["~", "$x"]')

    assert "resource_properties" in message


# Updates ---------------------------------------------------------------------


def test_an_update_changes_the_amount_in_place(
    two_hosts, instances, lease_manager, slots_of
):
    lease = instances(amount=2)
    reservation_id = lease["reservations"][0]["id"]

    lease = lease_manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "amount": 6}]},
    )

    assert sum(slots_of(lease).values()) == 6
    assert lease["reservations"][0]["amount"] == 6


def test_an_update_that_does_not_fit_keeps_the_reservation(
    two_hosts, instances, lease_manager, slots_of
):
    lease = instances(amount=2)
    instances(amount=4, name="other")
    reservation_id = lease["reservations"][0]["id"]

    refused(
        lease_manager.update,
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "amount": 5}]},
    )

    assert sum(slots_of(lease).values()) == 2


def test_moving_the_window_moves_the_slots(
    two_hosts, instances, lease_manager, whole_hosts
):
    lease = instances(amount=8)
    lease_manager.update(
        user(),
        lease["id"],
        {"start_date": "2030-12-28 12:00", "end_date": "2030-12-29 12:00"},
    )

    # The first window is free again, for whole hosts too.
    whole_hosts(count=2)


# Start and end ---------------------------------------------------------------


def test_the_start_gives_a_private_flavor_and_the_end_takes_it(
    two_hosts, instances, lease_manager, run_at
):
    lease = instances(amount=2, vcpus=1, memory_mb=512, disk_gb=10)
    reservation_id = lease["reservations"][0]["id"]

    run_at(START)

    lease = lease_manager.get(user(), lease["id"])
    assert lease["status"] == L.ACTIVE
    flavor_id = lease["reservations"][0]["flavor_id"]
    flavor = instance_db.flavor_get(flavor_id)
    assert flavor["project_id"] == "p1"
    assert flavor["name"] == f"reservation:{reservation_id}"
    assert (flavor["vcpus"], flavor["memory_mb"], flavor["disk_gb"]) == (
        1,
        512,
        10,
    )
    pools = {p["name"]: p for p in db_api.host_pools_list()}
    assert pools[reservation_id]["hosts"] == ["h1"]
    assert pools[reservation_id]["metadata"]["climate:flavor"] == flavor_id

    run_at(END)

    lease = lease_manager.get(user(), lease["id"])
    assert lease["status"] == L.TERMINATED
    assert instance_db.flavor_get(flavor_id) is None
    assert reservation_id not in {p["name"] for p in db_api.host_pools_list()}


def test_the_start_runs_twice_harmlessly(
    two_hosts, instances, loaded, lease_manager
):
    lease = instances(amount=2)
    plugin = loaded["virtual:instance"]
    lease = lease_manager.get(user(), lease["id"])
    reservation = lease["reservations"][0]

    plugin.on_start(lease, reservation)
    first = lease_manager.get(user(), lease["id"])["reservations"][0]
    plugin.on_start(lease, first)
    second = lease_manager.get(user(), lease["id"])["reservations"][0]
    plugin.on_end(lease, second)
    plugin.on_end(lease, second)

    assert first["flavor_id"] == second["flavor_id"] is not None
    assert instance_db.flavor_get(first["flavor_id"]) is None


def test_a_started_reservation_keeps_its_size(
    two_hosts, instances, lease_manager, run_at
):
    lease = instances(amount=2)
    run_at(START)
    reservation_id = lease["reservations"][0]["id"]

    with pytest.raises(exceptions.InvalidState) as info:
        lease_manager.update(
            user(),
            lease["id"],
            {"reservations": [{"id": reservation_id, "vcpus": 1}]},
        )
    assert "can no longer change" in info.value.message


def test_a_started_reservation_may_grow(
    two_hosts, instances, lease_manager, run_at, slots_of
):
    lease = instances(amount=4)
    run_at(START)
    reservation_id = lease["reservations"][0]["id"]

    lease = lease_manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "amount": 6}]},
    )

    # The four stay where they run; two more beside them.
    assert slots_of(lease) == {"h1": 4, "h2": 2}


def test_a_started_reservation_may_not_shrink(
    two_hosts, instances, lease_manager, run_at, slots_of
):
    lease = instances(amount=4)
    run_at(START)
    reservation_id = lease["reservations"][0]["id"]

    with pytest.raises(exceptions.InvalidState) as info:
        lease_manager.update(
            user(),
            lease["id"],
            {"reservations": [{"id": reservation_id, "amount": 2}]},
        )

    assert "may grow but not shrink (4 to 2)" in info.value.message
    assert slots_of(lease) == {"h1": 4}


def test_a_started_reservation_keeps_its_hosts_when_extended(
    two_hosts, instances, whole_hosts, lease_manager, run_at, slots_of
):
    lease = instances(amount=4)  # all on h1
    # h1 is taken whole from the end on: extending would move the four
    # to h2, which has room, but their servers run on h1.
    whole_hosts(
        name="next",
        start=END,
        end=END + datetime.timedelta(days=1),
        hypervisor_properties=json.dumps(["==", "$hypervisor_hostname", "h1"]),
    )
    later = END + datetime.timedelta(hours=6)
    run_at(START)
    message = refused(
        lease_manager.update,
        user(),
        lease["id"],
        {"end_date": f"{later:%Y-%m-%d %H:%M}"},
    )

    assert "its 4 instance(s) on h1 must stay there" in message
    assert slots_of(lease) == {"h1": 4}


def test_deleting_a_lease_frees_its_slots(two_hosts, instances, lease_manager):
    lease = instances(amount=8)
    lease_manager.delete(user(), lease["id"])

    instances(amount=8, name="again")


def test_healing_a_failed_host_leaves_instance_shares_to_their_plugin(
    add_host, instances, loaded, slots_of
):
    host_id = add_host("h1")["id"]
    add_host("h2")
    lease = instances(amount=4)  # all on h1

    loaded["physical:host"].heal_host(host_id)

    # The host plugin heals whole-host reservations only; the instance
    # reservation keeps its slots (healing them is the instance plugin's
    # part, not written yet).
    assert slots_of(lease) == {"h1": 4}


def test_a_host_holding_instances_cannot_be_deleted(
    add_host, instances, loaded
):
    host_id = add_host("h1")["id"]
    lease = instances(amount=1)

    with pytest.raises(exceptions.HostInUse) as info:
        loaded["physical:host"].inventory.delete(host_id)

    assert lease["id"] in info.value.message


def test_an_update_keeps_the_instances_where_they_are(
    add_host, instances, lease_manager, slots_of
):
    for name in ("h1", "h2", "h3"):
        add_host(name)
    other = instances(amount=4, name="other")  # fills h1
    lease = instances(amount=2)  # h2
    lease_manager.delete(user(), other["id"])
    reservation_id = lease["reservations"][0]["id"]

    lease = lease_manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "amount": 3}]},
    )

    # h1 is free again and h3 too, but the slots stay on h2.
    assert slots_of(lease) == {"h2": 3}
    lease = lease_manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "amount": 6}]},
    )
    assert slots_of(lease)["h2"] == 4
    assert sum(slots_of(lease).values()) == 6
