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
import collections
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time

import harness  # bench/harness.py: the script's directory is on sys.path
import host_data  # bench/host_data.py: hosts, requests and their loading
import requests
import sqlalchemy as sa

import climate  # noqa: F401  (selects oslo.service's threading backend)
from climate import conf as climate_conf
from climate.common import host_query
from climate.db import api as db_api
from climate.db import engine as db_engine
from climate.db import migration
from climate.plugins.hosts import models as host_models

CONF = climate_conf.CONF


# Measurements -------------------------------------------------------------


def create_body(name, rng, now):
    start, end = host_data.random_window(rng, now)
    return {
        "lease": {
            "name": name,
            "start_date": start.strftime(harness.WIRE),
            "end_date": end.strftime(harness.WIRE),
            "reservations": [host_data.random_request(rng)],
            "events": [],
        }
    }


def post_create(session, base, body):
    """POST one create; ``session`` None opens a new connection, as a
    client that does not keep connections alive does."""
    began = time.perf_counter()
    response = (session or requests).post(f"{base}/v1/leases", json=body)
    elapsed = time.perf_counter() - began
    if response.status_code not in (201, 409):
        raise RuntimeError(
            f"create failed: {response.status_code} {response.text}"
        )
    return response.status_code, elapsed


def time_creates(session, base, count, warmup, rng):
    """``{status: [seconds]}`` of ``count`` creates after ``warmup``."""
    now = host_data.utcnow()
    by_status = collections.defaultdict(list)
    for index in range(warmup + count):
        body = create_body(f"bench-{index:06d}", rng, now)
        status, elapsed = post_create(session, base, body)
        if index >= warmup:
            by_status[status].append(elapsed)
    return by_status


def time_lists(count, base):
    """Seconds of ``count`` listings of a page of 1,000 leases, each on a
    new connection."""
    timings = []
    for _ in range(count):
        began = time.perf_counter()
        response = requests.get(f"{base}/v1/leases?limit=1000", timeout=60)
        timings.append(time.perf_counter() - began)
        response.raise_for_status()
    return timings


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
    now = host_data.utcnow()
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
    a few requests, as ``climate.plugins.hosts.db.allocations`` builds it
    (SQLite)."""
    from climate.plugins.hosts.db import allocations as db_allocations
    from climate.plugins.hosts.db import hosts as db_hosts

    now = host_data.utcnow()
    for resource, hypervisor in host_data.FILTERS:
        start, end = host_data.random_window(rng, now)
        trees = [
            host_query.parse(json.dumps(q), "query")
            for q in (resource, hypervisor)
            if q is not None
        ]
        H = host_models.ComputeHost
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
        "--keep-alive",
        action="store_true",
        help="reuse one HTTP connection (default: a new connection per "
        "request, the black-box measure)",
    )
    parser.add_argument(
        "--lists",
        type=int,
        default=20,
        metavar="N",
        help="time N listings of a page of 1,000 leases (0: none)",
    )
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
    if args.load == "bulk":
        loader = host_data.BulkLoader(rng)
    else:
        loader = host_data.ManagerLoader(rng)
    hosts = host_data.make_hosts(args.hosts, rng)
    began = time.perf_counter()
    loader.hosts(hosts)
    print(f"loaded {args.hosts} hosts in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    refused = loader.leases(args.leases)
    elapsed = time.perf_counter() - began
    with db_api.reader() as session:
        allocations = session.scalar(
            sa.select(sa.func.count(host_models.ComputeHostAllocation.id))
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
                session if args.keep_alive else None,
                base,
                args.creates,
                args.warmup,
                rng,
            )
            cpu_after = server.cpu_seconds()
            listings = time_lists(args.lists, base)

    timed = sum(len(v) for v in by_status.values())
    connection = (
        "one kept-alive connection"
        if args.keep_alive
        else "a new connection per request"
    )
    print(
        f"\ncreate, 1-4 hosts with property filters, HTTP POST over "
        f"{connection} (goals p95 <= 10 ms at H=100, <= 25 ms at H=1000, "
        "L=2000):"
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

    if listings:
        print(
            "\nGET /v1/leases?limit=1000, a page of 1,000 leases with their "
            "reservations and events (goal <= 60 ms):"
        )
        print(f"  {harness.summary(listings, width=7)}")

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
