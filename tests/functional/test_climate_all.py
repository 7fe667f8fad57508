"""``climate-all``, the embedded service, as a real process over HTTP."""

import datetime
import time

import pytest
import requests

from tests import helpers

pytestmark = pytest.mark.functional

RECORDER = {"resource_type": "test:recorder"}
PLUGINS = {"plugins": "test.recorder.plugin", "min_lease_duration": 0}


def _lease(response, code=200):
    assert response.status_code == code, response.text
    assert response.headers["X-OpenStack-Request-Id"].startswith("req-")
    return response.json()["lease"]


def _get(climate, lease_id):
    return _lease(requests.get(climate.leases_url(lease_id), timeout=5))


def _wait_status(climate, lease_id, status, timeout):
    def reached():
        lease = _get(climate, lease_id)
        return lease["status"] == status and lease

    return helpers.wait_for(
        reached, timeout, interval=0.02, message=f"{lease_id} {status}"
    )


def _soon(seconds):
    moment = datetime.datetime.now(datetime.UTC)
    return (moment + datetime.timedelta(seconds=seconds)).isoformat()


def test_five_minute_tour(tmp_path, start_climate_all):
    # A state path that does not exist yet: created, with its database.
    state_path = tmp_path / "fresh" / "state"
    climate = start_climate_all(state_path)
    assert (state_path / "climate.sqlite").is_file()

    versions = requests.get(f"{climate.url}/", timeout=5)
    assert versions.status_code == 300
    assert versions.json()["versions"][0]["id"] == "v1.0"

    created = requests.post(
        climate.leases_url(),
        json={
            "name": "tour",
            "start_date": "now",
            "end_date": helpers.future(days=1),
        },
        timeout=5,
    )
    created_at = time.monotonic()
    lease = _lease(created, 201)
    assert lease["status"] == "PENDING"
    active = _wait_status(climate, lease["id"], "ACTIVE", timeout=1)
    assert time.monotonic() - created_at < 1

    listed = requests.get(climate.leases_url(), timeout=5).json()
    assert [item["id"] for item in listed["leases"]] == [lease["id"]]
    assert listed["leases"][0]["status"] == "ACTIVE"

    updated = _lease(
        requests.put(
            climate.leases_url(lease["id"]),
            json={"name": "tour-renamed", "prolong_for": "1d"},
            timeout=5,
        )
    )
    assert updated["name"] == "tour-renamed"
    assert updated["status"] == "ACTIVE"
    end = datetime.datetime.fromisoformat(active["end_date"])
    later = end + datetime.timedelta(days=1)
    assert updated["end_date"] == later.strftime("%Y-%m-%dT%H:%M:%S.%f")

    deleted = requests.delete(climate.leases_url(lease["id"]), timeout=5)
    assert deleted.status_code == 204
    gone = requests.get(climate.leases_url(lease["id"]), timeout=5)
    assert gone.status_code == 404
    assert gone.json()["error_name"] == "LeaseNotFound"
    assert requests.get(climate.leases_url(), timeout=5).json() == {
        "leases": []
    }


def test_errors_over_http(tmp_path, start_climate_all):
    climate = start_climate_all(tmp_path / "state")

    bad = requests.post(
        climate.leases_url(),
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    unknown = requests.get(f"{climate.url}/v1/nowhere", timeout=5)
    wrong_method = requests.patch(climate.leases_url(), timeout=5)
    too_large = requests.post(
        climate.leases_url(),
        data=b"{" + b" " * 200_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )

    assert bad.status_code == 400
    assert bad.json()["error_name"] == "MalformedRequestBody"
    assert unknown.status_code == 404
    assert unknown.json()["error_name"] == "NotFound"
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert too_large.status_code == 413
    assert too_large.json()["error_name"] == "RequestTooLarge"
    for response in (bad, unknown, wrong_method, too_large):
        assert set(response.json()) == {
            "error_code",
            "error_message",
            "error_name",
        }
        assert response.headers["X-OpenStack-Request-Id"].startswith("req-")


def test_short_lease_runs_through_the_plugin(
    tmp_path, start_climate_all, record_path
):
    climate = start_climate_all(tmp_path / "state", **PLUGINS)

    lease = _lease(
        requests.post(
            climate.leases_url(),
            json={
                "name": "short",
                "start_date": "now",
                "end_date": _soon(3),
                "reservations": [RECORDER],
            },
            timeout=5,
        ),
        201,
    )
    assert lease["status"] == "PENDING"

    active = _wait_status(climate, lease["id"], "ACTIVE", timeout=1)
    assert active["reservations"][0]["status"] == "active"
    done = _wait_status(climate, lease["id"], "TERMINATED", timeout=5)
    assert done["reservations"][0]["status"] == "deleted"
    assert {e["status"] for e in done["events"]} == {"DONE"}

    records = helpers.read_records(record_path)
    assert [r["hook"] for r in records] == [
        "reserve",
        "on_start",
        "before_end",
        "on_end",
    ]
    # The hooks ran in the climate-all process itself.
    assert {r["pid"] for r in records} == {climate.process.pid}


def test_sigterm_exits_cleanly_and_a_restart_keeps_the_leases(
    tmp_path, start_climate_all, record_path
):
    state_path = tmp_path / "state"
    first = start_climate_all(state_path, **PLUGINS)
    created = {}
    for name, start, end in (
        ("running", "now", "2030-12-27 12:00"),
        ("waiting", "2030-12-26 12:00", "2030-12-27 12:00"),
        # Ends while no process is running: the restart finishes it.
        ("ending", "now", _soon(2)),
    ):
        lease = _lease(
            requests.post(
                first.leases_url(),
                json={
                    "name": name,
                    "start_date": start,
                    "end_date": end,
                    "reservations": [RECORDER],
                },
                timeout=5,
            ),
            201,
        )
        created[name] = lease
    leases = {name: lease["id"] for name, lease in created.items()}
    _wait_status(first, leases["running"], "ACTIVE", timeout=2)
    _wait_status(first, leases["ending"], "ACTIVE", timeout=2)

    # ClimateProcess.stop sends SIGTERM to the PID (SIGKILL only after 15 s).
    assert first.process.stop() == 0, first.process.log()[-4000:]
    assert "Traceback" not in first.process.log()
    end = datetime.datetime.fromisoformat(created["ending"]["end_date"])
    helpers.wait_for(
        lambda: helpers.utcnow() > end, timeout=5, message="the lease's end"
    )

    second = start_climate_all(state_path, **PLUGINS)
    listed = requests.get(second.leases_url(), timeout=5).json()["leases"]
    assert {lease["name"]: lease["id"] for lease in listed} == leases
    statuses = {lease["name"]: lease["status"] for lease in listed}
    assert statuses["running"] == "ACTIVE"
    assert statuses["waiting"] == "PENDING"
    _wait_status(second, leases["ending"], "TERMINATED", timeout=5)
    assert _get(second, leases["running"])["status"] == "ACTIVE"
    assert second.process.stop() == 0, second.process.log()[-4000:]

    on_end = [
        r for r in helpers.read_records(record_path) if r["hook"] == "on_end"
    ]
    assert [r["lease_id"] for r in on_end] == [leases["ending"]]
    assert on_end[0]["pid"] == second.process.pid


def test_unknown_plugin_stops_climate_all_with_a_clear_message(
    tmp_path, start_climate_all
):
    climate = start_climate_all(tmp_path / "state", wait=False, plugins="nope")

    returncode = climate.process.process.wait(60)

    assert returncode != 0
    log = climate.process.log()
    assert "nope" in log
    assert "not installed" in log
    assert "Traceback" not in log
