"""What an attacker can send: bodies over the limit, requests that break
things, and SQL where values go.  Every answer is Climate's error body,
without a traceback, SQL or table names."""

import json
import sqlite3

import pytest

from climate.manager import service
from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"
ADMIN = {"X-Project-Id": "ops", "X-User-Id": "root", "X-Roles": "admin"}
LEAKS = (
    "Traceback",
    'File "',
    "SELECT",
    "INSERT",
    "UPDATE ",
    "sqlite",
    "sqlalchemy",
    "computehost",
    "_Remote",
    "climate/",
)


def assert_no_leak(response, echoed=None):
    """No traceback, SQL or internals in ``response``; ``echoed``, the
    caller's own input, may come back in a message saying it is wrong."""
    text = response.get_data(as_text=True)
    if echoed:
        text = text.replace(echoed, "")
    for leak in LEAKS:
        assert leak.lower() not in text.lower(), (leak, text)


@pytest.fixture
def manager(database, config):
    config.config(
        plugins=["physical.host.plugin", "test.recorder.plugin"],
        group="manager",
    )
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def lease_and_host(api):
    host = api.post("/v1/os-hosts", json={"name": "h1"}, headers=ADMIN)
    lease = api.post(
        "/v1/leases",
        json=helpers.lease_body("l", start=START, end=END),
        headers=ADMIN,
    )
    return lease.json["lease"]["id"], host.json["host"]["id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/leases"),
        ("PUT", "/v1/leases/{lease}"),
        ("POST", "/v1/os-hosts"),
        ("PUT", "/v1/os-hosts/{host}"),
        ("PATCH", "/v1/os-hosts/properties/gpu"),
    ],
)
def test_json_bodies_over_the_limit_are_413(
    api, config, lease_and_host, method, path
):
    lease_id, host_id = lease_and_host
    limit = 114688  # [api] max_request_body_size's default
    body = json.dumps({"name": "x" * limit})

    response = api.open(
        path.format(lease=lease_id, host=host_id),
        method=method,
        data=body,
        content_type="application/json",
        headers=ADMIN,
    )

    check_error(response, 413, "RequestTooLarge", str(limit))
    assert_no_leak(response)
    # Nothing was written.
    names = [
        x["name"] for x in api.get("/v1/leases", headers=ADMIN).json["leases"]
    ]
    assert names == ["l"]
    hosts = api.get("/v1/os-hosts", headers=ADMIN).json["hosts"]
    assert [h["hypervisor_hostname"] for h in hosts] == ["h1"]


def test_the_body_of_a_caller_without_the_right_is_never_read(api):
    # Policy comes first: no JSON parser runs on this caller's input.
    response = api.post(
        "/v1/leases",
        data="[" * 200000,
        content_type="application/json",
        headers={"X-Roles": "nobody"},
    )

    check_error(response, 403, "PolicyNotAuthorized", "climate:leases:post")
    assert_no_leak(response)


@pytest.mark.parametrize(
    "data",
    [
        "[" * 5000 + "]" * 5000,  # nesting deep enough to recurse
        '{"name": "\ud800"}',  # a lone surrogate
        "\xff\xfe",
        '{"name": NaN}',
        "null",
    ],
)
def test_hostile_json_is_a_400(api, data):
    response = api.post(
        "/v1/leases", data=data.encode("utf-8", "surrogatepass")
    )

    assert response.status_code == 400, response.get_data(as_text=True)
    assert_no_leak(response)


def test_a_database_failure_answers_without_its_sql(api, database):
    # A real failure of the real database: its table is gone.
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE leases")

    for response in (
        api.get("/v1/leases"),
        api.post(
            "/v1/leases", json=helpers.lease_body("x", start=START, end=END)
        ),
    ):
        message = check_error(response, 500, "InternalError")
        assert_no_leak(response)
        assert "leases" not in message


