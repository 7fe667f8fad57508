"""The energy policy over a synthetic month, on a virtual clock.

Registers ``--hosts H`` (100) hosts whose BMCs are the ``simulated``
power driver's (each host boots in a time drawn from 60-300 s, unknown
to Climate, which starts from ``[power] default_boot_time`` = 300 s and
learns), then replays ``--days D`` (30) of leases through the real lease
manager, physical:host plugin, event runner, power task and SQLite
database, with a ``climate.clock.VirtualClock`` (nothing sleeps).

The leases (seeded ``--seed``, 1): ``--leases-per-day`` (40) arrivals a
day at uniformly random minutes; each asks for 1-8 hosts (1, 1, 2, 2, 3,
4, 6 or 8, uniformly), lasts 1-24 hours (1, 2, 3, 4, 6, 8, 12 or 24) and
is created 1-72 hours before its start, or at its start ("now") for
``--now-share`` (0.1) of them.  The power task runs every ``[power]
interval`` (300 s) of virtual time with ``idle_time`` 30 min, margin
300 s and 2 spare hosts kept on.

The same month is replayed with the policy off, and it prints for each:
host-hours powered off, the share of idle host-hours (hosts held by no
lease) saved, power cycles per host, and leases whose start waited for a
host to power on (goal: none, apart from "now" leases finding no spare
on; both counted).  It prints figures; it never asserts on them.

    .venv/bin/python bench/energy.py [--hosts H] [--days D]
        [--leases-per-day N] [--now-share F] [--seed S] [--policy P]
"""

import argparse
import collections
import dataclasses
import datetime
import os
import random
import shutil
import sys
import tempfile
import time

T0 = datetime.datetime(2031, 3, 3, 0, 0)
WIRE = "%Y-%m-%d %H:%M"
COUNTS = (1, 1, 2, 2, 3, 4, 6, 8)
HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
INTERVAL = 300


@dataclasses.dataclass
class Report:
    """What a replay measured."""

    created: int = 0
    refused: int = 0
    now_leases: int = 0
    host_hours: float = 0.0
    held_hours: float = 0.0
    off_hours: float = 0.0
    cycles: int = 0
    delayed: set = dataclasses.field(default_factory=set)
    delayed_now: set = dataclasses.field(default_factory=set)
    learned: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    hosts: int = 0


def _requests(rng, days, per_day, now_share):
    out = []
    for index in range(days * per_day):
        start = T0 + datetime.timedelta(
            hours=6, minutes=rng.randrange(days * 24 * 60)
        )
        end = start + datetime.timedelta(hours=rng.choice(HOURS))
        count = rng.choice(COUNTS)
        now = rng.random() < now_share
        created = (
            start
            if now
            else start - datetime.timedelta(hours=rng.uniform(1, 72))
        )
        out.append(
            (
                max(created, T0),
                now,
                {
                    "name": f"lease-{index}",
                    "start_date": "now" if now else start.strftime(WIRE),
                    "end_date": end.strftime(WIRE),
                    "reservations": [
                        {
                            "resource_type": "physical:host",
                            "min": count,
                            "max": count,
                        }
                    ],
                },
            )
        )
    out.sort(key=lambda item: item[0])
    return out


