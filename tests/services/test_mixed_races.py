"""Randomized races of whole-host and instance leases on the same hosts,
checked against an oracle.

Eight HTTP clients create, update and delete leases at once, some of
whole hosts (``physical:host``), most of instances (``virtual:instance``:
an amount of one size, with or without affinity), their windows drawn
from a few hours so that they collide often.  Every answer must be a
success or an expected 404/409, never a 5xx.  An oracle written here,
independent of Climate's code, reads ``computehost_allocations`` again
and again while the clients run, and once more at the end, and checks
that at no moment is a host over-committed: a host held whole is held by
nothing else then, and the instances on a host never need more vCPUs,
memory or disk than it has.  At the end it also checks every surviving
lease over the API: an instance reservation holds exactly its amount,
on one host with affinity, each on its own host without, all on hosts
matching its filter; a host reservation holds min..max hosts; nothing of
a deleted lease is left.

``climate-api`` and two ``climate-manager`` processes on RabbitMQ with
PostgreSQL, the same with MariaDB, and ``climate-all`` on SQLite.
``CLIMATE_TEST_RACE_SEED`` replays a run's operations (the interleaving
still varies).
"""

import collections
import datetime
import json
import os
import random
import secrets
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from tests import helpers
from tests.services import conftest
from tests.services import test_host_races as races

pytestmark = pytest.mark.services

PLUGINS = "physical.host.plugin,virtual.instance.plugin"
CLIENTS = 8
OPERATIONS = 240
WORKLOAD_SECONDS = 20
SLOT = datetime.timedelta(minutes=30)
SLOTS = 8
LONGEST = 4
SIZES = ("vcpus", "memory_mb", "local_gb")

HOSTS = {
    "mix-0": {"vcpus": 8, "memory_mb": 16384, "local_gb": 200, "gpu": "a100"},
    "mix-1": {"vcpus": 8, "memory_mb": 8192, "local_gb": 100, "gpu": "none"},
    "mix-2": {"vcpus": 16, "memory_mb": 32768, "local_gb": 100, "gpu": "a100"},
    "mix-3": {"vcpus": 4, "memory_mb": 16384, "local_gb": 400, "gpu": "none"},
}
FILTERS = [None, None, ["==", "$gpu", "a100"], ["==", "$gpu", "none"]]
FLAVORS = [
    {"vcpus": 1, "memory_mb": 1024, "disk_gb": 10},
    {"vcpus": 2, "memory_mb": 2048, "disk_gb": 20},
    {"vcpus": 2, "memory_mb": 4096, "disk_gb": 50},
    {"vcpus": 4, "memory_mb": 4096, "disk_gb": 40},
]
AFFINITY = [None, None, True, False]
STATE_CONFLICTS = races.STATE_CONFLICTS


# The oracle ------------------------------------------------------------------


def read_allocations(engine):
    """Every allocation with its sizes (all null: the whole host), in one
    statement, and the reservations' leases."""
    allocations = sa.table(
        "computehost_allocations",
        sa.column("reservation_id"),
        sa.column("computehost_id"),
        sa.column("start_date", sa.DateTime),
        sa.column("end_date", sa.DateTime),
        *(sa.column(s) for s in SIZES),
    )
    reservations = sa.table(
        "reservations", sa.column("id"), sa.column("lease_id")
    )
    with engine.connect() as connection:
        rows = [
            r._asdict() for r in connection.execute(sa.select(allocations))
        ]
        owners = dict(connection.execute(sa.select(reservations)).all())
    return rows, owners


def over_commitments(rows, capacity):
    """Every moment a host is over-committed, as text.

    A host's load only grows where an allocation starts, so checking the
    allocations active at each start is enough.
    """
    found = []
    per_host = collections.defaultdict(list)
    for row in rows:
        per_host[str(row["computehost_id"])].append(row)
    for host_id, held in per_host.items():
        for moment in sorted({row["start_date"] for row in held}):
            active = [
                r for r in held if r["start_date"] <= moment < r["end_date"]
            ]
            whole = [r for r in active if r["vcpus"] is None]
            if whole and len(active) > 1:
                found.append(
                    f"host {host_id} at {moment}: held whole by "
                    f"{whole[0]['reservation_id']} beside "
                    f"{len(active) - 1} other allocation(s)"
                )
                continue
            for size in SIZES:
                used = sum(r[size] or 0 for r in active)
                if used > capacity[host_id][size]:
                    found.append(
                        f"host {host_id} at {moment}: {used} {size} "
                        f"promised of {capacity[host_id][size]}"
                    )
    return found


# The workload ----------------------------------------------------------------


