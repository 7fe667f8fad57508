"""The physical:host plugin on the real database: admission through lease
create, the hand-over at start and end, and lease updates.

Leases are created and updated through ``LeaseManager`` (one transaction
each, as the manager does); the event loop is run by hand at chosen
moments, so nothing here waits for a clock.
"""

import datetime
import itertools
import json
import random

import pytest

from climate import exceptions, states
from climate.db import api as db_api
from climate.plugins.hosts.db import api as host_db
from tests.unit.plugins.hosts.conftest import END, START, user

L = states.LeaseStatus
R = states.ReservationStatus
OWNER = "climate:owner"


def at(hour, minute=0, day=26):
    return datetime.datetime(2030, 12, day, hour, minute)


def only(name):
    """A hypervisor_properties query choosing one host by name."""
    return json.dumps(["==", "$hypervisor_hostname", name])


def not_enough(call, *args, **kwargs):
    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        call(*args, **kwargs)
    assert info.value.code == 409
    return info.value.message


@pytest.fixture
def three_hosts(add_host):
    return [add_host(f"h{n}")["hypervisor_hostname"] for n in (1, 2, 3)]


# Admission ------------------------------------------------------------------


def test_a_reservation_takes_max_hosts_when_they_are_free(
    three_hosts, reserve, hosts_of
):
    lease = reserve(count=1, max=2)

    assert hosts_of(lease) == ["h1", "h2"]
    reservation = lease["reservations"][0]
    assert reservation["resource_type"] == "physical:host"
    assert (reservation["min"], reservation["max"]) == (1, 2)
    # The resource id is the physical:host row of the reservation.
    assert reservation["resource_id"]


def test_allocations_block_the_lease_window(three_hosts, reserve):
    lease = reserve(count=1)
    (allocation,) = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert (allocation["start_date"], allocation["end_date"]) == (START, END)


def test_a_reservation_takes_at_least_min_when_fewer_are_free(
    three_hosts, reserve, hosts_of
):
    first = reserve("first", count=2)
    second = reserve("second", count=1, max=3)

    assert len(hosts_of(first)) == 2
    assert hosts_of(second) == sorted(set(three_hosts) - set(hosts_of(first)))


def test_more_hosts_than_exist_is_a_conflict_saying_how_many_matched(
    three_hosts, reserve, row_counts
):
    message = not_enough(reserve, count=4, max=5)

    assert message == (
        "Not enough resources available: 4 hosts needed; of the 3 hosts "
        "reservable and matching the request, 3 are free from "
        "2030-12-26 12:00 to 2030-12-27 12:00"
    )
    assert set(row_counts().values()) == {0}


def test_the_conflict_counts_busy_hosts_as_not_free(
    three_hosts, reserve, row_counts
):
    reserve("first", count=2)
    before = row_counts()

    message = not_enough(
        reserve,
        "second",
        start=at(18),
        end=at(20),
        count=2,
        resource_properties="",
    )

    assert (
        "of the 3 hosts reservable and matching the request, 1 is" in message
    )
    assert "from 2030-12-26 18:00 to 2030-12-26 20:00" in message
    # A refused lease leaves no lease, reservation, event or allocation.
    assert row_counts() == before


def test_the_conflict_counts_only_matching_hosts(add_host, reserve):
    add_host("big", vcpus=16)
    add_host("small", vcpus=2)

    message = not_enough(
        reserve, count=2, hypervisor_properties='[">=", "$vcpus", "8"]'
    )
    assert "2 hosts needed; of the 1 host reservable" in message


def test_queries_choose_the_hosts(add_host, reserve, hosts_of):
    add_host("big-a100", vcpus=16, gpu="a100")
    add_host("big-h100", vcpus=16, gpu="h100")
    add_host("small-a100", vcpus=2, gpu="a100")

    lease = reserve(
        count=1,
        max=3,
        hypervisor_properties='[">=", "$vcpus", "8"]',
        resource_properties='["==", "$gpu", "a100"]',
    )

    assert hosts_of(lease) == ["big-a100"]
    reservation = lease["reservations"][0]
    assert reservation["hypervisor_properties"] == '[">=", "$vcpus", "8"]'
    assert reservation["resource_properties"] == '["==", "$gpu", "a100"]'