def replay(set_option, hosts, days, per_day, now_share, seed, policy):
    """Replay the month; return a Report."""
    from climate import clock, exceptions, plugins
    from climate import context as climate_context
    from climate.db import api as db_api
    from climate.manager import events, leases, runner
    from climate.plugins.hosts.db import api as host_db
    from climate.power import simulated

    set_option("energy_policy", policy, "power")
    set_option("interval", INTERVAL, "power")
    set_option("idle_time", 30, "power")
    set_option("margin", 300, "power")
    set_option("default_boot_time", 300, "power")
    set_option("spare_hosts", 2, "power")
    set_option("poll_interval", 10, "power")
    simulated.forget()
    rng = random.Random(seed)  # noqa: S311  (a simulation)
    began = time.monotonic()
    report = Report()
    loaded = plugins.load(["physical.host.plugin"])
    plugin = loaded["physical:host"]
    now_ids = set()
    start_hook = plugin.on_start

    def on_start(lease, reservation):
        try:
            start_hook(lease, reservation)
        except exceptions.NotReady:
            target = (
                report.delayed_now
                if lease["id"] in now_ids
                else report.delayed
            )
            target.add(lease["id"])
            raise

    plugin.on_start = on_start
    virtual = clock.VirtualClock(T0)
    end_of_month = T0 + datetime.timedelta(days=days)
    with clock.use(virtual):
        for index in range(hosts):
            boot = rng.randrange(60, 301)
            plugin.inventory.create(
                {
                    "name": f"node-{index:03d}",
                    "power_driver": "simulated",
                    "power_address": f"sim://{boot}",
                }
            )
        requests = collections.deque(_requests(rng, days, per_day, now_share))
        manager = leases.LeaseManager(loaded)
        each = runner.EventRunner(
            events.EventHandler(loaded), "energy", workers=1
        )
        context = climate_context.RequestContext(
            user_id="u", project_id="p", overwrite=False
        )
        next_pass = T0
        stale = datetime.timedelta(seconds=10)
        while True:
            due = db_api.event_next_due_time(stale)
            create_at = requests[0][0] if requests else None
            moments = [t for t in (due, create_at, next_pass) if t]
            moment = max(min(moments), virtual.now())
            if moment >= end_of_month:
                break
            virtual.set(moment)
            while requests and requests[0][0] <= moment:
                _, now, body = requests.popleft()
                try:
                    lease = manager.create(context, body)
                    report.created += 1
                    if now:
                        now_ids.add(lease["id"])
                        report.now_leases += 1
                except exceptions.NotEnoughResourcesAvailable:
                    report.refused += 1
            each.run_pending()
            if moment >= next_pass:
                plugin.power.run_once()
                off = sum(
                    1
                    for row in host_db.host_power_overview(moment)
                    if row["state"] in ("off", "powering_off")
                )
                report.off_hours += off * INTERVAL / 3600
                next_pass = moment + datetime.timedelta(seconds=INTERVAL)
        for row in host_db.host_power_overview(end_of_month):
            report.cycles += row["cycles"]
            if row["boot_time"] is not None:
                report.learned.append(row["boot_time"])
        report.held_hours = _held_hours(end_of_month)
    report.host_hours = hosts * days * 24
    report.hosts = hosts
    report.seconds = time.monotonic() - began
    return report


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
            if end > start:
                total += (end - start).total_seconds() / 3600
    return total


def _print(title, report):
    idle = report.host_hours - report.held_hours
    print(title)
    print(
        f"  leases: {report.created} granted ({report.now_leases} 'now'), "
        f"{report.refused} refused"
    )
    print(
        f"  host-hours: {report.host_hours:.0f} in all, "
        f"{report.held_hours:.0f} held by leases, {idle:.0f} idle"
    )
    print(f"  host-hours powered off: {report.off_hours:.0f}")
    share = report.off_hours / idle if idle > 0 else 0.0
    print(f"  share of the idle host-hours saved: {share:.1%}")
    hosts = report.hosts
    print(f"  power cycles per host: {report.cycles / hosts:.1f}")
    print(
        f"  leases whose start waited for a power-on: "
        f"{len(report.delayed)} planned ahead, "
        f"{len(report.delayed_now)} of the 'now' leases"
    )
    if report.learned:
        mean = sum(report.learned) / len(report.learned)
        print(f"  learned boot time, mean over hosts: {mean:.0f} s")
    print(f"  replayed in {report.seconds:.0f} s")


def _fresh_database():
    from oslo_config import cfg

    from climate import conf  # noqa: F401  (registers the options)
    from climate.db import api as db_api
    from climate.db import migration

    state = tempfile.mkdtemp(prefix="climate-bench-energy-")
    cfg.CONF([], project="climate", default_config_files=[])
    cfg.CONF.set_override("state_path", state)
    cfg.CONF.set_override(
        "connection", f"sqlite:///{state}/climate.sqlite", group="database"
    )
    db_api.dispose()
    migration.upgrade("head")
    return cfg.CONF, state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--leases-per-day", type=int, default=40)
    parser.add_argument("--now-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--policy",
        choices=("both", "on", "off"),
        default="both",
        help="replay with the energy policy on, off, or both (one after "
        "the other)",
    )
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    policies = {"both": (True, False), "on": (True,), "off": (False,)}
    for policy in policies[args.policy]:
        conf, state = _fresh_database()

        def set_option(name, value, group, conf=conf):
            conf.set_override(name, value, group=group)

        report = replay(
            set_option,
            args.hosts,
            args.days,
            args.leases_per_day,
            args.now_share,
            args.seed,
            policy,
        )
        _print(
            f"energy policy {'on' if policy else 'off'}: {args.hosts} "
            f"hosts, {args.days} days, {args.leases_per_day} leases a day",
            report,
        )
        conf.reset()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
