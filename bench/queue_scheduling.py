"""Best-effort and preemptible leases beside advance reservations, over a
synthetic month on a virtual clock.

Registers ``--hosts H`` (128) hosts and replays ``--days D`` (30) of
leases through the real lease manager, queue scheduler, physical:host
plugin, event runner and SQLite database, with a
``climate.clock.VirtualClock`` (nothing sleeps).

The workload (seeded ``--seed``, 1), shaped like a batch trace:

- arrivals come in bursts: each kind has bursts at uniformly random
  moments (``--bursts-per-day``, 6 a day in all, shared out 3:2:1 among
  best-effort, advance and preemptible), each burst of a geometric number
  of leases (mean 4) a few minutes apart (exponential gaps, mean 3 min);
- sizes are powers of two: 1, 2, 4, 8, 16 or 32 hosts with weights 32,
  16, 8, 4, 2, 1 (small ones common);
- durations are heavy-tailed: Pareto with shape 1.3 from 30 minutes,
  capped at 48 hours (median about 1 h 10 min, a few last days);
- advance leases are booked 1-48 hours before their start (uniform);
  best-effort leases may start at once; preemptible leases ask for a
  window starting at their arrival.

Four replays of the same month: advance leases only; advance +
best-effort + preemptible with FCFS and EASY backfilling; the same with
strict FCFS (no backfilling); and shortest-first with backfilling.  The
scheduler pass runs every 5 minutes of virtual time and whenever a lease
arrives or an event ran (capacity may have freed), as the manager does.

For each it prints host utilization (host-hours held by leases within
the month over all host-hours), the mean and p95 wait of the best-effort
leases placed (placed start minus arrival; those never placed are counted
apart), advance leases refused, advance leases delayed (started more
than a minute after their start date), and preemptions.  Goal:
utilization at least 20 points above advance-only, with no advance lease
delayed.  It prints figures; it never asserts on them.

    .venv/bin/python bench/queue_scheduling.py [--hosts H] [--days D]
        [--seed S] [--bursts-per-day B] [--only advance|backfill|fcfs|sjf]
"""

import argparse
import dataclasses
import datetime
import math
import os
import random
import shutil
import sys
import tempfile
import time

# This script's name is the standard library's ``queue``, and Python puts
# the script's directory first on sys.path: without it there, "import
# queue" (multiprocessing, futurist) finds the standard module.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

T0 = datetime.datetime(2031, 3, 3, 0, 0)
WIRE = "%Y-%m-%d %H:%M"
SIZES = (1, 2, 4, 8, 16, 32, 64)
SIZE_WEIGHTS = (6, 5, 4, 3, 2, 1, 1)
#: Arrivals a day of each kind (bursts of a mean of 4 leases).
PER_DAY = {"advance": 48, "best_effort": 40, "preemptible": 8}
MINUTE = datetime.timedelta(minutes=1)


@dataclasses.dataclass
class Report:
    """What a replay measured."""

    advance: int = 0
    advance_refused: int = 0
    advance_delayed: int = 0
    best_effort: int = 0
    waits: list = dataclasses.field(default_factory=list)
    never_placed: int = 0
    preemptible: int = 0
    preemptible_refused: int = 0
    preemptions: int = 0
    held_hours: float = 0.0
    host_hours: float = 0.0
    seconds: float = 0.0


def _duration(rng):
    """Pareto(1.3) from 1 hour, capped at 72 hours, to the minute."""
    minutes = 60 / (1 - rng.random()) ** (1 / 1.3)
    return datetime.timedelta(minutes=round(min(minutes, 72 * 60)))


def _size(rng, hosts):
    return min(rng.choices(SIZES, SIZE_WEIGHTS)[0], hosts)


