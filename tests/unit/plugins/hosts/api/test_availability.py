"""``GET /v1/availability`` for physical:host, the next window a 409
carries, and ``GET /v1/leases/{id}/extension``: the real API and manager,
SQLite, the local compute driver."""

import datetime

import pytest

from climate.common import dates
from climate.manager import service
from tests import helpers
from tests.unit.api.asserts import check_error

ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops", "X-User-Id": "root"}
ALICE = {"X-Project-Id": "alice-project", "X-User-Id": "alice"}
BOB = {"X-Project-Id": "bob-project", "X-User-Id": "bob"}
DAY = datetime.datetime(2030, 12, 26)


@pytest.fixture
def manager(database, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def hosts(api):
    """h0..h3: h0 and h1 have gpu=a100, h2 and h3 gpu=none."""
    names = []
    for index, gpu in enumerate(("a100", "a100", "none", "none")):
        response = api.post(
            "/v1/os-hosts",
            json={"name": f"h{index}", "gpu": gpu},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.json
        names.append(f"h{index}")
    return names


def _at(hours):
    return DAY + datetime.timedelta(hours=hours)


def _wire(moment):
    return f"{moment:%Y-%m-%d %H:%M}"


def _lease(api, name, start, end, headers=ALICE, count=1, gpu=None):
    reservation = {
        "resource_type": "physical:host",
        "min": count,
        "max": count,
    }
    if gpu:
        reservation["resource_properties"] = f'["==", "$gpu", "{gpu}"]'
    return api.post(
        "/v1/leases",
        json={
            "name": name,
            "start_date": start if isinstance(start, str) else _wire(start),
            "end_date": end if isinstance(end, str) else _wire(end),
            "reservations": [reservation],
        },
        headers=headers,
    )


def _search(api, headers=ALICE, **args):
    query = {"resource_type": "physical:host", **args}
    return api.get("/v1/availability", query_string=query, headers=headers)


def _windows(api, **args):
    response = _search(api, **args)
    assert response.status_code == 200, response.json
    return response.json["availability"]["windows"]


def test_the_windows_follow_the_allocations(api, hosts):
    # Both gpu hosts are busy 0h-4h (one each), h0 again 6h-8h.
    for name, start, end, headers in (
        ("a", 0, 4, ALICE),
        ("b", 0, 4, BOB),
        ("c", 6, 8, BOB),
    ):
        assert (
            _lease(api, name, _at(start), _at(end), headers, gpu="a100")
        ).status_code == 201
    windows = _windows(
        api,
        count=1,
        resource_properties='["==", "$gpu", "a100"]',
        duration="2h",
        after=_wire(_at(0)),
        before=_wire(_at(24)),
    )
    # One host is free from 4h for ever (h1); h0 from 4h to 6h, then 8h.
    assert windows == [
        {
            "start_date": dates.format_date(_at(4)),
            "end_date": dates.format_date(_at(6)),
            "latest_start_date": dates.format_date(_at(22)),
            "max_end_date": None,
            "max_duration": None,
            "free": 2,
        }
    ]
    two = _windows(
        api,
        count=2,
        resource_properties='["==", "$gpu", "a100"]',
        duration="2h",
        after=_wire(_at(0)),
        before=_wire(_at(24)),
        limit=3,
    )
    # Two hosts: 4h-6h exactly (h0 is taken at 6h), then from 8h.
    assert [(w["start_date"], w["latest_start_date"]) for w in two] == [
        (dates.format_date(_at(4)), dates.format_date(_at(4))),
        (dates.format_date(_at(8)), dates.format_date(_at(22))),
    ]
    assert two[0]["max_end_date"] == dates.format_date(_at(6))
    assert two[0]["max_duration"] == "7200s"
    assert two[0]["free"] == 2


def test_every_window_is_admitted_and_just_before_the_first_is_not(api, hosts):
    """The search agrees with admission, at every window it returns."""
    assert _lease(api, "all", _at(0), _at(1), BOB, count=4).status_code == 201
    for name, start, end, gpu in (
        ("a", 1, 5, "a100"),
        ("b", 3, 9, "a100"),
        ("c", 2, 4, "none"),
        ("d", 10, 12, "a100"),
        ("e", 13, 14, None),
    ):
        assert (
            _lease(api, name, _at(start), _at(end), BOB, gpu=gpu).status_code
            == 201
        )
    assert _lease(api, "f", _at(20), _at(21), BOB, count=4).status_code == 201
    query = {
        "min": 2,
        "max": 3,
        "duration": "3h",
        "after": _wire(_at(0)),
        "before": _wire(_at(30)),
        "limit": 10,
    }
    windows = _windows(api, **query)
    assert len(windows) >= 2
    first = dates.as_datetime(windows[0]["start_date"])
    assert first > _at(0)
    # Just before the first window, the same request is refused...
    refused = _lease(
        api,
        "too-early",
        first - datetime.timedelta(minutes=1),
        first + datetime.timedelta(hours=3, minutes=-1),
        count=2,
    )
    check_error(refused, 409, "NotEnoughResourcesAvailable")
    # ... and carries the window found by the search.
    assert refused.json["next_available"] == {
        "start_date": windows[0]["start_date"],
        "end_date": windows[0]["end_date"],
    }
    # At each window's first and last start, it is granted.
    for index, window in enumerate(windows):
        for key in ("start_date", "latest_start_date"):
            start = dates.as_datetime(window[key])
            created = _lease(
                api,
                f"w{index}-{key}",
                start,
                start + datetime.timedelta(hours=3),
                count=2,
            )
            assert created.status_code == 201, (window, created.json)
            assert (
                api.delete(
                    f"/v1/leases/{created.json['lease']['id']}", headers=ALICE
                ).status_code
                == 204
            )


def test_a_refused_update_carries_the_next_window(api, hosts):
    mine = _lease(api, "mine", _at(0), _at(2), gpu="a100", count=2).json[
        "lease"
    ]
    assert (
        _lease(api, "theirs", _at(3), _at(5), BOB, gpu="a100").status_code
        == 201
    )
    response = api.put(
        f"/v1/leases/{mine['id']}", json={"prolong_for": "2h"}, headers=ALICE
    )
    check_error(response, 409, "NotEnoughResourcesAvailable")
    # Four hours for two gpu hosts: after Bob's lease (its own hosts do
    # not count against it).
    assert response.json["next_available"] == {
        "start_date": dates.format_date(_at(5)),
        "end_date": dates.format_date(_at(9)),
    }


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ({"duration": None}, ["duration is required"]),
        ({"duration": "0h"}, ["duration must be positive"]),
        ({"duration": "soon"}, ["Invalid duration", "'2h'"]),
        ({"duration": "40d"}, ["longer than the period searched"]),
        (
            {"after": "2030-12-27 00:00", "before": "2030-12-26 00:00"},
            ["must be later than after"],
        ),
        ({"after": "tomorrow"}, ["after"]),
        ({"after": "9999-12-20 00:00"}, ["after must be before 9999-01-01"]),
        (
            {"after": "9998-12-31 23:59", "before": None},
            ["longer than the period searched"],
        ),
        ({"limit": "0"}, ["limit must be an integer from 1 to 50"]),
        ({"limit": "51"}, ["limit must be an integer from 1 to 50"]),
        (
            {"count": None, "min": None},
            ["physical:host reservations need min"],
        ),
        (
            {"resource_properties": '["~", "$gpu", "x"]'},
            ["resource_properties"],
        ),
        ({"resource_properties": "[not json"}, ["resource_properties"]),
        ({"hypervisor_properties": '[">=", "$nope", "4"]'}, ["$nope"]),
        ({"colour": "red"}, ["unknown physical:host field(s) colour"]),
        ({"count": "2", "min": "1"}, ["not both"]),
        ({"image": "debian"}, ["does not take image"]),
        ({"resource_type": None}, ["resource_type is required"]),
        ({"resource_type": "virtual:floatingip"}, ["virtual:floatingip"]),
    ],
)
def test_bad_searches_are_400s(api, hosts, args, fragments):
    query = {
        "resource_type": "physical:host",
        "count": "1",
        "duration": "1h",
        "after": "2030-12-26 00:00",
        "before": "2031-01-26 00:00",
        **args,
    }
    query = {k: v for k, v in query.items() if v is not None}
    response = api.get("/v1/availability", query_string=query, headers=ALICE)
    check_error(response, 400, response.json["error_name"], *fragments)


