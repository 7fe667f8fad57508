"""Load through an outage: the scenario of the outage tests and of
``bench/outage.py``.

A ``Cluster`` is one ``climate-api`` and two ``climate-manager`` processes
on a private RabbitMQ node and a private PostgreSQL cluster
(``private_services``).  ``Load`` runs writer threads that create leases,
each with its own ``Idempotency-Key``, sending a request again with the
same key while it is answered 503 (as climateclient does), and reader
threads that list leases.  ``run`` takes a service away for a while under
that load, brings it back, and returns every answer, with what the
database holds at the end, for ``Outcome`` to judge.
"""

import collections
import datetime
import os
import statistics
import sys
import threading
import time
import uuid

import requests
import sqlalchemy as sa

from tests import helpers

WRITE_TIMEOUT = 3.0
#: Every write must be answered within this many seconds.
WRITE_BOUND = 5.0


class Cluster:
    """The API and two managers, as real processes, on ``db_url`` and
    ``transport_url``."""

    def __init__(self, folder, db_url, transport_url):
        self.folder = folder
        self.db_url = db_url
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = {}
        self._sections = {
            "DEFAULT": {
                "transport_url": transport_url,
                "state_path": os.path.join(folder, "state"),
            },
            "database": {"connection": db_url},
            "api": {
                "host": "127.0.0.1",
                "port": self.port,
                "write_timeout": WRITE_TIMEOUT,
            },
            "manager": {
                "plugins": "test.recorder.plugin",
                "min_lease_duration": 0,
                "poll_interval": 1,
            },
        }
        result = self._run("climate-db-manage", "upgrade", "head")
        assert result.returncode == 0, result.stdout + result.stderr

    def _config(self, name, host=None):
        sections = {k: dict(v) for k, v in self._sections.items()}
        if host:
            sections["DEFAULT"]["host"] = host
        return helpers.write_config(
            os.path.join(self.folder, f"{name}.conf"), sections
        )

    def _run(self, command, *args):
        import subprocess

        executable = os.path.join(os.path.dirname(sys.executable), command)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [helpers.TEST_PLUGINS, env.get("PYTHONPATH")])
        )
        return subprocess.run(
            [executable, "--config-file", str(self._config(command)), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    def start(self):
        for name in ("manager-a", "manager-b"):
            self.processes[name] = helpers.ClimateProcess(
                "climate-manager",
                self._config(name, host=name),
                os.path.join(self.folder, f"{name}.log"),
            )
        self.processes["api"] = helpers.ClimateProcess(
            "climate-api",
            self._config("api"),
            os.path.join(self.folder, "api.log"),
        )
        for name in ("manager-a", "manager-b"):
            process = self.processes[name]

            def started(process=process):
                process.assert_running()
                return "started with plugins" in process.log()

            helpers.wait_for(started, 60, 0.1, f"{name} to start")
        self.processes["api"].wait_http(self.url + "/", timeout=60)

    def stop(self):
        for process in self.processes.values():
            process.stop()

    def leases(self):
        """``{name: id}`` of every lease, read straight from the database."""
        engine = sa.create_engine(self.db_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.text("SELECT name, id FROM leases")
                )
                return dict(rows.all())
        finally:
            engine.dispose()


class Load:
    """Writers and readers against ``url`` until ``stop()``.

    Every attempt is appended to ``answers`` as ``(kind, key, sent,
    took, status, lease_id)``; ``status`` is the HTTP code, or the name
    of the client-side error (no answer at all).  Times are
    ``time.monotonic()``.
    """

    def __init__(self, url, writers=6, readers=2):
        self.url = url
        self.answers = []
        self.given_up = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True)
            for n in range(writers)
        ] + [
            threading.Thread(target=self._read, daemon=True)
            for _ in range(readers)
        ]

    def start(self):
        for thread in self._threads:
            thread.start()

    def stop(self, timeout=60):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _note(self, *answer):
        with self._lock:
            self.answers.append(answer)

    def _attempt(self, method, path, **kwargs):
        sent = time.monotonic()
        try:
            response = requests.request(
                method, self.url + path, timeout=30, **kwargs
            )
        except requests.RequestException as exc:
            return sent, time.monotonic() - sent, type(exc).__name__, None
        return sent, time.monotonic() - sent, response.status_code, response

    def _write(self, writer):
        session_end = helpers.future(hours=3)
        while not self._stop.is_set():
            key = str(uuid.uuid4())
            body = {
                "name": f"load-{key}",
                "start_date": helpers.future(hours=2),
                "end_date": session_end,
                "reservations": [{"resource_type": "test:recorder"}],
                "events": [],
            }
            # Once stopped, a key still unanswered keeps being retried
            # for a while: a write is never left in doubt.
            deadline = None
            while True:
                sent, took, status, response = self._attempt(
                    "POST",
                    "/v1/leases",
                    json=body,
                    headers={"Idempotency-Key": key},
                )
                lease_id = None
                if status == 201:
                    lease_id = response.json()["lease"]["id"]
                self._note("write", key, sent, took, status, lease_id)
                if status == 201 or (
                    isinstance(status, int) and 400 <= status < 500
                ):
                    break
                if self._stop.is_set():
                    deadline = deadline or time.monotonic() + 30
                    if time.monotonic() > deadline:
                        self.given_up.append(key)
                        break
                time.sleep(0.2)

    def _read(self):
        while not self._stop.is_set():
            sent, took, status, _ = self._attempt("GET", "/v1/leases?limit=5")
            self._note("read", None, sent, took, status, None)
            time.sleep(0.05)


