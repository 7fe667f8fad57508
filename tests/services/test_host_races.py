"""Randomized races on host admission, checked against an oracle.

Eight HTTP clients create, update and delete host leases at once, their
windows drawn from a few hours so that they collide often (overlapping,
nested, back to back).  Every answer must be a success or an expected
404/409, never a 5xx.  An oracle written here, independent of Climate's
code, checks the result: while the clients run, a watcher reads
``computehost_allocations`` again and again and no state it sees may hold a
host twice at one moment; afterwards it reads every lease over the API and
every allocation over the API and from the table, and checks that no host
is held twice, that every reservation holds between its min and max hosts,
all matching its filter, and that nothing is left behind.

Three deployments: ``climate-api`` and two ``climate-manager`` processes on
RabbitMQ with PostgreSQL, the same with MariaDB, and ``climate-all`` on
SQLite.  The SQLite one needs no service but lives here with the others, as
one scenario.  ``CLIMATE_TEST_RACE_SEED`` replays a run's operations (the
interleaving still varies).
"""

import collections
import datetime
import json
import operator
import os
import random
import re
import secrets
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from tests import helpers
from tests.services import conftest

pytestmark = pytest.mark.services

CLIENTS = 8
OPERATIONS = 240  # in all, shared by the clients
WORKLOAD_SECONDS = 20  # they stop early past this (a very slow machine)
SLOT = datetime.timedelta(minutes=30)
SLOTS = 12  # lease starts are drawn from this many slots
LONGEST = 6  # slots
API_DATE = "%Y-%m-%dT%H:%M:%S.%f"
# Hosts and allocations are the operator's (noauth trusts this header).
ADMIN = {"X-Roles": "admin,member,reader"}

# Six hosts; "slots" is numeric: as text, "8" >= "16".
HOSTS = {
    "race-0": {"gpu": "a100", "rack": "r1", "slots": "8"},
    "race-1": {"gpu": "a100", "rack": "r2", "slots": "16"},
    "race-2": {"gpu": "none", "rack": "r1", "slots": "32"},
    "race-3": {"gpu": "none", "rack": "r2", "slots": "8"},
    "race-4": {"gpu": "a100", "rack": "r3", "slots": "32"},
    "race-5": {"gpu": "none", "rack": "r3", "slots": "16"},
}
# resource_properties a lease may ask for; None asks for any host.
FILTERS = [
    None,
    None,
    None,
    ["==", "$gpu", "a100"],
    ["==", "$rack", "r1"],
    [">=", "$slots", "16"],
    ["and", ["!=", "$gpu", "a100"], ["<", "$slots", "32"]],
    ["or", ["==", "$rack", "r3"], ["==", "$gpu", "none"]],
]
STATE_CONFLICTS = {"InvalidState", "InvalidStateTransition"}
REFUSAL = re.compile(
    r"(\d+) hosts? needed[^;]*; (?:no reservable host matches the request"
    r"|of the (\d+) hosts? reservable and matching the request, "
    r"(none|\d+) (?:is|are) free)"
)


# The oracle ------------------------------------------------------------------

_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def matches(query, capabilities):
    """Does a host with ``capabilities`` satisfy ``query`` (parsed JSON)?"""
    if query is None:
        return True
    op, *operands = query
    if op == "and":
        return all(matches(q, capabilities) for q in operands)
    if op == "or":
        return any(matches(q, capabilities) for q in operands)
    if op == "not":
        return not matches(operands[0], capabilities)
    field, wanted = operands
    have = capabilities.get(field.lstrip("$"))
    if have is None:
        return False
    if _number(have) is not None and _number(wanted) is not None:
        have, wanted = _number(have), _number(wanted)
    return _COMPARE[op](have, wanted)


def overlapping_pairs(windows):
    """Pairs of ``(start, end, tag)`` windows of one host that share a
    moment (half-open), found by a sweep in start order that keeps the
    window reaching furthest so far."""
    pairs = []
    furthest = None
    for window in sorted(windows):
        if furthest is not None and window[0] < furthest[1]:
            pairs.append((furthest, window))
        if furthest is None or window[1] > furthest[1]:
            furthest = window
    return pairs


