"""Every error answer has one shape, never a traceback, and a request id."""

import pytest

from climate.api.v1 import leases as leases_api
from tests import helpers
from tests.unit.api.asserts import check_error

LEASE_ID = "9b1d4c6e-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "url", ["/nowhere", "/v1/nowhere", "/v2/leases", "/v1/leases/a/b"]
)
def test_unknown_route_is_404_in_the_error_format(api, url):
    check_error(api.get(url), 404, "NotFound", "not found")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("patch", f"/v1/leases/{LEASE_ID}"),
        ("post", f"/v1/leases/{LEASE_ID}"),
        ("delete", "/v1/leases"),
        ("put", "/v1/leases"),
        ("post", "/"),
    ],
)
def test_wrong_method_is_405_in_the_error_format(api, method, url):
    response = getattr(api, method)(url)

    check_error(response, 405, "MethodNotAllowed", "method is not allowed")
    assert response.headers["Allow"]


def test_unexpected_error_is_500_without_details(api, monkeypatch):
    def broken(**_filters):
        raise RuntimeError("SELECT secret FROM leases blew up")

    monkeypatch.setattr(leases_api.db_api, "lease_list", broken)

    response = api.get("/v1/leases")

    message = check_error(response, 500, "InternalError")
    assert "secret" not in message
    assert "RuntimeError" not in message
    # The message names the request, for the operator to find in the logs.
    assert response.headers["X-OpenStack-Request-Id"] in message


def test_manager_errors_keep_their_own_name(api):
    # The manager raises across the RPC layer; the answer names the real
    # class, not oslo.messaging's "<Name>_Remote" copy.
    body = helpers.lease_body(
        "full-lease", start="2030-12-26 12:00", end="2030-12-27 12:00"
    )
    body["reservations"] = [{"resource_type": "test:recorder"}]

    response = api.post("/v1/leases", json=body)

    message = check_error(response, 409, "NotEnoughResourcesAvailable")
    assert "_Remote" not in response.get_data(as_text=True)
    assert message == "Not enough resources available: the test plugin is full"


def test_every_answer_carries_its_own_request_id(api, create):
    lease = create("tracked", start="2030-12-26 12:00", end="2030-12-27 12:00")
    responses = [
        api.get("/"),
        api.get("/v1/leases"),
        api.get(f"/v1/leases/{lease['id']}"),
        api.put(f"/v1/leases/{lease['id']}", json={"name": "renamed"}),
        api.delete(f"/v1/leases/{lease['id']}"),
        api.get(f"/v1/leases/{lease['id']}"),
        api.post("/v1/leases", data="{"),
        api.post("/v1/leases", data=b"x" * 200_000),
        api.get("/nowhere"),
        api.patch("/v1/leases"),
    ]

    assert [r.status_code for r in responses] == [
        300,
        200,
        200,
        200,
        204,
        404,
        400,
        413,
        404,
        405,
    ]
    ids = [r.headers.get("X-OpenStack-Request-Id") for r in responses]
    assert all(i and i.startswith("req-") for i in ids), ids
    assert len(set(ids)) == len(ids)
