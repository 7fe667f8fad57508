"""Instance admission under load: create latency and SQL statements per
create of ``virtual:instance`` leases.

Registers ``--hosts H`` hosts (vcpus 8/16/32/64, 4 GB of memory a vCPU,
500 GB of disk, capabilities gpu and rack, as ``bench/host_admission.py``
does) and ``--leases L`` existing leases through the manager's own create
code (one transaction each, so every placement is the service's): most
ask for 1-6 instances of a small flavor with or without affinity, one in
five for 1-2 whole hosts, in random windows of the next six months.  It
then starts the real ``climate-all`` (both plugins, the default) on that
database and, over HTTP, creates ``--creates M`` instance leases.  It
prints create latency (p50, p95, p99, max) by answer, and SQL statements
per create counted inside the service in a second run
(``CLIMATE_COUNT_SQL``, see ``climate/db/engine.py``), split into
admission (host and allocation tables), the instance reservation row,
lease rows and transaction control.  It prints figures; it never asserts
on them.

    .venv/bin/python bench/instance_admission.py [--hosts H] [--leases L]
        [--creates M] [--counted K]
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import tempfile
import time

import harness  # bench/harness.py: the script's directory is on sys.path
import host_data  # bench/host_data.py: the hosts and their loading
import requests
import sqlalchemy as sa

import climate  # noqa: F401  (selects oslo.service's threading backend)
from climate import conf as climate_conf
from climate import exceptions, plugins
from climate.db import api as db_api
from climate.db import engine as db_engine
from climate.db import migration
from climate.manager import leases as lease_manager
from climate.plugins.hosts import models as host_models

CONF = climate_conf.CONF
PLUGINS = ["physical.host.plugin", "virtual.instance.plugin"]
FLAVORS = (
    {"vcpus": 1, "memory_mb": 2048, "disk_gb": 20},
    {"vcpus": 2, "memory_mb": 4096, "disk_gb": 40},
    {"vcpus": 4, "memory_mb": 8192, "disk_gb": 80},
    {"vcpus": 8, "memory_mb": 16384, "disk_gb": 100},
)
FILTERS = (
    None,
    None,
    ["==", "$gpu", "a100"],
    ["and", ["<=", "$rack", "10"], ["!=", "$gpu", "none"]],
)


def instance_request(rng):
    query = rng.choice(FILTERS)
    return {
        "resource_type": "virtual:instance",
        "amount": rng.randint(1, 6),
        "affinity": rng.choice((None, None, True, False)),
        "resource_properties": json.dumps(query) if query else "",
        **rng.choice(FLAVORS),
    }


def host_request(rng):
    count = rng.randint(1, 2)
    return {"resource_type": "physical:host", "min": count, "max": count}


def load_leases(count, rng):
    """Create ``count`` leases through ``LeaseManager``; return how many
    windows were refused and drawn again."""
    manager = lease_manager.LeaseManager(plugins.load(PLUGINS))
    context = harness.member_context()
    now = host_data.utcnow()
    refused = done = 0
    while done < count:
        start, end = host_data.random_window(rng, now)
        request = (
            host_request(rng) if rng.random() < 0.2 else instance_request(rng)
        )
        try:
            manager.create(
                context,
                {
                    "name": f"existing-{done:06d}",
                    "start_date": start.strftime(harness.WIRE),
                    "end_date": end.strftime(harness.WIRE),
                    "reservations": [request],
                },
            )
        except exceptions.NotEnoughResourcesAvailable:
            refused += 1
            continue
        done += 1
    return refused


def create_body(name, rng, now):
    start, end = host_data.random_window(rng, now)
    return {
        "lease": {
            "name": name,
            "start_date": start.strftime(harness.WIRE),
            "end_date": end.strftime(harness.WIRE),
            "reservations": [instance_request(rng)],
        }
    }


def post_create(base, body):
    """POST one create on a new connection; its status and seconds."""
    began = time.perf_counter()
    response = requests.post(f"{base}/v1/leases", json=body, timeout=60)
    elapsed = time.perf_counter() - began
    if response.status_code not in (201, 409):
        raise RuntimeError(
            f"create failed: {response.status_code} {response.text}"
        )
    return response.status_code, elapsed


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)")


def category(sql):
    if sql.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")):
        return "transaction"
    match = _TABLE.search(sql)
    table = match.group(1) if match else ""
    if table.startswith("computehost") or table == "host_provisioning":
        return "admission"
    if table == "instance_reservations":
        return "instance reservation"
    if table in ("leases", "reservations", "events"):
        return "lease rows"
    return "other"


def count_statements(base, count, rng, log_path):
    """``{status: [(statements of the request's thread, {category: n})]}``."""
    now = host_data.utcnow()
    results = collections.defaultdict(list)
    offset = os.path.getsize(log_path)
    for index in range(count):
        status, _ = post_create(
            base, create_body(f"counted-{index:06d}", rng, now)
        )
        time.sleep(0.05)  # the event loop, woken, finishes first
        with open(log_path) as log:
            log.seek(offset)
            lines = log.read().splitlines()
            offset = log.tell()
        mine = [
            line.split("\t", 1)[1]
            for line in lines
            if line.startswith("waitress")
        ]
        results[status].append(
            (len(mine), collections.Counter(category(s) for s in mine))
        )
    return results


def _spread(values):
    values = sorted(values)
    if values[0] == values[-1]:
        return f"{values[0]}"
    mean = sum(values) / len(values)
    return f"{mean:.1f} (min {values[0]}, max {values[-1]})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000, metavar="H")
    parser.add_argument("--leases", type=int, default=10_000, metavar="L")
    parser.add_argument("--creates", type=int, default=200, metavar="M")
    parser.add_argument("--counted", type=int, default=50, metavar="K")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the state directory (database, config, service log)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    state_dir = tempfile.mkdtemp(prefix="climate-bench-instances-")
    port = harness.free_port()
    config_path = harness.write_config(state_dir, port)
    base = f"http://127.0.0.1:{port}"
    print(harness.machine())
    print(f"H = {args.hosts} hosts, L = {args.leases} leases; {state_dir}")
    print(f"load average before: {harness.load_average()}")

    CONF(["--config-file", config_path], project="climate")
    os.makedirs(CONF.state_path, exist_ok=True)
    migration.upgrade("head")
    began = time.perf_counter()
    host_data.BulkLoader(rng).hosts(host_data.make_hosts(args.hosts, rng))
    print(f"loaded {args.hosts} hosts in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    refused = load_leases(args.leases, rng)
    A = host_models.ComputeHostAllocation
    with db_api.reader() as session:
        shares, whole = (
            session.scalar(sa.select(sa.func.count(A.id)).where(condition))
            for condition in (A.vcpus.is_not(None), A.vcpus.is_(None))
        )
    print(
        f"loaded {args.leases} leases ({shares} instance shares, {whole} "
        f"whole-host allocations; {refused} windows drawn again) in "
        f"{time.perf_counter() - began:.1f} s"
    )
    db_api.dispose()

    with harness.running(state_dir, config_path, base, timeout=120):
        now = host_data.utcnow()
        by_status = collections.defaultdict(list)
        for index in range(args.warmup + args.creates):
            status, elapsed = post_create(
                base, create_body(f"bench-{index:06d}", rng, now)
            )
            if index >= args.warmup:
                by_status[status].append(elapsed)
    print(
        "\ncreate of 1-6 instances (affinity true/false/null, property "
        "filters), HTTP POST on a new connection (goal p95 <= 25 ms at "
        "H=1000, L=10000):"
    )
    every = [t for v in by_status.values() for t in v]
    print(f"  all: {harness.summary(every, width=7)}")
    for status in sorted(by_status):
        print(f"  {status}: {harness.summary(by_status[status], width=7)}")

    if args.counted:
        log_path = os.path.join(state_dir, "statements.log")
        open(log_path, "w").close()
        with harness.running(
            state_dir,
            config_path,
            base,
            env={db_engine.COUNT_SQL_ENV: log_path},
            timeout=120,
        ):
            results = count_statements(base, args.counted, rng, log_path)
        print("\nSQL statements per create (BEGIN and COMMIT count):")
        for status in sorted(results):
            rows = results[status]
            print(
                f"  {status}: {_spread([r[0] for r in rows])} in the "
                f"request (n={len(rows)})"
            )
            names = sorted({n for r in rows for n in r[1]})
            for name in names:
                print(
                    f"       {name:21s} {_spread([r[1][name] for r in rows])}"
                )
    print(f"\nload average after: {harness.load_average()}")
    if args.keep:
        print(f"kept {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