def workload(rng, days, hosts, load):
    """``[(arrival, kind, body)]`` in arrival order."""
    out = []
    month = days * 24 * 60
    for kind, per_day in PER_DAY.items():
        bursts = round(per_day * load * days / 4)
        for _ in range(bursts):
            at = T0 + datetime.timedelta(minutes=rng.randrange(month))
            count = 1
            while rng.random() < 0.75:  # geometric, mean 4
                count += 1
            for _ in range(count):
                at += datetime.timedelta(minutes=rng.expovariate(1 / 3))
                out.append((at.replace(second=0, microsecond=0), kind))
    out.sort()
    leases = []
    for index, (at, kind) in enumerate(out):
        size = _size(rng, hosts)
        length = _duration(rng)
        body = {
            "name": f"{kind}-{index}",
            "reservations": [
                {"resource_type": "physical:host", "min": size, "max": size}
            ],
        }
        if kind == "best_effort":
            body.update(
                kind=kind,
                duration=f"{length.seconds // 60 + length.days * 1440}m",
            )
        else:
            start = at
            if kind == "advance":
                start = at + datetime.timedelta(
                    minutes=rng.randrange(60, 48 * 60)
                )
            else:
                start = at + MINUTE
            body.update(
                kind=kind,
                start_date=start.strftime(WIRE),
                end_date=(start + length).strftime(WIRE),
            )
        leases.append((at, kind, body))
    return leases


def replay(leases_in, hosts, days, mode):
    """Replay the month in ``mode``; return a Report."""
    from oslo_config import cfg

    from climate import clock, exceptions, plugins
    from climate import context as climate_context
    from climate.db import api as db_api
    from climate.manager import events, leases, queue, runner
    from climate.queue import orders

    began = time.monotonic()
    report = Report(host_hours=hosts * days * 24)
    loaded = plugins.load(["physical.host.plugin"])
    plugin = loaded["physical:host"]
    cfg.CONF.set_override("cleaning_time", 0, group="physical:host")
    virtual = clock.VirtualClock(T0)
    end_of_month = T0 + datetime.timedelta(days=days)
    arrived = {}
    started = {}
    with clock.use(virtual):
        for index in range(hosts):
            plugin.inventory.create({"name": f"node-{index:03d}"})
        manager = leases.LeaseManager(loaded)
        preempt = manager._preempt

        def counted(victim, cutoff):
            report.preemptions += 1
            return preempt(victim, cutoff)

        manager._preempt = counted
        handler = events.EventHandler(loaded)
        each = runner.EventRunner(handler, "queue-bench", workers=1)
        scheduler = queue.QueueScheduler(
            manager,
            loaded,
            order=(
                orders.ShortestFirst()
                if mode == "sjf"
                else orders.FirstComeFirstServed()
            ),
            backfilling=mode != "fcfs",
            estimates=False,
        )
        context = climate_context.RequestContext(
            user_id="u", project_id="p", overwrite=False
        )
        todo = [
            item
            for item in leases_in
            if mode != "advance" or item[1] == "advance"
        ]
        todo.reverse()
        stale = datetime.timedelta(seconds=10)
        while True:
            due = db_api.event_next_due_time(stale)
            arrival = todo[-1][0] if todo else None
            moments = [t for t in (due, arrival) if t]
            moment = max(min(moments), virtual.now())
            if moment >= end_of_month:
                break
            virtual.set(moment)
            while todo and todo[-1][0] <= moment:
                _, kind, body = todo.pop()
                try:
                    lease = manager.create(context, body)
                except exceptions.NotEnoughResourcesAvailable:
                    if kind == "advance":
                        report.advance_refused += 1
                    elif kind == "preemptible":
                        report.preemptible_refused += 1
                    continue
                if kind == "best_effort":
                    report.best_effort += 1
                    arrived[lease["id"]] = moment
                elif kind == "advance":
                    report.advance += 1
                    started[lease["id"]] = lease["start_date"]
                else:
                    report.preemptible += 1
            ran = each.run_pending()
            if mode != "advance" and (ran or moment == arrival):
                for lease in scheduler.run_pass():
                    arrived_at = arrived.get(lease["id"])
                    if arrived_at is None:
                        continue  # requeued after a preemption
                    wait = lease["start_date"] - arrived_at
                    report.waits.append(wait.total_seconds())
                each.run_pending()
        report.never_placed = sum(
            1 for lease in db_api.leases_queued() if lease["id"] in arrived
        )
        report.advance_delayed = _delayed(
            {
                lease_id: start
                for lease_id, start in started.items()
                if start < end_of_month - MINUTE
            }
        )
        report.held_hours = _held_hours(end_of_month)
    report.seconds = time.monotonic() - began
    return report


