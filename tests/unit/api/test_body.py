"""Request bodies: JSON objects of known fields and types, within a size."""

import pytest

from climate.api import app
from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        (b"", ["the body is empty"]),
        (b"  \n ", ["the body is empty"]),
        (b"{", ["not valid JSON"]),
        (b'{"name": "x",}', ["not valid JSON"]),
        (b"\xff\xfe{}", ["not valid JSON"]),
        (b"[]", ["expected a JSON object"]),
        (b'"lease"', ["expected a JSON object"]),
        (b"42", ["expected a JSON object"]),
        (b"null", ["expected a JSON object"]),
        (b'{"lease": []}', ["unknown field(s) lease"]),
        (b"[" * 50_000, ["nested too deeply"]),
        (b'{"name": ' * 10_000, ["nested too deeply"]),
    ],
)
def test_create_refuses_a_body_that_is_not_a_json_object(api, data, fragments):
    response = api.post(
        "/v1/leases", data=data, content_type="application/json"
    )

    check_error(response, 400, "MalformedRequestBody", *fragments)
    assert api.get("/v1/leases").json == {"leases": []}


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (
            {"colour": "blue"},
            [
                "unknown field(s) colour",
                "allowed: before_end_date, duration, end_date",
            ],
        ),
        ({"id": "x", "status": "ACTIVE"}, ["unknown field(s) id, status"]),
        ({"name": 7}, ["name must be a string, not an integer"]),
        ({"name": True}, ["name must be a string, not a boolean"]),
        ({"start_date": 2030}, ["start_date must be a string"]),
        ({"end_date": ["2030"]}, ["end_date must be a string, not a list"]),
        ({"reservations": {}}, ["reservations must be a list, not an obj"]),
        ({"reservations": "host"}, ["reservations must be a list"]),
        ({"events": 0}, ["events must be a list, not an integer"]),
    ],
)
def test_create_refuses_unknown_fields_and_wrong_types(api, extra, fragments):
    body = helpers.lease_body("typed", start=START, end=END)
    body.update(extra)

    response = api.post("/v1/leases", json=body)

    check_error(response, 400, "MalformedRequestBody", *fragments)


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"events": []}, ["unknown field(s) events"]),
        ({"prolong_for": 2}, ["prolong_for must be a string"]),
        ({"name": ["a"]}, ["name must be a string, not a list"]),
    ],
)
def test_update_refuses_unknown_fields_and_wrong_types(
    api, create, body, fragments
):
    lease = create("typed", start=START, end=END)

    response = api.put(f"/v1/leases/{lease['id']}", json=body)

    check_error(response, 400, "MalformedRequestBody", *fragments)


def test_update_refuses_an_empty_body(api, create):
    lease = create("typed", start=START, end=END)

    response = api.put(
        f"/v1/leases/{lease['id']}", data=b"", content_type="application/json"
    )

    check_error(response, 400, "MalformedRequestBody", "the body is empty")


def test_content_type_is_not_required(api):
    data = '{"name": "plain", "start_date": "2030-12-26 12:00", '
    data += '"end_date": "2030-12-27 12:00"}'

    response = api.post("/v1/leases", data=data, content_type="text/plain")

    assert response.status_code == 201, response.json


def test_body_over_the_default_limit_is_413(api):
    body = helpers.lease_body("big", start=START, end=END)
    body["name"] = "x" * 120_000

    response = api.post("/v1/leases", json=body)

    check_error(response, 413, "RequestTooLarge", "114688 bytes")
    assert api.get("/v1/leases").json == {"leases": []}


def test_body_size_limit_comes_from_the_configuration(manager, config):
    config.config(max_request_body_size=300, group="api")
    client = app.create_app().test_client()
    body = helpers.lease_body("sized", start=START, end=END)

    small = client.post("/v1/leases", json=body)
    body["reservations"] = [{"resource_type": "test:recorder"}] * 10
    large = client.post("/v1/leases", json=body)

    assert small.status_code == 201, small.json
    check_error(large, 413, "RequestTooLarge", "limit of 300 bytes")
