"""The ``nova`` compute driver (climate.compute.nova) over real HTTP to a
fake Compute API on loopback (tests/unit/compute/fake_nova.py).  This
tests the driver's HTTP layer; tests/services/test_nova.py runs it
against a real Nova."""

import datetime
import socket
import time

import pytest

from climate import clock, compute, context, exceptions, plugins, states
from climate.common import service_auth
from climate.compute import nova
from climate.db import api as db_api
from climate.manager import events, leases, runner
from climate.plugins.hosts import endpolicy
from climate.plugins.hosts import plugin as host_plugin
from tests.unit.compute import fake_nova

GROUP = "service_credentials"


@pytest.fixture
def fake():
    server = fake_nova.FakeNova()
    server.add_hypervisor("compute1")
    server.add_hypervisor("compute2.example.org", host="compute2")
    yield server
    server.close()


@pytest.fixture
def settings(config, fake):
    service_auth.reset()
    config.config(auth_type="none", group=GROUP)
    config.config(
        endpoint_override=fake.url,
        retries=1,
        reclaim_timeout=3,
        additional_headers={"X-Project-Id": "service", "X-Roles": "admin"},
        group="nova",
    )
    yield config
    service_auth.reset()


@pytest.fixture
def driver(settings):
    return compute.load("nova")


def test_nova_is_found_by_its_entry_point(driver):
    assert isinstance(driver, nova.NovaDriver)


def test_calls_carry_the_microversion_and_the_configured_headers(driver, fake):
    driver.ensure_pool("freepool", {})
    _, _, headers = fake.requests[-1]
    assert headers["OpenStack-API-Version"] == "compute 2.53"
    assert headers["X-Project-Id"] == "service"
    assert headers["X-Roles"] == "admin"


def test_one_session_is_shared_by_every_driver(settings):
    first, second = compute.load("nova"), compute.load("nova")
    assert first._api.session is second._api.session
    assert first._api.session is service_auth.get_session()


def test_missing_credentials_stop_the_driver_naming_the_option(config, fake):
    service_auth.reset()
    with pytest.raises(exceptions.ConfigurationError) as caught:
        compute.load("nova")
    assert "[service_credentials] auth_type is not set" in (
        caught.value.message
    )


def test_no_keystone_without_an_endpoint_is_refused(config):
    service_auth.reset()
    config.config(auth_type="none", group=GROUP)
    with pytest.raises(exceptions.ConfigurationError) as caught:
        compute.load("nova")
    assert "[nova] endpoint_override is not set" in caught.value.message
    service_auth.reset()


# describe_host -------------------------------------------------------------


def test_a_host_is_described_from_its_hypervisor(driver):
    assert driver.describe_host("compute2.example.org", {}) == {
        "vcpus": 8,
        "memory_mb": 16384,
        "local_gb": 200,
        "hypervisor_type": "fake",
        "hypervisor_version": 1000,
        "cpu_info": '{"arch": "x86_64"}',
        "availability_zone": "nova",
        "service_name": "compute2",
    }


def test_an_unknown_hypervisor_is_a_404_naming_it(driver):
    with pytest.raises(exceptions.HypervisorNotFound) as caught:
        driver.describe_host("compute9", {})
    assert caught.value.code == 404
    assert caught.value.message == "Nova has no hypervisor named 'compute9'"


def test_a_substring_match_is_not_the_host(driver):
    with pytest.raises(exceptions.HypervisorNotFound):
        driver.describe_host("compute", {})


def test_a_host_running_servers_is_refused_with_409(driver, fake):
    server = fake.add_server("compute1")
    with pytest.raises(exceptions.HostInUse) as caught:
        driver.describe_host("compute1", {})
    assert caught.value.code == 409
    assert server in caught.value.message


def test_inventory_values_come_from_nova_only(driver):
    with pytest.raises(exceptions.InvalidInput) as caught:
        driver.describe_host("compute1", {"vcpus": 4})
    assert "vcpus" in caught.value.message


# Pools --------------------------------------------------------------------