def test_a_query_on_a_field_no_host_has_is_refused(
    three_hosts, reserve, row_counts
):
    with pytest.raises(exceptions.InvalidInput) as info:
        reserve(resource_properties='["==", "$colour", "red"]')
    assert info.value.message == (
        "resource_properties: no host has a field named $colour"
    )
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"min": 0}, "min must be an integer from 1 to 2147483647"),
        ({"min": "x"}, "min must be an integer"),
        ({"max": -2}, "max must be an integer"),
        ({"min": 3, "max": 2}, "min (3) must not be greater than max (2)"),
        ({"hypervisor_properties": "[>=]"}, "not valid JSON"),
        ({"colour": "red"}, "unknown physical:host field(s) colour"),
    ],
)
def test_malformed_reservations_are_refused(
    three_hosts, lease_manager, fields, fragment, row_counts
):
    reservation = {"resource_type": "physical:host", "min": 1, "max": 1}
    reservation.update(fields)
    with pytest.raises(exceptions.InvalidInput) as info:
        lease_manager.create(
            user(),
            {
                "name": "bad",
                "start_date": "2030-12-26 12:00",
                "end_date": "2030-12-27 12:00",
                "reservations": [reservation],
            },
        )
    assert fragment in info.value.message
    assert set(row_counts().values()) == {0}


def test_two_host_reservations_of_one_lease_get_different_hosts(
    three_hosts, lease_manager, hosts_of
):
    two = {"resource_type": "physical:host", "min": 1, "max": 2}
    lease = lease_manager.create(
        user(),
        {
            "name": "pair",
            "start_date": "2030-12-26 12:00",
            "end_date": "2030-12-27 12:00",
            "reservations": [two, two],
        },
    )

    first, second = (
        sorted(
            a["hypervisor_hostname"]
            for a in host_db.host_allocations_of(r["id"])
        )
        for r in lease["reservations"]
    )
    assert sorted(first + second) == three_hosts
    assert not set(first) & set(second)


def test_a_later_reservation_refused_rolls_the_hosts_back(
    three_hosts, lease_manager, row_counts
):
    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        lease_manager.create(
            user(),
            {
                # The recorder plugin refuses leases named full...
                "name": "full-of-hosts",
                "start_date": "2030-12-26 12:00",
                "end_date": "2030-12-27 12:00",
                "reservations": [
                    {"resource_type": "physical:host", "min": 3, "max": 3},
                    {"resource_type": "test:recorder"},
                ],
            },
        )
    assert "the test plugin is full" in info.value.message
    assert set(row_counts().values()) == {0}


def test_non_reservable_hosts_are_never_chosen(add_host, reserve, hosts_of):
    add_host("kept-back", reservable=False)
    add_host("offered")

    assert hosts_of(reserve("one", count=1, max=2)) == ["offered"]
    message = not_enough(reserve, "two", start=at(13), end=at(14))
    assert "of the 1 host reservable and matching the request, none" in message


def test_a_host_made_non_reservable_is_no_longer_chosen(
    add_host, plugin, reserve, hosts_of
):
    host = add_host("h1")
    add_host("h2")
    plugin.inventory.update(host["id"], {"reservable": False})

    assert hosts_of(reserve(count=1, max=2)) == ["h2"]


def test_overlapping_leases_never_share_a_host(three_hosts, reserve, hosts_of):
    first = reserve("first", start=at(12), end=at(14), count=2)
    second = reserve("second", start=at(13), end=at(15), count=1, max=3)

    assert set(hosts_of(first)).isdisjoint(hosts_of(second))
    assert len(hosts_of(second)) == 1
    not_enough(reserve, "third", start=at(13, 59), end=at(20), count=1)


def test_back_to_back_leases_may_share_a_host(add_host, reserve, hosts_of):
    add_host("only")

    before = reserve("before", start=at(12), end=at(13))
    after = reserve("after", start=at(13), end=at(14))
    earlier = reserve("earlier", start=at(11), end=at(12))

    assert hosts_of(before) == hosts_of(after) == hosts_of(earlier) == ["only"]
    not_enough(reserve, "inside", start=at(12, 30), end=at(12, 31))


