"""The host inventory (climate.plugins.hosts.inventory) with the local
driver, on the real database: registering, changing and removing hosts."""

import datetime
import uuid
import warnings

import pytest

from climate import exceptions
from climate.common import dates
from climate.db import api as db_api
from climate.plugins.hosts.db import api as host_db
from tests.unit.plugins.hosts.conftest import START, user


@pytest.fixture
def inventory(plugin):
    return plugin.inventory


def invalid(call, *args):
    with pytest.raises(exceptions.InvalidInput) as info:
        call(*args)
    assert info.value.code == 400
    return info.value.message


# create ---------------------------------------------------------------------


def test_create_fills_the_inventory_and_joins_the_free_pool(inventory, pools):
    host = inventory.create(
        {
            "name": " node-1 ",
            "vcpus": 8,
            "memory_mb": "16384",
            "gpu": "a100",
            "rack": 12,
            "ratio": 1.5,
        }
    )

    assert host["hypervisor_hostname"] == "node-1"
    assert (host["vcpus"], host["memory_mb"], host["local_gb"]) == (
        8,
        16384,
        None,
    )
    assert host["service_name"] == "node-1"
    assert host["reservable"] is True
    # Capabilities are kept as text.
    assert host["capabilities"] == {
        "gpu": "a100",
        "rack": "12",
        "ratio": "1.5",
    }
    assert host_db.host_get(host["id"]) == host
    assert pools() == {"freepool": ({}, ["node-1"])}


def test_a_host_may_be_registered_not_reservable(inventory):
    assert (
        inventory.create({"name": "h", "reservable": "False"})["reservable"]
        is False
    )
    assert (
        inventory.create({"name": "g", "reservable": False})["reservable"]
        is False
    )


def test_a_name_is_required(inventory):
    for values in (
        {},
        {"name": ""},
        {"name": "  "},
        {"name": 5},
        {"name": ["h"]},
    ):
        assert "name (the host's hypervisor hostname) is required" in invalid(
            inventory.create, values
        )


def test_a_name_is_registered_once(inventory, pools):
    inventory.create({"name": "h1", "gpu": "a100"})
    with pytest.raises(exceptions.HostAlreadyExists) as info:
        inventory.create({"name": "h1", "gpu": "h100"})
    assert info.value.code == 409
    assert "'h1'" in info.value.message
    assert [h["capabilities"] for h in host_db.host_list()] == [
        {"gpu": "a100"}
    ]
    assert pools() == {"freepool": ({}, ["h1"])}


MALFORMED_HOSTS = [
    ({"x" * 65: "1"}, "longer than 64 characters"),
    ({"gpu": "x" * 256}, "capability gpu is longer than 255 characters"),
    ({"has space": "1"}, "may hold only letters, digits"),
    ({"": "1"}, "may hold only letters"),
    ({"a/b": "1"}, "may hold only letters"),
    ({"gpu": True}, "capability gpu must be a string or a number"),
    ({"gpu": None}, "capability gpu must be a string or a number"),
    ({"gpu": ["a100"]}, "must be a string or a number"),
    ({"gpu": {"model": "a100"}}, "must be a string or a number"),
    ({"trust_id": "x"}, "trust_id is a host field, not a capability"),
    ({"id": "7"}, "id is a host field"),
    ({"capabilities": "x"}, "is a host field"),
    ({"reservable": "perhaps"}, "reservable must be true or false"),
    ({"vcpus": "many"}, "vcpus must be an integer"),
    ({"vcpus": -1}, "vcpus must not be negative"),
    ({"hypervisor_type": 5}, "hypervisor_type must be a string"),
]


def test_malformed_hosts_are_refused(inventory, pools):
    for capabilities, fragment in MALFORMED_HOSTS:
        message = invalid(inventory.create, {"name": "h", **capabilities})
        assert fragment in message, capabilities
    assert host_db.host_list() == []
    assert pools() == {}


def test_capability_names_of_64_characters_and_punctuation_are_fine(inventory):
    name = "a" * 60 + ":.-_"
    host = inventory.create({"name": "h", name: "x" * 255})
    assert host["capabilities"] == {name: "x" * 255}


# update ---------------------------------------------------------------------


def test_update_changes_adds_and_removes_capabilities(inventory):
    host = inventory.create({"name": "h", "gpu": "a100", "rack": "1"})

    updated = inventory.update(
        host["id"], {"gpu": "h100", "rack": None, "row": 4}
    )

    assert updated["capabilities"] == {"gpu": "h100", "row": "4"}
    assert (
        host_db.host_get(host["id"])["capabilities"] == updated["capabilities"]
    )


def test_update_accepts_values_wrapped_as_the_reservation_api_does(inventory):
    host = inventory.create({"name": "h"})
    updated = inventory.update(str(host["id"]), {"values": {"gpu": "a100"}})
    assert updated["capabilities"] == {"gpu": "a100"}


