"""The distributed deployment under a mixed write load.

Starts ``climate-api`` and two ``climate-manager`` processes on a fresh
PostgreSQL database and a fresh RabbitMQ vhost of this machine (both made
for the run and dropped after it), registers ``--hosts`` (200) hosts, then
runs ``--clients`` (16) client threads for ``--seconds`` (120) seconds, each
creating leases of 1-4 hosts in random windows of the next 30 days,
prolonging or shortening some of its leases and deleting others (``--mix``,
default 60 % creates, 20 % updates, 20 % deletes), one HTTP connection per
thread.  It prints operations per second, latency p50/p95/p99/max per
operation and per answer, and afterwards checks in the database that no
two allocations of one host overlap.

Goal (issue 9): at least 100 creates per second with p95 at most 100 ms on
a 2-core machine, and zero overlaps.

    .venv/bin/python bench/distributed_throughput.py [--hosts N]
        [--clients C] [--seconds S] [--workers W] [--threads T]

Needs the machine's PostgreSQL (``CLIMATE_BENCH_POSTGRESQL_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and RabbitMQ
(``rabbitmqctl`` on the PATH; ``CLIMATE_BENCH_RABBIT_URL``, default
``rabbit://guest:guest@127.0.0.1:5672/``).
"""

import argparse
import collections
import datetime
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import harness  # bench/harness.py: the script's directory is on sys.path
import requests
import sqlalchemy as sa

POSTGRESQL_URL = os.environ.get(
    "CLIMATE_BENCH_POSTGRESQL_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
)
RABBIT_URL = os.environ.get(
    "CLIMATE_BENCH_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/"
)
ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops", "X-User-Id": "root"}
OPERATIONS = ("create", "update", "delete")


def _rabbitmqctl(*args):
    return subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, check=True
    )


class Resources:
    """A database and a vhost of this run, dropped on the way out."""

    def __init__(self):
        self.name = f"climate_bench_{os.getpid()}_{secrets.token_hex(3)}"
        self._admin = sa.create_engine(
            POSTGRESQL_URL,
            isolation_level="AUTOCOMMIT",
            poolclass=sa.pool.NullPool,
        )

    def __enter__(self):
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        _rabbitmqctl("add_vhost", self.name)
        user = RABBIT_URL.split("//", 1)[1].split(":", 1)[0]
        _rabbitmqctl(
            "set_permissions", "-p", self.name, user, ".*", ".*", ".*"
        )
        self.db_url = (
            sa.engine.make_url(POSTGRESQL_URL)
            .set(database=self.name)
            .render_as_string(hide_password=False)
        )
        self.transport_url = RABBIT_URL.rstrip("/") + "/" + self.name
        return self

    def __exit__(self, *exc):
        subprocess.run(
            ["rabbitmqctl", "delete_vhost", self.name], capture_output=True
        )
        with self._admin.connect() as connection:
            connection.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'
            )
        self._admin.dispose()


def write_config(path, resources, port, host, args):
    with open(path, "w") as config:
        config.write(
            f"[DEFAULT]\ntransport_url = {resources.transport_url}\n"
            f"host = {host}\nrpc_response_timeout = 30\n\n"
            f"[database]\nconnection = {resources.db_url}\n"
            f"max_pool_size = {args.threads + 4}\n\n"
            f"[api]\nhost = 127.0.0.1\nport = {port}\n"
            f"threads = {args.threads}\n\n"
            f"[manager]\nevent_workers = {args.workers}\n"
        )
    return path


class Client(threading.Thread):
    """One client: its own connection, its own leases."""

    def __init__(self, index, base, deadline, mix, seed):
        super().__init__(name=f"client-{index}")
        self._base = base
        self._deadline = deadline
        self._mix = mix
        self._random = random.Random(seed)
        self._session = requests.Session()
        self._headers = {
            "X-Project-Id": f"bench-{index}",
            "X-User-Id": f"user-{index}",
        }
        self._leases = []
        self._count = 0
        self.timings = collections.defaultdict(list)  # (op, code) -> [s]

    def _window(self):
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        start = now + datetime.timedelta(
            minutes=self._random.randrange(10, 30 * 24 * 60)
        )
        end = start + datetime.timedelta(hours=self._random.randint(1, 48))
        return start.strftime(harness.WIRE), end.strftime(harness.WIRE)

    def _timed(self, op, method, path, **kwargs):
        began = time.monotonic()
        response = self._session.request(
            method,
            self._base + path,
            headers=self._headers,
            timeout=60,
            **kwargs,
        )
        self.timings[(op, response.status_code)].append(
            time.monotonic() - began
        )
        return response

    def _create(self):
        self._count += 1
        start, end = self._window()
        count = self._random.randint(1, 4)
        response = self._timed(
            "create",
            "POST",
            "/v1/leases",
            json={
                "name": f"{self.name}-{self._count}",
                "start_date": start,
                "end_date": end,
                "reservations": [
                    {
                        "resource_type": "physical:host",
                        "min": count,
                        "max": count,
                    }
                ],
            },
        )
        if response.status_code == 201:
            self._leases.append(response.json()["lease"]["id"])

    def _update(self):
        lease_id = self._random.choice(self._leases)
        change = self._random.choice(
            [{"prolong_for": "1h"}, {"reduce_by": "30m"}]
        )
        self._timed("update", "PUT", f"/v1/leases/{lease_id}", json=change)

    def _delete(self):
        lease_id = self._leases.pop(self._random.randrange(len(self._leases)))
        self._timed("delete", "DELETE", f"/v1/leases/{lease_id}")

    def run(self):
        while time.monotonic() < self._deadline:
            op = self._random.choices(OPERATIONS, self._mix)[0]
            if op != "create" and not self._leases:
                op = "create"
            getattr(self, f"_{op}")()


