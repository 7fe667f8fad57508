"""The energy policy, power-on before a lease, and healing failed hosts.

The physical:host plugin on the real database; the hosts' BMCs are the
``simulated`` power driver's (in this process, booting on Climate's
clock), so a month can pass on a virtual clock and nothing is mocked.
The real Redfish and IPMI BMCs are in tests/services/test_power.py.
"""

import datetime

import pytest
from oslo_messaging.notify import _impl_test

from climate import clock
from climate.db import api as db_api
from climate.plugins.hosts import notices
from climate.plugins.hosts.db import api as host_db
from climate.power import simulated
from tests.unit.plugins.hosts.conftest import END, START

SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)
BOOT = 120


@pytest.fixture(autouse=True)
def _policy(config):
    config.config(
        energy_policy=True,
        idle_time=0,
        spare_hosts=0,
        margin=60,
        interval=60,
        default_boot_time=BOOT,
        max_failures=2,
        group="power",
    )
    config.config(driver=["test"], group="oslo_messaging_notifications")
    _impl_test.reset()
    notices.reset()
    simulated.forget()
    yield
    simulated.forget()
    notices.reset()


@pytest.fixture
def powered(add_host):
    """Register hosts whose BMCs boot in ``BOOT`` seconds."""

    def _add(*names):
        return [
            add_host(
                name,
                power_driver="simulated",
                power_address=f"sim://{BOOT}",
            )
            for name in names
        ]

    return _add


@pytest.fixture
def pass_at(plugin):
    """One pass of the power task with the clock at a moment."""

    def _pass(moment):
        with clock.use(clock.VirtualClock(moment)):
            return plugin.power.run_once()

    return _pass


def _power(name):
    for host in host_db.host_list():
        if host["hypervisor_hostname"] == name:
            return {**host["power"], "reservable": host["reservable"]}
    raise AssertionError(name)


def _notified(event_type):
    return [
        m["payload"]
        for _, m, _, _ in _impl_test.NOTIFICATIONS
        if m["event_type"] == event_type
    ]


def test_idle_hosts_go_off_and_on_again_before_their_lease(
    powered, reserve, hosts_of, pass_at, run_at
):
    powered("a", "b")
    lease = reserve()
    (held,) = hosts_of(lease)
    (other,) = {"a", "b"} - {held}
    day_before = START - datetime.timedelta(days=1)

    assert pass_at(day_before) == {"on": 0, "off": 2, "down": 0}
    assert _power(held)["state"] == "powering_off"
    pass_at(day_before + MINUTE)
    assert (_power(held)["state"], _power(other)["state"]) == ("off", "off")
    assert _power(held)["cycles"] == 1
    assert [p["host"] for p in _notified("host.power.off")] == ["a", "b"]

    # Not yet: its boot, the margin and one interval are still ahead.
    lead = datetime.timedelta(seconds=BOOT + 60 + 60)
    assert pass_at(START - lead - MINUTE)["on"] == 0
    assert pass_at(START - lead)["on"] == 1
    assert _power(held)["state"] == "powering_on"
    pass_at(START - lead + MINUTE)
    assert _power(held)["state"] == "powering_on"  # still booting
    pass_at(START - lead + 3 * MINUTE)
    assert _power(held)["state"] == "on"
    assert _power(held)["boot_time"] == 180  # as seen: one pass a minute
    assert _power(other)["state"] == "off"
    assert [p["host"] for p in _notified("host.power.on")] == [held]

    run_at(START)
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    # Held now: never powered off while its lease runs.
    assert pass_at(START + datetime.timedelta(hours=2))["off"] == 0
    assert _power(held)["state"] == "on"


