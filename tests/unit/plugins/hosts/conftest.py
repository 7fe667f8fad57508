"""Fixtures of the physical:host tests: the plugin loaded through its entry
point on the real database, hosts, leases, and an event loop driven by hand
(no thread: ``run_at(moment)`` runs what is due then)."""

import datetime

import pytest
import sqlalchemy as sa

from climate import clock, context, plugins
from climate.db import api as db_api
from climate.db import models
from climate.manager import events, leases, runner
from climate.plugins.hosts import models as host_models
from climate.plugins.hosts.db import api as host_db

START = datetime.datetime(2030, 12, 26, 12, 0)
END = datetime.datetime(2030, 12, 27, 12, 0)
HOST_TYPE = "physical:host"


def wire(moment):
    return moment.strftime("%Y-%m-%d %H:%M")


def user(project_id="p1"):
    return context.RequestContext(
        user_id="u1", project_id=project_id, overwrite=False
    )


@pytest.fixture
def host_plugins(database):
    return plugins.load(["physical.host.plugin", "test.recorder.plugin"])


@pytest.fixture
def plugin(host_plugins):
    return host_plugins[HOST_TYPE]


@pytest.fixture
def run_at(host_plugins):
    """Run the events due at a moment, as the manager's runner would,
    with the clock showing that moment; return how many ran."""
    each = runner.EventRunner(events.EventHandler(host_plugins), "tests")

    def run(now):
        with clock.use(clock.VirtualClock(now)):
            return each.run_pending()

    return run


@pytest.fixture
def lease_manager(host_plugins, run_at):
    # What a write asks to run at once (a delete taking hosts back) runs
    # before it answers, as the manager's runner thread would do.
    return leases.LeaseManager(
        host_plugins, on_change=lambda at: run_at(clock.now())
    )


@pytest.fixture
def add_host(plugin):
    """Register a host through the inventory; return it."""

    def _add(name, **values):
        return plugin.inventory.create({"name": name, **values})

    return _add


@pytest.fixture
def reserve(lease_manager):
    """Create a lease of ``count`` (to ``max``) hosts; return the lease."""

    def _reserve(
        name="lease",
        start=START,
        end=END,
        count=1,
        max=None,
        project_id="p1",
        **fields,
    ):
        reservation = {
            "resource_type": HOST_TYPE,
            "min": count,
            "max": count if max is None else max,
            **fields,
        }
        return lease_manager.create(
            user(project_id),
            {
                "name": name,
                "start_date": wire(start),
                "end_date": wire(end),
                "reservations": [reservation],
            },
        )

    return _reserve


@pytest.fixture
def update(lease_manager):
    """Update a lease; ``reservation`` values apply to its first one."""

    def _update(lease, reservation=None, project_id="p1", **values):
        if reservation is not None:
            values["reservations"] = [
                {"id": lease["reservations"][0]["id"], **reservation}
            ]
        return lease_manager.update(user(project_id), lease["id"], values)

    return _update


@pytest.fixture
def hosts_of():
    """The names of the hosts a lease's (first) reservation holds."""

    def _hosts_of(lease):
        reservation_id = lease["reservations"][0]["id"]
        return sorted(
            a["hypervisor_hostname"]
            for a in host_db.host_allocations_of(reservation_id)
        )

    return _hosts_of


@pytest.fixture
def row_counts():
    """How many rows the lease and host tables hold."""

    def _counts():
        tables = {
            "leases": models.Lease,
            "reservations": models.Reservation,
            "events": models.Event,
            "computehost_reservations": host_models.ComputeHostReservation,
            "computehost_allocations": host_models.ComputeHostAllocation,
        }
        with db_api.reader() as session:
            return {
                name: session.scalar(
                    sa.select(sa.func.count()).select_from(model)
                )
                for name, model in tables.items()
            }

    return _counts


@pytest.fixture
def pools():
    """The local driver's pools: ``{name: (metadata, [hostnames])}``."""

    def _pools():
        return {
            p["name"]: (p["metadata"], p["hosts"])
            for p in db_api.host_pools_list()
        }

    return _pools
