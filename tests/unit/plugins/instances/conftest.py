"""Fixtures of the virtual:instance tests: both plugins loaded through
their entry points on the real migrated database, hosts registered
through the host inventory, leases made through ``LeaseManager`` (one
transaction each, as the manager does) and the event loop run by hand."""

import datetime

import pytest

from climate import clock, context, plugins
from climate.manager import events, leases, runner

START = datetime.datetime(2030, 12, 26, 12, 0)
END = datetime.datetime(2030, 12, 27, 12, 0)
HOST_TYPE = "physical:host"
INSTANCE_TYPE = "virtual:instance"


def wire(moment):
    return moment.strftime("%Y-%m-%d %H:%M")


def user(project_id="p1"):
    return context.RequestContext(
        user_id="u1", project_id=project_id, overwrite=False
    )


@pytest.fixture
def loaded(database):
    return plugins.load(["physical.host.plugin", "virtual.instance.plugin"])


@pytest.fixture
def run_at(loaded):
    """Run the events due at a moment; return how many ran."""
    each = runner.EventRunner(events.EventHandler(loaded), "tests")

    def run(now):
        with clock.use(clock.VirtualClock(now)):
            return each.run_pending()

    return run


@pytest.fixture
def lease_manager(loaded, run_at):
    return leases.LeaseManager(
        loaded, on_change=lambda at: run_at(clock.now())
    )


@pytest.fixture
def add_host(loaded):
    """Register a host (8 vCPUs, 16 GB, 100 GB unless told); return it."""

    def _add(name, vcpus=8, memory_mb=16384, local_gb=100, **values):
        return loaded[HOST_TYPE].inventory.create(
            {
                "name": name,
                "vcpus": vcpus,
                "memory_mb": memory_mb,
                "local_gb": local_gb,
                **values,
            }
        )

    return _add


def _create(lease_manager, reservation, name, start, end, project_id):
    return lease_manager.create(
        user(project_id),
        {
            "name": name,
            "start_date": wire(start),
            "end_date": wire(end),
            "reservations": [reservation],
        },
    )


@pytest.fixture
def instances(lease_manager):
    """Create a lease of ``amount`` instances; return the lease."""

    def _instances(
        amount=1,
        vcpus=2,
        memory_mb=4096,
        disk_gb=20,
        name="lease",
        start=START,
        end=END,
        project_id="p1",
        **fields,
    ):
        reservation = {
            "resource_type": INSTANCE_TYPE,
            "amount": amount,
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "disk_gb": disk_gb,
            **fields,
        }
        return _create(
            lease_manager, reservation, name, start, end, project_id
        )

    return _instances


@pytest.fixture
def whole_hosts(lease_manager):
    """Create a lease of ``count`` whole hosts; return the lease."""

    def _hosts(
        count=1, name="hosts", start=START, end=END, project_id="p1", **fields
    ):
        reservation = {
            "resource_type": HOST_TYPE,
            "min": count,
            "max": count,
            **fields,
        }
        return _create(
            lease_manager, reservation, name, start, end, project_id
        )

    return _hosts


@pytest.fixture
def slots_of(lease_manager):
    """``{host name: instances}`` a lease's (first) reservation holds."""

    def _slots(lease):
        lease = lease_manager.get(user(lease["project_id"]), lease["id"])
        hosts = lease["reservations"][0].get("hosts") or []
        return {h["name"]: h["instances"] for h in hosts}

    return _slots