def test_a_reservation_pool_gets_its_owner_and_zone(driver, fake):
    driver.ensure_pool("r-1", {"climate:owner": "p1"})
    assert fake.pools() == {
        "r-1": (
            {"availability_zone": "climate_r-1", "climate:owner": "p1"},
            [],
            "climate_r-1",
        )
    }


def test_the_free_pool_is_marked_and_has_no_zone(driver, fake):
    driver.ensure_pool("freepool", {})
    assert fake.pools() == {
        "freepool": ({"climate:freepool": "true"}, [], None)
    }


def test_an_empty_prefix_gives_no_zone(driver, fake, settings):
    settings.config(availability_zone_prefix="", group="nova")
    driver.ensure_pool("r-1", {"climate:owner": "p1"})
    assert fake.pools()["r-1"][2] is None


def test_pool_calls_are_idempotent(driver, fake):
    for _ in range(2):
        driver.ensure_pool("r-1", {"climate:owner": "p1"})
        driver.add_hosts("r-1", ["compute1", "compute2.example.org"])
    assert fake.pools()["r-1"][1] == ["compute1", "compute2"]
    posts = fake.calls("POST")
    assert posts.count(("POST", "/v2.1/os-aggregates")) == 1
    for _ in range(2):
        driver.remove_hosts("r-1", ["compute1"])
    assert fake.pools()["r-1"][1] == ["compute2"]
    for _ in range(2):
        driver.delete_pool("r-1")
    assert fake.pools() == {}
    driver.remove_hosts("r-1", ["compute1"])


def test_a_pool_created_meanwhile_is_success(driver, fake):
    # Another manager creates it between our lookup and our create.
    original = driver._aggregate
    calls = []

    def racing(name):
        calls.append(name)
        if len(calls) == 1:
            fake.handle(
                "POST",
                "/v2.1/os-aggregates",
                {},
                {"aggregate": {"name": name}},
            )
            return None
        return original(name)

    driver._aggregate = racing
    driver.ensure_pool("r-1", {"climate:owner": "p1"})
    assert fake.pools()["r-1"][0]["climate:owner"] == "p1"


def test_a_host_already_member_answering_409_is_success(driver, fake):
    driver.ensure_pool("r-1", {})
    driver.add_hosts("r-1", ["compute1"])
    # Our first view is stale: Nova answers 409 "already has host".
    real, views = driver._aggregate, []

    def stale_once(name):
        views.append(name)
        return dict(real(name), hosts=[]) if len(views) == 1 else real(name)

    driver._aggregate = stale_once
    driver.add_hosts("r-1", ["compute1"])
    assert ("POST", "/v2.1/os-aggregates/1/action") in fake.calls()
    assert fake.pools()["r-1"][1] == ["compute1"]


def test_nova_refusing_a_move_is_a_clear_conflict(driver, fake):
    driver.ensure_pool("r-1", {})
    fake.az_conflicts.add("compute1")
    with pytest.raises(exceptions.HostInUse) as caught:
        driver.add_hosts("r-1", ["compute1"])
    assert caught.value.code == 409
    assert "contain instances" in caught.value.message


def test_the_recycling_pool_is_hidden_like_the_free_pool(driver, fake):
    driver.ensure_pool("freepool-recycling", {})
    metadata, _, zone = fake.pools()["freepool-recycling"]
    assert metadata == {"climate:freepool": "true"}
    assert zone is None


def test_a_host_running_servers_keeps_its_zone_until_they_are_gone(
    driver, fake
):
    """Nova refuses to take a host with servers out of its zone: it goes
    through a zone keeper, left once it runs no server."""
    driver.ensure_pool("r-1", {"climate:owner": "p1"})
    driver.add_hosts("r-1", ["compute1"])
    server = fake.add_server("compute1")
    driver.ensure_pool("freepool-recycling", {})
    driver.add_hosts("freepool-recycling", ["compute1"])
    driver.remove_hosts("r-1", ["compute1"])
    driver.delete_pool("r-1")
    pools = fake.pools()
    assert "r-1" not in pools
    assert pools["climate_r-1-kept"] == (
        {
            "availability_zone": "climate_r-1",
            "climate:zone_keeper": "climate_r-1",
        },
        ["compute1"],
        "climate_r-1",
    )
    assert pools["freepool-recycling"][1] == ["compute1"]
    assert driver.tidy_pools() == 0  # its server runs
    assert "climate_r-1-kept" in fake.pools()
    del fake.servers[server]
    assert driver.tidy_pools() == 1
    assert "climate_r-1-kept" not in fake.pools()


