"""End-of-lease pool policies: ``on_end`` (kill, recycle, release) and
``grace_period``, on the physical:host plugin with the local compute
driver and the real database; events run on a virtual clock.

The local driver's hosts run no servers, so a recycled host returns at
the next pass (a recycled host waiting for real servers to go needs the
nova driver and a real Nova: not tested yet).
"""

import datetime

import pytest
from oslo_messaging.notify import _impl_test

from climate import clock, exceptions
from climate.db import api as db_api
from climate.plugins.hosts import notices
from climate.plugins.hosts.db import api as host_db
from tests.unit.plugins.hosts.conftest import END, START

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _notifications(config):
    config.config(driver=["test"], group="oslo_messaging_notifications")
    _impl_test.reset()
    notices.reset()
    yield
    notices.reset()


def _host(name):
    for host in host_db.host_list():
        if host["hypervisor_hostname"] == name:
            return host
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"on_end": "explode"}, "on_end must be one of kill, recycle"),
        ({"on_end": 3}, "on_end must be one of"),
        ({"grace_period": -1}, "grace_period must be a number of minutes"),
        ({"grace_period": 10081}, "from 0 to 10080"),
        ({"grace_period": True}, "grace_period must be"),
        ({"grace_period": "soon"}, "grace_period must be"),
    ],
)
def test_bad_end_fields_are_refused(add_host, reserve, values, message):
    add_host("a")
    with pytest.raises(exceptions.InvalidInput, match=message):
        reserve(**values)


def test_the_fields_are_shown_with_their_defaults(add_host, reserve, config):
    add_host("a")
    add_host("b")
    shown = reserve()["reservations"][0]
    assert (shown["on_end"], shown["grace_period"]) == ("kill", 0)
    config.config(
        default_on_end="recycle",
        default_grace_period=15,
        group="physical:host",
    )
    shown = reserve(name="other")["reservations"][0]
    assert (shown["on_end"], shown["grace_period"]) == ("recycle", 15)


def test_a_grace_period_holds_the_hosts_and_delays_the_action(
    add_host, reserve, run_at, hosts_of, pools
):
    add_host("a")
    lease = reserve(grace_period=30)
    reservation_id = lease["reservations"][0]["id"]
    # Busy for admission until the grace period is over.
    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        reserve(name="right-after", start=END, end=END + 60 * MINUTE)
    later = reserve(
        name="after-grace", start=END + 30 * MINUTE, end=END + 90 * MINUTE
    )
    assert hosts_of(later) == ["a"]

    run_at(START)
    run_at(END)
    assert db_api.lease_get(lease["id"])["status"] == "TERMINATED"
    # Still the tenant's during the grace period; told it started.
    assert pools()[reservation_id][1] == ["a"]
    (told,) = [
        m["payload"]
        for _, m, _, _ in _impl_test.NOTIFICATIONS
        if m["event_type"] == "lease.reservation.grace_period"
    ]
    assert (told["hosts"], told["grace_period"]) == (["a"], 30)
    run_at(END + 30 * MINUTE)
    # Given back, then handed to the lease after it.
    assert reservation_id not in pools()
    assert db_api.lease_get(later["id"])["status"] == "ACTIVE"
    assert pools()[later["reservations"][0]["id"]][1] == ["a"]


def test_release_takes_the_hosts_out_and_heals_their_next_leases(
    add_host, reserve, run_at, hosts_of, pools, plugin
):
    add_host("a")
    add_host("b")
    lease = reserve(on_end="release", hypervisor_properties=None)
    (released,) = hosts_of(lease)
    (other,) = {"a", "b"} - {released}
    # Next lease on the same host right after: it must move.
    nxt = reserve(
        name="next",
        start=END + 60 * MINUTE,
        end=END + 120 * MINUTE,
        hypervisor_properties=f'["==", "$hypervisor_hostname", "{released}"]',
    )
    other_lease = reserve(
        name="other", start=END + 60 * MINUTE, end=END + 120 * MINUTE
    )
    run_at(START)
    run_at(END)
    host = _host(released)
    assert host["reservable"] is False
    assert released not in pools()["freepool"][1]
    assert lease["reservations"][0]["id"] not in pools()
    # The lease pinned to that host cannot move: it is missing it.
    got = db_api.lease_get(nxt["id"])
    assert got["reservations"][0]["missing_resources"] is True
    assert hosts_of(other_lease) == [other]
    # The operator returns it: reservable and in the free pool again.
    plugin.inventory.update(host["id"], {"reservable": True})
    assert released in pools()["freepool"][1]


def test_recycle_parks_the_host_until_it_runs_no_server(
    add_host, reserve, run_at, hosts_of, pools, plugin
):
    add_host("a")
    reserve(on_end="recycle")
    run_at(START)
    run_at(END)
    assert "a" in pools()["freepool-recycling"][1]
    assert "a" not in pools()["freepool"][1]
    assert _host("a")["reservable"] is False
    assert _host("a")["power"]["recycling_since"] == END
    # Busy for admission until it is back.
    with pytest.raises(exceptions.NotEnoughResourcesAvailable):
        reserve(name="next", start=END + 60 * MINUTE, end=END + 120 * MINUTE)
    # The local driver's hosts run no server: back at the next pass.
    with clock.use(clock.VirtualClock(END + 5 * MINUTE)):
        assert plugin.end_policy.return_recycled() == 1
        assert plugin.end_policy.return_recycled() == 0
    assert "a" in pools()["freepool"][1]
    assert "a" not in pools()["freepool-recycling"][1]
    assert _host("a")["reservable"] is True
    assert hosts_of(
        reserve(name="next", start=END + 60 * MINUTE, end=END + 120 * MINUTE)
    ) == ["a"]
