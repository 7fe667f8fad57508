"""The /v1/leases endpoints through the real app, manager and SQLite."""

from tests import helpers


def test_create_now_lease_becomes_active(api):
    response = api.post("/v1/leases", json=helpers.lease_body("now-lease"))
    assert response.status_code == 201, response.json
    lease = response.json["lease"]
    assert lease["status"] == "PENDING"
    assert [e["event_type"] for e in lease["events"]] == [
        "start_lease",
        "before_end_lease",
        "end_lease",
    ]

    def active():
        got = api.get(f"/v1/leases/{lease['id']}").json["lease"]
        return got["status"] == "ACTIVE" and got

    got = helpers.wait_for(active, timeout=2, message="lease ACTIVE")
    start = next(e for e in got["events"] if e["event_type"] == "start_lease")
    assert start["status"] == "DONE"