def test_a_host_leaves_its_keeper_to_enter_another_zone(driver, fake):
    driver.ensure_pool("r-1", {})
    driver.add_hosts("r-1", ["compute1"])
    server = fake.add_server("compute1")
    driver.delete_pool("r-1")
    assert fake.pools()["climate_r-1-kept"][1] == ["compute1"]
    # Still running: the next reservation's zone is refused.
    driver.ensure_pool("r-2", {})
    with pytest.raises(exceptions.HostInUse):
        driver.add_hosts("r-2", ["compute1"])
    # Gone (before the power task's pass): the keeper is left at once.
    del fake.servers[server]
    driver.add_hosts("r-2", ["compute1"])
    pools = fake.pools()
    assert pools["r-2"][1] == ["compute1"]
    assert "climate_r-1-kept" not in pools


def test_adding_to_a_missing_pool_names_it(driver):
    with pytest.raises(exceptions.HostPoolNotFound):
        driver.add_hosts("r-404", ["compute1"])


# Faults -------------------------------------------------------------------


def test_a_transient_5xx_is_retried(driver, fake):
    fake.fail_next = [503]
    driver.ensure_pool("r-1", {})
    assert "r-1" in fake.pools()


def test_a_lasting_5xx_is_compute_unavailable(driver, fake):
    fake.fail_next = [500, 502]
    with pytest.raises(exceptions.ComputeUnavailable) as caught:
        driver.ensure_pool("r-1", {})
    assert caught.value.code == 503
    assert "answered 502" in caught.value.message


def test_an_unreachable_nova_is_compute_unavailable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.config(
        endpoint_override=f"http://127.0.0.1:{port}/v2.1", group="nova"
    )
    driver = compute.load("nova")
    started = time.monotonic()
    with pytest.raises(exceptions.ComputeUnavailable):
        driver.ensure_pool("r-1", {})
    assert time.monotonic() - started >= 0.5  # one retry, backed off


def test_another_4xx_is_a_compute_error(driver, fake):
    fake.fail_next = [403]
    with pytest.raises(exceptions.ComputeError) as caught:
        driver.ensure_pool("r-1", {})
    assert "answered 403" in caught.value.message


# reclaim_hosts ------------------------------------------------------------


def test_servers_left_are_deleted_by_default(driver, fake):
    fake.add_server("compute1")
    fake.add_server("compute2")
    fake.add_server("compute3")
    driver.reclaim_hosts(["compute1", "compute2.example.org"], "default")
    assert [s["OS-EXT-SRV-ATTR:host"] for s in fake.servers.values()] == [
        "compute3"
    ]


def test_servers_left_can_be_shelved(driver, fake):
    server = fake.add_server("compute1")
    driver.reclaim_hosts(["compute1"], "shelve")
    assert fake.servers[server]["status"] == "SHELVED_OFFLOADED"


def test_reclaim_waits_at_most_the_timeout(driver, fake, settings):
    settings.config(reclaim_timeout=1, group="nova")
    fake.keep_servers = True
    fake.add_server("compute1")
    started = time.monotonic()
    with pytest.raises(exceptions.HostInUse) as caught:
        driver.reclaim_hosts(["compute1"], None)
    assert 1 <= time.monotonic() - started < 5
    assert "still on host(s) compute1 after 1 s" in caught.value.message
    assert len(fake.calls("DELETE")) == 1  # asked once, then waited


def test_an_unknown_policy_is_refused(driver):
    with pytest.raises(exceptions.InvalidInput):
        driver.reclaim_hosts(["compute1"], "explode")


# Through the physical:host plugin -----------------------------------------


class _NoPreparation:
    """The plugin's preparer, for hosts no image was loaded on."""

    def handed_over(self, reservation):
        pass


class _AlwaysOn:
    """Hosts without a power driver: always on."""

    def ensure_on(self, host_ids):
        pass


