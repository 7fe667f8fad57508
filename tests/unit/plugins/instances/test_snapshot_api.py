"""The snapshots' table on the real migrated database: one record per
server and stage of a reservation, gone with the reservation (the Nova
flow runs against the fake Compute API in test_nova_servers.py and a
real Nova in tests/services/test_nova_instances.py)."""

from climate.db import api as db_api
from climate.plugins.instances.db import snapshot_api


def test_a_snapshot_is_recorded_once_per_stage(add_host, instances):
    add_host("node1")
    lease = instances()
    one = lease["reservations"][0]["id"]

    snapshot_api.snapshot_record(one, "before_end", "s1", "image-1")
    # A second record of the same snapshot keeps the first image id.
    snapshot_api.snapshot_record(one, "before_end", "s1", "image-2")
    snapshot_api.snapshot_record(one, "end", "s1", None)

    assert snapshot_api.snapshot_get(one, "before_end", "s1") == {
        "server_id": "s1",
        "image_id": "image-1",
        "stage": "before_end",
    }
    assert snapshot_api.snapshot_get(one, "before_end", "s2") is None
    assert snapshot_api.snapshots_of([one, "other"]) == {
        one: [
            {"server_id": "s1", "image_id": "image-1", "stage": "before_end"},
            {"server_id": "s1", "image_id": None, "stage": "end"},
        ]
    }
    snapshot_api.snapshots_forget(one)
    assert snapshot_api.snapshots_of([one]) == {}


def test_the_records_go_with_the_lease(add_host, instances):
    add_host("node1")
    lease = instances()
    one = lease["reservations"][0]["id"]
    snapshot_api.snapshot_record(one, "end", "s1", "image-1")

    db_api.lease_destroy(lease["id"])

    assert snapshot_api.snapshots_of([one]) == {}