def test_cleaning_time_blocks_the_gap_after_a_lease(
    config, add_host, reserve, hosts_of
):
    config.config(cleaning_time=30, group="physical:host")
    add_host("only")
    lease = reserve("first", start=at(12), end=at(13))
    (allocation,) = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert allocation["end_date"] == at(13, 30)

    message = not_enough(reserve, "next", start=at(13), end=at(14))
    assert "free from 2030-12-26 13:00 to 2030-12-26 14:30" in message
    not_enough(reserve, "next", start=at(13, 29), end=at(14))
    # Nor may a lease end less than cleaning_time before the first starts.
    not_enough(reserve, "before", start=at(11), end=at(11, 31))

    assert hosts_of(reserve("next", start=at(13, 30), end=at(14))) == ["only"]
    assert hosts_of(reserve("before", start=at(11), end=at(11, 30))) == [
        "only"
    ]


def test_the_tightest_fit_is_preferred(add_host, reserve, hosts_of):
    for name in ("empty", "ends-at-10", "ends-at-11", "starts-at-20"):
        add_host(name)
    reserve(
        "a", start=at(8), end=at(10), hypervisor_properties=only("ends-at-10")
    )
    reserve(
        "b", start=at(8), end=at(11), hypervisor_properties=only("ends-at-11")
    )
    reserve(
        "c",
        start=at(20),
        end=at(21),
        hypervisor_properties=only("starts-at-20"),
    )

    # The host whose previous allocation ends closest before the window.
    assert hosts_of(reserve("d", start=at(12), end=at(13))) == ["ends-at-11"]
    assert hosts_of(reserve("e", start=at(12), end=at(13))) == ["ends-at-10"]
    # Then the host whose next allocation starts soonest after it.
    assert hosts_of(reserve("f", start=at(12), end=at(13))) == ["starts-at-20"]
    assert hosts_of(reserve("g", start=at(12), end=at(13))) == ["empty"]


def test_random_leases_never_double_book_a_host(add_host, reserve):
    for n in range(4):
        add_host(f"h{n}")
    rng = random.Random(42)
    admitted = refused = 0
    for n in range(40):
        start = at(0) + datetime.timedelta(minutes=15 * rng.randint(0, 40))
        end = start + datetime.timedelta(minutes=15 * rng.randint(1, 12))
        count = rng.randint(1, 3)
        try:
            reserve(f"l{n}", start=start, end=end, count=count, max=count + 1)
            admitted += 1
        except exceptions.NotEnoughResourcesAvailable:
            refused += 1
    assert admitted > 5 and refused > 5

    windows = {}
    for allocation in host_db.host_allocations_list():
        host = allocation["resource_id"]
        for r in allocation["reservations"]:
            windows.setdefault(host, []).append(
                (r["start_date"], r["end_date"])
            )
    for spans in windows.values():
        for (s1, e1), (s2, e2) in itertools.combinations(spans, 2):
            assert e1 <= s2 or e2 <= s1, (s1, e1, s2, e2)


def test_deleting_a_lease_frees_its_hosts(
    three_hosts, reserve, lease_manager, row_counts
):
    lease = reserve("all", count=3)
    not_enough(reserve, "more", count=1)

    lease_manager.delete(user(), lease["id"])

    assert set(row_counts().values()) == {0}
    reserve("again", count=3)


# Hand-over at start and end -------------------------------------------------


def test_start_moves_the_hosts_into_the_reservation_pool(
    three_hosts, reserve, run_at, pools, lease_manager, hosts_of
):
    lease = reserve(count=2, project_id="p1")
    reservation_id = lease["reservations"][0]["id"]
    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}

    run_at(START)

    started = db_api.lease_get(lease["id"])
    assert started["status"] == L.ACTIVE
    assert started["reservations"][0]["status"] == R.ACTIVE
    assert pools() == {
        "freepool": ({}, ["h3"]),
        reservation_id: ({OWNER: "p1"}, hosts_of(lease)),
    }

    run_at(END)

    ended = db_api.lease_get(lease["id"])
    assert ended["status"] == L.TERMINATED
    assert ended["reservations"][0]["status"] == R.DELETED
    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}


