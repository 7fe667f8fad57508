"""The ``ssh`` OS module against a real OpenSSH server standing in for a
provisioned host's OS: post-load checks, login detection from wtmp (an
interactive login with a terminal, as a user makes) and sanitizing; then
the same through the physical:host plugin's prepare and reclaim stages.

Nothing is mocked: sshd is Debian's, started by the test on a loopback
port (tests/services/ssh_server.py); the provisioning driver is the
simulated one, since no disk is written here.
"""

import datetime
import time

import paramiko
import pytest

from climate import clock, plugins, provisioning
from climate.common import dates
from climate.db import api as db_api
from climate.manager import events, leases, runner
from climate.plugins.hosts.db import api as host_db
from tests.services import conftest as services
from tests.services import ssh_server
from tests.unit.plugins.hosts.conftest import user

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    reason = ssh_server.available()
    if reason:
        services.unavailable(reason)
    server = ssh_server.SSHServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ssh_config(config, sshd):
    sshd.grant_tenant()
    config.config(
        user="root",
        key_file=sshd.admin_key,
        tenant_user="root",
        boot_timeout=5,
        command_timeout=10,
        sanitize_command=sshd.sanitize_command,
        group="ssh",
    )
    provisioning.reset()
    yield config
    provisioning.reset()


def _module():
    return provisioning.os_module("ssh")


def _host(sshd):
    return provisioning.Host(name="lab-1", address=sshd.address)


IMAGE = provisioning.Image("i-1", "debian", "http://images/debian", 60)


def test_post_load_is_ready_once_sshd_lets_climate_in(ssh_config, sshd):
    outcome = _module().post_load(_host(sshd), IMAGE, 1)
    assert outcome.status == provisioning.READY, outcome.reason


def test_a_failing_check_asks_for_a_reload(ssh_config, sshd):
    ssh_config.config(checks=["true", "test -e /nonexistent"], group="ssh")
    outcome = _module().post_load(_host(sshd), IMAGE, 1)
    assert outcome.status == provisioning.RETRY
    assert "test -e /nonexistent" in outcome.reason


def test_a_host_whose_sshd_never_answers_waits_longer_each_attempt(
    ssh_config, sshd
):
    from tests import helpers

    ssh_config.config(boot_timeout=2, group="ssh")
    ssh_config.config(timeout_growth=2.0, group="provisioning")
    silent = provisioning.Host("lab-2", f"127.0.0.1:{helpers.free_port()}")
    began = time.monotonic()
    first = _module().post_load(silent, IMAGE, 1)
    took_first = time.monotonic() - began
    began = time.monotonic()
    second = _module().post_load(silent, IMAGE, 2)
    took_second = time.monotonic() - began
    assert (first.status, second.status) == (provisioning.RETRY,) * 2
    assert "within 2 s" in first.reason
    assert "within 4 s" in second.reason
    assert took_first < took_second


def test_logins_are_detected_and_sanitize_ends_them(ssh_config, sshd):
    module = _module()
    since = dates.utcnow() - datetime.timedelta(seconds=1)
    assert module.logged_in(_host(sshd), since) is False
    session = sshd.tenant_session()
    try:
        assert module.logged_in(_host(sshd), since) is True
        # Climate's own commands open no terminal: not a login.
        later = dates.utcnow() + datetime.timedelta(seconds=1)
        time.sleep(1.1)
        assert module.logged_in(_host(sshd), later) is False
        outcome = module.sanitize(_host(sshd))
        assert outcome.status == provisioning.READY, outcome.reason
        # The tenant's session is gone, and the key no longer works.
        deadline = time.monotonic() + 5
        while session.get_transport().is_active():
            assert time.monotonic() < deadline, "session still open"
            time.sleep(0.05)
        with pytest.raises(paramiko.AuthenticationException):
            sshd.tenant_session()
    finally:
        session.close()


def test_a_failed_sanitize_says_so(ssh_config, sshd):
    ssh_config.config(sanitize_command="exit 3", group="ssh")
    outcome = _module().sanitize(_host(sshd))
    assert outcome.status == provisioning.FATAL
    assert "exited 3" in outcome.reason


# Through the plugin's stages --------------------------------------------


@pytest.fixture
def lab(database, ssh_config, sshd):
    ssh_config.config(
        default_driver="simulated",
        default_os_module="ssh",
        group="provisioning",
    )
    # wtmp counts to the second, and a login check counts sessions open
    # at the lease's start: let earlier tests' sessions end first.
    sshd.wait_logged_out()
    loaded = plugins.load(["physical.host.plugin"])
    plugin = loaded["physical:host"]
    each = runner.EventRunner(events.EventHandler(loaded), "tests")

    def run_at(moment):
        with clock.use(clock.VirtualClock(moment)):
            return each.run_pending()

    lease_manager = leases.LeaseManager(loaded)
    plugin.images.create_image(
        {
            "name": "debian",
            "reference": "http://images/debian",
            "default_load_time": 60,
        }
    )
    plugin.inventory.create({"name": "lab-1", "address": sshd.address})
    return plugin, lease_manager, run_at


def _lease(lease_manager, name):
    end = dates.utcnow() + datetime.timedelta(hours=2)
    return lease_manager.create(
        user(),
        {
            "name": name,
            "start_date": "now",
            "end_date": end.strftime("%Y-%m-%d %H:%M"),
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    "image": "debian",
                }
            ],
        },
    )


def _kinds(lease):
    return [
        (r["kind"], r["status"])
        for r in host_db.loads_of(lease["reservations"][0]["id"])
    ]


def test_an_unused_host_is_sanitized_and_keeps_its_image(lab, sshd):
    plugin, lease_manager, run_at = lab
    lease = _lease(lease_manager, "unused")
    run_at(dates.utcnow())
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    assert _kinds(lease) == [("prepare", "ready")]
    end = db_api.lease_get(lease["id"])["end_date"]
    run_at(end)
    run_at(end + datetime.timedelta(seconds=1))
    assert _kinds(lease) == [("prepare", "ready"), ("sanitize", "ready")]
    (host,) = host_db.host_list()
    assert host["provisioning"]["clean"] is True
    assert host["provisioning"]["address"] == sshd.address


def test_a_host_its_user_logged_in_to_is_reloaded(lab, sshd):
    plugin, lease_manager, run_at = lab
    lease = _lease(lease_manager, "used")
    run_at(dates.utcnow())
    assert db_api.lease_get(lease["id"])["status"] == "ACTIVE"
    session = sshd.tenant_session()
    session.close()
    end = db_api.lease_get(lease["id"])["end_date"]
    run_at(end)
    run_at(end + datetime.timedelta(seconds=1))
    assert _kinds(lease) == [("prepare", "ready"), ("reload", "ready")]
    assert db_api.lease_get(lease["id"])["status"] == "TERMINATED"


def test_a_failed_sanitize_falls_back_to_a_reload(lab, sshd, ssh_config):
    plugin, lease_manager, run_at = lab
    ssh_config.config(sanitize_command="exit 3", group="ssh")
    lease = _lease(lease_manager, "unsanitizable")
    run_at(dates.utcnow())
    end = db_api.lease_get(lease["id"])["end_date"]
    run_at(end)
    run_at(end + datetime.timedelta(seconds=1))
    assert _kinds(lease) == [
        ("prepare", "ready"),
        ("sanitize", "fatal"),
        ("reload", "ready"),
    ]
