"""Lease kinds over the real API: a lease without ``kind`` is an advance
lease (Blazar's clients), a best-effort lease is answered QUEUED and the
manager's scheduler places it; bad kinds are 400, a kind change 409."""

from tests import helpers
from tests.unit.api import asserts

RECORDER = [{"resource_type": "test:recorder"}]


def test_a_lease_without_kind_is_an_advance_lease(create):
    lease = create("blazar", start=helpers.future(hours=1))
    assert lease["kind"] == "advance"
    assert "queue_position" not in lease and "duration" not in lease


def test_a_best_effort_lease_is_queued_then_placed(api, get_lease):
    response = api.post(
        "/v1/leases",
        json={
            "lease": {
                "name": "batch",
                "kind": "best_effort",
                "duration": "2h",
                "reservations": RECORDER,
            }
        },
    )
    assert response.status_code == 201, response.json
    lease = response.json["lease"]
    assert (lease["status"], lease["kind"]) == ("QUEUED", "best_effort")
    assert lease["duration"] == "2h"
    assert lease["requeue"] is False
    assert lease["reservations"] == [] and lease["events"] == []

    # Queuing wakes the manager's scheduler: nothing stands in the way.
    def placed():
        current = get_lease(lease["id"])
        return current["status"] != "QUEUED" and current

    current = helpers.wait_for(placed, 5, message="placed")
    assert current["kind"] == "best_effort"
    assert current["queue_position"] is None
    assert [r["resource_type"] for r in current["reservations"]] == [
        "test:recorder"
    ]


def test_bad_kinds_and_kind_changes(api, create):
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body("odd", kind="sometimes"),
    )
    asserts.check_error(
        response, 400, "InvalidInput", "unknown kind 'sometimes'"
    )
    response = api.post(
        "/v1/leases",
        json={"name": "be", "kind": "best_effort", "reservations": []},
    )
    asserts.check_error(response, 400, "InvalidInput", "needs a duration")
    response = api.post(
        "/v1/leases",
        json={
            "name": "be",
            "kind": "best_effort",
            "duration": "1h",
            "start_date": "9999-12-31 23:00",
        },
    )
    assert response.status_code == 400, response.json
    lease = create("adv", start=helpers.future(hours=1))
    response = api.put(
        f"/v1/leases/{lease['id']}", json={"kind": "preemptible"}
    )
    asserts.check_error(
        response, 409, "InvalidState", "kind cannot become preemptible"
    )
