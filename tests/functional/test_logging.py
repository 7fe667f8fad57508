"""What ``climate-all`` writes to its log: a 500 once, the event loop
without a request's context, JSON lines on request."""

import json
import sqlite3

import pytest
import requests

from tests import helpers

pytestmark = pytest.mark.functional


@pytest.fixture
def climate(request, tmp_path):
    """Start ``climate-all`` with extra ``[DEFAULT]`` options; return
    ``(process, url, state_path)``."""

    def _start(**default):
        port = helpers.free_port()
        state_path = tmp_path / "state"
        config_file = helpers.write_config(
            tmp_path / "climate.conf",
            {
                "DEFAULT": {"state_path": state_path, **default},
                "api": {"port": port},
                "manager": {"poll_interval": 1},
            },
        )
        process = helpers.ClimateProcess(
            "climate-all", config_file, tmp_path / "climate-all.log"
        )
        request.addfinalizer(process.stop)
        url = f"http://127.0.0.1:{port}"
        process.wait_http(f"{url}/", timeout=60)
        return process, url, state_path

    return _start


def _create(url, project, user, name):
    response = requests.post(
        f"{url}/v1/leases",
        json=helpers.lease_body(name),
        headers={"X-Project-Id": project, "X-User-Id": user},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["lease"]["id"]


def _wait_active(url, project, lease_id):
    def active():
        lease = requests.get(
            f"{url}/v1/leases/{lease_id}",
            headers={"X-Project-Id": project},
            timeout=5,
        ).json()["lease"]
        return lease["status"] == "ACTIVE"

    helpers.wait_for(active, timeout=10, message=f"{lease_id} ACTIVE")


def test_a_500_logs_its_traceback_once(climate):
    process, url, state_path = climate()
    # A real failure in the manager: its events table is gone.
    with sqlite3.connect(state_path / "climate.sqlite") as db:
        db.execute("ALTER TABLE events RENAME TO events_gone")

    response = requests.post(
        f"{url}/v1/leases", json=helpers.lease_body("broken"), timeout=10
    )

    assert response.status_code == 500
    request_id = response.headers["X-OpenStack-Request-Id"]
    log = process.log()
    assert f"request {request_id} failed in the manager" in log
    # The manager's stack, once (it was printed as the cause of the API's
    # error and again inside that error's message).
    assert log.count(", in create_lease\n") == 1, log
    assert "no such table: events" in log


def test_event_loop_lines_carry_no_request_context(climate):
    process, url, _ = climate()
    first = _create(url, "project-alice", "alice", "first")
    _wait_active(url, "project-alice", first)
    second = _create(url, "project-bob", "bob", "second")
    _wait_active(url, "project-bob", second)

    lines = [
        line
        for line in process.log().splitlines()
        if " climate.manager.events " in line
        or " climate.manager.runner " in line
    ]
    assert any(f"running start_lease of lease {second}" in x for x in lines)
    for line in lines:
        assert " [-] " in line, line
        assert "alice" not in line and "bob" not in line, line
    # The lines of a request do carry its context.
    created = [x for x in process.log().splitlines() if "created for" in x]
    assert any("bob project-bob" in x for x in created), created


def test_json_logs_to_a_file(climate, tmp_path):
    log_file = tmp_path / "climate.json.log"
    _, url, _ = climate(use_json=True, log_file=log_file, debug=True)
    lease_id = _create(url, "project-json", "jo", "json")

    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(r["levelname"] == "DEBUG" for r in records)  # --debug
    created = [r for r in records if lease_id in r["message"]]
    assert created[0]["context"]["project_id"] == "project-json"
    assert created[0]["context"]["request_id"].startswith("req-")
