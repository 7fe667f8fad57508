"""Lease latency of the embedded service: time to ACTIVE and create latency.

Starts the real ``climate-all`` on a free loopback port with its own state
directory, after filling its database with ``--existing`` reservation-less
leases spread over the coming months, then measures over HTTP:

* how long a lease that starts "now" takes to read ACTIVE (goal: <= 1 s);
* how long a create of a future reservation-less lease takes (goal: p95 <=
  10 ms with 10,000 existing leases).

``--in-process`` adds the create latency through ``climate.manager.rpcapi``
in this process (no HTTP), to tell API overhead from manager and DB time.
It prints figures; it never asserts on them.

    .venv/bin/python bench/lease_latency.py [--existing N] [--creates M]
"""

import argparse
import datetime
import os
import random
import shutil
import tempfile
import time

import harness  # bench/harness.py: the script's directory is on sys.path
import requests

import climate  # noqa: F401  (selects oslo.service's threading backend)
from climate import conf as climate_conf
from climate import rpc
from climate.db import api as db_api
from climate.db import migration
from climate.manager import leases, rpcapi, service

CONF = climate_conf.CONF


# Set-up -------------------------------------------------------------------


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def future_window(rng, now, months=6):
    """A random window starting within the next ``months`` months."""
    start = now + datetime.timedelta(
        days=1, minutes=rng.randrange(months * 30 * 24 * 60)
    )
    end = start + datetime.timedelta(minutes=rng.randrange(60, 7 * 24 * 60))
    return start.strftime(harness.WIRE), end.strftime(harness.WIRE)


def populate(count, rng, batch=1000):
    """Insert ``count`` leases through the manager's own create code.

    Same rows as POST /v1/leases makes (a lease and its three events), but
    one commit per ``batch`` leases instead of one per lease.
    """
    manager = leases.LeaseManager(plugins={})
    context = harness.member_context()
    now = utcnow()
    done = 0
    while done < count:
        with db_api.writer():
            for index in range(done, min(count, done + batch)):
                start, end = future_window(rng, now)
                manager.create(
                    context,
                    {
                        "name": f"existing-{index:06d}",
                        "start_date": start,
                        "end_date": end,
                    },
                )
        done = min(count, done + batch)


# Measurements -------------------------------------------------------------


def time_to_active(session, base, count, poll=0.005, timeout=10.0):
    """POST leases starting now; return (POST seconds, seconds to ACTIVE)."""
    posts, actives, failures = [], [], []
    for index in range(count):
        body = {
            "lease": {
                "name": f"now-{index:03d}",
                "start_date": "now",
                "end_date": (utcnow() + datetime.timedelta(days=1)).strftime(
                    harness.WIRE
                ),
            }
        }
        began = time.perf_counter()
        response = session.post(f"{base}/v1/leases", json=body)
        posted = time.perf_counter()
        if response.status_code != 201:
            raise RuntimeError(
                f"create failed: {response.status_code} {response.text}"
            )
        lease_id = response.json()["lease"]["id"]
        status = response.json()["lease"]["status"]
        while status != "ACTIVE":
            if time.perf_counter() - began > timeout:
                failures.append((lease_id, status))
                break
            time.sleep(poll)
            reply = session.get(f"{base}/v1/leases/{lease_id}")
            reply.raise_for_status()
            status = reply.json()["lease"]["status"]
        else:
            actives.append(time.perf_counter() - began)
        posts.append(posted - began)
    return posts, actives, failures


def create_latency_http(session, base, count, rng, warmup):
    now = utcnow()
    latencies = []
    for index in range(warmup + count):
        start, end = future_window(rng, now)
        body = {
            "lease": {
                "name": f"bench-{index:06d}",
                "start_date": start,
                "end_date": end,
            }
        }
        began = time.perf_counter()
        response = session.post(f"{base}/v1/leases", json=body)
        elapsed = time.perf_counter() - began
        if response.status_code != 201:
            raise RuntimeError(
                f"create failed: {response.status_code} {response.text}"
            )
        if index >= warmup:
            latencies.append(elapsed)
    return latencies


