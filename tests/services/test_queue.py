"""The best-effort queue in the distributed deployment: one API and two
managers over RabbitMQ on PostgreSQL, both running scheduler passes
every fifth of a second over one queue.  No lease is placed twice and no
host is booked twice in one window."""

import collections
import itertools

import pytest
import requests
import sqlalchemy as sa

from tests import helpers
from tests.services.test_distributed import MANAGERS, Deployment

pytestmark = pytest.mark.services

ADMIN = {"X-Project-Id": "ops", "X-User-Id": "root", "X-Roles": "admin"}
HOSTS = 4
SIZES = (1, 2, 3)


def _post(deployment, path, body):
    response = requests.post(
        deployment.url + path, json=body, headers=ADMIN, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()


def _get(deployment, lease_id):
    response = requests.get(
        f"{deployment.url}/v1/leases/{lease_id}", headers=ADMIN, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["lease"]


def _rows(db_url, sql):
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return [row._asdict() for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_two_managers_never_place_one_lease_twice_postgresql(
    tmp_path, postgresql_url, transport_url, climate_processes, run_climate
):
    deployment = Deployment(
        tmp_path, postgresql_url, transport_url, climate_processes, run_climate
    )
    deployment._common["manager"]["plugins"] = "physical.host.plugin"
    deployment._common["queue"] = {"interval": 0.2}
    deployment._common["physical:host"] = {"cleaning_time": 0}
    deployment.start()
    for index in range(HOSTS):
        _post(deployment, "/v1/os-hosts", {"name": f"host-{index}"})
    blocker = _post(
        deployment,
        "/v1/leases",
        {
            "name": "blocker",
            "start_date": helpers.future(minutes=2),
            "end_date": helpers.future(days=1),
            "reservations": [
                {"resource_type": "physical:host", "min": HOSTS, "max": 4}
            ],
        },
    )["lease"]
    queued = []
    for index, count in zip(range(12), itertools.cycle(SIZES)):
        lease = _post(
            deployment,
            "/v1/leases",
            {
                "name": f"be-{index}",
                "kind": "best_effort",
                "duration": "1h",
                "reservations": [
                    {
                        "resource_type": "physical:host",
                        "min": count,
                        "max": count,
                    }
                ],
            },
        )["lease"]
        assert lease["status"] == "QUEUED", lease
        queued.append(lease)

    def noted():
        leases = [_get(deployment, lease["id"]) for lease in queued]
        positions = sorted(lease["queue_position"] or 0 for lease in leases)
        return positions == list(range(1, len(queued) + 1)) and leases

    for lease in helpers.wait_for(noted, 20, 0.2, "queue positions"):
        assert lease["status"] == "QUEUED"
        # Every one waits for the blocker to end.
        assert lease["earliest_start"] is not None
    response = requests.delete(
        f"{deployment.url}/v1/leases/{blocker['id']}",
        headers=ADMIN,
        timeout=30,
    )
    assert response.status_code == 204, response.text

    sizes = dict(
        zip((lease["id"] for lease in queued), itertools.cycle(SIZES))
    )

    def settled():
        # The hosts fill up (backfilling a small lease past the first
        # that waits), and what is left is queued in order.
        leases = [_get(deployment, lease["id"]) for lease in queued]
        used = sum(sizes[x["id"]] for x in leases if x["status"] != "QUEUED")
        positions = sorted(
            x["queue_position"] or 0 for x in leases if x["status"] == "QUEUED"
        )
        return (
            used == HOSTS
            and positions == list(range(1, len(positions) + 1))
            and leases
        )

    leases = helpers.wait_for(settled, 30, 0.2, "the hosts filled")
    placed = [lease for lease in leases if lease["status"] != "QUEUED"]
    assert len(placed) >= 2
    for lease in placed:
        assert len(lease["reservations"]) == 1, lease
    # Each lease placed by one manager, once.
    logs = [deployment.managers[name].log() for name in MANAGERS]
    for lease in leases:
        lines = sum(
            log.count(f"queued lease {lease['id']} placed") for log in logs
        )
        assert lines == (lease["status"] != "QUEUED"), lease["id"]
    # No host booked twice in overlapping windows.
    allocations = _rows(
        postgresql_url,
        "SELECT computehost_id, start_date, end_date "
        "FROM computehost_allocations",
    )
    by_host = collections.defaultdict(list)
    for row in allocations:
        by_host[row["computehost_id"]].append(
            (row["start_date"], row["end_date"])
        )
    for windows in by_host.values():
        windows.sort()
        for (_, end), (start, _) in itertools.pairwise(windows):
            assert end <= start, windows
    assert len(allocations) == HOSTS


def test_limits_refuse_at_placement_and_a_queued_lease_changes(
    service_db, config
):
    """On PostgreSQL and MariaDB: a queued lease changes its request and
    stays queued; the limits, lowered while it waits, end it TERMINATED
    with the reason (one conditional update from QUEUED)."""
    from climate import context, plugins
    from climate.enforcement import UsageEnforcer
    from climate.enforcement.filters import max_lease_duration
    from climate.manager import leases, queue
    from climate.queue import orders

    loaded = plugins.load(["physical.host.plugin"])
    loaded["physical:host"].inventory.create({"name": "h0"})
    manager = leases.LeaseManager(
        loaded,
        enforcer=UsageEnforcer([max_lease_duration.MaxLeaseDurationFilter()]),
    )
    user = context.RequestContext(
        user_id="u1", project_id="p1", overwrite=False
    )
    host = {"resource_type": "physical:host", "min": 1, "max": 1}
    blocker = manager.create(
        user,
        {
            "name": "blocker",
            "start_date": "now",
            "end_date": helpers.future(days=1),
            "reservations": [host],
        },
    )
    lease = manager.create(
        user,
        {
            "name": "be",
            "kind": "best_effort",
            "duration": "4h",
            "reservations": [host],
        },
    )
    changed = manager.update(user, lease["id"], {"duration": "3h"})
    assert (changed["status"], changed["duration"]) == ("QUEUED", 3 * 3600)
    scheduler = queue.QueueScheduler(
        manager, loaded, order=orders.FirstComeFirstServed()
    )
    assert scheduler.run_pass() == []
    config.config(max_lease_duration=120, group="enforcement")
    manager.delete(user, blocker["id"])
    assert scheduler.run_pass() == []
    ended = manager.get(user, lease["id"])
    assert ended["status"] == "TERMINATED"
    assert (
        "refused by the usage limits at placement" in (ended["status_reason"])
    )
    assert ended["reservations"] == []
