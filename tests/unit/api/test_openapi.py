"""``/v1/openapi.json`` against the application it describes: the same
routes and methods, and the fields and query parameters the handlers
really accept, so neither can change alone."""

import re

import pytest

from climate.manager import service
from tests.unit.api.asserts import check_error

ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops", "X-User-Id": "root"}
#: Query parameters passed on to the resource type's plugin.
_OPEN_QUERY = {"/v1/availability"}


@pytest.fixture
def manager(database, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def app(manager):
    from climate.api import app

    return app.create_app()


@pytest.fixture
def document(app):
    response = app.test_client().get("/v1/openapi.json")
    assert response.status_code == 200, response.json
    return response.json


def _routes(app):
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower()))
    return found


def test_every_route_is_documented_and_nothing_else(app, document):
    assert document["openapi"] == "3.1.0"
    documented = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert documented == _routes(app)


@pytest.fixture
def ids(app):
    """Objects for the routes' path parameters: a lease, a host with a
    capability."""
    client = app.test_client()
    host = client.post(
        "/v1/os-hosts", json={"name": "h1", "gpu": "a100"}, headers=ADMIN
    ).json["host"]
    lease = client.post(
        "/v1/leases",
        json={
            "name": "l1",
            "start_date": "2030-12-26 12:00",
            "end_date": "2030-12-26 14:00",
        },
        headers=ADMIN,
    ).json["lease"]
    return {"lease_id": lease["id"], "host_id": host["id"], "name": "gpu"}


def _concrete(path, ids):
    return re.sub(r"{(\w+)}", lambda m: str(ids.get(m[1], "x")), path)


def test_documented_bodies_are_the_fields_the_handlers_accept(
    app, document, ids
):
    client = app.test_client()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            if "oneOf" not in schema:
                continue  # a free-form object (a host's capabilities)
            fields = sorted(schema["oneOf"][1]["properties"])
            response = client.open(
                _concrete(path, ids),
                method=method.upper(),
                json={"zz_unknown": 1},
                headers=ADMIN,
            )
            message = check_error(response, 400, "MalformedRequestBody")
            assert f"allowed: {', '.join(fields)}" in message, (path, method)
            checked += 1
    assert checked >= 5


def test_documented_query_parameters_are_those_accepted(app, document, ids):
    client = app.test_client()
    checked = 0
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if operation is None or path in _OPEN_QUERY:
            continue
        names = sorted(
            p["name"]
            for p in operation.get("parameters", ())
            if p["in"] == "query"
        )
        response = client.get(
            _concrete(path, ids) + "?zz_unknown=1", headers=ADMIN
        )
        if response.status_code == 404 or path in (
            "/",
            "/v1",
            "/metrics",
            "/calendar",
            "/v1/openapi.json",
        ):
            continue  # looked up before its query (an object by id)
        message = check_error(response, 400, "InvalidInput")
        assert f"allowed: {', '.join(names)}" in message, path
        checked += 1
    assert checked >= 8


def test_a_host_as_shown_matches_its_documented_schema(app, document, ids):
    """Every field a host shows is documented (power fields included),
    with its type; the capabilities are the only other keys."""
    import jsonschema

    client = app.test_client()
    shown = client.get(f"/v1/os-hosts/{ids['host_id']}", headers=ADMIN).json[
        "host"
    ]
    schema = document["paths"]["/v1/os-hosts/{host_id}"]["get"]["responses"][
        "200"
    ]["content"]["application/json"]["schema"]["properties"]["host"]
    jsonschema.validate(shown, schema)
    documented = set(schema["properties"])
    assert {
        "power_driver",
        "power_address",
        "power_state",
        "power_state_since",
        "health",
    } <= documented
    assert set(shown) - documented == {"gpu"}  # its one capability
    assert shown["power_state"] == "on"
    listed = client.get("/v1/os-hosts", headers=ADMIN).json
    list_schema = document["paths"]["/v1/os-hosts"]["get"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]
    jsonschema.validate(listed, list_schema)