def test_back_to_back_leases_hand_a_host_over(
    add_host, reserve, run_at, pools
):
    add_host("only")
    first = reserve("first", start=at(12), end=at(13), project_id="p1")
    second = reserve("second", start=at(13), end=at(14), project_id="p2")
    first_pool = first["reservations"][0]["id"]
    second_pool = second["reservations"][0]["id"]

    run_at(at(12))
    assert pools() == {
        "freepool": ({}, []),
        first_pool: ({OWNER: "p1"}, ["only"]),
    }

    run_at(at(13))
    assert pools() == {
        "freepool": ({}, []),
        second_pool: ({OWNER: "p2"}, ["only"]),
    }
    assert db_api.lease_get(first["id"])["status"] == L.TERMINATED
    assert db_api.lease_get(second["id"])["status"] == L.ACTIVE


def test_a_host_waits_for_the_end_of_the_lease_before_it(
    add_host, reserve, run_at, plugin, pools
):
    """The previous lease's end is still running (another manager holds
    it) when the next lease's start falls due: the start is put off, the
    host stays with the first lease, and it moves once the end is done."""
    add_host("only")
    first = reserve("first", start=at(12), end=at(13), project_id="p1")
    second = reserve("second", start=at(13), end=at(14), project_id="p2")
    assert plugin.previous_holders(second, second["reservations"][0]) == {
        first["id"]
    }
    assert plugin.previous_holders(first, first["reservations"][0]) == set()
    first_pool = first["reservations"][0]["id"]
    run_at(at(12, 59))
    [ending] = db_api.events_claim_due(
        at(13),
        "other-manager",
        at(12),
        1,
        rank=lambda e: (e["event_type"] != "end_lease",),
    )
    assert ending["lease_id"] == first["id"]

    run_at(at(13))
    start = {
        e["event_type"]: e for e in db_api.lease_get(second["id"])["events"]
    }["start_lease"]
    assert start["status"] == "UNDONE"
    assert start["attempts"] == 0
    assert pools()[first_pool] == ({OWNER: "p1"}, ["only"])

    # The other manager finishes the end; the start goes on.
    plugin.on_end(first, first["reservations"][0])
    assert db_api.event_finish(ending, "DONE")
    run_at(at(13, 1))
    assert db_api.lease_get(second["id"])["status"] == L.ACTIVE
    assert pools()[second["reservations"][0]["id"]][1] == ["only"]


def test_on_start_and_on_end_are_idempotent(
    three_hosts, reserve, plugin, pools
):
    lease = reserve(count=2)
    reservation = lease["reservations"][0]
    pool = reservation["id"]

    plugin.on_start(lease, reservation)
    after_start = pools()
    plugin.on_start(lease, reservation)
    assert pools() == after_start
    assert after_start == {
        "freepool": ({}, ["h3"]),
        pool: ({OWNER: "p1"}, ["h1", "h2"]),
    }

    plugin.on_end(lease, reservation)
    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}
    plugin.on_end(lease, reservation)
    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}


def test_on_end_without_on_start_leaves_the_hosts_free(
    three_hosts, reserve, plugin, pools
):
    lease = reserve(count=2)

    plugin.on_end(lease, lease["reservations"][0])

    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}


def test_on_end_after_a_half_done_start(three_hosts, reserve, plugin, pools):
    lease = reserve(count=2)
    reservation = lease["reservations"][0]
    # A start that died after creating the pool and moving one host.
    plugin._driver.ensure_pool(reservation["id"], {OWNER: "p1"})
    plugin._driver.add_hosts(reservation["id"], ["h1"])

    plugin.on_end(lease, reservation)

    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}


def test_on_end_restores_a_missing_free_pool(
    three_hosts, reserve, plugin, pools
):
    lease = reserve(count=1)
    plugin.on_start(lease, lease["reservations"][0])
    db_api.host_pool_delete("freepool")

    plugin.on_end(lease, lease["reservations"][0])

    assert pools()["freepool"] == ({}, ["h1"])