def touching_pairs(windows):
    """How many windows start exactly when another on the host ends."""
    ends = collections.Counter(w[1] for w in windows)
    return sum(ends[w[0]] for w in windows)


# Deployments -----------------------------------------------------------------


class Deployment:
    """The processes of one deployment, its URL and its database URL."""

    def __init__(
        self,
        name,
        tmp_path,
        start,
        db_url,
        cleaning,
        plugins="physical.host.plugin",
    ):
        self.name = name
        self.db_url = db_url
        self.cleaning = datetime.timedelta(minutes=cleaning)
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = []
        self._tmp_path = tmp_path
        self._start = start
        self.sections = {
            "DEFAULT": {
                "state_path": tmp_path / "state",
                "rpc_response_timeout": 30,
            },
            "database": {"connection": db_url},
            "api": {"host": "127.0.0.1", "port": self.port},
            "manager": {
                "plugins": plugins,
                "poll_interval": 5,
            },
            "physical:host": {"cleaning_time": cleaning},
        }

    def config(self, name, **default):
        sections = {k: dict(v) for k, v in self.sections.items()}
        sections["DEFAULT"].update(default)
        return helpers.write_config(self._tmp_path / f"{name}.conf", sections)

    def launch(self, command, name, **default):
        process = self._start(command, self.config(name, **default), name)
        self.processes.append(process)
        return process

    def check_logs(self):
        """Nothing failed quietly: no process logged an error."""
        for process in self.processes:
            process.assert_running()
            log = process.log()
            assert " ERROR " not in log and "Traceback" not in log, (
                process.name,
                log[-4000:],
            )


