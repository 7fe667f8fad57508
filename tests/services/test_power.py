"""The power drivers against real BMCs, and the energy policy driving
them through the real API and manager.

Redfish: a real ``sushy-emulator`` with its fake systems driver and HTTP
basic auth (tests/services/redfish_server.py).  IPMI: real BMCs on
pyghmi's BMC framework, one UDP port each (tests/services/ipmi_bmcs.py).
Both are started by the tests on loopback ports and stopped by pid;
nothing is mocked.
"""

import datetime
import time

import pytest

from climate import clock, power
from climate.manager import service
from tests.services import ipmi_bmcs, redfish_server

pytestmark = pytest.mark.services

USER, PASSWORD = "admin", "bmc-secret"


@pytest.fixture(scope="module")
def redfish(tmp_path_factory):
    server = redfish_server.RedfishServer(
        tmp_path_factory.mktemp("redfish"),
        ["r1", "r2"],
        USER,
        PASSWORD,
        delay=False,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bmcs():
    server = ipmi_bmcs.IPMIBMCs(2, USER, PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _power_options(config):
    config.config(call_timeout=5, poll_interval=0.3, group="power")
    power.reset()
    yield
    power.reset()


def _target(name, address, password=PASSWORD):
    return power.Target(
        name=name, address=address, username=USER, password=password
    )


# The drivers ---------------------------------------------------------------


def test_redfish_changes_land_late_and_are_polled(tmp_path, config):
    # The emulator's real delay: each change lands 1-11 s after it is
    # asked for, on a later read.
    server = redfish_server.RedfishServer(
        tmp_path / "slow", ["slow"], USER, PASSWORD, delay=True
    )
    server.start()
    try:
        config.config(graceful_timeout=60, group="power")
        driver = power.driver("redfish")
        target = _target("slow", server.url("slow"))
        assert power.call(driver, "state", target) == power.OFF
        assert power.call(driver, "health", target) == power.OK
        took = power.wait_for(driver, target, power.ON, timeout=40)
        assert took > 0
        assert server.power_state("slow") == "On"
        power.wait_for(driver, target, power.OFF, timeout=40)
        assert server.power_state("slow") == "Off"
    finally:
        server.stop()


def test_redfish_refusals_say_why(redfish):
    driver = power.driver("redfish")
    with pytest.raises(power.PowerError, match="refused the credentials"):
        power.call(driver, "state", _target("r1", redfish.url("r1"), "bad"))
    missing = redfish.url("r1").rsplit("/", 1)[0] + "/no-such-system"
    with pytest.raises(power.PowerError, match="no system"):
        power.call(driver, "state", _target("r1", missing))


def test_ipmi_powers_on_and_off_and_refuses_a_wrong_password(bmcs):
    driver = power.driver("ipmi")
    target = _target("i1", bmcs.address(0))
    assert power.call(driver, "state", target) == power.OFF
    assert power.call(driver, "health", target) is None  # no sensors
    power.wait_for(driver, target, power.ON, timeout=20)
    assert power.call(driver, "state", target) == power.ON
    power.wait_for(driver, target, power.OFF, timeout=20)
    with pytest.raises(power.PowerError, match="Incorrect password"):
        power.call(driver, "state", _target("i2", bmcs.address(1), "bad"))


def test_a_silent_bmc_costs_one_timeout_not_a_hang(config):
    config.config(call_timeout=1.5, group="power")
    silent = ipmi_bmcs._free_udp_port()
    began = time.monotonic()
    with pytest.raises(power.PowerError, match="took more than 1.5 s"):
        power.call(
            power.driver("ipmi"),
            "state",
            _target("gone", f"127.0.0.1:{silent}"),
        )
    assert time.monotonic() - began < 3


# The energy policy through the API ------------------------------------------


@pytest.fixture
def manager(database, config):
    config.config(
        plugins=["physical.host.plugin"], min_lease_duration=0, group="manager"
    )
    config.config(noauth_roles=["admin"], group="api")
    config.config(
        energy_policy=True,
        interval=1,
        idle_time=0,
        spare_hosts=0,
        # Above the time one pass over the four BMCs takes here.
        margin=8,
        default_boot_time=2,
        group="power",
    )
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


def _wait(what, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _wire(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def test_hosts_go_off_when_idle_and_on_before_their_leases(
    api, manager, redfish, bmcs
):
    hosts = {
        "r1": ("redfish", redfish.url("r1")),
        "r2": ("redfish", redfish.url("r2")),
        "i1": ("ipmi", bmcs.address(0)),
        "i2": ("ipmi", bmcs.address(1)),
    }
    refused = api.post(
        "/v1/os-hosts",
        json={
            "name": "r1",
            "power_driver": "redfish",
            "power_address": redfish.url("r1"),
            "power_username": USER,
            "power_password": "wrong",
        },
    )
    assert refused.status_code == 400
    assert "refused the credentials" in refused.json["error_message"]
    for name, (driver, address) in hosts.items():
        answer = api.post(
            "/v1/os-hosts",
            json={
                "name": name,
                "power_driver": driver,
                "power_address": address,
                "power_username": USER,
                "power_password": PASSWORD,
            },
        )
        assert answer.status_code == 201, answer.json
        assert PASSWORD not in answer.get_data(as_text=True)

    def states():
        return {
            h["hypervisor_hostname"]: h["power_state"]
            for h in api.get("/v1/os-hosts").json["hosts"]
        }

    # The BMCs start off: idle, they stay off (or are put off).
    _wait("all hosts off", lambda: set(states().values()) == {"off"})

    def bmc_state(name):
        driver, address = hosts[name]
        return power.call(
            power.driver(driver), "state", _target(name, address)
        )

    plugin = manager.plugins["physical:host"]
    # A lease arriving now on hosts that are off: it starts once they are
    # on, never before.
    now = clock.now()
    created = api.post(
        "/v1/leases",
        json={
            "name": "now",
            "start_date": "now",
            "end_date": _wire(now + datetime.timedelta(seconds=25)),
            "reservations": [
                {"resource_type": "physical:host", "min": 2, "max": 2}
            ],
        },
    )
    assert created.status_code == 201, created.json
    lease_id = created.json["lease"]["id"]

    def lease():
        return api.get(f"/v1/leases/{lease_id}").json["lease"]

    _wait("the lease active", lambda: lease()["status"] == "ACTIVE")
    held = [
        a["resource_id"]
        for a in api.get(f"/v1/os-hosts/allocations?lease_id={lease_id}").json[
            "allocations"
        ]
    ]
    names = {
        h["id"]: h["hypervisor_hostname"]
        for h in api.get("/v1/os-hosts").json["hosts"]
    }
    assert len(held) == 2
    for host_id in held:
        assert bmc_state(names[host_id]) == power.ON
    assert plugin.power.late_power_ons >= 1
    # While it runs its hosts stay on; the others stay off.
    time.sleep(2)
    current = states()
    for host_id, name in names.items():
        assert current[name] == ("on" if host_id in held else "off")

    # A lease later on: its hosts are on before it starts (no late
    # power-on), and everything is off again once the backlog allows.
    late_before = plugin.power.late_power_ons
    start = clock.now() + datetime.timedelta(seconds=20)
    later = api.post(
        "/v1/leases",
        json={
            "name": "later",
            "start_date": _wire(start),
            "end_date": _wire(start + datetime.timedelta(seconds=8)),
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    "hypervisor_properties": '["==", '
                    '"$hypervisor_hostname", "i2"]',
                }
            ],
        },
    )
    assert later.status_code == 201, later.json
    later_id = later.json["lease"]["id"]
    _wait(
        "the later lease active",
        lambda: (
            api.get(f"/v1/leases/{later_id}").json["lease"]["status"]
            == "ACTIVE"
        ),
    )
    assert plugin.power.late_power_ons == late_before
    assert bmc_state("i2") == power.ON
    _wait(
        "both leases over",
        lambda: all(
            api.get(f"/v1/leases/{i}").json["lease"]["status"] == "TERMINATED"
            for i in (lease_id, later_id)
        ),
    )
    _wait("all hosts off again", lambda: set(states().values()) == {"off"})
    for name in hosts:
        assert bmc_state(name) == power.OFF