def test_a_parameter_given_twice_is_a_400(api, hosts):
    response = api.get(
        "/v1/availability?resource_type=physical:host&count=1&count=2"
        "&duration=1h",
        headers=ALICE,
    )
    check_error(response, 400, "InvalidInput", "count", "more than once")


def test_the_search_is_limited_by_the_booking_horizon(api, hosts, config):
    config.config(booking_horizon=2, group="manager")
    response = _search(api, count=1, duration="3d")
    check_error(response, 400, "InvalidPeriod", "booking horizon")
    windows = _windows(api, count=1, duration="1d")
    horizon = dates.utcnow() + datetime.timedelta(days=2)
    assert dates.as_datetime(windows[0]["max_end_date"]) <= horizon


# Extension advice -----------------------------------------------------------


def _extension(api, lease_id, headers=ALICE):
    return api.get(f"/v1/leases/{lease_id}/extension", headers=headers)


def test_extension_keeping_and_swapping_hosts(api, hosts):
    mine = _lease(api, "mine", _at(0), _at(2), gpu="a100").json["lease"]
    held = api.get("/v1/os-hosts/allocations", headers=ADMIN).json
    mine_host = next(
        a["resource_id"] for a in held["allocations"] if a["reservations"]
    )
    # Bob takes my host at 5h, and both gpu hosts at 7h.
    theirs = _lease(api, "theirs", _at(5), _at(6), BOB, gpu="a100").json[
        "lease"
    ]
    after = api.get("/v1/os-hosts/allocations", headers=ADMIN).json
    bobs_host = next(
        a["resource_id"]
        for a in after["allocations"]
        if any(r["lease_id"] == theirs["id"] for r in a["reservations"])
    )
    if bobs_host != mine_host:
        pytest.fail("the tightest fit puts Bob's lease on my host")
    assert (
        _lease(api, "later", _at(7), _at(8), BOB, gpu="a100", count=2)
    ).status_code == 201
    response = _extension(api, mine["id"])
    assert response.status_code == 200, response.json
    advice = response.json["extension"]
    assert advice["end_date"] == dates.format_date(_at(2))
    assert advice["latest_end_date"] == dates.format_date(_at(5))
    assert advice["binding"] == "resources"
    assert advice["prolong_for"] == f"{3 * 3600}s"
    # Swapping to the other gpu host (free until 7h) goes further.
    assert advice["with_swap"]["latest_end_date"] == dates.format_date(_at(7))
    [reservation] = advice["reservations"]
    assert reservation["latest_end_date"] == dates.format_date(_at(5))
    assert reservation["latest_end_date_with_swap"] == dates.format_date(
        _at(7)
    )
    assert reservation["swap_note"] is None
    # The lease has not started: an update may swap its host, so it is
    # granted up to the swapping answer, and refused a minute beyond.
    swap = advice["with_swap"]
    assert swap["binding"] == "resources"
    assert swap["prolong_for"] == f"{5 * 3600}s"
    too_far = api.put(
        f"/v1/leases/{mine['id']}",
        json={"prolong_for": f"{5 * 3600 + 60}s"},
        headers=ALICE,
    )
    check_error(too_far, 409, "NotEnoughResourcesAvailable")
    granted = api.put(
        f"/v1/leases/{mine['id']}",
        json={"prolong_for": swap["prolong_for"]},
        headers=ALICE,
    )
    assert granted.status_code == 200, granted.json
    assert granted.json["lease"]["end_date"] == dates.format_date(_at(7))


