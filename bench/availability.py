"""Availability search and calendar latency over HTTP.

Loads ``H`` hosts and ``L`` leases with the host admission benchmark's
bulk loader (``host_data.BulkLoader``: the rows ``POST /v1/os-hosts`` and
``POST /v1/leases`` write, leases of 1-4 hosts with property filters over
the next six months), starts the real ``climate-all``, then times:

- ``GET /v1/availability`` for 1, 4 and 32 hosts with the benchmark's
  property filters, a duration of 4 h or 1 d, over a 90-day horizon
  (goal: p95 <= 50 ms at H = 1,000, L = 10,000);
- ``GET /v1/os-hosts/calendar`` of one week of every host (the web
  calendar's data; goal: <= 200 ms at H = 1,000).

Prints figures; asserts nothing on timings.
"""

import argparse
import json
import os
import random
import tempfile
import time

import harness  # bench/harness.py: the script's directory is on sys.path
import host_data  # bench/host_data.py: hosts, leases and their loading
import requests

import climate  # noqa: F401  (selects oslo.service's threading backend)
from climate import conf as climate_conf
from climate.db import api as db_api
from climate.db import migration

CONF = climate_conf.CONF
COUNTS = (1, 4, 32)
DURATIONS = ("4h", "1d")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--leases", type=int, default=10000)
    parser.add_argument(
        "--searches",
        type=int,
        default=100,
        help="searches timed per host count",
    )
    parser.add_argument("--calendars", type=int, default=30)
    parser.add_argument("--seed", type=int, default=13)
    return parser.parse_args()


def time_searches(session, base, count, searches, rng):
    """Seconds of each search for ``count`` hosts, and how many found a
    window."""
    timings, found = [], 0
    for index in range(searches + 3):
        resource, hypervisor = rng.choice(host_data.FILTERS)
        params = {
            "resource_type": host_data.HOST_TYPE,
            "count": count,
            "duration": rng.choice(DURATIONS),
            "before": None,
            "limit": 5,
        }
        if resource:
            params["resource_properties"] = json.dumps(resource)
        if hypervisor:
            params["hypervisor_properties"] = json.dumps(hypervisor)
        params = {k: v for k, v in params.items() if v is not None}
        began = time.perf_counter()
        response = session.get(f"{base}/v1/availability", params=params)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(
                f"search failed: {response.status_code} {response.text}"
            )
        if index >= 3:  # warm-up
            timings.append(elapsed)
            found += bool(response.json()["availability"]["windows"])
    return timings, found


def time_calendars(session, base, count):
    timings, hosts = [], 0
    for index in range(count + 2):
        began = time.perf_counter()
        response = session.get(
            f"{base}/v1/os-hosts/calendar",
            params={"start": "now"},
        )
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(
                f"calendar failed: {response.status_code} {response.text}"
            )
        if index >= 2:
            timings.append(elapsed)
            calendar = response.json()["calendar"]
            hosts = len(calendar["hosts"])
            busy = sum(len(h["busy"]) for h in calendar["hosts"])
    return timings, hosts, busy


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    state_dir = tempfile.mkdtemp(prefix="climate-bench-availability-")
    port = harness.free_port()
    config_path = harness.write_config(state_dir, port)
    base = f"http://127.0.0.1:{port}"
    print(harness.machine())
    print(f"H = {args.hosts} hosts, L = {args.leases} leases; {state_dir}")
    print(f"load average before: {harness.load_average()}")

    CONF(["--config-file", config_path], project="climate")
    os.makedirs(CONF.state_path, exist_ok=True)
    migration.upgrade("head")
    loader = host_data.BulkLoader(rng)
    began = time.perf_counter()
    loader.hosts(host_data.make_hosts(args.hosts, rng))
    loader.leases(args.leases)
    print(f"loaded in {time.perf_counter() - began:.1f} s")
    db_api.dispose()

    with harness.running(state_dir, config_path, base, timeout=120) as server:
        with requests.Session() as session:
            print(
                "\nGET /v1/availability, 90-day horizon, property filters "
                "(goal p95 <= 50 ms at H=1000, L=10000):"
            )
            for count in COUNTS:
                cpu = server.cpu_seconds()
                timings, found = time_searches(
                    session, base, count, args.searches, rng
                )
                cpu = (server.cpu_seconds() - cpu) / (args.searches + 3)
                print(
                    f"  {count:>2} host(s): "
                    f"{harness.summary(timings, width=7)}  "
                    f"({found}/{len(timings)} found a window; service CPU "
                    f"{cpu * 1000:.1f} ms per search)"
                )
            timings, hosts, busy = time_calendars(
                session, base, args.calendars
            )
            print(
                f"\nGET /v1/os-hosts/calendar, one week of {hosts} hosts "
                f"({busy} busy windows; goal <= 200 ms at H=1000):"
            )
            print(f"  {harness.summary(timings, width=7)}")
    print(f"\nload average after: {harness.load_average()}")


if __name__ == "__main__":
    main()