def create_latency_in_process(count, rng, warmup):
    """Create leases through rpcapi and a manager running in this process."""
    manager = service.ManagerService()
    manager.start()
    try:
        api = rpcapi.ManagerAPI()
        context = harness.member_context()
        now = utcnow()
        latencies = []
        for index in range(warmup + count):
            start, end = future_window(rng, now)
            values = {
                "name": f"inproc-{index:06d}",
                "start_date": start,
                "end_date": end,
            }
            began = time.perf_counter()
            api.create_lease(context, values)
            elapsed = time.perf_counter() - began
            if index >= warmup:
                latencies.append(elapsed)
        return latencies
    finally:
        manager.stop()
        rpc.cleanup()


# Main ---------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--existing",
        type=int,
        default=10_000,
        metavar="N",
        help="leases in the database before the service starts (10000)",
    )
    parser.add_argument(
        "--creates",
        type=int,
        default=300,
        metavar="M",
        help="future leases created to measure create latency (300)",
    )
    parser.add_argument(
        "--now-leases",
        type=int,
        default=20,
        metavar="K",
        help="leases starting now, timed until ACTIVE (20)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="creates before timing starts, not counted (10)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="also time creates through climate.manager.rpcapi, no HTTP",
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
    rng = random.Random(args.seed)
    state_dir = tempfile.mkdtemp(prefix="climate-bench-")
    port = harness.free_port()
    config_path = harness.write_config(state_dir, port)
    base = f"http://127.0.0.1:{port}"

    print(harness.machine())
    print(f"existing leases: N = {args.existing}; state: {state_dir}")
    print(f"load average before: {harness.load_average()}")

    CONF(["--config-file", config_path], project="climate")
    os.makedirs(CONF.state_path, exist_ok=True)
    migration.upgrade("head")
    began = time.perf_counter()
    populate(args.existing, rng)
    db_api.dispose()
    print(
        f"populated {args.existing} leases "
        f"(+{3 * args.existing} events) in {time.perf_counter() - began:.1f} s"
    )

    with harness.running(state_dir, config_path, base) as server:
        print(f"climate-all pid {server.process.pid} on {base}")
        with requests.Session() as session:
            posts, actives, failures = time_to_active(
                session, base, args.now_leases
            )
            print("\nlease starting now, POST to ACTIVE (goal <= 1 s):")
            if actives:
                print(
                    "  "
                    + harness.summary(
                        actives,
                        [("min", 0), ("p50", 50), ("p95", 95), ("max", 100)],
                    )
                )
            for lease_id, status in failures:
                print(f"  lease {lease_id} still {status} after 10 s")
            print(
                "  its POST alone: "
                + harness.summary(
                    posts, [("p50", 50), ("p95", 95), ("max", 100)]
                )
            )

            cpu_before = server.cpu_seconds()
            latencies = create_latency_http(
                session, base, args.creates, rng, args.warmup
            )
            cpu_after = server.cpu_seconds()
            print(
                "\ncreate, future reservation-less lease, HTTP POST "
                "(goal p95 <= 10 ms):"
            )
            print("  " + harness.summary(latencies))
            if cpu_before is not None:
                per_create = (cpu_after - cpu_before) / (
                    args.warmup + args.creates
                )
                print(
                    f"  service CPU per create: {per_create * 1000:.2f} ms "
                    "(user + system, from /proc)"
                )

    if args.in_process:
        db_api.dispose()
        latencies = create_latency_in_process(args.creates, rng, args.warmup)
        print("\ncreate through climate.manager.rpcapi, in process, no HTTP:")
        print("  " + harness.summary(latencies))
    db_api.dispose()

    print(f"\nload average after: {harness.load_average()}")
    if args.keep:
        print(f"\nkept {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