def test_release_is_idempotent(three_hosts, reserve, plugin, hosts_of):
    lease = reserve(count=3)
    with db_api.writer():
        plugin.release(lease, lease["reservations"][0])
    with db_api.writer():
        plugin.release(lease, lease["reservations"][0])
    assert hosts_of(lease) == []


def test_deleting_an_active_lease_gives_its_hosts_back(
    three_hosts, reserve, run_at, lease_manager, pools, row_counts
):
    lease = reserve(count=2)
    run_at(START)

    lease_manager.delete(user(), lease["id"])

    assert pools() == {"freepool": ({}, ["h1", "h2", "h3"])}
    assert set(row_counts().values()) == {0}


# Updating a pending lease ---------------------------------------------------


@pytest.fixture
def busy_h1_at_14(add_host, reserve):
    """Hosts h1 and h2; h1 is taken from 14:00 to 15:00 by lease 'busy'."""
    add_host("h1")
    add_host("h2")
    return reserve(
        "busy", start=at(14), end=at(15), hypervisor_properties=only("h1")
    )


def _state(lease):
    """What an update may change: dates, event times, allocations."""
    lease = db_api.lease_get(lease["id"])
    return (
        lease["start_date"],
        lease["end_date"],
        lease["before_end_date"],
        sorted((e["event_type"], e["time"]) for e in lease["events"]),
        [
            (a["hypervisor_hostname"], a["start_date"], a["end_date"])
            for r in lease["reservations"]
            for a in host_db.host_allocations_of(r["id"])
        ],
        [(r["min"], r["max"]) for r in lease["reservations"]],
        lease["status"],
    )


def test_extending_keeps_hosts_that_stay_free(
    busy_h1_at_14, reserve, update, hosts_of
):
    lease = reserve(start=at(12), end=at(13))
    # The tightest fit: h1 is taken again soonest after the window.
    assert hosts_of(lease) == ["h1"]

    updated = update(lease, end_date="2030-12-26 14:00")

    assert hosts_of(updated) == ["h1"]
    (allocation,) = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert (allocation["start_date"], allocation["end_date"]) == (
        at(12),
        at(14),
    )


def test_extending_replaces_a_host_that_is_no_longer_free(
    busy_h1_at_14, reserve, update, hosts_of
):
    lease = reserve(start=at(12), end=at(13))

    updated = update(lease, prolong_for="2h")

    assert updated["end_date"] == at(15)
    assert hosts_of(updated) == ["h2"]


def test_an_update_that_cannot_be_satisfied_changes_nothing(
    busy_h1_at_14, reserve, update, hosts_of, row_counts
):
    reserve(
        "h2-later", start=at(15), end=at(16), hypervisor_properties=only("h2")
    )
    lease = reserve(start=at(12), end=at(13))
    before, counts = _state(lease), row_counts()

    message = not_enough(update, lease, end_date="2030-12-26 15:30")

    assert "1 host needed; of the 2 hosts reservable" in message
    assert "none is free" in message
    assert _state(lease) == before
    assert row_counts() == counts
    assert db_api.lease_get(lease["id"])["status"] == L.PENDING


def test_shortening_keeps_the_hosts(three_hosts, reserve, update, hosts_of):
    lease = reserve(count=2)
    held = hosts_of(lease)

    updated = update(lease, reduce_by="12h")

    assert hosts_of(updated) == held
    (first, _) = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert first["end_date"] == at(0, day=27)


def test_moving_the_window_keeps_what_fits_and_replaces_the_rest(
    busy_h1_at_14, add_host, reserve, update, hosts_of
):
    add_host("h3")
    lease = reserve(start=at(11), end=at(12), count=2)
    assert hosts_of(lease) == ["h1", "h2"]

    updated = update(lease, defer_by="3h", prolong_for="3h")

    assert updated["start_date"] == at(14)
    assert hosts_of(updated) == ["h2", "h3"]
    for allocation in host_db.host_allocations_of(
        lease["reservations"][0]["id"]
    ):
        assert (allocation["start_date"], allocation["end_date"]) == (
            at(14),
            at(15),
        )


