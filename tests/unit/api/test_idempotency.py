"""The Idempotency-Key header: a retried write gets the first answer."""

import pytest

from climate.db import api as db_api
from tests import helpers
from tests.unit.api.asserts import check_error

KEY = {"Idempotency-Key": "5f1c6a1e-create-1"}


def _body(name="lease", **fields):
    body = helpers.lease_body(name, start="2030-12-26 12:00", **fields)
    body["end_date"] = "2030-12-27 12:00"
    body["reservations"] = [{"resource_type": "test:recorder"}]
    return body


def test_a_retried_create_returns_the_first_lease(api):
    first = api.post("/v1/leases", json=_body(), headers=KEY)
    again = api.post("/v1/leases", json=_body(), headers=KEY)

    assert first.status_code == 201, first.json
    assert again.status_code == 201, again.json
    assert again.json["lease"]["id"] == first.json["lease"]["id"]
    assert again.json == first.json
    assert len(api.get("/v1/leases").json["leases"]) == 1


def test_the_manager_replays_a_key_the_api_did_not_check(api, manager):
    # A retry that reached the manager (redelivered, or racing the first
    # attempt past the API's look-up) gets the first lease too.
    first = api.post("/v1/leases", json=_body(), headers=KEY).json["lease"]
    from climate import context

    ctxt = context.RequestContext(
        project_id="climate-project",
        user_id="climate-user",
        idempotency_key=KEY["Idempotency-Key"],
        idempotency_fingerprint=_fingerprint_of_first(),
    )
    again = manager.leases.create(ctxt, _body())

    assert again["id"] == first["id"]
    assert len(db_api.lease_list(project_id="climate-project")) == 1


def _fingerprint_of_first():
    from climate.common import idempotency

    return idempotency.fingerprint("POST", "/v1/leases", _body())


def test_the_same_key_with_another_body_is_refused(api):
    assert api.post("/v1/leases", json=_body(), headers=KEY).status_code == 201

    response = api.post("/v1/leases", json=_body("other"), headers=KEY)

    check_error(
        response,
        422,
        "IdempotencyKeyReused",
        KEY["Idempotency-Key"],
        "another request",
        "create_lease",
        "new key",
    )
    assert len(api.get("/v1/leases").json["leases"]) == 1


def test_keys_belong_to_a_project(api):
    other = {**KEY, "X-Project-Id": "other-project"}
    one = api.post("/v1/leases", json=_body(), headers=KEY)
    two = api.post("/v1/leases", json=_body(), headers=other)

    assert one.status_code == two.status_code == 201
    assert one.json["lease"]["id"] != two.json["lease"]["id"]


def test_a_failed_write_leaves_no_key_behind(api):
    body = _body()
    body["reservations"] = [{"resource_type": "no:such"}]
    refused = api.post("/v1/leases", json=body, headers=KEY)
    assert refused.status_code == 400

    # The key is free: the corrected request, with the same key... is
    # another request; a retry of the same refused one is refused again.
    again = api.post("/v1/leases", json=body, headers=KEY)
    assert again.status_code == 400
    assert api.post("/v1/leases", json=_body(), headers=KEY).status_code == 201


def test_a_retried_update_changes_the_lease_once(api, create):
    lease = api.post("/v1/leases", json=_body()).json["lease"]
    key = {"Idempotency-Key": "prolong-once"}
    url = f"/v1/leases/{lease['id']}"

    first = api.put(url, json={"prolong_for": "1d"}, headers=key)
    again = api.put(url, json={"prolong_for": "1d"}, headers=key)

    assert first.status_code == again.status_code == 200, again.json
    assert first.json["lease"]["end_date"].startswith("2030-12-28T12:00")
    assert again.json["lease"]["end_date"] == first.json["lease"]["end_date"]
    stored = api.get(url).json["lease"]
    assert stored["end_date"].startswith("2030-12-28T12:00")


def test_expired_keys_are_forgotten(api, config, manager):
    from climate.common import idempotency

    api.post("/v1/leases", json=_body(), headers=KEY)
    later = idempotency._now().replace(year=2099)

    assert db_api.idempotency_keys_expire(later) == 1
    assert (
        db_api.idempotency_key_get(
            "climate-project", KEY["Idempotency-Key"], idempotency._now()
        )
        is None
    )


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", "é"])
def test_a_bad_key_is_refused_saying_why(api, key):
    response = api.post(
        "/v1/leases", json=_body(), headers={"Idempotency-Key": key}
    )

    check_error(response, 400, "InvalidInput", "Idempotency-Key", "255")