def test_extension_names_the_binding_limit(api, hosts, config):
    config.config(max_lease_duration=180, group="manager")
    mine = _lease(api, "mine", _at(0), _at(2)).json["lease"]
    advice = _extension(api, mine["id"]).json["extension"]
    assert advice["binding"] == "max_lease_duration"
    assert advice["latest_end_date"] == dates.format_date(_at(3))
    assert advice["limits"] == [
        {
            "name": "max_lease_duration",
            "end_date": dates.format_date(_at(3)),
            "note": "[manager] max_lease_duration: 180 minutes",
        }
    ]


def test_extension_of_a_lease_not_yours_or_over(api, hosts, config):
    config.config(min_lease_duration=0, group="manager")
    mine = _lease(api, "mine", _at(0), _at(2)).json["lease"]
    check_error(_extension(api, mine["id"], BOB), 404, "LeaseNotFound")
    check_error(
        api.get(f"/v1/leases/{mine['id']}/extension?x=1", headers=ALICE),
        400,
        "InvalidInput",
        "unknown query parameter",
    )
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    short = _lease(api, "short", "now", soon.isoformat())
    assert short.status_code == 201, short.json
    lease_id = short.json["lease"]["id"]
    helpers.wait_for(
        lambda: (
            api.get(f"/v1/leases/{lease_id}", headers=ALICE).json["lease"][
                "status"
            ]
            == "TERMINATED"
        ),
        10,
        message="the short lease's end",
    )
    check_error(
        _extension(api, lease_id),
        409,
        "InvalidState",
        "is TERMINATED; only a PENDING or ACTIVE lease can be extended",
    )


