"""Data of the host admission benchmark: the hosts and leases it registers
and the requests it makes, and the two ways of writing them to the database
before the service starts (``BulkLoader``, ``ManagerLoader``).

Imported by ``bench/host_admission.py`` the way it imports ``harness``: the
script's directory is on ``sys.path``.  Not part of the ``climate`` package.
"""

import bisect
import collections
import datetime
import json
import uuid

import harness  # bench/harness.py: the script's directory is on sys.path
import sqlalchemy as sa

from climate import conf as climate_conf
from climate import exceptions, plugins, stages, states
from climate.common import dates, host_query
from climate.db import api as db_api
from climate.db import models
from climate.plugins.hosts import models as host_models

CONF = climate_conf.CONF
HOST_TYPE = "physical:host"
HOST_PLUGIN = "physical.host.plugin"

GPUS = ("a100", "h100", "none")
VCPUS = (8, 16, 32, 64)
RACKS = 50

#: (resource_properties, hypervisor_properties) of a request, picked at
#: random for existing leases and measured creates alike.
FILTERS = (
    (["==", "$gpu", "a100"], [">=", "$vcpus", "16"]),
    (["==", "$gpu", "h100"], None),
    (None, [">=", "$vcpus", "32"]),
    (["and", ["<=", "$rack", "10"], ["!=", "$gpu", "none"]], None),
    (None, None),
)


def matches(host, resource, hypervisor):
    """Python twin of the FILTERS above, for the bulk load's choice."""
    return _match(resource, host) and _match(hypervisor, host)


def _match(query, host):
    if query is None:
        return True
    op = query[0]
    if op == "and":
        return all(_match(q, host) for q in query[1:])
    value = host[query[1][1:]]
    literal = query[2]
    if isinstance(value, int):
        literal = float(literal)
    return {
        "==": value == literal,
        "!=": value != literal,
        "<=": value <= literal,
        ">=": value >= literal,
    }[op]


# Set-up -------------------------------------------------------------------


def utcnow():
    """Now, as the service stamps rows (UTC, naive, to the second)."""
    return dates.utcnow()


def random_window(rng, now, months=6):
    """A window starting within the next ``months`` months, 1 h to 7 days
    long, on whole minutes (the wire format's precision)."""
    start = now.replace(second=0, microsecond=0) + datetime.timedelta(
        days=1, minutes=rng.randrange(months * 30 * 24 * 60)
    )
    end = start + datetime.timedelta(minutes=rng.randrange(60, 7 * 24 * 60))
    return start, end


def past_window(rng, now):
    """A window that ended within the past twelve months."""
    start = now.replace(second=0, microsecond=0) - datetime.timedelta(
        days=8, minutes=rng.randrange(357 * 24 * 60)
    )
    end = start + datetime.timedelta(minutes=rng.randrange(60, 7 * 24 * 60))
    return start, end


def random_request(rng):
    resource, hypervisor = rng.choice(FILTERS)
    count = rng.randint(1, 4)
    return {
        "resource_type": HOST_TYPE,
        "min": count,
        "max": count,
        "resource_properties": json.dumps(resource) if resource else "",
        "hypervisor_properties": json.dumps(hypervisor) if hypervisor else "",
    }


def make_hosts(count, rng):
    return [
        {
            "name": f"host-{index:05d}",
            "vcpus": rng.choice(VCPUS),
            "gpu": rng.choice(GPUS),
            "rack": rng.randint(1, RACKS),
        }
        for index in range(count)
    ]


