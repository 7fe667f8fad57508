"""The example plugin of the plugin guide (tests/plugins/
climate_example_plugin.py): loaded through its real entry point, it brings
its options, route, policy, RPC method and reservation fields without any
core file naming it."""

from importlib import metadata

import climate_example_plugin
import pytest
from oslo_config import cfg
from stevedore import driver

from climate import context, plugins, policies
from climate.api import app
from climate.manager import service
from tests import helpers
from tests.unit.api.asserts import check_error

ENABLED = ["test.example.plugin", "test.recorder.plugin"]


@pytest.fixture
def example_api(database, config):
    """The API, with a manager running the example plugin."""
    config.config(plugins=ENABLED, group="manager")
    manager = service.ManagerService()
    manager.start()
    yield app.create_app().test_client()
    manager.stop()


def _lease(api, size, name="widgets"):
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body(
            name,
            reservations=[{"resource_type": "test:example", "size": size}],
        ),
    )
    assert response.status_code == 201, response.json
    return response.json["lease"]


def test_it_is_found_through_its_entry_point():
    (entry_point,) = metadata.entry_points(
        group=plugins.NAMESPACE, name="test.example.plugin"
    )
    assert entry_point.value == "climate_example_plugin:ExamplePlugin"
    loaded = plugins.load(["test.example.plugin"])
    assert isinstance(
        loaded["test:example"], climate_example_plugin.ExamplePlugin
    )


def test_its_options_are_registered_when_it_is_loaded_and_listed(config):
    plugins.classes(["test.example.plugin"])
    assert cfg.CONF["test:example"].unit == "widgets"
    listed = driver.DriverManager(
        "oslo.config.opts", "climate.test_example", invoke_on_load=True
    ).driver
    assert [
        (group.name, [o.name for o in opts]) for group, opts in listed
    ] == [("test:example", ["unit"])]


def test_its_route_exists_only_when_it_is_enabled(database, config, manager):
    # The manager fixture enables the recorder plugin only.
    response = app.create_app().test_client().get("/v1/test-example")
    check_error(response, 404, "NotFound")
    rules = {rule.rule for rule in app.create_app().url_map.iter_rules()}
    assert not any(rule.startswith("/v1/test-example") for rule in rules)

    config.config(plugins=ENABLED, group="manager")
    rules = {rule.rule for rule in app.create_app().url_map.iter_rules()}
    assert "/v1/test-example" in rules


def test_its_route_calls_its_rpc_method_in_process(example_api):
    _lease(example_api, 3, "a")
    _lease(example_api, 4, "b")

    response = example_api.get("/v1/test-example")

    assert response.status_code == 200, response.json
    totals = response.json["example"]
    assert totals["unit"] == "widgets"
    assert totals["reservations"] >= 2
    assert totals["size"] >= 7


def test_its_rpc_method_answers_in_its_own_namespace(example_api):
    ctxt = context.RequestContext(
        user_id="u1", project_id="p1", overwrite=False
    )
    answer = climate_example_plugin.ExampleAPI().totals(ctxt)
    assert set(answer) == {"reservations", "size", "unit"}


def test_its_policy_guards_its_route(example_api):
    assert "climate:test-example:get" in {
        rule.name for rule in policies.list_rules()
    }
    response = example_api.get(
        "/v1/test-example", headers={"X-Roles": "reader"}
    )
    check_error(
        response, 403, "PolicyNotAuthorized", "climate:test-example:get"
    )


def test_its_fields_show_on_the_lease_through_its_view(example_api, config):
    created = _lease(example_api, 5)
    (reservation,) = created["reservations"]
    assert list(reservation)[-2:] == ["size", "unit"]
    assert (reservation["size"], reservation["unit"]) == (5, "widgets")

    config.config(unit="crates", group="test:example")
    shown = example_api.get(f"/v1/leases/{created['id']}").json["lease"]
    assert shown["reservations"][0]["size"] == 5
    assert shown["reservations"][0]["unit"] == "crates"
    listed = example_api.get("/v1/leases").json["leases"]
    assert [r["size"] for r in listed[0]["reservations"]] == [5]

    # It starts "now": on a busy machine its start may still be running
    # (the lease is STARTING, and a change is a 409 LeaseBusy).
    helpers.wait_for(
        lambda: (
            example_api.get(f"/v1/leases/{created['id']}").json["lease"][
                "status"
            ]
            == "ACTIVE"
        ),
        message="lease ACTIVE",
    )
    updated = example_api.put(
        f"/v1/leases/{created['id']}",
        json={
            "reservations": [{"id": reservation["id"], "size": 6}],
        },
    )
    assert updated.status_code == 200, updated.json
    assert updated.json["lease"]["reservations"][0]["size"] == 6


def test_bad_fields_are_refused_by_the_plugin(example_api):
    response = example_api.post(
        "/v1/leases",
        json=helpers.lease_body(
            reservations=[{"resource_type": "test:example", "size": "big"}],
        ),
    )
    check_error(response, 400, "InvalidInput", "size")