def _active(api, name, minutes):
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        minutes=minutes
    )
    lease = _lease(api, name, "now", soon.isoformat()).json["lease"]
    helpers.wait_for(
        lambda: (
            api.get(f"/v1/leases/{lease['id']}", headers=ALICE).json["lease"][
                "status"
            ]
            == "ACTIVE"
        ),
        10,
        message=f"lease {name} ACTIVE",
    )
    return lease


def test_extension_of_a_started_lease_under_the_enforcement_limits(
    api, hosts, config
):
    config.config(
        enabled_filters=["extension_window", "max_lease_duration"],
        extension_window=60,
        max_extension=20,
        max_lease_duration=24 * 60,
        group="enforcement",
    )
    # Ends in 3 h: extensions open only in its last hour.
    early = _active(api, "early", 180)
    advice = _extension(api, early["id"]).json["extension"]
    assert advice["binding"] == "extension_window"
    assert advice["prolong_for"] == "0s"
    assert advice["latest_end_date"] == advice["end_date"]
    [reservation] = advice["reservations"]
    assert reservation["swap_note"] == (
        "its hosts are in use: they cannot be swapped"
    )
    names = [limit["name"] for limit in advice["limits"]]
    assert names == ["max_lease_duration", "extension_window", "max_extension"]
    # Ends in 30 min: in its window, at most 20 minutes more at a time.
    late = _active(api, "late", 30)
    advice = _extension(api, late["id"]).json["extension"]
    assert advice["binding"] == "max_extension"
    assert advice["prolong_for"] == f"{20 * 60}s"
    granted = api.put(
        f"/v1/leases/{late['id']}",
        json={"prolong_for": advice["prolong_for"]},
        headers=ALICE,
    )
    assert granted.status_code == 200, granted.json
    assert granted.json["lease"]["end_date"] == advice["latest_end_date"]


def test_a_window_longer_than_a_week_is_reported_as_far_as_looked(api, hosts):
    """The search reads a week first and widens only while the earliest
    windows are unsettled: a window whose starts run on for a week or
    more ends the answer, its latest start as far as the search looked
    (a start that admission grants)."""
    assert _lease(api, "all", _at(0), _at(240), BOB, count=4).status_code == (
        201
    )
    assert _lease(api, "later", _at(900), _at(950), BOB).status_code == 201
    windows = _windows(
        api,
        count=4,
        duration="2h",
        after=_wire(_at(0)),
        before=_wire(_at(24 * 60)),
    )
    # Nothing in the first week: the second look (four weeks) finds the
    # window from 240h, open to its end, 18 days after the window's start.
    assert windows == [
        {
            "start_date": dates.format_date(_at(240)),
            "end_date": dates.format_date(_at(242)),
            "latest_start_date": dates.format_date(_at(24 * 28)),
            "max_end_date": dates.format_date(_at(900)),
            "max_duration": f"{660 * 3600}s",
            "free": 4,
        }
    ]
    # One host: the same window, as far as the same look.
    [one] = _windows(
        api,
        count=1,
        duration="2h",
        after=_wire(_at(0)),
        before=_wire(_at(24 * 60)),
    )
    assert one["start_date"] == dates.format_date(_at(240))
    assert one["latest_start_date"] == dates.format_date(_at(24 * 28))
    created = _lease(api, "at-latest", _at(24 * 28), _at(24 * 28 + 2), count=4)
    assert created.status_code == 201, created.json


def test_more_hosts_than_match_find_no_window(api, hosts):
    # Two gpu hosts: three are never free together, whatever the period.
    assert (
        _windows(
            api,
            count=3,
            resource_properties='["==", "$gpu", "a100"]',
            duration="2h",
            after=_wire(_at(0)),
            before=_wire(_at(24 * 60)),
        )
        == []
    )