class BulkLoader:
    """Writes hosts and leases as the service would, in big transactions.

    Each lease is a lease row, one reservation, its physical:host row,
    its three events and one allocation per host, as ``POST /v1/leases``
    writes them; hosts are the host row, its capabilities and its place
    in the free pool, as ``POST /v1/os-hosts`` writes them.
    """

    def __init__(self, rng):
        # The plugin's class registers its options (cleaning_time).
        plugins.classes([HOST_PLUGIN])
        self._rng = rng
        self._hosts = []
        self._by_filter = {}
        # host id -> sorted starts and matching ends of its allocations
        # (disjoint, so sorted by end too).
        self._starts = collections.defaultdict(list)
        self._ends = collections.defaultdict(list)

    def hosts(self, hosts, batch=5000):
        now = utcnow()
        with db_api.writer() as session:
            session.execute(
                sa.insert(models.HostPool),
                [{"name": CONF.compute.freepool_name, "pool_metadata": "{}"}],
            )
            pool_id = session.scalar(
                sa.select(models.HostPool.id).where(
                    models.HostPool.name == CONF.compute.freepool_name
                )
            )
        for first in range(0, len(hosts), batch):
            chunk = hosts[first : first + batch]
            with db_api.writer() as session:
                rows = [
                    {
                        "hypervisor_hostname": h["name"],
                        "service_name": h["name"],
                        "vcpus": h["vcpus"],
                        "memory_mb": h["vcpus"] * 4096,
                        "local_gb": 500,
                        "hypervisor_type": "baremetal",
                        "hypervisor_version": None,
                        "cpu_info": "{}",
                        "availability_zone": None,
                        "reservable": True,
                        "created_at": now,
                    }
                    for h in chunk
                ]
                session.execute(sa.insert(host_models.ComputeHost), rows)
                ids = dict(
                    session.execute(
                        sa.select(
                            host_models.ComputeHost.hypervisor_hostname,
                            host_models.ComputeHost.id,
                        ).where(
                            host_models.ComputeHost.hypervisor_hostname.in_(
                                [h["name"] for h in chunk]
                            )
                        )
                    ).all()
                )
                caps = []
                for h in chunk:
                    h["id"] = ids[h["name"]]
                    for name in ("gpu", "rack"):
                        value = str(h[name])
                        caps.append(
                            {
                                "computehost_id": h["id"],
                                "name": name,
                                "value": value,
                                "number": host_query.as_number(value),
                            }
                        )
                session.execute(
                    sa.insert(host_models.ComputeHostCapability), caps
                )
                session.execute(
                    sa.insert(models.HostPoolMember),
                    [
                        {"pool_id": pool_id, "hostname": h["name"]}
                        for h in chunk
                    ],
                )
        self._hosts = hosts
        for resource, hypervisor in FILTERS:
            self._by_filter[json.dumps([resource, hypervisor])] = [
                h["id"] for h in hosts if matches(h, resource, hypervisor)
            ]

    def leases(self, count, batch=5000, finished=False):
        """Insert ``count`` leases; return how many windows were refused
        (fewer free matching hosts than asked) and drawn again.

        :param finished: leases of the past twelve months, ended as the
            event loop leaves them (TERMINATED, events DONE, reservation
            deleted); their allocations stay, as the service keeps them.
        """
        refused = 0
        cleaning = datetime.timedelta(minutes=CONF[HOST_TYPE].cleaning_time)
        before = datetime.timedelta(
            minutes=CONF.manager.minutes_before_end_lease
        )
        now = utcnow()
        done = 0
        while done < count:
            rows = collections.defaultdict(list)
            while done < count and len(rows["leases"]) < batch:
                if finished:
                    start, end = past_window(self._rng, now)
                else:
                    start, end = random_window(self._rng, now)
                request = random_request(self._rng)
                chosen = self._choose(request, start, end + cleaning)
                if chosen is None:
                    refused += 1
                    continue
                self._add_rows(
                    rows, done, request, (start, end, before), now, finished
                )
                rows["allocations"].extend(
                    {
                        "reservation_id": rows["reservations"][-1]["id"],
                        "computehost_id": host_id,
                        "start_date": start,
                        "end_date": end + cleaning,
                    }
                    for host_id in chosen
                )
                done += 1
            with db_api.writer() as session:
                for model, key in (
                    (models.Lease, "leases"),
                    (models.Reservation, "reservations"),
                    (host_models.ComputeHostReservation, "host_reservations"),
                    (models.Event, "events"),
                    (host_models.ComputeHostAllocation, "allocations"),
                ):
                    session.execute(sa.insert(model), rows[key])
        return refused

    def _choose(self, request, start, end):
        resource = json.loads(request["resource_properties"] or "null")
        hypervisor = json.loads(request["hypervisor_properties"] or "null")
        matching = self._by_filter[json.dumps([resource, hypervisor])]
        wanted = request["max"]
        tries = min(len(matching), 4 * wanted + 12)
        chosen = []
        for host_id in self._rng.sample(matching, tries):
            if self._free(host_id, start, end):
                chosen.append(host_id)
                if len(chosen) == wanted:
                    break
        if len(chosen) < request["min"]:
            return None
        for host_id in chosen:
            index = bisect.bisect_left(self._starts[host_id], start)
            self._starts[host_id].insert(index, start)
            self._ends[host_id].insert(index, end)
        return chosen

    def _free(self, host_id, start, end):
        starts, ends = self._starts[host_id], self._ends[host_id]
        index = bisect.bisect_left(starts, end)
        # Allocations are disjoint: only the last one starting before
        # ``end`` can reach into [start, end).
        return index == 0 or ends[index - 1] <= start

    @staticmethod
    def _add_rows(rows, index, request, window, now, finished):
        start, end, before = window
        if finished:
            name = f"finished-{index:06d}"
            lease_status = states.LeaseStatus.TERMINATED
            reservation_status = states.ReservationStatus.DELETED
        else:
            name = f"existing-{index:06d}"
            lease_status = states.LeaseStatus.PENDING
            reservation_status = states.ReservationStatus.PENDING
        created = start - datetime.timedelta(days=1) if finished else now
        lease_id = str(uuid.uuid4())
        reservation_id = str(uuid.uuid4())
        host_reservation_id = str(uuid.uuid4())
        rows["leases"].append(
            {
                "id": lease_id,
                "name": name,
                "project_id": harness.PROJECT,
                "user_id": harness.USER,
                "start_date": start,
                "end_date": end,
                "before_end_date": max(end - before, start),
                "status": lease_status,
                "degraded": False,
                "created_at": created,
                "updated_at": end if finished else None,
            }
        )
        rows["reservations"].append(
            {
                "id": reservation_id,
                "lease_id": lease_id,
                "resource_type": HOST_TYPE,
                "resource_id": host_reservation_id,
                "status": reservation_status,
                "missing_resources": False,
                "resources_changed": False,
                "created_at": created,
                # Set when the plugin's resource id is recorded, and when
                # the lease ends.
                "updated_at": end if finished else now,
            }
        )
        rows["host_reservations"].append(
            {
                "id": host_reservation_id,
                "reservation_id": reservation_id,
                "count_min": request["min"],
                "count_max": request["max"],
                "hypervisor_properties": request["hypervisor_properties"],
                "resource_properties": request["resource_properties"],
                "before_end": "default",
                "on_end": "default",
            }
        )
        for event_type, when in (
            (stages.START.event_type, start),
            (stages.BEFORE_END.event_type, max(end - before, start)),
            (stages.END.event_type, end),
        ):
            rows["events"].append(
                {
                    "id": str(uuid.uuid4()),
                    "lease_id": lease_id,
                    "event_type": event_type,
                    "time": when,
                    "created_at": created,
                    **(
                        {
                            "status": states.EventStatus.DONE,
                            "attempts": 1,
                            "claimed_by": "bench",
                            "claimed_at": when,
                            "updated_at": when,
                        }
                        if finished
                        else {
                            "status": states.EventStatus.UNDONE,
                            "attempts": 0,
                        }
                    ),
                }
            )


