"""The local compute driver's pools in climate.db.api, on a real, migrated
SQLite database."""

from climate.db import api as db_api


def test_pools_list_is_by_name_with_sorted_members(database):
    db_api.host_pool_ensure("zeta", {"climate:owner": "p1"})
    db_api.host_pool_ensure("alpha", {})
    db_api.host_pool_add_hosts("zeta", ["b", "a"])

    assert db_api.host_pools_list() == [
        {"name": "alpha", "metadata": {}, "hosts": []},
        {
            "name": "zeta",
            "metadata": {"climate:owner": "p1"},
            "hosts": ["a", "b"],
        },
    ]
