"""The physical:host plugin's DB functions on a real, migrated SQLite
database: inventory, admission (``host_allocate``), allocations,
properties, and the host fields of lease reads."""

import datetime
import uuid

import pytest

from climate import exceptions, plugins
from climate.common import host_query
from climate.db import api as db_api
from climate.plugins.hosts.db import api as host_db

T0 = datetime.datetime(2030, 1, 1, 12, 0)


def hours(n):
    return datetime.timedelta(hours=n)


def make_host(name, reservable=True, **capabilities):
    return host_db.host_create(
        {
            "hypervisor_hostname": name,
            "vcpus": 4,
            "memory_mb": 8192,
            "local_gb": 100,
            "hypervisor_type": "baremetal",
            "cpu_info": "{}",
            "reservable": reservable,
        },
        capabilities,
    )["id"]


def make_reservation(start=T0, end=None, name=None, **host_fields):
    """A lease with one physical:host reservation; return its id and lease."""
    end = end or start + hours(1)
    reservation_id = str(uuid.uuid4())
    lease = db_api.lease_create(
        {
            "id": str(uuid.uuid4()),
            "name": name or reservation_id,
            "project_id": "p1",
            "user_id": "u1",
            "start_date": start,
            "end_date": end,
            "before_end_date": end,
            "status": "PENDING",
            "degraded": False,
        },
        [
            {
                "id": reservation_id,
                "resource_type": "physical:host",
                "status": "pending",
            }
        ],
    )
    host_db.host_reservation_create(
        {
            "reservation_id": reservation_id,
            "count_min": 1,
            "count_max": 1,
            **host_fields,
        }
    )
    return reservation_id, lease


def allocate(
    reservation_id, start, end, count_min=1, count_max=None, *queries, **kw
):
    trees = [host_query.parse(q, "q") for q in queries]
    with db_api.writer():
        return host_db.host_allocate(
            reservation_id,
            start,
            end,
            count_min,
            count_min if count_max is None else count_max,
            trees,
            **kw,
        )


def book(host_ids, start, end, **host_fields):
    """A reservation holding exactly ``host_ids`` over ``[start, end)``."""
    reservation_id, lease = make_reservation(start, end, **host_fields)
    with db_api.writer():
        chosen = host_db.host_allocate(
            reservation_id,
            start,
            end,
            len(host_ids),
            len(host_ids),
            [
                host_query.parse(
                    ["or"]
                    + [
                        ["==", "$hypervisor_hostname", _name(h)]
                        for h in host_ids
                    ],
                    "q",
                )
            ],
        )
    assert sorted(chosen) == sorted(host_ids)
    return reservation_id, lease


def _name(host_id):
    return host_db.host_get(host_id)["hypervisor_hostname"]


# Inventory ------------------------------------------------------------------


def test_host_create_and_get(database):
    host_id = make_host("h1", gpu="a100", rack="7")

    host = host_db.host_get(host_id)

    assert isinstance(host_id, int)
    assert host["hypervisor_hostname"] == "h1"
    assert host["vcpus"] == 4
    assert host["reservable"] is True
    assert host["capabilities"] == {"gpu": "a100", "rack": "7"}
    assert host["created_at"] is not None
    assert host_db.host_get(str(host_id)) == host


def test_host_create_refuses_a_name_in_use(database):
    make_host("h1", gpu="a100")
    with pytest.raises(exceptions.HostAlreadyExists):
        make_host("h1", gpu="h100")
    assert len(host_db.host_list()) == 1


def test_host_list_is_by_id_with_capabilities(database):
    ids = [make_host(name, n=str(i)) for i, name in enumerate("cab")]
    listed = host_db.host_list()
    assert [h["id"] for h in listed] == sorted(ids)
    assert [h["hypervisor_hostname"] for h in listed] == ["c", "a", "b"]
    assert [h["capabilities"] for h in listed] == [
        {"n": "0"},
        {"n": "1"},
        {"n": "2"},
    ]


def test_host_list_of_nothing(database):
    assert host_db.host_list() == []