def test_no_lease_starts_on_a_host_that_is_off(
    powered, reserve, hosts_of, pass_at, run_at, plugin
):
    powered("a")
    pass_at(START - datetime.timedelta(days=1))
    pass_at(START - datetime.timedelta(days=1) + MINUTE)
    assert _power("a")["state"] == "off"
    # Granted while off; no pass of the task runs before the start.
    lease = reserve()
    assert hosts_of(lease) == ["a"]

    run_at(START)
    got = db_api.lease_get(lease["id"])
    assert got["status"] == "STARTING"
    # It says how long until its hosts are ready.
    assert "host a: booting, up in about 120 s" in got["status_reason"]
    assert _power("a")["state"] == "powering_on"
    (start,) = [e for e in got["events"] if e["event_type"] == "start_lease"]
    assert start["status"] == "UNDONE"
    assert plugin.power.late_power_ons == 1
    run_at(START + 60 * SECOND)
    assert db_api.lease_get(lease["id"])["status"] == "STARTING"

    run_at(START + (BOOT + 1) * SECOND)
    got = db_api.lease_get(lease["id"])
    assert got["status"] == "ACTIVE"
    assert "booting" not in (got["status_reason"] or "")
    assert _power("a")["state"] == "on"


def test_spares_stay_on(powered, pass_at, config):
    config.config(spare_hosts=1, group="power")
    powered("a", "b", "c")
    assert pass_at(START)["off"] == 2
    config.config(spare_hosts=0, spare_share=0.5, group="power")
    pass_at(START + MINUTE)
    states = sorted(_power(n)["state"] for n in "abc")
    assert states == ["off", "off", "on"]


def test_idle_time_and_policy_off_keep_hosts_on(powered, pass_at, config):
    powered("a")
    config.config(idle_time=60, group="power")
    registered = _power("a")["state_since"]
    assert registered is not None
    assert pass_at(registered + 30 * MINUTE)["off"] == 0
    config.config(energy_policy=False, group="power")
    assert pass_at(registered + 2 * 60 * MINUTE)["off"] == 0
    config.config(energy_policy=True, group="power")
    assert pass_at(registered + 2 * 60 * MINUTE + SECOND)["off"] == 1


def test_two_managers_deciding_at_once_power_a_host_off_once(
    powered, plugin, host_plugins
):
    from climate.plugins.hosts import power

    powered("a")
    other = power.PowerManager(heal=lambda host_id: None)
    with clock.use(clock.VirtualClock(START)):
        (row,) = host_db.host_power_overview(START)
        assert plugin.power._power_off(row, START) is True
        assert other._power_off(row, START) is False
    assert _power("a")["state"] == "powering_off"


def test_a_failed_host_is_marked_down_and_its_leases_move(
    powered, reserve, hosts_of, pass_at
):
    powered("a", "b", "c")
    lease = reserve()
    (failing,) = hosts_of(lease)
    simulated.set_health(failing, "critical")

    assert pass_at(START - 2 * 60 * MINUTE)["down"] == 0  # one failure
    assert pass_at(START - 2 * 60 * MINUTE + MINUTE)["down"] == 1
    assert _power(failing)["health"] == "down"
    assert _power(failing)["reservable"] is False
    (moved,) = hosts_of(lease)
    assert moved != failing
    reservation = db_api.lease_get(lease["id"])["reservations"][0]
    assert reservation["resources_changed"] is True
    assert reservation["missing_resources"] is False
    allocation = host_db.host_allocations_of(reservation["id"])[0]
    assert (allocation["start_date"], allocation["end_date"]) == (START, END)
    assert _notified("host.down")[0]["host"] == failing
    (changed,) = _notified("lease.reservation.resources_changed")
    assert (changed["removed_hosts"], changed["added_hosts"]) == (
        [failing],
        [moved],
    )
    # Back in service only when the operator says so.
    assert pass_at(START - 60 * MINUTE)["down"] == 0
    assert _power(failing)["reservable"] is False