def distributed(
    backend,
    tmp_path,
    make_database,
    transport_url,
    start,
    run_climate,
    plugins="physical.host.plugin",
):
    """``climate-api`` and two ``climate-manager`` processes on RabbitMQ."""
    deployment = Deployment(
        backend,
        tmp_path,
        start,
        make_database(backend),
        # Blocked windows longer than the leases on one backend.
        cleaning=30 if backend == "mariadb" else 0,
        plugins=plugins,
    )
    deployment.sections["DEFAULT"]["transport_url"] = transport_url
    # More writers than the API keeps threads for (threads - read_threads):
    # queue them rather than answer 503 after [api] write_slot_wait, which
    # is not what this test is about (admission under races).
    deployment.sections.setdefault("api", {})["write_slot_wait"] = "60"
    migrate = run_climate(
        "climate-db-manage",
        deployment.config("db-manage"),
        "upgrade",
        "head",
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    managers = [
        deployment.launch("climate-manager", name, host=name)
        for name in ("manager-a", "manager-b")
    ]
    api = deployment.launch("climate-api", "api")
    for manager in managers:

        def started(manager=manager):
            manager.assert_running()
            return "started with plugins" in manager.log()

        helpers.wait_for(started, 30, 0.1, f"{manager.name} to start")
    api.wait_http(deployment.url + "/")
    return deployment


def embedded(tmp_path, start, plugins="physical.host.plugin"):
    """``climate-all`` on SQLite, RPC in process."""
    deployment = Deployment(
        "sqlite",
        tmp_path,
        start,
        f"sqlite:///{tmp_path}/climate.sqlite",
        cleaning=0,
        plugins=plugins,
    )
    climate = deployment.launch("climate-all", "climate-all")
    climate.wait_http(deployment.url + "/", timeout=60)
    return deployment


# The workload ----------------------------------------------------------------


class Known:
    """What the clients know of a lease they created."""

    def __init__(self, lease, query):
        self.id = lease["id"]
        self.reservation_id = lease["reservations"][0]["id"]
        self.query = query
        self.start = _parse(lease["start_date"])
        self.end = _parse(lease["end_date"])


class Workload:
    """Random creates, updates and deletes from several clients at once.

    A client updating a lease with dates takes it out of the pool for the
    time of the request, so the dates it knows stay exact and every change
    it sends is valid; other clients may still delete that lease, or prolong
    it or change its counts, which never makes a valid change invalid.
    """

    def __init__(self, deployment, base, seed):
        self.deployment = deployment
        self.base = base
        self.seed = seed
        self.lock = threading.Lock()
        self.known = {}
        self.checked_out = set()
        self.deleted = set()
        self.outcomes = collections.Counter()
        # lease id -> error names seen on updates and deletes
        self.refused = collections.defaultdict(set)
        self.refusals = []  # (needed, free) of each create refused
        self.failures = []
        self.remaining = OPERATIONS
        self.names = 0
        self.snapshots = 0
        self.double_booked = set()
        # lease id -> what was asked of it and answered, for reports
        self.history = collections.defaultdict(list)

    def run(self):
        deadline = time.monotonic() + WORKLOAD_SECONDS
        threads = [
            threading.Thread(
                target=self._client,
                args=(random.Random(self.seed * 100 + i), deadline),
                name=f"race-client-{i}",
            )
            for i in range(CLIENTS)
        ]
        stop = threading.Event()
        watcher = threading.Thread(
            target=self._watch, args=(stop,), name="race-watcher"
        )
        watcher.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        watcher.join()
        self.failures += [
            f"host {host_id} double-booked (seen while running): {pair}"
            for host_id, pair in sorted(self.double_booked)
        ]
        assert not self.failures, "\n".join(self.failures)

    def _watch(self, stop):
        """Check every committed state the watcher catches, not only the
        last one: a double booking deleted later would leave no trace."""
        engine = sa.create_engine(self.deployment.db_url)
        try:
            while not stop.is_set():
                rows, _ = read_database(engine)
                self.snapshots += 1
                for host_id, windows in by_host(rows).items():
                    for pair in overlapping_pairs(windows):
                        self.double_booked.add((host_id, pair))
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
                if roll < 0.5 or not self.known:
                    self._create(session, rng)
                elif roll < 0.85:
                    self._update(session, rng)
                else:
                    self._delete(session, rng)
        except Exception as exc:  # reported by run()
            self.failures.append(f"{threading.current_thread().name}: {exc!r}")
        finally:
            session.close()

    def _record(self, op, response, allowed, lease_id=None, body=None):
        code = response.status_code
        name = window = None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if code >= 400:
            name = answer.get("error_name")
        elif "lease" in answer:
            lease = answer["lease"]
            lease_id = lease_id or lease["id"]
            window = (lease["start_date"], lease["end_date"])
        with self.lock:
            self.outcomes[(op, code, name)] += 1
            if code >= 400 and lease_id is not None:
                self.refused[lease_id].add(name)
            if lease_id is not None:
                self.history[lease_id].append(
                    (threading.current_thread().name, op, body, code, window)
                )
        if (code, name) not in allowed:
            report = f"{op} {lease_id or ''} {body} answered {code}: "
            report += response.text
            for step in self.history.get(lease_id, ()):
                report += f"\n    {step}"
            self.failures.append(report)
        return code

    def _window(self, rng):
        length = SLOT * rng.randint(1, LONGEST)
        with self.lock:
            live = sorted(set(self.known) - self.deleted)
            other = self.known[rng.choice(live)] if live else None
        if other is None or rng.random() < 0.6:
            start = self.base + SLOT * rng.randrange(SLOTS)
            return start, start + length
        # Next to a lease (as last known): back to back once cleaning is
        # counted, or within its cleaning time.
        gap = rng.choice([self.deployment.cleaning, datetime.timedelta()])
        end = other.start - gap
        if end - SLOT < self.base or rng.random() < 0.5:
            return other.end + gap, other.end + gap + length
        return max(end - length, self.base), end

    def _create(self, session, rng):
        query = rng.choice(FILTERS)
        fitting = sum(matches(query, c) for c in HOSTS.values())
        count_min = rng.randint(1, min(3, fitting))
        count_max = rng.randint(count_min, 3)
        start, end = self._window(rng)
        reservation = {
            "resource_type": "physical:host",
            "min": count_min,
            "max": count_max,
        }
        if query is not None:
            reservation["resource_properties"] = json.dumps(query)
        with self.lock:
            self.names += 1
            name = f"race-{self.names}"
        response = session.post(
            self.deployment.url + "/v1/leases",
            json={
                "name": name,
                "start_date": helpers.wire(start),
                "end_date": helpers.wire(end),
                "reservations": [reservation],
                "events": [],
            },
            timeout=60,
        )
        code = self._record(
            "create",
            response,
            {(201, None), (409, "NotEnoughResourcesAvailable")},
            body=(helpers.wire(start), helpers.wire(end)),
        )
        if code == 201:
            lease = response.json()["lease"]
            with self.lock:
                self.known[lease["id"]] = Known(lease, query)
        elif code == 409 and (refusal := REFUSAL.search(response.text)):
            needed, _, free = refusal.groups()
            needed, free = (
                int(needed),
                int(free) if free not in (None, "none") else 0,
            )
            with self.lock:
                self.refusals.append((needed, free))

    def _update(self, session, rng):
        with self.lock:
            free = sorted(set(self.known) - self.checked_out - self.deleted)
            exclusive = bool(free) and rng.random() < 0.85
            if exclusive:
                known = self.known[rng.choice(free)]
                self.checked_out.add(known.id)
            else:
                known = self.known[rng.choice(sorted(self.known))]
        try:
            body = self._change(rng, known, exclusive)
            response = session.put(
                f"{self.deployment.url}/v1/leases/{known.id}",
                json=body,
                timeout=60,
            )
            code = self._record(
                "update",
                response,
                {
                    (200, None),
                    (404, "LeaseNotFound"),
                    (409, "NotEnoughResourcesAvailable"),
                    *((409, name) for name in STATE_CONFLICTS),
                },
                known.id,
                body,
            )
            if code == 200 and exclusive:
                lease = response.json()["lease"]
                known.start = _parse(lease["start_date"])
                known.end = _parse(lease["end_date"])
                text = lease["reservations"][0]["resource_properties"]
                known.query = json.loads(text) if text else None
        finally:
            if exclusive:
                with self.lock:
                    self.checked_out.discard(known.id)

    def _change(self, rng, known, exclusive):
        """A valid change of ``known``.  Without ``exclusive`` only one that
        stays valid whatever other clients do to the lease meanwhile."""
        slots = (known.end - known.start) // SLOT
        choices = ["prolong_for", "counts", "both"]
        if exclusive:
            choices.append("filter")
            if slots >= 2:
                choices += ["reduce_by", "defer_by"]
        kind = rng.choice(choices)
        body = {}
        query = known.query
        if kind in ("prolong_for", "both"):
            body["prolong_for"] = f"{30 * rng.randint(1, 3)}m"
        if kind in ("reduce_by", "defer_by"):
            body[kind] = f"{30 * rng.randint(1, slots - 1)}m"
        if kind == "filter":
            query = rng.choice(FILTERS)
        if kind in ("counts", "both", "filter"):
            fitting = sum(matches(query, c) for c in HOSTS.values())
            count_min = rng.randint(1, min(3, fitting))
            body["reservations"] = [
                {
                    "id": known.reservation_id,
                    "min": count_min,
                    "max": rng.randint(count_min, 3),
                }
            ]
        if kind == "filter":
            # Hosts that no longer match are given up and replaced.
            text = json.dumps(query) if query else ""
            body["reservations"][0]["resource_properties"] = text
        return body

    def _delete(self, session, rng):
        with self.lock:
            # Mostly a live lease; now and then one that may be gone.
            live = sorted(set(self.known) - self.deleted)
            lease_id = rng.choice(
                live if live and rng.random() < 0.85 else sorted(self.known)
            )
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
                if lease_id in self.deleted:
                    self.failures.append(f"lease {lease_id} deleted twice")
                self.deleted.add(lease_id)


def _parse(text):
    return datetime.datetime.strptime(text, API_DATE)


# Reading the final state -----------------------------------------------------


def _get(url, key):
    response = requests.get(url, headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()[key]


def read_leases(deployment):
    """Every lease, page by page."""
    leases, url = [], deployment.url + "/v1/leases?limit=25"
    while url:
        response = requests.get(url, timeout=30)
        assert response.status_code == 200, response.text
        page = response.json()
        leases += page["leases"]
        url = next(
            (
                link["href"]
                for link in page.get("leases_links", ())
                if link["rel"] == "next"
            ),
            None,
        )
    ids = [lease["id"] for lease in leases]
    assert len(ids) == len(set(ids)), "a lease listed twice"
    return {lease["id"]: lease for lease in leases}


def read_database(engine):
    """Allocations and reservations straight from the tables, each read
    in one statement."""
    allocations = sa.table(
        "computehost_allocations",
        sa.column("id"),
        sa.column("reservation_id"),
        sa.column("computehost_id"),
        # Typed, so SQLite's text comes back as datetimes too.
        sa.column("start_date", sa.DateTime),
        sa.column("end_date", sa.DateTime),
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


def by_host(rows):
    """``{host id: [(start, end, reservation id)]}`` of allocation rows."""
    windows = collections.defaultdict(list)
    for row in rows:
        windows[str(row["computehost_id"])].append(
            (row["start_date"], row["end_date"], row["reservation_id"])
        )
    return windows


def check(deployment, workload):
    """The oracle: the final state is one a serial run could leave."""
    hosts = {
        str(h["id"]): h for h in _get(deployment.url + "/v1/os-hosts", "hosts")
    }
    capabilities = {
        host_id: {k: host[k] for k in ("gpu", "rack", "slots")}
        for host_id, host in hosts.items()
    }
    leases = read_leases(deployment)
    engine = sa.create_engine(deployment.db_url, poolclass=sa.pool.NullPool)
    try:
        rows, owners = read_database(engine)
    finally:
        engine.dispose()
    problems = []

    # What the clients saw agrees with what is left.
    created = set(workload.known)
    survivors = created - workload.deleted
    if set(leases) != survivors:
        problems.append(
            f"leases left {sorted(set(leases) ^ survivors)} differ from "
            "what the clients created and deleted"
        )
    for lease_id, names in workload.refused.items():
        # A lease is missing or busy only when a delete took it.
        if names & ({"LeaseNotFound"} | STATE_CONFLICTS) and (
            lease_id not in workload.deleted
        ):
            problems.append(f"lease {lease_id} refused {names}, not deleted")

    # No host is held twice at one moment, as the table stores it.
    windows_of = by_host(rows)
    for host_id, windows in sorted(windows_of.items()):
        for first, second in overlapping_pairs(windows):
            problems.append(f"host {host_id} double-booked: {first} {second}")

    # Every allocation belongs to a surviving lease and blocks its window.
    held = collections.defaultdict(list)
    for row in rows:
        lease_id = owners.get(row["reservation_id"])
        lease = leases.get(lease_id)
        if lease is None:
            problems.append(f"allocation {row} of no surviving lease")
            continue
        held[row["reservation_id"]].append(str(row["computehost_id"]))
        window = (
            _parse(lease["start_date"]),
            _parse(lease["end_date"]) + deployment.cleaning,
        )
        if (row["start_date"], row["end_date"]) != window:
            problems.append(f"allocation {row} does not block {window}")

    # Every surviving lease is at rest and holds min..max fitting hosts.
    for lease_id, lease in leases.items():
        if lease["status"] != "PENDING":
            problems.append(f"lease {lease_id} is {lease['status']}")
        (reservation,) = lease["reservations"]
        taken = held.get(reservation["id"], [])
        if not reservation["min"] <= len(taken) <= reservation["max"]:
            problems.append(
                f"lease {lease_id} holds {len(taken)} host(s), not "
                f"{reservation['min']}..{reservation['max']}"
            )
        if len(set(taken)) != len(taken):
            problems.append(f"lease {lease_id} holds a host twice: {taken}")
        text = reservation.get("resource_properties") or ""
        query = json.loads(text) if text else None
        if (
            lease_id in workload.known
            and query != workload.known[lease_id].query
        ):
            problems.append(f"lease {lease_id} filter became {text!r}")
        for host_id in taken:
            if not matches(query, capabilities[host_id]):
                problems.append(
                    f"lease {lease_id} holds host {host_id} "
                    f"{capabilities[host_id]}, outside {text}"
                )

    # The allocations API says the same as the table.
    listed = {
        (a["resource_id"], r["id"], r["lease_id"], r["start_date"])
        for a in _get(
            deployment.url + "/v1/os-hosts/allocations", "allocations"
        )
        for r in a["reservations"]
    }
    stored = {
        (
            str(row["computehost_id"]),
            row["reservation_id"],
            owners.get(row["reservation_id"]),
            leases[owners[row["reservation_id"]]]["start_date"]
            if owners.get(row["reservation_id"]) in leases
            else None,
        )
        for row in rows
    }
    if listed != stored:
        problems.append(
            f"GET /v1/os-hosts/allocations differs from the table: "
            f"only listed {sorted(listed - stored)}, "
            f"only stored {sorted(stored - listed)}"
        )

    assert not problems, "\n".join(problems)
    return {
        "leases left": len(leases),
        "allocations": len(rows),
        "back-to-back": sum(touching_pairs(w) for w in windows_of.values()),
    }


def run_races(deployment, started):
    """Register the hosts, race the clients, check and print the result.

    :param started: ``time.monotonic()`` when the deployment began starting.
    """
    for name, capabilities in HOSTS.items():
        response = requests.post(
            deployment.url + "/v1/os-hosts",
            json={"name": name, **capabilities},
            headers=ADMIN,
            timeout=30,
        )
        assert response.status_code == 201, response.text
    seed = int(
        os.environ.get("CLIMATE_TEST_RACE_SEED") or secrets.randbelow(10**6)
    )
    # Days ahead, on the hour: no lease starts while the test runs.
    base = (helpers.utcnow() + datetime.timedelta(days=2)).replace(
        minute=0, second=0, microsecond=0
    )
    workload = Workload(deployment, base, seed)
    began = time.monotonic()
    setup = began - started
    try:
        workload.run()
        took = time.monotonic() - began
        figures = check(deployment, workload)
        deployment.check_logs()
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from None
    done = OPERATIONS - workload.remaining
    # Refused though the committed state had room: the hosts were locked
    # by requests still in flight.
    contended = sum(free >= needed for needed, free in workload.refusals)
    outcomes = ", ".join(
        f"{op} {code}{' ' + name if name else ''}: {count}"
        for (op, code, name), count in sorted(
            workload.outcomes.items(), key=lambda i: (i[0][0], i[0][1])
        )
    )
    print(
        f"\n{deployment.name} (seed {seed}): started in {setup:.1f}s; "
        f"{done} operations in {took:.1f}s by {CLIENTS} clients; "
        f"{outcomes}; "
        f"creates refused with enough hosts free but locked: {contended}; "
        f"states checked while running: {workload.snapshots}; "
        + ", ".join(f"{k}: {v}" for k, v in figures.items())
    )
    assert done >= OPERATIONS // 4, f"only {done} operations in {took:.1f}s"
    creates = collections.Counter()
    for (op, code, _), count in workload.outcomes.items():
        if op == "create":
            creates[code] += count
    # The run raced for something: leases were granted and others refused.
    assert creates[201] >= 5 and creates[409] >= 1, creates
    return workload


# The deployments -------------------------------------------------------------


@pytest.mark.parametrize("backend", conftest.BACKENDS)
def test_host_races_distributed(
    backend,
    tmp_path,
    make_database,
    transport_url,
    climate_processes,
    run_climate,
):
    started = time.monotonic()
    deployment = distributed(
        backend,
        tmp_path,
        make_database,
        transport_url,
        climate_processes,
        run_climate,
    )
    run_races(deployment, started)


def test_host_races_sqlite(tmp_path, climate_processes):
    started = time.monotonic()
    workload = run_races(embedded(tmp_path, climate_processes), started)
    # One writer at a time: a refusal always means the hosts were taken.
    assert all(free < needed for needed, free in workload.refusals), (
        workload.refusals
    )