def run(cluster, take_away, bring_back, down_seconds, before=3, after=8):
    """Load the cluster, take a service away for ``down_seconds``, bring
    it back, load on for ``after`` seconds; return the ``Outcome``."""
    load = Load(cluster.url)
    started = time.monotonic()
    load.start()
    time.sleep(before)
    away = time.monotonic()
    take_away()
    time.sleep(down_seconds)
    bring_back()
    back = time.monotonic()
    time.sleep(after)
    load.stop()
    return Outcome(load, cluster.leases(), started, away, back)


class Outcome:
    """What the clients saw and what the database holds, judged."""

    def __init__(self, load, leases, started, away, back):
        self.answers = sorted(load.answers, key=lambda a: a[2])
        self.leases = leases
        self.started, self.away, self.back = started, away, back
        self.given_up = list(load.given_up)
        created = {}
        for kind, key, _, _, status, lease_id in self.answers:
            if kind == "write" and status == 201:
                created[key] = lease_id
        self.created = created
        # A 201 whose lease is not in the database.
        self.lost = sorted(
            key
            for key, lease_id in created.items()
            if self.leases.get(f"load-{key}") != lease_id
        )
        # A lease no client was ever answered 201 for.
        self.phantom = sorted(
            name
            for name in self.leases
            if name.startswith("load-") and name[5:] not in created
        )
        # Sent, answered only with errors, never made.
        self.dropped = sorted(self.given_up)
        self.bad = [a for a in self.answers if a[4] not in (200, 201, 503)]

    def during(self, kind, start, end):
        return [
            a for a in self.answers if a[0] == kind and start <= a[2] < end
        ]

    def max_took(self, kind, start=None, end=None):
        found = self.during(kind, start or self.started, end or float("inf"))
        return max((a[3] for a in found), default=0.0)

    def recovery(self):
        """Seconds from the service's return to the first write sent
        after it that was answered 201 (None: none was)."""
        firsts = [
            a[2] + a[3] - self.back
            for a in self.answers
            if a[0] == "write" and a[4] == 201 and a[2] >= self.back
        ]
        return min(firsts, default=None)

    def first_503(self):
        """Seconds from the service going away to its first 503."""
        times = [
            a[2] + a[3] - self.away
            for a in self.answers
            if a[4] == 503 and a[2] + a[3] >= self.away
        ]
        return min(times, default=None)

    def table(self):
        """Per second since the service went away: answers by code,
        p50 and max latency of writes and of reads."""
        rows = collections.defaultdict(list)
        for answer in self.answers:
            second = int(answer[2] + answer[3] - self.away)
            rows[second].append(answer)
        lines = [
            "  s  codes                      write p50/max    read p50/max"
        ]
        for second in sorted(rows):
            answers = rows[second]
            codes = collections.Counter(str(a[4]) for a in answers)
            text = " ".join(f"{c}x{n}" for c, n in sorted(codes.items()))
            cells = []
            for kind in ("write", "read"):
                took = [a[3] for a in answers if a[0] == kind]
                cells.append(
                    f"{statistics.median(took):5.2f}/{max(took):5.2f}"
                    if took
                    else "    -/    -"
                )
            lines.append(
                f"{second:3d}  {text:26} {cells[0]:>14} {cells[1]:>14}"
            )
        return "\n".join(lines)

    def summary(self):
        writes = [a for a in self.answers if a[0] == "write"]
        return (
            f"{len(writes)} write attempts, {len(self.created)} leases "
            f"answered 201, {len(self.leases)} in the database; lost "
            f"{len(self.lost)}, phantom {len(self.phantom)}, dropped "
            f"{len(self.dropped)}, other codes {len(self.bad)}; first 503 "
            f"{_seconds(self.first_503())} after the outage began; writes "
            f"max {self.max_took('write'):.2f} s; reads max "
            f"{self.max_took('read'):.2f} s; writes back "
            f"{_seconds(self.recovery())} after the service"
        )


def _seconds(value):
    return "never" if value is None else f"{value:.2f} s"


def now_iso(seconds_from_now):
    moment = helpers.utcnow() + datetime.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
