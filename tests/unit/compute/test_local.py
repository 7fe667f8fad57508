"""The ``local`` compute driver: host descriptions and pools in Climate's own
database (climate.compute.local), loaded through its entry point."""

import pytest

from climate import compute, exceptions
from climate.compute import base, local
from climate.db import api as db_api


@pytest.fixture
def driver(database):
    return compute.load("local")


def pools():
    return {
        p["name"]: (p["metadata"], p["hosts"])
        for p in db_api.host_pools_list()
    }


def test_local_is_found_by_its_entry_point(database):
    driver = compute.load("local")
    assert isinstance(driver, local.LocalDriver)
    assert isinstance(driver, base.ComputeDriver)


def test_an_unknown_driver_stops_with_a_clear_message():
    with pytest.raises(exceptions.ConfigurationError) as info:
        compute.load("nova-ish")
    assert info.value.message == (
        "[compute] driver is 'nova-ish', which is not installed"
    )


# describe_host --------------------------------------------------------------


def test_a_bare_host_has_unknown_sizes(driver):
    assert driver.describe_host("node-1", {}) == {
        "vcpus": None,
        "memory_mb": None,
        "local_gb": None,
        "hypervisor_version": None,
        "hypervisor_type": "baremetal",
        "cpu_info": "{}",
        "availability_zone": None,
        "service_name": "node-1",
    }


def test_what_the_operator_gives_is_kept(driver):
    described = driver.describe_host(
        "node-1",
        {
            "vcpus": "64",
            "memory_mb": 262144,
            "local_gb": 0,
            "hypervisor_version": 8,
            "hypervisor_type": "ironic",
            "cpu_info": '{"arch": "x86_64"}',
            "availability_zone": "az1",
            "service_name": "compute-7",
        },
    )
    assert described == {
        "vcpus": 64,
        "memory_mb": 262144,
        "local_gb": 0,
        "hypervisor_version": 8,
        "hypervisor_type": "ironic",
        "cpu_info": '{"arch": "x86_64"}',
        "availability_zone": "az1",
        "service_name": "compute-7",
    }


def test_describe_ignores_capabilities(driver):
    assert "gpu" not in driver.describe_host("n", {"gpu": "a100"})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vcpus": "eight"}, "vcpus must be an integer, not 'eight'"),
        ({"memory_mb": [1]}, "memory_mb must be an integer"),
        ({"local_gb": True}, "local_gb must be an integer"),
        ({"vcpus": -4}, "vcpus must not be negative"),
        ({"vcpus": 2.5}, "vcpus must be an integer"),
        ({"vcpus": float("inf")}, "vcpus must be an integer"),
        ({"vcpus": float("nan")}, "vcpus must be an integer"),
        ({"memory_mb": 2**63}, "memory_mb must be at most"),
        ({"hypervisor_type": 5}, "hypervisor_type must be a string"),
        ({"cpu_info": {"arch": "x86"}}, "cpu_info must be a string"),
        ({"availability_zone": ["az"]}, "availability_zone must be a string"),
    ],
)
def test_malformed_descriptions_are_refused(driver, values, message):
    with pytest.raises(exceptions.InvalidInput) as info:
        driver.describe_host("n", values)
    assert info.value.code == 400
    assert message in info.value.message


def test_whole_floats_are_integers(driver):
    assert driver.describe_host("n", {"vcpus": 8.0})["vcpus"] == 8


def test_a_null_gives_the_default(driver):
    described = driver.describe_host(
        "n", {"hypervisor_version": None, "availability_zone": None}
    )
    assert described["hypervisor_version"] is None
    assert described["availability_zone"] is None


# Pools ----------------------------------------------------------------------


def test_pools_hold_hosts_with_their_metadata(driver):
    driver.ensure_pool("freepool", {})
    driver.ensure_pool("res-1", {"climate:owner": "p1"})
    driver.add_hosts("freepool", ["c", "a", "b"])
    driver.add_hosts("res-1", ["d"])

    assert pools() == {
        "freepool": ({}, ["a", "b", "c"]),
        "res-1": ({"climate:owner": "p1"}, ["d"]),
    }


def test_ensure_pool_is_idempotent_and_keeps_the_first_metadata(driver):
    driver.ensure_pool("res-1", {"climate:owner": "p1"})
    driver.add_hosts("res-1", ["a"])
    driver.ensure_pool("res-1", {"climate:owner": "p2"})

    assert pools() == {"res-1": ({"climate:owner": "p1"}, ["a"])}


def test_adding_a_member_twice_keeps_one(driver):
    driver.ensure_pool("p", {})
    driver.add_hosts("p", ["a", "b"])
    driver.add_hosts("p", ["b", "c"])
    driver.add_hosts("p", [])
    assert pools() == {"p": ({}, ["a", "b", "c"])}


def test_a_host_may_sit_in_two_pools(driver):
    # on_start adds to the reservation's pool before leaving the free pool.
    for pool in ("freepool", "res"):
        driver.ensure_pool(pool, {})
        driver.add_hosts(pool, ["a"])
    assert pools() == {"freepool": ({}, ["a"]), "res": ({}, ["a"])}


def test_adding_to_a_missing_pool_is_not_found(driver):
    with pytest.raises(exceptions.HostPoolNotFound) as info:
        driver.add_hosts("nowhere", ["a"])
    assert info.value.message == "Host pool nowhere could not be found"


def test_removing_is_idempotent(driver):
    driver.ensure_pool("p", {})
    driver.add_hosts("p", ["a", "b"])

    driver.remove_hosts("p", ["a", "zzz"])
    driver.remove_hosts("p", ["a"])
    driver.remove_hosts("nowhere", ["b"])

    assert pools() == {"p": ({}, ["b"])}


def test_delete_pool_removes_its_members_and_is_idempotent(driver):
    driver.ensure_pool("p", {})
    driver.ensure_pool("q", {})
    driver.add_hosts("p", ["a", "b"])
    driver.add_hosts("q", ["a"])

    driver.delete_pool("p")
    driver.delete_pool("p")
    driver.delete_pool("never-was")

    assert pools() == {"q": ({}, ["a"])}
    # A pool made again under the name starts empty.
    driver.ensure_pool("p", {"new": "yes"})
    assert pools()["p"] == ({"new": "yes"}, [])


def test_reclaiming_has_nothing_to_do(driver):
    assert driver.reclaim_hosts(["a", "b"], "default") is None