class _Plugin(host_plugin.PhysicalHostPlugin):
    def __init__(self, driver):
        self._driver = driver
        self.preparer = _NoPreparation()
        self.power = _AlwaysOn()
        self.end_policy = endpolicy.EndPolicy(driver, heal=None)


def test_a_failed_start_leaves_no_host_half_moved(driver, fake, monkeypatch):
    driver.ensure_pool("freepool", {})
    driver.add_hosts("freepool", ["compute1"])
    monkeypatch.setattr(host_plugin, "_hostnames", lambda r: ["compute1"])
    monkeypatch.setattr(host_plugin, "_host_ids", lambda r: [1])
    monkeypatch.setattr(
        host_plugin,
        "_allocations",
        lambda r: [{"hypervisor_hostname": "compute1", "computehost_id": 1}],
    )
    fake.fail_matching = (
        "POST",
        r"/os-aggregates/1/action",  # the free pool: remove_host fails
        500,
    )
    plugin = _Plugin(driver)
    with pytest.raises(exceptions.ComputeUnavailable):
        plugin.on_start({"project_id": "p1"}, {"id": "r-1"})
    fake.fail_matching = None
    assert fake.pools() == {
        "freepool": ({"climate:freepool": "true"}, ["compute1"], None)
    }
    # The retry then succeeds.
    plugin.on_start({"project_id": "p1"}, {"id": "r-1"})
    assert fake.pools()["freepool"][1] == []
    assert fake.pools()["r-1"][1] == ["compute1"]
    fake.add_server("compute1")
    plugin.on_end({"project_id": "p1"}, {"id": "r-1", "on_end": "default"})
    assert fake.pools() == {
        "freepool": ({"climate:freepool": "true"}, ["compute1"], None)
    }
    assert fake.servers == {}


# Through the manager and its event loop ------------------------------------


def test_nova_failing_during_start_ends_in_error_with_hosts_in_place(
    settings, fake, database
):
    """Nova answers 500 on every attempt to take the host out of the free
    pool: the start is retried up to [manager] event_max_attempts, then
    the lease is ERROR with a reason, and no host is left half-moved."""
    settings.config(driver="nova", group="compute")
    settings.config(event_max_attempts=3, group="manager")
    loaded = plugins.load(["physical.host.plugin"])
    loaded["physical:host"].inventory.create({"name": "compute1"})
    manager = leases.LeaseManager(loaded)
    each = runner.EventRunner(events.EventHandler(loaded), "tests")
    owner = context.RequestContext(
        user_id="u1", project_id="p1", overwrite=False
    )
    lease = manager.create(
        owner,
        {
            "name": "nova-down",
            "start_date": "now",
            "end_date": "2035-01-01 00:00",
            "reservations": [
                {"resource_type": "physical:host", "min": 1, "max": 1}
            ],
        },
    )
    fake.fail_matching = ("POST", r"/os-aggregates/1/action", 500)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for attempt in range(3):
        # Each pass runs one attempt; the next is due after its backoff.
        later = now + datetime.timedelta(hours=attempt)
        with clock.use(clock.VirtualClock(later)):
            assert each.run_once() == 1
    stored = db_api.lease_get(lease["id"])
    assert stored["status"] == states.LeaseStatus.ERROR
    assert "start_lease failed" in stored["status_reason"]
    assert "after 3 attempts" in stored["status_reason"]
    assert stored["reservations"][0]["status"] == "error"
    fake.fail_matching = None
    assert fake.pools() == {
        "freepool": ({"climate:freepool": "true"}, ["compute1"], None)
    }


