"""Power fields of ``/v1/os-hosts``: registering a host with its power
driver, BMC address and credentials; what the API shows (never the
credentials); bad drivers and BMCs that do not answer are 400s.

The BMCs are the ``simulated`` power driver's (in this process); the real
Redfish and IPMI ones are in tests/services/test_power.py.
"""

import pytest
import sqlalchemy as sa

from climate.manager import service
from climate.plugins.hosts import models as host_models
from climate.plugins.hosts.db import api as host_db
from climate.power import simulated


@pytest.fixture(autouse=True)
def operator(config):
    """Requests come from an operator: the inventory is for admins."""
    config.config(noauth_roles=["admin"], group="api")


@pytest.fixture
def manager(database, config):
    """The in-process manager, with the physical host plugin enabled."""
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture(autouse=True)
def _bmcs():
    simulated.forget()
    yield
    simulated.forget()


def test_a_host_registered_with_its_bmc_shows_power_not_credentials(api):
    response = api.post(
        "/v1/os-hosts",
        json={
            "name": "node-1",
            "power_driver": "simulated",
            "power_address": "sim://30",
            "power_username": "admin",
            "power_password": "s3cret-pass",
        },
    )
    assert response.status_code == 201, response.json
    host = response.json["host"]
    assert host["power_driver"] == "simulated"
    assert host["power_address"] == "sim://30"
    assert host["power_state"] == "on"
    assert host["power_state_since"] is not None
    assert host["health"] == "ok"
    for path in ("/v1/os-hosts", f"/v1/os-hosts/{host['id']}"):
        text = api.get(path).get_data(as_text=True)
        assert "s3cret-pass" not in text
        assert "power_username" not in text and "admin" not in text
    # The manager alone reads them.
    target = host_db.host_power_target(int(host["id"]))
    assert (target["username"], target["password"]) == (
        "admin",
        "s3cret-pass",
    )


def test_a_host_without_power_fields_is_always_on(api):
    host = api.post("/v1/os-hosts", json={"name": "plain"}).json["host"]
    assert (host["power_driver"], host["power_state"]) == ("none", "on")


def test_an_unknown_power_driver_is_a_400(api):
    response = api.post(
        "/v1/os-hosts", json={"name": "n", "power_driver": "wol"}
    )
    assert response.status_code == 400
    assert "unknown power driver 'wol'" in response.json["error_message"]
    assert api.get("/v1/os-hosts").json["hosts"] == []


def test_a_bmc_that_does_not_answer_is_a_400_with_the_reason(api):
    simulated.set_health("dead", None)
    response = api.post(
        "/v1/os-hosts",
        json={"name": "dead", "power_driver": "simulated"},
    )
    assert response.status_code == 400
    message = response.json["error_message"]
    assert "Power driver simulated cannot manage host dead" in message
    assert "does not answer" in message
    assert api.get("/v1/os-hosts").json["hosts"] == []


def test_a_malformed_power_address_is_a_400(api):
    response = api.post(
        "/v1/os-hosts",
        json={
            "name": "n",
            "power_driver": "redfish",
            "power_address": "ftp://bmc/x",
        },
    )
    assert response.status_code == 400
    assert "not an http(s) URL" in response.json["error_message"]


@pytest.mark.parametrize("value", [12, "", "x" * 300, ["a"]])
def test_power_fields_must_be_short_strings(api, value):
    response = api.post(
        "/v1/os-hosts", json={"name": "n", "power_address": value}
    )
    assert response.status_code == 400
    assert (
        "power_address must be a non-empty string"
        in (response.json["error_message"])
    )


def test_power_fields_can_change_and_are_checked_again(api):
    host = api.post("/v1/os-hosts", json={"name": "n"}).json["host"]
    simulated.set_health("n", None)
    response = api.put(
        f"/v1/os-hosts/{host['id']}", json={"power_driver": "simulated"}
    )
    assert response.status_code == 400
    simulated.set_health("n", "ok")
    response = api.put(
        f"/v1/os-hosts/{host['id']}",
        json={"power_driver": "simulated", "power_password": "pw"},
    )
    assert response.status_code == 200, response.json
    assert response.json["host"]["power_driver"] == "simulated"
    assert "pw" not in response.get_data(as_text=True).replace("pwr", "")


def test_a_host_deleted_while_powered_off_goes_with_its_power_row(api):
    from climate import power

    host = api.post(
        "/v1/os-hosts", json={"name": "n", "power_driver": "simulated"}
    ).json["host"]
    power.driver("simulated").power_off(power.Target(name="n"))
    host_db.host_power_set(int(host["id"]), {"state": "off"})
    shown = api.get(f"/v1/os-hosts/{host['id']}").json["host"]
    assert shown["power_state"] == "off"
    assert api.delete(f"/v1/os-hosts/{host['id']}").status_code == 204
    assert host_db.host_power_target(int(host["id"])) is None
    with host_db.reader() as session:
        left = sa.select(sa.func.count()).select_from(host_models.HostPower)
        assert session.scalar(left) == 0