def test_update_toggles_reservable(inventory):
    host = inventory.create({"name": "h"})
    assert (
        inventory.update(host["id"], {"reservable": False})["reservable"]
        is False
    )
    assert (
        inventory.update(host["id"], {"reservable": "true"})["reservable"]
        is True
    )


def test_update_refuses_what_the_driver_describes(inventory):
    host = inventory.create({"name": "h"})
    for field in ("name", "hypervisor_hostname", "id", "vcpus", "cpu_info"):
        message = invalid(inventory.update, host["id"], {field: "2"})
        assert f"{field} cannot be changed" in message
    assert host_db.host_get(host["id"]) == host


def test_a_malformed_update_changes_nothing(inventory):
    host = inventory.create({"name": "h", "gpu": "a100"})
    invalid(inventory.update, host["id"], {"gpu": "h100", "bad name": "1"})
    assert host_db.host_get(host["id"]) == host


def test_unknown_hosts_are_not_found(inventory):
    inventory.create({"name": "h"})
    for host_id in (999, "999", "h", "", None, "1.0", "-1"):
        for call, args in [
            (inventory.update, (host_id, {"gpu": "x"})),
            (inventory.delete, (host_id,)),
            (host_db.host_get, (host_id,)),
        ]:
            with pytest.raises(exceptions.HostNotFound) as info:
                call(*args)
            assert info.value.code == 404
    assert len(host_db.host_list()) == 1


@pytest.fixture
def held(inventory, reserve):
    """Host 'gpu-host' held by a future lease that needs gpu == a100 and
    vcpus >= 4; host 'spare' is free."""
    host = inventory.create(
        {"name": "gpu-host", "vcpus": 8, "gpu": "a100", "rack": "3"}
    )
    inventory.create({"name": "spare", "vcpus": 8})
    lease = reserve(
        "needs-a100",
        hypervisor_properties='[">=", "$vcpus", "4"]',
        resource_properties='["==", "$gpu", "a100"]',
    )
    return host, lease


@pytest.mark.parametrize("change", [{"gpu": "none"}, {"gpu": None}])
def test_a_capability_a_reservation_needs_cannot_change(
    held, inventory, change
):
    host, lease = held

    with pytest.raises(exceptions.HostInUse) as info:
        inventory.update(host["id"], change)

    assert info.value.code == 409
    message = info.value.message
    assert "gpu-host" in message
    assert lease["id"] in message
    assert lease["reservations"][0]["id"] in message
    assert host_db.host_get(host["id"]) == host


def test_changing_a_capability_no_reservation_needs_is_fine(held, inventory):
    host, _ = held
    updated = inventory.update(host["id"], {"rack": "4", "gpu": "a100"})
    assert updated["capabilities"] == {"gpu": "a100", "rack": "4"}


def test_a_change_that_still_matches_the_query_is_fine(inventory, reserve):
    host = inventory.create({"name": "h", "gpu": "a100"})
    reserve(resource_properties='["!=", "$gpu", "none"]')

    assert inventory.update(host["id"], {"gpu": "h100"})["capabilities"] == {
        "gpu": "h100"
    }
    with pytest.raises(exceptions.HostInUse):
        inventory.update(host["id"], {"gpu": "none"})


def test_a_reservation_without_queries_needs_no_capability(inventory, reserve):
    host = inventory.create({"name": "h", "gpu": "a100"})
    reserve()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        updated = inventory.update(host["id"], {"gpu": None})
    assert updated["capabilities"] == {}


def test_an_active_lease_protects_its_capabilities_too(
    held, inventory, run_at
):
    host, lease = held
    run_at(START)
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"

    with pytest.raises(exceptions.HostInUse):
        inventory.update(host["id"], {"gpu": "h100"})


def test_a_held_host_may_be_made_non_reservable(held, inventory, hosts_of):
    host, lease = held
    updated = inventory.update(host["id"], {"reservable": False})
    assert updated["reservable"] is False
    # The lease keeps it.
    assert hosts_of(lease) == ["gpu-host"]


def _past_allocation(host_id):
    """Give ``host_id`` an allocation that ended an hour ago."""
    now = dates.utcnow()
    reservation_id = str(uuid.uuid4())
    lease = {
        "id": str(uuid.uuid4()),
        "name": "past",
        "project_id": "p1",
        "user_id": "u1",
        "start_date": now - datetime.timedelta(hours=3),
        "end_date": now - datetime.timedelta(hours=1),
        "before_end_date": now - datetime.timedelta(hours=1),
        "status": "TERMINATED",
        "degraded": False,
    }
    reservation = {
        "id": reservation_id,
        "resource_type": "physical:host",
        "status": "deleted",
    }
    with db_api.writer():
        db_api.lease_create(lease, [reservation])
        host_db.host_reservation_create(
            {
                "reservation_id": reservation_id,
                "count_min": 1,
                "count_max": 1,
                "resource_properties": '["==", "$gpu", "a100"]',
            }
        )
        host_db.host_allocate(
            reservation_id, lease["start_date"], lease["end_date"], 1, 1, []
        )
    return lease