def test_a_failed_hand_over_to_a_running_lease_takes_none_of_its_hosts(
    settings, fake, database
):
    """An update grows an active lease by a host, and Nova fails every
    attempt to move it: the update event gives up, the lease stays ACTIVE
    (degraded) and keeps the host it had; only the new host goes back to
    the free pool."""
    settings.config(driver="nova", group="compute")
    settings.config(event_max_attempts=2, act_now_wait=0, group="manager")
    loaded = plugins.load(["physical.host.plugin"])
    for name in ("compute1", "compute2.example.org"):
        loaded["physical:host"].inventory.create({"name": name})
    each = runner.EventRunner(events.EventHandler(loaded), "tests")
    manager = leases.LeaseManager(loaded)
    owner = context.RequestContext(
        user_id="u1", project_id="p1", overwrite=False
    )
    lease = manager.create(
        owner,
        {
            "name": "grows",
            "start_date": "now",
            "end_date": "2035-01-01 00:00",
            "reservations": [
                {"resource_type": "physical:host", "min": 1, "max": 1}
            ],
        },
    )
    each.run_pending()
    reservation = db_api.lease_get(lease["id"])["reservations"][0]
    pool = reservation["id"]
    [held] = fake.pools()[pool][1]

    manager.update(
        owner,
        lease["id"],
        {"reservations": [{"id": pool, "min": 2, "max": 2}]},
    )
    # Every add_host to the reservation's aggregate fails.
    aggregate_id = next(
        a["id"] for a in fake.aggregates.values() if a["name"] == pool
    )
    fake.fail_matching = (
        "POST",
        rf"/os-aggregates/{aggregate_id}/action",
        500,
    )
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for attempt in range(2):
        later = now + datetime.timedelta(hours=attempt + 1)
        with clock.use(clock.VirtualClock(later)):
            assert each.run_once() == 1
    fake.fail_matching = None
    stored = db_api.lease_get(lease["id"])
    assert stored["status"] == states.LeaseStatus.ACTIVE
    assert stored["degraded"] is True
    assert "update_lease failed" in stored["status_reason"]
    assert stored["reservations"][0]["status"] == "active"
    pools = fake.pools()
    assert pools[pool][1] == [held]
    assert held not in pools["freepool"][1]
    assert len(pools["freepool"][1]) == 1


# Whether a lease's user used a host (reclaim) --------------------------------


def test_servers_since_sees_servers_created_during_the_lease(driver, fake):
    lease_start = datetime.datetime(2030, 6, 1, 12, 0)
    assert driver.servers_since("compute1", lease_start) is False
    fake.add_server("compute1", created="2030-05-31T09:00:00Z")
    assert driver.servers_since("compute1", lease_start) is False
    server = fake.add_server("compute1", created="2030-06-01T13:30:00Z")
    assert driver.servers_since("compute1", lease_start) is True
    # Deleted since, it still counts.
    driver._call("DELETE", f"/servers/{server}")
    assert driver.servers_since("compute1", lease_start) is True


def test_the_local_driver_cannot_tell():
    from climate.compute import local

    assert (
        local.LocalDriver().servers_since("h", datetime.datetime(2030, 1, 1))
        is None
    )


def test_failed_hosts_are_those_whose_compute_service_is_down(driver, fake):
    assert driver.failed_hosts(["compute1", "compute2.example.org"]) == set()
    fake.down.add("compute2")
    assert driver.failed_hosts(["compute1", "compute2.example.org"]) == {
        "compute2.example.org"
    }
    assert driver.failed_hosts([]) == set()


def test_the_power_task_marks_a_host_down_when_nova_says_so(
    driver, fake, database, config
):
    from climate.plugins.hosts import conf as host_conf
    from climate.plugins.hosts import power as host_power
    from climate.plugins.hosts.db import api as host_db

    host_conf.options()
    config.config(max_failures=2, group="power")
    host = host_db.host_create(
        {
            "hypervisor_hostname": "compute1",
            "hypervisor_type": "fake",
            "cpu_info": "{}",
            "reservable": True,
        },
        {},
    )
    host_db.host_power_set(host["id"], {})
    driver.ensure_pool("freepool", {})
    driver.add_hosts("freepool", ["compute1"])
    healed = []
    task = host_power.PowerManager(healed.append, driver)
    assert task.run_once()["down"] == 0
    fake.down.add("compute1")
    assert task.run_once()["down"] == 0  # one failure
    assert task.run_once()["down"] == 1
    assert healed == [host["id"]]
    got = host_db.host_get(host["id"])
    assert (got["reservable"], got["power"]["health"]) == (False, "down")
    assert fake.pools()["freepool"][1] == []  # out of the free pool