def test_moving_the_window_onto_a_full_period_is_refused(
    busy_h1_at_14, reserve, update, row_counts
):
    lease = reserve(start=at(11), end=at(12), count=2)
    before, counts = _state(lease), row_counts()

    not_enough(
        update,
        lease,
        start_date="2030-12-26 14:30",
        end_date="2030-12-26 16:00",
    )

    assert _state(lease) == before
    assert row_counts() == counts


def test_moving_the_window_applies_the_cleaning_time(
    config, add_host, reserve, update
):
    config.config(cleaning_time=15, group="physical:host")
    add_host("only")
    lease = reserve(start=at(12), end=at(13))

    update(lease, end_date="2030-12-26 13:45")

    (allocation,) = host_db.host_allocations_of(lease["reservations"][0]["id"])
    assert allocation["end_date"] == at(14)


def test_raising_max_takes_more_hosts(three_hosts, reserve, update, hosts_of):
    lease = reserve(count=1)
    assert hosts_of(lease) == ["h1"]

    updated = update(lease, {"max": 3})

    assert hosts_of(updated) == ["h1", "h2", "h3"]
    assert (
        updated["reservations"][0]["min"],
        updated["reservations"][0]["max"],
    ) == (1, 3)


def test_raising_max_beyond_what_is_free_takes_what_there_is(
    three_hosts, reserve, update, hosts_of
):
    reserve("other", count=1, hypervisor_properties=only("h3"))
    lease = reserve(count=1)

    updated = update(lease, {"max": 5})

    assert hosts_of(updated) == ["h1", "h2"]


def test_raising_max_when_no_other_host_is_free_keeps_the_lease(
    add_host, reserve, update, hosts_of
):
    add_host("h1")
    add_host("h2")
    reserve("other", hypervisor_properties=only("h2"))
    lease = reserve(count=1)

    updated = update(lease, {"max": 3})

    assert hosts_of(updated) == ["h1"]
    assert updated["reservations"][0]["max"] == 3


def test_moving_a_window_keeps_min_when_the_extra_hosts_are_gone(
    busy_h1_at_14, reserve, update, hosts_of
):
    lease = reserve(start=at(11), end=at(12), count=1, max=2)
    assert hosts_of(lease) == ["h1", "h2"]

    updated = update(lease, end_date="2030-12-26 14:30")

    assert hosts_of(updated) == ["h2"]


def test_raising_min_beyond_what_is_free_is_refused(
    three_hosts, reserve, update, row_counts
):
    reserve("other", count=1, hypervisor_properties=only("h3"))
    lease = reserve(count=1)
    before, counts = _state(lease), row_counts()

    message = not_enough(update, lease, {"min": 3, "max": 3})

    assert "3 hosts needed (1 of them already held)" in message
    assert _state(lease) == before
    assert row_counts() == counts


def test_lowering_max_drops_hosts(three_hosts, reserve, update, hosts_of):
    lease = reserve(count=3)

    updated = update(lease, {"min": 1, "max": 1})

    assert hosts_of(updated) == ["h1"]
    # The dropped hosts are free again.
    assert reserve("other", count=2) is not None


def test_an_update_below_min_is_refused(three_hosts, reserve, update):
    lease = reserve(count=2)
    with pytest.raises(exceptions.InvalidInput) as info:
        update(lease, {"max": 1})
    assert "min (2) must not be greater than max (1)" in info.value.message


def test_a_new_query_replaces_hosts_that_no_longer_match(
    add_host, reserve, update, hosts_of
):
    add_host("a", gpu="a100")
    add_host("b", gpu="h100")
    lease = reserve(count=1, resource_properties='["!=", "$gpu", "x"]')
    assert hosts_of(lease) == ["a"]

    updated = update(lease, {"resource_properties": '["==", "$gpu", "h100"]'})

    assert hosts_of(updated) == ["b"]
    assert updated["reservations"][0]["resource_properties"] == (
        '["==", "$gpu", "h100"]'
    )