class Workload:
    """Random creates, updates and deletes of both kinds of leases."""

    def __init__(self, deployment, base, seed, capacity):
        self.deployment = deployment
        self.base = base
        self.seed = seed
        self.capacity = capacity
        self.lock = threading.Lock()
        self.known = {}  # lease id -> "host" or "instance"
        self.deleted = set()
        self.outcomes = collections.Counter()
        self.failures = []
        self.remaining = OPERATIONS
        self.names = 0
        self.snapshots = 0
        self.seen = set()

    def run(self):
        deadline = time.monotonic() + WORKLOAD_SECONDS
        threads = [
            threading.Thread(
                target=self._client,
                args=(random.Random(self.seed * 100 + i), deadline),
                name=f"mix-client-{i}",
            )
            for i in range(CLIENTS)
        ]
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(stop,))
        watcher.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        watcher.join()
        self.failures += [
            f"seen while running: {s}" for s in sorted(self.seen)
        ]
        assert not self.failures, "\n".join(self.failures[:40])

    def _watch(self, stop):
        engine = sa.create_engine(self.deployment.db_url)
        try:
            while not stop.is_set():
                rows, _ = read_allocations(engine)
                self.snapshots += 1
                self.seen.update(over_commitments(rows, self.capacity))
                stop.wait(0.05)
        except Exception as exc:
            self.failures.append(f"watcher: {exc!r}")
        finally:
            engine.dispose()

    def _take(self):
        with self.lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            return True

    def _client(self, rng, deadline):
        session = requests.Session()
        try:
            while time.monotonic() < deadline and self._take():
                roll = rng.random()
                if roll < 0.55 or not self.known:
                    self._create(session, rng)
                elif roll < 0.85:
                    self._update(session, rng)
                else:
                    self._delete(session, rng)
        except Exception as exc:
            self.failures.append(f"{threading.current_thread().name}: {exc!r}")
        finally:
            session.close()

    def _record(self, op, response, allowed, what):
        code = response.status_code
        name = None
        if code >= 400:
            try:
                name = response.json().get("error_name")
            except ValueError:
                pass
        with self.lock:
            self.outcomes[(op, code, name)] += 1
        if (code, name) not in allowed:
            self.failures.append(
                f"{op} {what} answered {code}: {response.text}"
            )
        return code

    def _create(self, session, rng):
        start = self.base + SLOT * rng.randrange(SLOTS)
        end = start + SLOT * rng.randint(1, LONGEST)
        query = rng.choice(FILTERS)
        if rng.random() < 0.3:
            kind = "host"
            count_min = rng.randint(1, 2)
            reservation = {
                "resource_type": "physical:host",
                "min": count_min,
                "max": rng.randint(count_min, 2),
            }
        else:
            kind = "instance"
            reservation = {
                "resource_type": "virtual:instance",
                "amount": rng.randint(1, 6),
                "affinity": rng.choice(AFFINITY),
                **rng.choice(FLAVORS),
            }
        if query is not None:
            reservation["resource_properties"] = json.dumps(query)
        with self.lock:
            self.names += 1
            name = f"mix-{self.names}"
        response = session.post(
            self.deployment.url + "/v1/leases",
            json={
                "name": name,
                "start_date": helpers.wire(start),
                "end_date": helpers.wire(end),
                "reservations": [reservation],
            },
            timeout=60,
        )
        code = self._record(
            f"create {kind}",
            response,
            {(201, None), (409, "NotEnoughResourcesAvailable")},
            reservation,
        )
        if code == 201:
            with self.lock:
                self.known[response.json()["lease"]["id"]] = kind

    def _update(self, session, rng):
        with self.lock:
            lease_id = rng.choice(sorted(self.known))
            kind = self.known[lease_id]
        response = session.get(
            f"{self.deployment.url}/v1/leases/{lease_id}", timeout=60
        )
        if response.status_code == 404:
            return
        reservation = response.json()["lease"]["reservations"][0]
        body = {"prolong_for": f"{30 * rng.randint(1, 2)}m"}
        if kind == "instance" and rng.random() < 0.6:
            body = {
                "reservations": [
                    {"id": reservation["id"], "amount": rng.randint(1, 6)}
                ]
            }
        response = session.put(
            f"{self.deployment.url}/v1/leases/{lease_id}",
            json=body,
            timeout=60,
        )
        self._record(
            f"update {kind}",
            response,
            {
                (200, None),
                (404, "LeaseNotFound"),
                (409, "NotEnoughResourcesAvailable"),
                *((409, name) for name in STATE_CONFLICTS),
            },
            body,
        )

    def _delete(self, session, rng):
        with self.lock:
            live = sorted(set(self.known) - self.deleted)
            if not live:
                return
            lease_id = rng.choice(live)
        response = session.delete(
            f"{self.deployment.url}/v1/leases/{lease_id}", timeout=60
        )
        code = self._record(
            "delete",
            response,
            {
                (204, None),
                (404, "LeaseNotFound"),
                *((409, name) for name in STATE_CONFLICTS),
            },
            lease_id,
        )
        if code == 204:
            with self.lock:
                self.deleted.add(lease_id)


