"""``GET /v1/availability`` for virtual:instance: the real API and
manager with both plugins, SQLite, the local compute driver.  The windows
it answers agree with admission: a lease at a window's start or latest
start is granted, a minute later it is not."""

import datetime
import random

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


def test_shares_that_never_run_together_leave_room_across_both(api, hosts):
    # h0 holds two 2-vCPU instances 4h-6h and two more 8h-10h: at most
    # 4 of its 8 vCPUs at any moment.  h1 holds nothing.
    for name, start, end in (("early", 4, 6), ("late", 8, 10)):
        response = lease(
            api, name, at(start), at(end), instances(2, affinity="true")
        )
        assert response.status_code == 201, response.json

    # Six fit at any time, for any length: four on h1, two on h0.
    assert windows(api, amount=6, duration="6h", limit=5) == [
        (d(0), d(18), None, 6)
    ]
    assert _granted(api, "across", at(4), at(10), instances(6))
    # Seven need h0 free of both.
    assert windows(api, amount=7, duration="2h", limit=5) == [
        (d(0), d(2), d(4), 8),
        (d(6), d(6), d(8), 8),
        (d(10), d(22), None, 8),
    ]
    assert _granted(api, "between", at(6), at(8), instances(7))
    minute = datetime.timedelta(minutes=1)
    assert not _granted(
        api, "late", at(6) + minute, at(8) + minute, instances(7)
    )


def _when(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")


def _granted(api, name, start, end, request):
    """Is a lease of ``request`` from ``start`` to ``end`` granted?  One
    that is goes away again, so the next question sees the same hosts."""
    response = lease(api, name, start, end, request)
    if response.status_code == 409:
        return False
    assert response.status_code == 201, response.json
    api.delete(f"/v1/leases/{response.json['lease']['id']}")
    return True


@pytest.mark.parametrize("seed", range(8))
def test_random_schedules_agree_with_admission(api, hosts, seed):
    """Random instance and whole-host leases, then random searches: every
    window's edges are checked against admission, a minute inside and a
    minute outside."""
    rng = random.Random(seed)
    minute = datetime.timedelta(minutes=1)
    busy = 0
    for number in range(12):
        start = rng.randrange(0, 22)
        end = rng.randrange(start + 1, 25)
        if rng.random() < 0.2:
            request = {"resource_type": "physical:host", "min": 1, "max": 1}
        else:
            request = instances(rng.randint(1, 3), vcpus=rng.choice((1, 2, 3)))
        response = lease(api, f"busy-{number}", at(start), at(end), request)
        assert response.status_code in (201, 409), response.json
        busy += response.status_code == 201
    assert busy >= 4  # busy enough for the searches to mean something

    for number in range(3):
        amount = rng.randint(1, 6)
        duration = datetime.timedelta(hours=rng.randint(1, 6))
        request = instances(amount)
        response = search(
            api, amount=amount, duration=f"{duration.seconds // 3600}h"
        )
        assert response.status_code == 200, response.json
        found = response.json["availability"]["windows"][:3]
        last = at(24) - duration
        name = f"probe-{number}"
        for window in found:
            start = _when(window["start_date"])
            latest = _when(window["latest_start_date"])
            assert _granted(api, name, start, start + duration, request)
            assert _granted(api, name, latest, latest + duration, request)
            if latest < last:
                later = latest + minute
                assert not _granted(
                    api, name, later, later + duration, request
                ), window
            if window["max_end_date"] is not None:
                max_end = _when(window["max_end_date"])
                assert _granted(api, name, start, max_end, request)
                assert not _granted(
                    api, name, start, max_end + minute, request
                ), window
        if found and _when(found[0]["start_date"]) > at(0):
            earlier = _when(found[0]["start_date"]) - minute
            assert not _granted(
                api, name, earlier, earlier + duration, request
            ), found[0]
        if not found:
            assert not _granted(api, name, at(0), at(0) + duration, request)