def test_past_leases_do_not_hold_a_host(inventory, pools):
    host = inventory.create({"name": "h", "gpu": "a100"})
    _past_allocation(host["id"])

    assert inventory.update(host["id"], {"gpu": "h100"})["capabilities"] == {
        "gpu": "h100"
    }
    inventory.delete(host["id"])

    assert host_db.host_list() == []
    assert host_db.host_allocations_list() == []
    assert pools() == {"freepool": ({}, [])}


# delete ---------------------------------------------------------------------


def test_delete_removes_the_host_and_its_capabilities(inventory, pools):
    host = inventory.create({"name": "h", "gpu": "a100"})
    other = inventory.create({"name": "g"})

    inventory.delete(str(host["id"]))

    assert host_db.host_list() == [host_db.host_get(other["id"])]
    assert host_db.host_properties_list() == []
    assert pools() == {"freepool": ({}, ["g"])}
    with pytest.raises(exceptions.HostNotFound):
        inventory.delete(host["id"])


def test_a_host_held_by_a_future_lease_cannot_be_deleted(
    held, inventory, pools, hosts_of
):
    host, lease = held

    with pytest.raises(exceptions.HostInUse) as info:
        inventory.delete(host["id"])

    assert info.value.code == 409
    assert lease["id"] in info.value.message
    assert "once they end or are deleted" in info.value.message
    assert host_db.host_get(host["id"]) == host
    assert hosts_of(lease) == ["gpu-host"]
    assert "gpu-host" in pools()["freepool"][1]


def test_a_host_held_by_an_active_lease_cannot_be_deleted(
    held, inventory, run_at
):
    host, _ = held
    run_at(START)
    with pytest.raises(exceptions.HostInUse):
        inventory.delete(host["id"])


def test_a_host_is_deleted_once_its_lease_is(held, inventory, lease_manager):
    host, lease = held
    lease_manager.delete(user(), lease["id"])
    inventory.delete(host["id"])
    assert [h["hypervisor_hostname"] for h in host_db.host_list()] == ["spare"]


def test_other_spellings_of_a_held_host_id_do_not_get_round_the_check(
    held, inventory
):
    host, lease = held
    assert host["id"] == 1
    # Each reads as 1 to int(); "\u0661" is ARABIC-INDIC DIGIT ONE.
    for host_id in ("+1", " 1", "1 ", "01", "1.0", "\u0661", "\U0001d7cf"):
        with pytest.raises((exceptions.HostInUse, exceptions.HostNotFound)):
            inventory.delete(host_id)
        with pytest.raises((exceptions.HostInUse, exceptions.HostNotFound)):
            inventory.update(host_id, {"gpu": "none"})

    assert host_db.host_get(host["id"]) == host
    assert host_db.host_allocations_list(lease_id=lease["id"]) != []


def test_an_id_that_is_not_plain_digits_names_no_host(inventory):
    for n in range(10):
        inventory.create({"name": f"h{n}"})
    # int() reads each as 10.
    for host_id in ("1_0", "\u0661\u0660", "\uff11\uff10"):
        with pytest.raises(exceptions.HostNotFound):
            inventory.delete(host_id)
    assert len(host_db.host_list()) == 10


# properties -----------------------------------------------------------------


def test_properties_can_be_made_private_and_public(inventory):
    inventory.create({"name": "h1", "gpu": "a100", "rack": "1"})
    inventory.create({"name": "h2", "gpu": "h100"})

    prop = inventory.update_property("gpu", {"private": True})

    assert prop == {
        "property": "gpu",
        "private": True,
        "values": ["a100", "h100"],
    }
    assert host_db.host_properties_list() == [
        {"property": "gpu", "private": True, "values": ["a100", "h100"]},
        {"property": "rack", "private": False, "values": ["1"]},
    ]
    assert (
        inventory.update_property("gpu", {"private": "false"})["private"]
        is False
    )


def test_an_unknown_property_is_not_found(inventory):
    inventory.create({"name": "h1", "gpu": "a100"})
    with pytest.raises(exceptions.HostPropertyNotFound) as info:
        inventory.update_property("colour", {"private": True})
    assert info.value.code == 404
    assert "'colour'" in info.value.message


def test_a_property_update_takes_private_only(inventory):
    inventory.create({"name": "h1", "gpu": "a100"})
    for values in (
        {},
        {"private": True, "public": False},
        {"hidden": True},
        {"private": 1},
        {"private": None},
    ):
        invalid(inventory.update_property, "gpu", values)
    assert host_db.host_properties_list()[0]["private"] is False


@pytest.mark.parametrize(
    "field", ["name", "hypervisor_type", "availability_zone", "service_name"]
)
def test_text_fields_longer_than_their_columns_are_refused(inventory, field):
    body = {"name": "host-long", field: "x" * 256}
    with pytest.raises(exceptions.InvalidInput, match="longer than 255"):
        inventory.create(body)
