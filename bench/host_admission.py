"""Host admission under load: create latency and SQL statements per create.

Registers ``--hosts H`` physical hosts (vcpus 8/16/32/64, capabilities gpu
in {a100, h100, none} and rack 1..50) and ``--leases L`` existing leases,
each with a physical:host reservation of 1-4 hosts in a random window of
the next six months, then starts the real ``climate-all`` on that database
and, over HTTP (keep-alive), creates ``--creates M`` leases asking for 1-4
hosts with property filters in random future windows.  It prints:

* the load time of the hosts and of the leases;
* create latency (p50, p95, p99, max), also split by answer, and the share
  of creates answered 201 and 409, with the service's CPU time per create;
* SQL statements per create, counted inside the service: it is restarted
  with ``CLIMATE_COUNT_SQL`` (see ``climate/db/engine.py``) and the
  statements the request's thread sends are split into admission (host,
  capability and allocation tables), the host reservation row, lease rows
  (leases, reservations, events) and transaction control (BEGIN, COMMIT,
  ROLLBACK); statements of other threads (the event loop, woken by each
  create) are counted apart.  Latencies come from a run without counting.

``--load bulk`` (default) writes the rows with multi-row INSERTs, a few
thousand leases per transaction; hosts for each lease are picked at random
among the free matching ones (no tightest-fit order), otherwise the rows
are those the service writes (``--load manager`` goes through the
manager's own create code, one transaction per lease: exact, but slow for
large L).  ``--past P`` adds P leases that ended in the past year, with
the allocations the service keeps for them: admission must not slow down
as history piles up.  It prints figures; it never asserts on them.

    .venv/bin/python bench/host_admission.py [--hosts H] [--leases L]
        [--creates M] [--past P] [--load bulk|manager] [--explain]
        [--show-sql]
"""

import argparse
import bisect
import collections
import datetime
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid

import harness  # bench/harness.py: the script's directory is on sys.path
import requests
import sqlalchemy as sa

import climate  # noqa: F401  (selects oslo.service's threading backend)
from climate import conf as climate_conf
from climate import exceptions, states
from climate.common import dates, host_query
from climate.db import api as db_api
from climate.db import engine as db_engine
from climate.db import migration, models