def test_a_host_nothing_can_replace_degrades_its_lease(
    powered, reserve, hosts_of, pass_at, plugin
):
    powered("only")
    lease = reserve()
    simulated.set_health("only", None)  # its BMC stops answering
    pass_at(START - 60 * MINUTE)
    pass_at(START - 59 * MINUTE)
    assert _power("only")["health"] == "down"
    got = db_api.lease_get(lease["id"])
    assert got["degraded"] is True
    assert got["reservations"][0]["missing_resources"] is True
    assert hosts_of(lease) == []
    (missing,) = _notified("lease.reservation.missing_resources")
    assert missing["missing_hosts"] == ["only"]
    # The operator returns it: reservable and healthy again.
    simulated.set_health("only", "ok")
    host = plugin.inventory.update(
        host_db.host_list()[0]["id"], {"reservable": True}
    )
    assert (host["reservable"], host["power"]["health"]) == (True, "ok")


def test_an_active_lease_gets_a_replacement_handed_over(
    powered, reserve, hosts_of, pass_at, run_at, pools, plugin
):
    powered("a", "b")
    lease = reserve()
    run_at(START)
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    (failing,) = hosts_of(lease)
    (spare,) = {"a", "b"} - {failing}
    simulated.set_health(failing, "critical")
    pass_at(START + 60 * MINUTE)
    pass_at(START + 61 * MINUTE)  # marked down, healed
    assert hosts_of(lease) == [spare]
    reservation_id = lease["reservations"][0]["id"]
    assert reservation_id not in pools() or pools()[reservation_id][1] == []
    # The spare was idle and off: on first, then handed over.
    with clock.use(clock.VirtualClock(START + 65 * MINUTE)):
        plugin._power_pass()
    assert pools()[reservation_id][1] == [spare]
    allocation = host_db.host_allocations_of(reservation_id)[0]
    assert allocation["start_date"] == START + 61 * MINUTE


def test_a_lease_starting_soon_gets_the_spare_that_is_on(
    powered, reserve, hosts_of, pass_at, config, run_at, plugin
):
    config.config(spare_hosts=1, group="power")
    powered("a", "b", "c")
    pass_at(START - 60 * MINUTE)
    pass_at(START - 59 * MINUTE)
    (spare,) = [n for n in "abc" if _power(n)["state"] == "on"]
    with clock.use(clock.VirtualClock(START - MINUTE)):
        lease = reserve()
    assert hosts_of(lease) == [spare]
    run_at(START)
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    assert plugin.power.late_power_ons == 0
    # Far ahead, the tightest fit decides, whatever is on now.
    with clock.use(clock.VirtualClock(START - MINUTE)):
        later = reserve(
            name="later",
            start=END + datetime.timedelta(days=30),
            end=END + datetime.timedelta(days=31),
        )
    assert len(hosts_of(later)) == 1


def test_a_replacement_is_handed_over_after_a_manager_restart(
    powered, reserve, hosts_of, pass_at, run_at, pools, plugin, config
):
    """The hand-over of a replacement is found again in the database: a
    manager that did not heal the host (a restart, another manager)
    finishes it at its next pass."""
    powered("a", "b")
    lease = reserve()
    run_at(START)
    (failing,) = hosts_of(lease)
    (spare,) = {"a", "b"} - {failing}
    reservation_id = lease["reservations"][0]["id"]
    simulated.set_health(failing, "critical")
    pass_at(START + 60 * MINUTE)
    pass_at(START + 61 * MINUTE)  # marked down, healed; the spare boots
    assert hosts_of(lease) == [spare]
    assert spare not in pools()[reservation_id][1]
    # The manager that healed it is gone; a new one starts.
    restarted = type(plugin)()
    with clock.use(clock.VirtualClock(START + 65 * MINUTE)):
        restarted._power_pass()
    assert pools()[reservation_id][1] == [spare]
    assert spare not in pools()[config.conf.compute.freepool_name][1]
    # Handed over: later passes leave the pool alone.
    with clock.use(clock.VirtualClock(START + 66 * MINUTE)):
        restarted._power_pass()
    assert pools()[reservation_id][1] == [spare]