class ManagerLoader:
    """Writes hosts and leases through the manager's own code: the host
    inventory's create and ``LeaseManager.create``, one transaction each."""

    def __init__(self, rng):
        from climate.manager import leases

        self._rng = rng
        self._plugin = plugins.load([HOST_PLUGIN])[HOST_TYPE]
        self._manager = leases.LeaseManager(plugins={HOST_TYPE: self._plugin})

    def hosts(self, hosts):
        for h in hosts:
            created = self._plugin.inventory.create(
                {
                    "name": h["name"],
                    "vcpus": h["vcpus"],
                    "memory_mb": h["vcpus"] * 4096,
                    "local_gb": 500,
                    "gpu": h["gpu"],
                    "rack": h["rack"],
                }
            )
            h["id"] = created["id"]

    def leases(self, count):
        context = harness.member_context()
        now = utcnow()
        refused = done = 0
        while done < count:
            start, end = random_window(self._rng, now)
            try:
                self._manager.create(
                    context,
                    {
                        "name": f"existing-{done:06d}",
                        "start_date": start.strftime(harness.WIRE),
                        "end_date": end.strftime(harness.WIRE),
                        "reservations": [random_request(self._rng)],
                    },
                )
            except exceptions.NotEnoughResourcesAvailable:
                refused += 1
                continue
            done += 1
        return refused