def test_unknown_or_malformed_host_ids_are_not_found(database):
    make_host("h1")
    for host_id in (
        None,
        "",
        "x",
        "1x",
        "-1",
        "+1",
        " 1",
        "1.0",
        1.0,
        "\u0661",
        True,
        99,
    ):
        calls = [
            host_db.host_get,
            host_db.host_destroy,
            host_db.host_lock,
            lambda h: host_db.host_update(h, {}, {}),
        ]
        if host_id is not None:  # None lists every host
            calls.append(lambda h: host_db.host_allocations_list(host_id=h))
        for call in calls:
            with pytest.raises(exceptions.HostNotFound):
                with db_api.writer():
                    call(host_id)
    assert len(host_db.host_list()) == 1


def test_host_update_sets_columns_and_capabilities(database):
    host_id = make_host("h1", gpu="a100", rack="1")

    host = host_db.host_update(
        host_id,
        {"reservable": False},
        {"gpu": "h100", "rack": None, "row": "2"},
    )

    assert host["reservable"] is False
    assert host["capabilities"] == {"gpu": "h100", "row": "2"}
    assert host_db.host_get(host_id) == host


def test_host_destroy_removes_capabilities_and_allocations(database):
    host_id = make_host("h1", gpu="a100")
    other = make_host("h2", gpu="h100")
    book([host_id], T0, T0 + hours(1))
    book([other], T0, T0 + hours(1))

    host_db.host_destroy(host_id)

    assert [h["id"] for h in host_db.host_list()] == [other]
    assert host_db.host_properties_list() == [
        {"property": "gpu", "private": False, "values": ["h100"]}
    ]
    assert [a["resource_id"] for a in host_db.host_allocations_list()] == [
        other
    ]


def test_host_reservations_using_counts_what_ends_later(database):
    host_id = make_host("h1")
    past, _ = book([host_id], T0 - hours(5), T0 - hours(4))
    current, lease = book(
        [host_id], T0 - hours(1), T0 + hours(1), resource_properties="q"
    )
    future, _ = book([host_id], T0 + hours(3), T0 + hours(4))

    using = host_db.host_reservations_using(host_id, T0)

    assert sorted(u["reservation_id"] for u in using) == sorted(
        [current, future]
    )
    (row,) = [u for u in using if u["reservation_id"] == current]
    assert row == {
        "reservation_id": current,
        "lease_id": lease["id"],
        "hypervisor_properties": "",
        "resource_properties": "q",
    }
    # Ending exactly at "after" is not using it any more.
    assert host_db.host_reservations_using(host_id, T0 + hours(4)) == []
    assert len(host_db.host_reservations_using(host_id, T0 - hours(6))) == 3
    assert past not in {u["reservation_id"] for u in using}


# Admission ------------------------------------------------------------------


def test_host_allocate_takes_up_to_max(database):
    ids = [make_host(f"h{n}") for n in range(3)]
    reservation_id, _ = make_reservation()

    chosen = allocate(reservation_id, T0, T0 + hours(1), 1, 2)

    assert chosen == ids[:2]
    allocations = host_db.host_allocations_of(reservation_id)
    assert [
        (
            a["computehost_id"],
            a["hypervisor_hostname"],
            a["start_date"],
            a["end_date"],
        )
        for a in allocations
    ] == [
        (ids[0], "h0", T0, T0 + hours(1)),
        (ids[1], "h1", T0, T0 + hours(1)),
    ]


def test_host_allocate_of_nothing_allocates_nothing(database):
    make_host("h0")
    reservation_id, _ = make_reservation()
    assert allocate(reservation_id, T0, T0 + hours(1), 0, 0) == []
    assert host_db.host_allocations_of(reservation_id) == []


def test_host_allocate_with_min_zero_takes_what_is_free(database):
    (host,) = [make_host("h0")]
    book([host], T0, T0 + hours(1))
    reservation_id, _ = make_reservation()
    assert allocate(reservation_id, T0, T0 + hours(1), 0, 3) == []


def test_host_allocate_says_how_many_match_and_are_free(database):
    a = make_host("a", gpu="a100")
    make_host("b", gpu="a100")
    make_host("c", gpu="h100")
    make_host("d", reservable=False, gpu="a100")
    book([a], T0, T0 + hours(2))
    reservation_id, _ = make_reservation()

    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        allocate(
            reservation_id,
            T0 + hours(1),
            T0 + hours(3),
            2,
            2,
            '["==", "$gpu", "a100"]',
        )

    assert info.value.message == (
        "Not enough resources available: 2 hosts needed; of the 2 hosts "
        "reservable and matching the request, 1 is free from "
        "2030-01-01 13:00 to 2030-01-01 15:00"
    )


