"""The availability search on PostgreSQL and MariaDB: its queries (a
correlated MIN a host for each one's next allocation, allocations meeting
the look) answer there as on SQLite, through the bounded looks, and agree
with admission."""

import datetime

import pytest

from climate.common import dates
from climate.manager import service
from tests.unit.plugins.hosts.api.test_availability import (
    ADMIN,
    ALICE,
    BOB,
    _at,
    _lease,
    _wire,
)

pytestmark = pytest.mark.services


@pytest.fixture
def api(service_db, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    from climate.api import app

    client = app.create_app().test_client()
    for index, gpu in enumerate(("a100", "a100", "none", "none")):
        response = client.post(
            "/v1/os-hosts",
            json={"name": f"h{index}", "gpu": gpu},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.json
    yield client
    manager.stop()


def _windows(api, **args):
    query = {"resource_type": "physical:host", "duration": "2h", **args}
    response = api.get("/v1/availability", query_string=query, headers=ALICE)
    assert response.status_code == 200, response.json
    return response.json["availability"]["windows"]


def test_the_search_on_each_database(api):
    # Every host busy for ten days, one gpu host again from 900h to 950h.
    assert _lease(api, "all", _at(0), _at(240), BOB, count=4).status_code == (
        201
    )
    assert (
        _lease(api, "h0", _at(900), _at(950), BOB, gpu="a100").status_code
        == 201
    )
    assert (
        _windows(api, count=1, after=_wire(_at(0)), before=_wire(_at(200)))
        == []
    )
    # Over 60 days: the second look (four weeks) finds the window from
    # 240h; its starts run on, so the answer stops where it looked.
    [four] = _windows(
        api, count=4, after=_wire(_at(0)), before=_wire(_at(24 * 60))
    )
    assert four == {
        "start_date": dates.format_date(_at(240)),
        "end_date": dates.format_date(_at(242)),
        "latest_start_date": dates.format_date(_at(24 * 28)),
        "max_end_date": dates.format_date(_at(900)),
        "max_duration": f"{660 * 3600}s",
        "free": 4,
    }
    # Both gpu hosts over a week, read whole: until 900h, from 950h.
    windows = _windows(
        api,
        count=2,
        resource_properties='["==", "$gpu", "a100"]',
        after=_wire(_at(800)),
        before=_wire(_at(968)),
        limit=3,
    )
    assert [(w["start_date"], w["latest_start_date"]) for w in windows] == [
        (dates.format_date(_at(800)), dates.format_date(_at(898))),
        (dates.format_date(_at(950)), dates.format_date(_at(966))),
    ]
    assert windows[0]["max_end_date"] == dates.format_date(_at(900))
    assert windows[1]["max_end_date"] is None
    # Admission agrees at each window's first and last start.
    for index, window in enumerate(windows):
        for key in ("start_date", "latest_start_date"):
            start = dates.as_datetime(window[key])
            created = _lease(
                api,
                f"w{index}-{key}",
                start,
                start + datetime.timedelta(hours=2),
                count=2,
                gpu="a100",
            )
            assert created.status_code == 201, (window, created.json)
            assert (
                api.delete(
                    f"/v1/leases/{created.json['lease']['id']}", headers=ALICE
                ).status_code
                == 204
            )


def test_a_refused_update_carries_the_next_window(api):
    # Alice's lease ignores its own hosts; Bob's next start on h1 is read
    # by the correlated MIN beyond the look.
    mine = _lease(api, "mine", _at(0), _at(2), gpu="a100", count=2)
    assert mine.status_code == 201, mine.json
    assert (
        _lease(api, "theirs", _at(3), _at(5), BOB, gpu="a100").status_code
        == 201
    )
    response = api.put(
        f"/v1/leases/{mine.json['lease']['id']}",
        json={"prolong_for": "2h"},
        headers=ALICE,
    )
    assert response.status_code == 409, response.json
    assert response.json["next_available"] == {
        "start_date": dates.format_date(_at(5)),
        "end_date": dates.format_date(_at(9)),
    }