def _delayed(starts):
    """Advance leases whose start event ran more than a minute late (or
    not at all, though due)."""
    import sqlalchemy as sa

    from climate.db import engine, models

    E = models.Event
    late = 0
    with engine.reader() as session:
        rows = session.execute(
            sa.select(E.lease_id, E.time, E.status, E.updated_at).where(
                E.event_type == "start_lease",
                E.lease_id.in_(list(starts)),
            )
        )
        for lease_id, _due, status, done_at in rows:
            if status != "DONE":
                late += 1
            elif done_at is not None and done_at > starts[lease_id] + MINUTE:
                late += 1
    return late


def _held_hours(until):
    """Host-hours held by allocations within the month."""
    import sqlalchemy as sa

    from climate.plugins.hosts import models as host_models
    from climate.plugins.hosts.db import api as host_db

    A = host_models.ComputeHostAllocation
    total = 0.0
    with host_db.reader() as session:
        for start, end in session.execute(sa.select(A.start_date, A.end_date)):
            end = min(end, until)
            start = max(start, T0)
            if end > start:
                total += (end - start).total_seconds() / 3600
    return total


def _p95(values):
    values = sorted(values)
    return values[max(1, math.ceil(0.95 * len(values))) - 1]


def _hours(seconds):
    return f"{seconds / 3600:.2f} h"


def _print(title, report, baseline=None):
    share = report.held_hours / report.host_hours
    print(title)
    line = f"  host utilization: {share:.1%}"
    if baseline is not None:
        line += f" ({(share - baseline) * 100:+.1f} points over advance-only)"
    print(line)
    print(
        f"  advance leases: {report.advance} granted, "
        f"{report.advance_refused} refused, {report.advance_delayed} delayed"
    )
    if report.best_effort:
        placed = len(report.waits)
        mean = sum(report.waits) / placed if placed else 0.0
        p95 = _p95(report.waits) if placed else 0.0
        print(
            f"  best-effort leases: {report.best_effort} queued, {placed} "
            f"placed, {report.never_placed} still queued at the end; wait "
            f"mean {_hours(mean)}, p95 {_hours(p95)}"
        )
        print(
            f"  preemptible leases: {report.preemptible} granted, "
            f"{report.preemptible_refused} refused; preemptions "
            f"{report.preemptions}"
        )
    print(f"  replayed in {report.seconds:.0f} s")
    return share


def _fresh_database():
    from oslo_config import cfg

    from climate import conf  # noqa: F401  (registers the options)
    from climate.db import api as db_api
    from climate.db import migration

    state = tempfile.mkdtemp(prefix="climate-bench-queue-")
    cfg.CONF([], project="climate", default_config_files=[])
    cfg.CONF.set_override("state_path", state)
    cfg.CONF.set_override(
        "connection", f"sqlite:///{state}/climate.sqlite", group="database"
    )
    db_api.dispose()
    migration.upgrade("head")
    return cfg.CONF, state


MODES = {
    "advance": "advance leases only",
    "backfill": "advance + best-effort + preemptible, FCFS with backfilling",
    "fcfs": "advance + best-effort + preemptible, strict FCFS",
    "sjf": "advance + best-effort + preemptible, shortest first, backfilling",
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=128)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--load",
        type=float,
        default=1.0,
        help="scale every kind's arrival rate by this",
    )
    parser.add_argument("--only", choices=sorted(MODES), action="append")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    leases_in = workload(
        random.Random(args.seed),  # noqa: S311  (a simulation)
        args.days,
        args.hosts,
        args.load,
    )
    kinds = {}
    for _, kind, _ in leases_in:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(
        f"workload: {args.hosts} hosts, {args.days} days, seed {args.seed}: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    )
    baseline = None
    for mode in args.only or list(MODES):
        conf, state = _fresh_database()
        report = replay(leases_in, args.hosts, args.days, mode)
        share = _print(MODES[mode], report, baseline)
        if mode == "advance":
            baseline = share
        conf.reset()
        shutil.rmtree(state, ignore_errors=True)
    if baseline is None:
        print("(no advance-only replay: no utilization gain computed)")


if __name__ == "__main__":
    main()