def test_host_allocate_skips_excluded_hosts(database):
    ids = [make_host(f"h{n}") for n in range(3)]
    reservation_id, _ = make_reservation()
    assert allocate(
        reservation_id, T0, T0 + hours(1), 1, 3, exclude=[ids[0], ids[2]]
    ) == [ids[1]]


def test_host_allocate_may_ignore_the_reservation_s_own_allocations(database):
    (host,) = [make_host("h0")]
    reservation_id, _ = book([host], T0, T0 + hours(1))

    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        allocate(reservation_id, T0, T0 + hours(2))
    assert allocate(
        reservation_id,
        T0 + hours(1),
        T0 + hours(2),
        ignore_reservation=reservation_id,
    ) == [host]


def test_windows_are_half_open(database):
    (host,) = [make_host("h0")]
    book([host], T0, T0 + hours(1))
    second = datetime.timedelta(seconds=1)
    reservation_id, _ = make_reservation()
    for start, end, free in [
        (T0 - hours(1), T0, True),
        (T0 + hours(1), T0 + hours(2), True),
        (T0 - hours(1), T0 + second, False),
        (T0 + hours(1) - second, T0 + hours(2), False),
        (T0 + second, T0 + hours(1) - second, False),
        (T0 - hours(1), T0 + hours(2), False),
        (T0, T0 + hours(1), False),
    ]:
        if free:
            assert allocate(reservation_id, start, end) == [host]
            host_db.host_allocations_delete(reservation_id)
        else:
            with pytest.raises(exceptions.NotEnoughResourcesAvailable):
                allocate(reservation_id, start, end)


def test_host_allocate_prefers_the_tightest_fit(database):
    empty = make_host("empty")
    ends_9 = make_host("ends-9")
    ends_11 = make_host("ends-11")
    starts_15 = make_host("starts-15")
    starts_20 = make_host("starts-20")
    book([ends_9], T0 - hours(5), T0 - hours(3))
    book([ends_11], T0 - hours(3), T0 - hours(1))
    book([starts_15], T0 + hours(3), T0 + hours(4))
    book([starts_20], T0 + hours(8), T0 + hours(9))
    order = []
    for _ in range(5):
        reservation_id, _ = make_reservation()
        order += allocate(reservation_id, T0, T0 + hours(1))

    assert order == [ends_11, ends_9, starts_15, starts_20, empty]


def test_host_allocate_counts_only_reservable_hosts(database):
    make_host("off", reservable=False)
    reservation_id, _ = make_reservation()
    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        allocate(reservation_id, T0, T0 + hours(1))
    assert "no reservable host matches" in info.value.message


# Allocations ----------------------------------------------------------------


def test_conflicting_move_and_delete(database):
    a, b, c = (make_host(n) for n in "abc")
    reservation_id, _ = book([a, b, c], T0, T0 + hours(1))
    book([b], T0 + hours(2), T0 + hours(3))
    book([c], T0 + hours(4), T0 + hours(5))

    assert (
        host_db.host_allocations_conflicting(reservation_id, T0, T0 + hours(2))
        == set()
    )
    assert host_db.host_allocations_conflicting(
        reservation_id, T0, T0 + hours(5)
    ) == {b, c}

    host_db.host_allocations_move(reservation_id, T0, T0 + hours(2))
    assert {
        (x["start_date"], x["end_date"])
        for x in host_db.host_allocations_of(reservation_id)
    } == {(T0, T0 + hours(2))}

    host_db.host_allocations_delete(reservation_id, [a, c])
    assert [
        x["computehost_id"]
        for x in host_db.host_allocations_of(reservation_id)
    ] == [b]
    host_db.host_allocations_delete(reservation_id, [])
    assert len(host_db.host_allocations_of(reservation_id)) == 1
    host_db.host_allocations_delete(reservation_id)
    host_db.host_allocations_delete(reservation_id)
    assert host_db.host_allocations_of(reservation_id) == []


@pytest.fixture
def booked(database):
    """Hosts a, b, c; two leases on a, one on b."""
    a, b, c = (make_host(n) for n in "abc")
    first, first_lease = book([a], T0, T0 + hours(1))
    second, second_lease = book([a, b], T0 + hours(2), T0 + hours(3))
    return {
        "hosts": (a, b, c),
        "first": (first, first_lease),
        "second": (second, second_lease),
    }