CONF = climate_conf.CONF
HOST_TYPE = "physical:host"

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
                session.execute(sa.insert(models.ComputeHost), rows)
                ids = dict(
                    session.execute(
                        sa.select(
                            models.ComputeHost.hypervisor_hostname,
                            models.ComputeHost.id,
                        ).where(
                            models.ComputeHost.hypervisor_hostname.in_(
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
                session.execute(sa.insert(models.ComputeHostCapability), caps)
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
                    (models.ComputeHostReservation, "host_reservations"),
                    (models.Event, "events"),
                    (models.ComputeHostAllocation, "allocations"),
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
            (states.EventType.START_LEASE, start),
            (states.EventType.BEFORE_END_LEASE, max(end - before, start)),
            (states.EventType.END_LEASE, end),
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
        from climate.plugins.hosts import plugin

        self._rng = rng
        self._plugin = plugin.PhysicalHostPlugin()
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


# Measurements -------------------------------------------------------------


def create_body(name, rng, now):
    start, end = random_window(rng, now)
    return {
        "lease": {
            "name": name,
            "start_date": start.strftime(harness.WIRE),
            "end_date": end.strftime(harness.WIRE),
            "reservations": [random_request(rng)],
            "events": [],
        }
    }


def post_create(session, base, body):
    began = time.perf_counter()
    response = session.post(f"{base}/v1/leases", json=body)
    elapsed = time.perf_counter() - began
    if response.status_code not in (201, 409):
        raise RuntimeError(
            f"create failed: {response.status_code} {response.text}"
        )
    return response.status_code, elapsed


def time_creates(session, base, count, warmup, rng):
    """``{status: [seconds]}`` of ``count`` creates after ``warmup``."""
    now = utcnow()
    by_status = collections.defaultdict(list)
    for index in range(warmup + count):
        body = create_body(f"bench-{index:06d}", rng, now)
        status, elapsed = post_create(session, base, body)
        if index >= warmup:
            by_status[status].append(elapsed)
    return by_status


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)")
_ADMISSION_TABLES = {
    "computehosts",
    "computehost_extra_capabilities",
    "computehost_allocations",
}
_LEASE_TABLES = {"leases", "reservations", "events"}


def category(sql):
    """What a logged statement is for, from its SQL text."""
    if sql.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")):
        return "transaction"
    match = _TABLE.search(sql)
    table = match.group(1) if match else ""
    if table in _ADMISSION_TABLES:
        return "admission"
    if table == "computehost_reservations":
        return "host reservation"
    if table in _LEASE_TABLES:
        return "lease rows"
    return "other"


CATEGORIES = (
    "admission",
    "host reservation",
    "lease rows",
    "transaction",
    "other",
)


def count_statements(session, base, count, rng, log_path):
    """Create ``count`` leases and split the statements each one causes.

    Returns ``{status: [(request-thread statements, other statements,
    {category: n}, [sql])]}``.  The create runs in one API thread (the
    in-process RPC calls the manager there), which is the only thread
    that logs while the request is served, apart from the event loop.
    """
    now = utcnow()
    results = collections.defaultdict(list)
    offset = os.path.getsize(log_path)
    for index in range(count):
        body = create_body(f"counted-{index:06d}", rng, now)
        status, _ = post_create(session, base, body)
        # The event loop, woken by the create, runs on: let it finish so
        # its statements are not counted with the next request.
        time.sleep(0.05)
        with open(log_path) as log:
            log.seek(offset)
            lines = log.read().splitlines()
            offset = log.tell()
        mine, others = [], 0
        for line in lines:
            thread, sql = line.split("\t", 1)
            if thread.startswith("waitress"):
                mine.append(sql)
            else:
                others += 1
        split = collections.Counter(category(sql) for sql in mine)
        results[status].append((len(mine), others, split, mine))
    return results


def print_counts(results):
    for status in sorted(results):
        rows = results[status]
        total = sorted(r[0] for r in rows)
        others = sorted(r[1] for r in rows)
        print(
            f"  {status}: {_spread(total)} statements in the request "
            f"(n={len(rows)})"
        )
        for name in CATEGORIES:
            values = sorted(r[2].get(name, 0) for r in rows)
            if any(values):
                print(f"       {name:17s} {_spread(values)}")
        print(f"       {'event loop':17s} {_spread(others)} (other thread)")


def _spread(values):
    low, high = values[0], values[-1]
    mean = sum(values) / len(values)
    if low == high:
        return f"{low}"
    return f"{mean:.1f} (min {low}, max {high})"


def explain(rng):
    """Print the plan and the time of the admission's candidate query for
    a few requests, as ``climate.db.allocations`` builds it (SQLite)."""
    from climate.db import allocations as db_allocations
    from climate.db import hosts as db_hosts

    now = utcnow()
    for resource, hypervisor in FILTERS:
        start, end = random_window(rng, now)
        trees = [
            host_query.parse(json.dumps(q), "query")
            for q in (resource, hypervisor)
            if q is not None
        ]
        H = models.ComputeHost
        condition = sa.and_(
            H.reservable.is_(True), *(db_hosts.compile_query(t) for t in trees)
        )
        free = sa.not_(db_allocations._busy(start, end, None))
        with db_api.reader() as session:
            query = db_allocations._candidates(
                condition, free, start, end, set(), session.bind.dialect
            ).limit(4)
            compiled = query.compile(
                session.bind, compile_kwargs={"literal_binds": True}
            )
            sql = str(compiled)
            plan = session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)).all()
            began = time.perf_counter()
            session.execute(sa.text(sql)).all()
            elapsed = time.perf_counter() - began
        print(
            f"\n  filter {json.dumps([resource, hypervisor])}: "
            f"{elapsed * 1000:.2f} ms"
        )
        for row in plan:
            print(f"    {row[0]:3d} {row[1]:3d}  {row[3]}")


# Main ---------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000, metavar="H")
    parser.add_argument("--leases", type=int, default=10_000, metavar="L")
    parser.add_argument(
        "--creates",
        type=int,
        default=200,
        metavar="M",
        help="timed lease creates over HTTP (200)",
    )
    parser.add_argument(
        "--counted",
        type=int,
        default=50,
        metavar="K",
        help="creates whose SQL statements are counted, in a second run "
        "of the service (50; 0 skips it)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="creates before timing starts, not counted (10)",
    )
    parser.add_argument(
        "--past",
        type=int,
        default=0,
        metavar="P",
        help="also leases that ended in the past twelve months, whose "
        "allocations stay in the table (0; --load bulk only)",
    )
    parser.add_argument(
        "--load",
        choices=("bulk", "manager"),
        default="bulk",
        help="how existing hosts and leases are written (bulk)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print SQLite's plan and time of the candidate query",
    )
    parser.add_argument(
        "--show-sql",
        action="store_true",
        help="print the statements of one counted 201 create",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the state directory (database, config, service log)",
    )
    return parser.parse_args()


def main():
    args = parse_args()
    if args.past and args.load != "bulk":
        sys.exit("--past needs --load bulk: the service refuses past leases")
    rng = random.Random(args.seed)
    state_dir = tempfile.mkdtemp(prefix="climate-bench-hosts-")
    port = harness.free_port()
    config_path = harness.write_config(state_dir, port)
    base = f"http://127.0.0.1:{port}"

    print(harness.machine())
    print(
        f"H = {args.hosts} hosts, L = {args.leases} leases "
        f"(+ {args.past} finished; --load {args.load}); state: {state_dir}"
    )
    print(f"load average before: {harness.load_average()}")

    CONF(["--config-file", config_path], project="climate")
    os.makedirs(CONF.state_path, exist_ok=True)
    migration.upgrade("head")
    loader = (BulkLoader if args.load == "bulk" else ManagerLoader)(rng)
    hosts = make_hosts(args.hosts, rng)
    began = time.perf_counter()
    loader.hosts(hosts)
    print(f"loaded {args.hosts} hosts in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    refused = loader.leases(args.leases)
    elapsed = time.perf_counter() - began
    with db_api.reader() as session:
        allocations = session.scalar(
            sa.select(sa.func.count(models.ComputeHostAllocation.id))
        )
    print(
        f"loaded {args.leases} leases ({allocations} allocations, "
        f"{refused} windows drawn again for lack of hosts) in "
        f"{elapsed:.1f} s ({args.leases / elapsed:,.0f} leases/s)"
    )
    if args.past:
        began = time.perf_counter()
        loader.leases(args.past, finished=True)
        print(
            f"loaded {args.past} finished leases of the past year in "
            f"{time.perf_counter() - began:.1f} s"
        )
    if args.explain:
        print("\ncandidate query (EXPLAIN QUERY PLAN, time on a warm cache):")
        explain(rng)
    db_api.dispose()
    database = os.path.join(state_dir, "climate.sqlite")
    print(f"database: {os.path.getsize(database) / 2**20:.1f} MiB")

    with harness.running(state_dir, config_path, base, timeout=120) as server:
        print(f"climate-all pid {server.process.pid} on {base}")
        with requests.Session() as session:
            cpu_before = server.cpu_seconds()
            by_status = time_creates(
                session, base, args.creates, args.warmup, rng
            )
            cpu_after = server.cpu_seconds()

    timed = sum(len(v) for v in by_status.values())
    print(
        "\ncreate, 1-4 hosts with property filters, HTTP POST "
        "(goal p95 <= 25 ms at H=1000, L=10000):"
    )
    every = [t for v in by_status.values() for t in v]
    print(f"  all: {harness.summary(every, width=7)}")
    for status in sorted(by_status):
        share = len(by_status[status]) / timed * 100
        line = harness.summary(by_status[status], width=7)
        print(f"  {status}: {line}  {share:5.1f} %")
    if cpu_before is not None:
        per_create = (cpu_after - cpu_before) / (args.warmup + args.creates)
        print(
            f"  service CPU per create: {per_create * 1000:.2f} ms "
            "(user + system, /proc)"
        )

    if args.counted:
        statements = os.path.join(state_dir, "statements.log")
        open(statements, "w").close()
        with (
            harness.running(
                state_dir,
                config_path,
                base,
                env={db_engine.COUNT_SQL_ENV: statements},
                timeout=120,
            ),
            requests.Session() as session,
        ):
            results = count_statements(
                session, base, args.counted, rng, statements
            )
        print(
            "\nSQL statements per create (second run, CLIMATE_COUNT_SQL; "
            "BEGIN and COMMIT count):"
        )
        print_counts(results)
        if args.show_sql and results.get(201):
            print("\n  statements of one 201 create:")
            for sql in results[201][0][3]:
                print(f"    [{category(sql)}] {sql[:150]}")

    print(f"\nload average after: {harness.load_average()}")
    if args.keep:
        print(f"\nkept {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
