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
import math
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import requests

import climate  # noqa: F401  (selects oslo.service's threading backend)
from climate import conf as climate_conf
from climate import context as climate_context
from climate import rpc
from climate.db import api as db_api
from climate.db import migration
from climate.manager import leases, rpcapi, service

CONF = climate_conf.CONF
PROJECT = "climate-project"  # [api] noauth_project_id's default
USER = "climate-user"
WIRE = "%Y-%m-%d %H:%M"


# Set-up -------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(state_dir, port):
    path = os.path.join(state_dir, "climate.conf")
    with open(path, "w") as config:
        config.write(
            f"[DEFAULT]\nstate_path = {state_dir}\n\n"
            f"[api]\nhost = 127.0.0.1\nport = {port}\n"
        )
    return path


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def future_window(rng, now, months=6):
    """A random window starting within the next ``months`` months."""
    start = now + datetime.timedelta(
        days=1, minutes=rng.randrange(months * 30 * 24 * 60)
    )
    end = start + datetime.timedelta(minutes=rng.randrange(60, 7 * 24 * 60))
    return start.strftime(WIRE), end.strftime(WIRE)


def member_context():
    return climate_context.RequestContext(
        user_id=USER,
        project_id=PROJECT,
        roles=["member", "reader"],
        overwrite=False,
    )


def populate(count, rng, batch=1000):
    """Insert ``count`` leases through the manager's own create code.

    Same rows as POST /v1/leases makes (a lease and its three events), but
    one commit per ``batch`` leases instead of one per lease.
    """
    manager = leases.LeaseManager(plugins={})
    context = member_context()
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


class Service:
    """``climate-all`` as a child process, stopped by its PID."""

    def __init__(self, config_path, log_path):
        executable = os.path.join(
            os.path.dirname(sys.executable), "climate-all"
        )
        self._log = open(log_path, "wb")
        self.log_path = log_path
        self.process = subprocess.Popen(
            [executable, "--config-file", config_path],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, url, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"climate-all exited with {self.process.returncode}:\n"
                    + self.log_tail()
                )
            try:
                if requests.get(url, timeout=1).status_code == 300:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not answer within {timeout} s")

    def cpu_seconds(self):
        """CPU time (user + system) the service has used so far, or None."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars=3000):
        with open(self.log_path, errors="replace") as log:
            return log.read()[-chars:]

    def stop(self, timeout=15):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def load_average():
    """Other work on the machine skews latencies; say how much there was."""
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


# Measurements -------------------------------------------------------------


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(values, pcts):
    values = sorted(values)
    parts = [
        f"{name} {percentile(values, pct) * 1000:8.2f} ms"
        for name, pct in pcts
    ]
    return "  ".join(parts) + f"   (n={len(values)})"


def time_to_active(session, base, count, poll=0.005, timeout=10.0):
    """POST leases starting now; return (POST seconds, seconds to ACTIVE)."""
    posts, actives, failures = [], [], []
    for index in range(count):
        body = {
            "lease": {
                "name": f"now-{index:03d}",
                "start_date": "now",
                "end_date": (utcnow() + datetime.timedelta(days=1)).strftime(
                    WIRE
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
        context = member_context()
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
    port = free_port()
    config_path = write_config(state_dir, port)
    base = f"http://127.0.0.1:{port}"

    print(
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.platform()}"
    )
    print(f"existing leases: N = {args.existing}; state: {state_dir}")
    print(f"load average before: {load_average()}")

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

    server = Service(config_path, os.path.join(state_dir, "climate-all.log"))
    try:
        server.wait_ready(base + "/")
        print(f"climate-all pid {server.process.pid} on {base}")
        with requests.Session() as session:
            posts, actives, failures = time_to_active(
                session, base, args.now_leases
            )
            print("\nlease starting now, POST to ACTIVE (goal <= 1 s):")
            if actives:
                print(
                    "  "
                    + summary(
                        actives,
                        [("min", 0), ("p50", 50), ("p95", 95), ("max", 100)],
                    )
                )
            for lease_id, status in failures:
                print(f"  lease {lease_id} still {status} after 10 s")
            print(
                "  its POST alone: "
                + summary(posts, [("p50", 50), ("p95", 95), ("max", 100)])
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
            print(
                "  "
                + summary(
                    latencies,
                    [("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)],
                )
            )
            if cpu_before is not None:
                per_create = (cpu_after - cpu_before) / (
                    args.warmup + args.creates
                )
                print(
                    f"  service CPU per create: {per_create * 1000:.2f} ms "
                    "(user + system, from /proc)"
                )
    except BaseException:
        if server.process.poll() is not None:
            print(server.log_tail(), file=sys.stderr)
        print(f"state directory kept: {state_dir}", file=sys.stderr)
        raise
    finally:
        server.stop()

    if args.in_process:
        db_api.dispose()
        latencies = create_latency_in_process(args.creates, rng, args.warmup)
        print("\ncreate through climate.manager.rpcapi, in process, no HTTP:")
        print(
            "  "
            + summary(
                latencies,
                [("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)],
            )
        )
    db_api.dispose()

    print(f"\nload average after: {load_average()}")
    if args.keep:
        print(f"\nkept {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