def _entry(reservation_id, lease):
    return {
        "id": reservation_id,
        "lease_id": lease["id"],
        "start_date": lease["start_date"],
        "end_date": lease["end_date"],
    }


def test_allocations_list_groups_by_host_and_shows_free_hosts(booked):
    a, b, c = booked["hosts"]
    first, second = _entry(*booked["first"]), _entry(*booked["second"])

    assert host_db.host_allocations_list() == [
        {"resource_id": a, "reservations": [first, second]},
        {"resource_id": b, "reservations": [second]},
        {"resource_id": c, "reservations": []},
    ]
    assert host_db.host_allocations_list(host_id=str(b)) == [
        {"resource_id": b, "reservations": [second]}
    ]
    assert host_db.host_allocations_list(host_id=c) == [
        {"resource_id": c, "reservations": []}
    ]


def test_allocations_list_filters(booked):
    a, b, _ = booked["hosts"]
    first_id, first_lease = booked["first"]
    second_id, second_lease = booked["second"]
    first, second = _entry(*booked["first"]), _entry(*booked["second"])

    assert host_db.host_allocations_list(lease_id=first_lease["id"]) == [
        {"resource_id": a, "reservations": [first]}
    ]
    assert host_db.host_allocations_list(reservation_id=second_id) == [
        {"resource_id": a, "reservations": [second]},
        {"resource_id": b, "reservations": [second]},
    ]
    assert host_db.host_allocations_list(lease_id="nope") == []
    # start and end keep the leases meeting [start, end).
    assert host_db.host_allocations_list(start=T0 + hours(1))[0] == {
        "resource_id": a,
        "reservations": [second],
    }
    assert host_db.host_allocations_list(end=T0 + hours(2))[0] == {
        "resource_id": a,
        "reservations": [first],
    }
    assert host_db.host_allocations_list(
        start=T0 + hours(1), end=T0 + hours(2)
    )[0] == {"resource_id": a, "reservations": []}


# Properties -----------------------------------------------------------------


def test_properties_list_names_values_and_privacy(database):
    make_host("a", gpu="a100", rack="2")
    make_host("b", gpu="a100")
    make_host("c", gpu="h100", rack="10")

    assert host_db.host_properties_list() == [
        {"property": "gpu", "private": False, "values": ["a100", "h100"]},
        {"property": "rack", "private": False, "values": ["10", "2"]},
    ]

    assert host_db.host_property_update("rack", True) == {
        "property": "rack",
        "private": True,
        "values": ["10", "2"],
    }
    assert host_db.host_property_update("rack", False)["private"] is False


def test_a_property_no_host_has_cannot_be_updated(database):
    make_host("a", gpu="a100")
    with pytest.raises(exceptions.HostPropertyNotFound):
        host_db.host_property_update("rack", True)


def test_privacy_outlives_the_last_host_with_the_property(database):
    host = make_host("a", gpu="a100")
    host_db.host_property_update("gpu", True)
    host_db.host_update(host, {}, {"gpu": None})
    assert host_db.host_properties_list() == []

    host_db.host_update(host, {}, {"gpu": "h100"})
    assert host_db.host_properties_list()[0]["private"] is True


# Host reservations ----------------------------------------------------------


@pytest.fixture
def host_type(database):
    """The plugin's class loaded, so lease reads carry its fields."""
    return plugins.classes(["physical.host.plugin"])["physical:host"]


def test_host_reservation_fields_show_on_the_reservation(host_type):
    reservation_id, lease = make_reservation(
        hypervisor_properties="[]", resource_properties='["==", "$a", "1"]'
    )
    host_db.host_reservation_update(reservation_id, {"count_max": 4})

    reservation = db_api.reservation_get(reservation_id)

    assert reservation["min"] == 1
    assert reservation["max"] == 4
    assert reservation["hypervisor_properties"] == "[]"
    assert reservation["resource_properties"] == '["==", "$a", "1"]'
    assert reservation["before_end"] == "default"
    assert reservation["on_end"] == "default"


def test_deleting_a_lease_deletes_its_allocations(database):
    host = make_host("a")
    _, lease = book([host], T0, T0 + hours(1))

    db_api.lease_destroy(lease["id"])

    assert host_db.host_allocations_list() == [
        {"resource_id": host, "reservations": []}
    ]