def overlaps(db_url):
    """Pairs of allocations of one host whose windows meet."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT count(*) FROM computehost_allocations a "
                    "JOIN computehost_allocations b "
                    "ON a.computehost_id = b.computehost_id "
                    "AND a.id < b.id AND a.start_date < b.end_date "
                    "AND b.start_date < a.end_date"
                )
            ).scalar()
    finally:
        engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument(
        "--mix",
        default="60,20,20",
        help="create,update,delete weights (default 60,20,20)",
    )
    parser.add_argument(
        "--workers", type=int, default=8, help="[manager] event_workers"
    )
    parser.add_argument(
        "--threads", type=int, default=16, help="[api] threads (waitress)"
    )
    args = parser.parse_args()
    mix = [float(x) for x in args.mix.split(",")]
    if shutil.which("rabbitmqctl") is None:
        sys.exit("rabbitmqctl is not on the PATH")

    print(harness.machine())
    print(f"load average before: {harness.load_average()}")
    state = tempfile.mkdtemp(prefix="climate-bench-")
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    processes = []
    try:
        with Resources() as resources:
            configs = {
                name: write_config(
                    os.path.join(state, f"{name}.conf"),
                    resources,
                    port,
                    name,
                    args,
                )
                for name in ("api", "manager-a", "manager-b")
            }
            subprocess.run(
                [
                    os.path.join(
                        os.path.dirname(sys.executable), "climate-db-manage"
                    ),
                    "--config-file",
                    configs["api"],
                    "upgrade",
                    "head",
                ],
                check=True,
                capture_output=True,
            )
            for name in ("manager-a", "manager-b"):
                processes.append(
                    harness.Service(
                        configs[name],
                        os.path.join(state, f"{name}.log"),
                        command="climate-manager",
                    )
                )
            api = harness.Service(
                configs["api"],
                os.path.join(state, "api.log"),
                command="climate-api",
            )
            processes.append(api)
            api.wait_ready(base + "/", 60)
            time.sleep(2)  # the managers join the RPC topic
            began = time.monotonic()
            with requests.Session() as session:
                for index in range(args.hosts):
                    response = session.post(
                        base + "/v1/os-hosts",
                        json={"name": f"host-{index}", "vcpus": 16},
                        headers=ADMIN,
                        timeout=30,
                    )
                    response.raise_for_status()
            print(
                f"{args.hosts} hosts registered in "
                f"{time.monotonic() - began:.1f} s"
            )

            cpu_before = {p.log_path: p.cpu_seconds() for p in processes}
            deadline = time.monotonic() + args.seconds
            clients = [
                Client(i, base, deadline, mix, seed=i)
                for i in range(args.clients)
            ]
            began = time.monotonic()
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            elapsed = time.monotonic() - began
            cpu = {
                os.path.basename(p.log_path)[:-4]: (p.cpu_seconds() or 0)
                - (cpu_before[p.log_path] or 0)
                for p in processes
            }

            timings = collections.defaultdict(list)
            for client in clients:
                for key, values in client.timings.items():
                    timings[key].extend(values)
            print(
                f"{args.clients} clients for {elapsed:.0f} s on "
                f"{args.hosts} hosts, [manager] event_workers "
                f"{args.workers}, [api] threads {args.threads}"
            )
            total = sum(len(v) for v in timings.values())
            print(f"all operations: {total / elapsed:7.1f} /s")
            for op in OPERATIONS:
                values = [v for (o, _), v in timings.items() if o == op]
                merged = [x for v in values for x in v]
                print(
                    f"{op:7s} {len(merged) / elapsed:7.1f} /s  "
                    f"{harness.summary(merged)}"
                )
                for (o, code), values in sorted(timings.items()):
                    if o == op:
                        print(f"   {code}  {harness.summary(values)}")
            print(
                "CPU seconds per process during the run: "
                + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            )
            print(f"overlapping allocations: {overlaps(resources.db_url)}")
            for process in processes:
                process.stop()
            processes = []
    finally:
        for process in processes:
            process.stop()
        print(f"load average after: {harness.load_average()}")
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