def check(deployment, workload, capacity, names):
    """The oracle on the final state."""
    leases = races.read_leases(deployment)
    engine = sa.create_engine(deployment.db_url, poolclass=sa.pool.NullPool)
    try:
        rows, owners = read_allocations(engine)
    finally:
        engine.dispose()
    problems = over_commitments(rows, capacity)
    if set(leases) != set(workload.known) - workload.deleted:
        problems.append("the leases left differ from those created")
    held = collections.defaultdict(list)
    for row in rows:
        lease_id = owners.get(row["reservation_id"])
        if lease_id not in leases:
            problems.append(f"allocation {row} of no surviving lease")
        held[row["reservation_id"]].append(row)
    gpu = {
        host_id: {"gpu": HOSTS[name]["gpu"]} for host_id, name in names.items()
    }
    kinds = collections.Counter()
    for lease_id, lease in leases.items():
        (reservation,) = lease["reservations"]
        kinds[reservation["resource_type"]] += 1
        taken = held[reservation["id"]]
        text = reservation.get("resource_properties") or ""
        query = json.loads(text) if text else None
        for row in taken:
            if not races.matches(query, gpu[str(row["computehost_id"])]):
                problems.append(f"lease {lease_id} outside its filter {text}")
        if reservation["resource_type"] == "physical:host":
            if not reservation["min"] <= len(taken) <= reservation["max"]:
                problems.append(f"lease {lease_id} holds {len(taken)} hosts")
            if any(r["vcpus"] is not None for r in taken):
                problems.append(f"host lease {lease_id} holds a share")
            continue
        counts = [r["vcpus"] // reservation["vcpus"] for r in taken]
        for row, count in zip(taken, counts, strict=True):
            wanted = (
                count * reservation["vcpus"],
                count * reservation["memory_mb"],
                count * reservation["disk_gb"],
            )
            if tuple(row[s] for s in SIZES) != wanted:
                problems.append(f"lease {lease_id} share {row} not whole")
        if sum(counts) != reservation["amount"]:
            problems.append(
                f"lease {lease_id} holds {sum(counts)} instances, not "
                f"{reservation['amount']}"
            )
        if reservation["affinity"] is True and len(taken) != 1:
            problems.append(f"lease {lease_id}: affinity on {len(taken)}")
        if reservation["affinity"] is False and max(counts) != 1:
            problems.append(f"lease {lease_id}: anti-affinity {counts}")
        shown = sorted(h["instances"] for h in reservation["hosts"])
        if shown != sorted(counts):
            problems.append(f"lease {lease_id} shows {shown}, holds {counts}")
    assert not problems, "\n".join(problems[:40])
    return kinds


def run_mixed(deployment, started):
    names, capacity = {}, {}
    for name, values in HOSTS.items():
        response = requests.post(
            deployment.url + "/v1/os-hosts",
            json={"name": name, **values},
            headers=races.ADMIN,
            timeout=30,
        )
        assert response.status_code == 201, response.text
        host = response.json()["host"]
        names[str(host["id"])] = name
        capacity[str(host["id"])] = {s: values[s] for s in SIZES}
    seed = int(
        os.environ.get("CLIMATE_TEST_RACE_SEED") or secrets.randbelow(10**6)
    )
    base = (helpers.utcnow() + datetime.timedelta(days=2)).replace(
        minute=0, second=0, microsecond=0
    )
    workload = Workload(deployment, base, seed, capacity)
    began = time.monotonic()
    try:
        workload.run()
        kinds = check(deployment, workload, capacity, names)
        deployment.check_logs()
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from None
    took = time.monotonic() - began
    done = OPERATIONS - workload.remaining
    outcomes = ", ".join(
        f"{op} {code}{' ' + name if name else ''}: {count}"
        for (op, code, name), count in sorted(
            workload.outcomes.items(), key=lambda i: (i[0][0], i[0][1])
        )
    )
    print(
        f"\n{deployment.name} mixed (seed {seed}): started in "
        f"{began - started:.1f}s; {done} operations in {took:.1f}s; "
        f"{outcomes}; states checked while running: {workload.snapshots}; "
        f"leases left: {dict(kinds)}"
    )
    assert done >= OPERATIONS // 4, f"only {done} operations"
    granted = collections.Counter()
    for (op, code, _), count in workload.outcomes.items():
        if op.startswith("create"):
            granted[(op, code)] += count
    # The run raced for something: both kinds granted, some refused.
    assert granted[("create instance", 201)] >= 5, granted
    assert granted[("create host", 201)] >= 1, granted
    assert sum(c for (_, code), c in granted.items() if code == 409), granted


@pytest.mark.parametrize("backend", conftest.BACKENDS)
def test_mixed_races_distributed(
    backend,
    tmp_path,
    make_database,
    transport_url,
    climate_processes,
    run_climate,
):
    started = time.monotonic()
    deployment = races.distributed(
        backend,
        tmp_path,
        make_database,
        transport_url,
        climate_processes,
        run_climate,
        plugins=PLUGINS,
    )
    run_mixed(deployment, started)


def test_mixed_races_sqlite(tmp_path, climate_processes):
    started = time.monotonic()
    run_mixed(races.embedded(tmp_path, climate_processes, PLUGINS), started)
