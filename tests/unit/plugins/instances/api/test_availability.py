"""``GET /v1/availability`` for virtual:instance: the real API and
manager with both plugins, SQLite, the local compute driver.  The windows
it answers agree with admission: a lease at a window's start or latest
start is granted, a minute later it is not."""

import datetime

import pytest

from climate.common import dates
from climate.manager import service
from tests.unit.api.asserts import check_error

DAY = datetime.datetime(2030, 12, 26)


@pytest.fixture
def manager(database, config):
    config.config(noauth_roles=["admin"], group="api")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def hosts(api):
    """h0 and h1: 8 vCPUs, 8 GB, 100 GB each; h0 has gpu=a100."""
    for name, gpu in (("h0", "a100"), ("h1", "none")):
        response = api.post(
            "/v1/os-hosts",
            json={
                "name": name,
                "vcpus": 8,
                "memory_mb": 8192,
                "local_gb": 100,
                "gpu": gpu,
            },
        )
        assert response.status_code == 201, response.json


def at(hours):
    return DAY + datetime.timedelta(hours=hours)


def wire(moment):
    return f"{moment:%Y-%m-%d %H:%M}"


def lease(api, name, start, end, reservation):
    return api.post(
        "/v1/leases",
        json={
            "name": name,
            "start_date": wire(start),
            "end_date": wire(end),
            "reservations": [reservation],
        },
    )


def instances(amount, **fields):
    return {
        "resource_type": "virtual:instance",
        "amount": amount,
        "vcpus": 2,
        "memory_mb": 1024,
        "disk_gb": 10,
        **fields,
    }


def search(api, **args):
    query = {
        "resource_type": "virtual:instance",
        "vcpus": 2,
        "memory_mb": 1024,
        "disk_gb": 10,
        "after": wire(at(0)),
        "before": wire(at(24)),
        **args,
    }
    return api.get("/v1/availability", query_string=query)


def windows(api, **args):
    response = search(api, **args)
    assert response.status_code == 200, response.json
    return [
        (
            w["start_date"],
            w["latest_start_date"],
            w["max_end_date"],
            w["free"],
        )
        for w in response.json["availability"]["windows"]
    ]


def d(hours, minutes=0):
    return dates.format_date(at(hours) + datetime.timedelta(minutes=minutes))


def test_the_windows_follow_instances_and_whole_hosts(api, hosts):
    # 4h-8h: six of the eight slots taken; 10h-12h: h1 held whole.
    assert lease(api, "six", at(4), at(8), instances(6)).status_code == 201
    whole = {
        "resource_type": "physical:host",
        "min": 1,
        "max": 1,
        "resource_properties": '["==", "$gpu", "none"]',
    }
    assert lease(api, "whole", at(10), at(12), whole).status_code == 201

    # Three fit beside the whole host (on h0), not beside the six.
    assert windows(api, amount=3, duration="2h", limit=5) == [
        (d(0), d(2), d(4), 8),
        (d(8), d(22), None, 8),
    ]
    # Two fit beside the six, and beside the whole host, but not beside
    # both: a lease from 0h may not run past 10h.
    assert windows(api, amount=2, duration="2h", limit=1) == [
        (d(0), d(22), d(10), 8)
    ]
    assert windows(api, amount=4, duration="1h", limit=5) == [
        (d(0), d(3), d(4), 8),
        (d(8), d(23), None, 8),
    ]
    # All on one host: h0 has 4 slots but 3 of them are taken 4h-8h.
    assert windows(api, amount=4, affinity="true", duration="1h", limit=5) == [
        (d(0), d(3), d(4), 4),
        (d(8), d(23), None, 4),
    ]


def test_a_lease_at_the_windows_edges_is_granted_and_not_past_them(api, hosts):
    assert lease(api, "six", at(4), at(8), instances(6)).status_code == 201
    ((start, latest, max_end, _), *_) = windows(
        api, amount=3, duration="2h", limit=1
    )
    assert (start, latest, max_end) == (d(0), d(2), d(4))

    first = lease(api, "first", at(0), at(2), instances(3))
    assert first.status_code == 201, first.json
    api.delete(f"/v1/leases/{first.json['lease']['id']}")
    last = lease(api, "last", at(2), at(4), instances(3))
    assert last.status_code == 201, last.json
    api.delete(f"/v1/leases/{last.json['lease']['id']}")
    late = lease(
        api,
        "late",
        at(2) + datetime.timedelta(minutes=1),
        at(4) + datetime.timedelta(minutes=1),
        instances(3),
    )
    check_error(late, 409, "NotEnoughResourcesAvailable")


def test_a_filter_and_bad_sizes(api, hosts):
    gpu = '["==", "$gpu", "a100"]'
    assert windows(
        api, amount=4, resource_properties=gpu, duration="1h", limit=1
    ) == [(d(0), d(23), None, 4)]
    assert (
        windows(api, amount=5, resource_properties=gpu, duration="1h", limit=1)
        == []
    )
    check_error(
        search(api, amount=1, vcpus=9, duration="1h"),
        400,
        "InvalidInput",
        "vcpus (9) is larger than",
    )
    check_error(
        search(api, amount=0, duration="1h"),
        400,
        "InvalidInput",
        "amount must be a positive integer",
    )