@pytest.mark.parametrize(
    "query",
    [
        "name=' OR '1'='1",
        "name=x'; DROP TABLE leases; --",
        "status=ACTIVE' OR 1=1 --",
        "marker=' UNION SELECT id FROM leases --",
        "limit=1; DROP TABLE leases",
        "all_projects=1' OR '1'='1",
    ],
)
def test_sql_in_list_filters_is_just_a_value(api, query):
    other = {"X-Project-Id": "other", "X-Roles": "member"}
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body("secret", start=START, end=END),
        headers=other,
    )
    assert response.status_code == 201

    response = api.get(f"/v1/leases?{query}")

    assert response.status_code in (200, 400), response.get_data(as_text=True)
    assert_no_leak(response, echoed=query.partition("=")[2])
    if response.status_code == 200:
        assert response.json["leases"] == []
    # The other project's lease is still there, and still its own.
    listed = api.get("/v1/leases", headers=other).json["leases"]
    assert [x["name"] for x in listed] == ["secret"]


def test_sql_in_host_queries_through_the_api_is_just_a_value(api):
    api.post("/v1/os-hosts", json={"name": "h1", "gpu": "a100"}, headers=ADMIN)
    for value in ("a100' OR '1'='1", "'); DELETE FROM computehosts; --"):
        for field in ("hypervisor_properties", "resource_properties"):
            query = json.dumps(["==", "$gpu", value])
            body = helpers.lease_body(
                "q",
                start=START,
                end=END,
                reservations=[
                    {
                        "resource_type": "physical:host",
                        "min": 1,
                        "max": 1,
                        field: query,
                    }
                ],
            )
            response = api.post("/v1/leases", json=body)
            check_error(response, 409, "NotEnoughResourcesAvailable")
            assert_no_leak(response)
        # A property name is checked, never spliced into SQL either.
        query = json.dumps(["==", "$gpu' OR 1=1 --", "a100"])
        response = api.post(
            "/v1/leases",
            json=helpers.lease_body(
                "q",
                start=START,
                end=END,
                reservations=[
                    {
                        "resource_type": "physical:host",
                        "min": 1,
                        "max": 1,
                        "resource_properties": query,
                    }
                ],
            ),
        )
        assert response.status_code in (400, 409)
        assert_no_leak(response)
    hosts = api.get("/v1/os-hosts", headers=ADMIN).json["hosts"]
    assert [h["hypervisor_hostname"] for h in hosts] == ["h1"]
    assert api.get("/v1/leases").json["leases"] == []


def test_manager_errors_carry_no_remote_traceback(api):
    api.post("/v1/os-hosts", json={"name": "h1"}, headers=ADMIN)
    body = helpers.lease_body(
        "big",
        start=START,
        end=END,
        reservations=[{"resource_type": "physical:host", "min": 5, "max": 5}],
    )

    response = api.post("/v1/leases", json=body)

    check_error(response, 409, "NotEnoughResourcesAvailable")
    assert_no_leak(response)


@pytest.mark.parametrize(
    "method,path,body,where",
    [
        ("post", "/v1/leases", {"name": "a\x00b"}, "name"),
        (
            "post",
            "/v1/leases",
            {
                "name": "n",
                "reservations": [
                    {"resource_type": "test:recorder", "note": "x\x00"}
                ],
            },
            "reservations",
        ),
        ("post", "/v1/leases", {"na\x00me": "n"}, "the body"),
        ("post", "/v1/os-hosts", {"name": "h\x00"}, "name"),
        ("get", "/v1/leases/abc%00def", None, "path"),
        ("get", "/v1/leases?name=a%00", None, "query parameter name"),
        ("get", "/v1/os-hosts/1%00", None, "path"),
    ],
)
def test_a_nul_character_anywhere_is_a_400(
    api, lease_and_host, method, path, body, where
):
    kwargs = {"headers": ADMIN}
    if body is not None:
        kwargs["json"] = (
            {
                "start_date": START,
                "end_date": END,
                **body,
            }
            if path == "/v1/leases"
            else body
        )
    response = getattr(api, method)(path, **kwargs)
    check_error(response, 400, "InvalidInput", "NUL character")
    assert where in response.json["error_message"]
    assert_no_leak(response)
