"""The reserved-server form's table: one lease per server (the Nova
flow itself runs against a real Nova in
tests/services/test_nova_instances.py)."""

import pytest

from climate import exceptions
from climate.plugins.instances.db import server_api


def test_a_server_is_reserved_by_one_lease_at_a_time(add_host, instances):
    add_host("node1")
    first = instances(name="first")
    second = instances(name="second")
    one = first["reservations"][0]["id"]
    two = second["reservations"][0]["id"]

    server_api.server_reserve(one, "server-1", first["id"])
    server_api.server_reserve(one, "server-1", first["id"])  # a retry
    with pytest.raises(exceptions.InvalidState) as refused:
        server_api.server_reserve(two, "server-1", second["id"])
    assert refused.value.code == 409
    assert first["id"] in str(refused.value)

    # Recorded only: the reserve_server stage shelves it after the commit.
    assert server_api.servers_of([one, two]) == {
        one: {"id": "server-1", "state": "PENDING"}
    }
    # A change asked only from a state the server is not in does nothing.
    server_api.server_set_state(one, "ACTIVE", only_from="RESERVED")
    assert server_api.servers_of([one])[one]["state"] == "PENDING"
    server_api.server_set_state(one, "RESERVED", only_from="PENDING")
    assert server_api.servers_of([one])[one]["state"] == "RESERVED"
    server_api.server_set_state(one, "ACTIVE")
    assert server_api.servers_of([one])[one]["state"] == "ACTIVE"
    # Released with its reservation: free for another lease.
    server_api.server_release(one)
    server_api.server_reserve(two, "server-1", second["id"])
    assert server_api.servers_of([one, two]) == {
        two: {"id": "server-1", "state": "PENDING"}
    }