def test_a_new_query_on_an_unknown_field_is_refused(
    three_hosts, reserve, update, row_counts
):
    lease = reserve(count=1)
    before = _state(lease)
    with pytest.raises(exceptions.InvalidInput) as info:
        update(lease, {"resource_properties": '["==", "$colour", "red"]'})
    assert "$colour" in info.value.message
    assert _state(lease) == before


def test_an_update_of_another_reservation_id_is_not_found(
    three_hosts, reserve, lease_manager
):
    lease = reserve(count=1)
    with pytest.raises(exceptions.ReservationNotFound):
        lease_manager.update(
            user(), lease["id"], {"reservations": [{"id": "nope", "max": 2}]}
        )


# Updating an active lease ---------------------------------------------------


@pytest.fixture
def active(three_hosts, reserve, run_at):
    """A lease holding h1, started; h2 and h3 are free."""
    lease = reserve(count=1)
    run_at(START)
    lease = db_api.lease_get(lease["id"])
    assert lease["status"] == L.ACTIVE
    return lease


def test_an_active_lease_may_grow_and_gets_the_new_host_at_once(
    active, update, hosts_of, pools
):
    pool = active["reservations"][0]["id"]

    updated = update(active, {"max": 2})

    assert updated["status"] == L.ACTIVE
    assert not updated["degraded"]
    assert hosts_of(updated) == ["h1", "h2"]
    assert pools() == {
        "freepool": ({}, ["h3"]),
        pool: ({OWNER: "p1"}, ["h1", "h2"]),
    }


def test_an_active_lease_may_be_extended_when_its_hosts_stay_free(
    active, update, hosts_of
):
    updated = update(active, prolong_for="1d")

    assert updated["end_date"] == END + datetime.timedelta(days=1)
    assert hosts_of(updated) == ["h1"]
    (allocation,) = host_db.host_allocations_of(
        active["reservations"][0]["id"]
    )
    assert (allocation["start_date"], allocation["end_date"]) == (
        START,
        END + datetime.timedelta(days=1),
    )


def test_an_active_lease_cannot_give_up_a_host_it_uses(
    three_hosts, reserve, run_at, update, pools, row_counts
):
    lease = reserve(count=2)
    run_at(START)
    before, pools_before, counts = _state(lease), pools(), row_counts()

    message = not_enough(update, lease, {"min": 1, "max": 1})

    assert "cannot give up the 1 host(s) it uses" in message
    assert _state(lease) == before
    assert pools() == pools_before
    assert row_counts() == counts


def test_an_active_lease_cannot_be_extended_over_a_host_taken_later(
    active, reserve, update, pools
):
    later = END + datetime.timedelta(hours=2)
    reserve(
        "later",
        start=later,
        end=later + datetime.timedelta(hours=1),
        hypervisor_properties=only("h1"),
    )
    before, pools_before = _state(active), pools()

    message = not_enough(update, active, prolong_for="1d")

    assert "cannot give up the 1 host(s) it uses" in message
    assert _state(active) == before
    assert pools() == pools_before


def test_an_active_lease_cannot_change_its_query_away_from_its_host(
    add_host, reserve, run_at, update, hosts_of
):
    add_host("a", gpu="a100")
    add_host("b", gpu="h100")
    lease = reserve(count=1, resource_properties='["==", "$gpu", "a100"]')
    run_at(START)

    not_enough(
        update, lease, {"resource_properties": '["==", "$gpu", "h100"]'}
    )

    assert hosts_of(lease) == ["a"]
    assert db_api.lease_get(lease["id"])["status"] == L.ACTIVE


def test_a_terminated_lease_keeps_its_reservations(
    three_hosts, reserve, update, run_at, hosts_of
):
    lease = reserve(count=1)
    run_at(START)
    run_at(END)
    held = hosts_of(lease)
    with pytest.raises(exceptions.InvalidState, match="TERMINATED"):
        update(db_api.lease_get(lease["id"]), reservation={"max": 2})
    assert hosts_of(lease) == held
    assert db_api.lease_get(lease["id"])["status"] == L.TERMINATED
