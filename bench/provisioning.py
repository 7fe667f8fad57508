"""Provisioning before the start: a lab replayed on a virtual clock.

Registers ``--hosts H`` (200) hosts and ``--images`` (5) images, each
with a default load time (what the operator guessed) and a true load
time (what the simulated lab takes, unknown to Climate), then replays
``--days D`` (7) of leases through the real lease manager, physical:host
plugin, event runner and SQLite database, with the ``simulated``
provisioning driver and OS module and a ``climate.clock.VirtualClock``:
each lease is created some time before its start (a few are created
"now"), asks for 1-4 hosts with an image (a tenth without), and lasts
1-8 hours.  Loads take the true time times a factor within ``--noise``
(0.3: +-30 %), and fail with ``--retry-rate`` and ``--fatal-rate``.

It prints:

* the share of leases with an image whose hosts were all ready at their
  start (goal: at least 99 % with +-30 % noise and no failures), apart
  from those granted knowing they would be late (created too close to
  their start, or when the driver's lanes were full until then);
* the mean lead time used against the true load time;
* the loads skipped because the host carried the image and was only
  sanitized since;
* how the estimate of each image converges, day by day, as history grows.

It prints figures; it never asserts on them.  ``Lab`` is also what
``tests/unit/plugins/hosts/test_provisioning_simulation.py`` replays
thousands of leases with, checking its invariants.

    .venv/bin/python bench/provisioning.py [--hosts H] [--days D]
        [--leases-per-day N] [--noise F] [--retry-rate F] [--fatal-rate F]
        [--seed S]
"""

import argparse
import collections
import dataclasses
import datetime
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa

T0 = datetime.datetime(2031, 3, 3, 0, 0)
WIRE = "%Y-%m-%d %H:%M"
IMAGES = (
    # name, default load time (s), true load time (s)
    ("ubuntu-24.04", 600, 480),
    ("rocky-9", 900, 1100),
    ("windows-11", 1800, 2400),
    ("debian-12", 600, 540),
    ("hpc-stack", 1200, 900),
)


@dataclasses.dataclass
class Report:
    """What a replay measured."""

    created: int = 0
    refused: int = 0
    with_image: int = 0
    too_close: int = 0
    on_time: int = 0
    #: ``{day a lease was created: [on time, with time to be]}``.
    by_day: dict = dataclasses.field(
        default_factory=lambda: collections.defaultdict(lambda: [0, 0])
    )
    missing: int = 0
    lead_ratio: list = dataclasses.field(default_factory=list)
    prepare_loads: int = 0
    skipped: int = 0
    sanitized: int = 0
    reloaded: int = 0
    estimates: dict = dataclasses.field(default_factory=dict)
    violations: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0


class Lab:
    """A lab of simulated hosts replayed through the real manager.

    :param set_option: ``(name, value, group)``: sets one option (the
        tests' config fixture, or ``CONF.set_override``).
    """

    def __init__(
        self,
        set_option,
        hosts=200,
        images=IMAGES,
        noise=0.3,
        retry_rate=0.0,
        fatal_rate=0.0,
        login_rate=0.5,
        lanes=20,
        seed=1,
        hours=(1, 2, 2, 3, 4, 4, 6, 8),
        counts=(1, 1, 1, 2, 2, 3, 4),
    ):
        from climate import plugins, provisioning

        self.images = images
        self.hosts = hosts
        self.hours = hours
        self.counts = counts
        self.random = random.Random(seed)  # noqa: S311  (a simulation)
        set_option("default_driver", "simulated", "provisioning")
        set_option("default_os_module", "simulated", "provisioning")
        set_option("max_concurrent_loads", lanes, "provisioning")
        options = {
            "noise": noise,
            "retry_rate": retry_rate,
            "fatal_rate": fatal_rate,
            "login_rate": login_rate,
            "seed": seed,
            "load_times": {name: true for name, _, true in images},
        }
        for name, value in options.items():
            set_option(name, value, "simulated_provisioning")
        provisioning.reset()
        self.plugins = plugins.load(["physical.host.plugin"])
        self.plugin = self.plugins["physical:host"]

    def replay(self, days=7, leases_per_day=300):
        """Create and run the leases of ``days`` days; return a Report."""
        from climate import clock, exceptions
        from climate import context as climate_context
        from climate.db import api as db_api
        from climate.manager import events, leases, runner
        from climate.plugins.hosts import estimates, provisioning

        began = time.monotonic()
        report = Report()
        virtual = clock.VirtualClock(T0)
        with clock.use(virtual):
            for index in range(self.hosts):
                self.plugin.inventory.create({"name": f"lab-{index:03d}"})
            images = [
                self.plugin.images.create_image(
                    {
                        "name": name,
                        "reference": f"http://images.lab/{name}.qcow2",
                        "default_load_time": default,
                    }
                )
                for name, default, _ in self.images
            ]
            requests = self._requests(days, leases_per_day, images)
            manager = leases.LeaseManager(self.plugins)
            each = runner.EventRunner(
                events.EventHandler(self.plugins), "lab", workers=1
            )
            context = climate_context.RequestContext(
                user_id="u", project_id="lab", overwrite=False
            )
            checkpoint = T0
            pending = collections.deque(requests)
            stale = datetime.timedelta(seconds=10)
            while True:
                due = db_api.event_next_due_time(stale)
                create_at = pending[0][0] if pending else None
                moments = [t for t in (due, create_at) if t is not None]
                if not moments:
                    break
                moment = max(min(moments), virtual.now())
                while checkpoint <= moment:
                    virtual.set(checkpoint)
                    report.estimates[checkpoint] = {
                        image["name"]: estimates.estimate(
                            provisioning.as_image(image), "simulated"
                        )
                        for image in images
                    }
                    checkpoint += datetime.timedelta(days=1)
                virtual.set(moment)
                while pending and pending[0][0] <= moment:
                    _, body = pending.popleft()
                    try:
                        manager.create(context, body)
                        report.created += 1
                    except exceptions.NotEnoughResourcesAvailable:
                        report.refused += 1
                each.run_pending()
        self._measure(report)
        report.seconds = time.monotonic() - began
        return report

    def _requests(self, days, per_day, images):
        out = []
        for index in range(days * per_day):
            start = T0 + datetime.timedelta(
                hours=6, minutes=self.random.randrange(days * 24 * 60)
            )
            hours = self.random.choice(self.hours)
            end = start + datetime.timedelta(hours=hours)
            count = self.random.choice(self.counts)
            reservation = {
                "resource_type": "physical:host",
                "min": count,
                "max": count,
            }
            if self.random.random() < 0.9:
                reservation["image"] = self.random.choice(images)["name"]
            if self.random.random() < 0.03:
                created, start_text = start, "now"
            else:
                ahead = self.random.uniform(1, 72)
                created = start - datetime.timedelta(hours=ahead)
                start_text = start.strftime(WIRE)
            created = max(created, T0)
            out.append(
                (
                    created,
                    {
                        "name": f"lease-{index}",
                        "start_date": start_text,
                        "end_date": end.strftime(WIRE),
                        "reservations": [reservation],
                    },
                )
            )
        out.sort(key=lambda item: item[0])
        return out

    # Measures and invariants ------------------------------------------------

    def _measure(self, report):
        from climate.db import engine, models
        from climate.plugins.hosts import models as host_models

        true = {name: t for name, _, t in self.images}
        HL = host_models.HostLoad
        RI = host_models.ReservationImage
        A = host_models.ComputeHostAllocation
        with engine.reader() as session:
            plans = session.execute(
                sa.select(
                    RI.reservation_id,
                    RI.prepare_lead,
                    RI.expected_at,
                    host_models.Image.name,
                    models.Reservation.missing_resources,
                    models.Lease.id,
                    models.Lease.start_date,
                    models.Lease.created_at,
                )
                .join(host_models.Image, host_models.Image.id == RI.image_id)
                .join(
                    models.Reservation,
                    models.Reservation.id == RI.reservation_id,
                )
                .join(
                    models.Lease,
                    models.Lease.id == models.Reservation.lease_id,
                )
            ).all()
            loads = session.scalars(sa.select(HL).order_by(HL.id)).all()
            allocations = session.execute(
                sa.select(
                    A.reservation_id,
                    A.computehost_id,
                    A.start_date,
                    A.end_date,
                )
            ).all()
        window = {(a[0], a[1]): (a[2], a[3]) for a in allocations}
        last_prepare = {}
        for load in loads:
            if load.kind == "prepare" and load.status != "planned":
                report.prepare_loads += load.status != "skipped"
                report.skipped += load.status == "skipped"
                last_prepare[(load.reservation_id, load.computehost_id)] = load
            report.sanitized += (
                load.kind == "sanitize" and load.status == "ready"
            )
            report.reloaded += load.kind == "reload" and load.status == "ready"
        held = collections.defaultdict(list)
        for (reservation_id, host_id), _ in window.items():
            held[reservation_id].append(host_id)
        for plan in plans:
            report.with_image += 1
            if plan.expected_at is not None and plan.expected_at > (
                plan.start_date
            ):
                # Granted knowing it would be late: too close to its
                # start, or the driver's lanes were full until then.
                report.too_close += 1
                continue
            report.lead_ratio.append(plan.prepare_lead / true[plan.name])
            day = report.by_day[plan.created_at.date()]
            day[1] += 1
            ready = []
            for host_id in held[plan.reservation_id]:
                load = last_prepare.get((plan.reservation_id, host_id))
                ready.append(
                    load is not None
                    and load.status in ("ready", "skipped")
                    and load.finished_at <= plan.start_date
                )
            if all(ready):
                report.on_time += 1
                day[0] += 1
            elif plan.missing_resources:
                report.missing += 1
            else:
                report.violations.append(
                    f"lease {plan.id}: a host was not ready at its start "
                    "and the reservation is not marked missing"
                )
        self._check_exclusive(report, loads, window, allocations)

    def _check_exclusive(self, report, loads, window, allocations):
        by_host = collections.defaultdict(list)
        for load in loads:
            if load.status == "planned" or load.reservation_id is None:
                continue
            if (
                load.kind not in ("prepare", "reload")
                or load.started_at is None
            ):
                continue
            by_host[load.computehost_id].append(
                (load.started_at, load.finished_at, load.reservation_id)
            )
            held = window.get((load.reservation_id, load.computehost_id))
            if (
                load.kind == "prepare"
                and held is not None
                and load.started_at < held[0]
            ):
                report.violations.append(
                    f"host {load.computehost_id} was loaded for reservation "
                    f"{load.reservation_id} before it held the host"
                )
        for host_id, intervals in by_host.items():
            intervals.sort()
            for (_, end, first), (start, _, second) in zip(
                intervals, intervals[1:], strict=False
            ):
                if first != second and start < end:
                    report.violations.append(
                        f"host {host_id} was prepared for reservations "
                        f"{first} and {second} at once"
                    )
        spans = collections.defaultdict(list)
        for reservation_id, host_id, start, end in allocations:
            spans[host_id].append((start, end, reservation_id))
        for host_id, intervals in spans.items():
            intervals.sort()
            for (_, end, _), (start, _, _) in zip(
                intervals, intervals[1:], strict=False
            ):
                if start < end:
                    report.violations.append(
                        f"host {host_id} is allocated twice at once"
                    )


# Running it by hand -------------------------------------------------------


def _print(report, images, title):
    timed = report.with_image - report.too_close
    print(f"\n{title}")
    print(
        f"  leases created {report.created}, refused (409) {report.refused}, "
        f"with an image {report.with_image} "
        f"({report.too_close} granted knowing they would be late)"
    )
    share = 100.0 * report.on_time / timed if timed else float("nan")
    print(
        f"  ready at their start: {report.on_time}/{timed} = {share:.2f} % "
        f"(goal >= 99 %); marked missing_resources: {report.missing}"
    )
    print(
        "  by the day leases were created: "
        + ", ".join(
            f"{day:%m-%d} {100.0 * ok / n:.1f} % of {n}"
            for day, (ok, n) in sorted(report.by_day.items())
            if n
        )
    )
    if report.lead_ratio:
        print(
            "  lead time used / true load time: mean "
            f"{statistics.mean(report.lead_ratio):.2f}, median "
            f"{statistics.median(report.lead_ratio):.2f}"
        )
    total = report.prepare_loads + report.skipped
    print(
        f"  preparations {total}: loads {report.prepare_loads}, skipped "
        f"thanks to sanitize {report.skipped} "
        f"({100.0 * report.skipped / total if total else 0:.1f} %); at "
        f"reclaim {report.sanitized} sanitized, {report.reloaded} reloaded"
    )
    print("  estimate by day (s), true load time in brackets:")
    names = [name for name, _, _ in images]
    print("    day  " + "  ".join(f"{n:>14}" for n in names))
    true = {name: t for name, _, t in images}
    for day, values in sorted(report.estimates.items()):
        print(
            f"    {day:%m-%d}"
            + "  ".join(f"{values[n]:>8.0f} [{true[n]:>4}]" for n in names)
        )
    print(f"  invariant violations: {len(report.violations)}")
    for line in report.violations[:5]:
        print(f"    {line}")
    print(f"  replayed in {report.seconds:.0f} s")


def _fresh_database():
    from oslo_config import cfg

    from climate import conf  # noqa: F401  (registers the options)
    from climate.db import api as db_api
    from climate.db import migration

    state = tempfile.mkdtemp(prefix="climate-bench-provisioning-")
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
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--leases-per-day", type=int, default=300)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--retry-rate", type=float, default=0.0)
    parser.add_argument("--fatal-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    runs = [("noise only", args.retry_rate, args.fatal_rate)]
    if not (args.retry_rate or args.fatal_rate):
        runs.append(("noise and failures (5 % retry, 1 % fatal)", 0.05, 0.01))
    for title, retry_rate, fatal_rate in runs:
        conf, state = _fresh_database()

        def set_option(name, value, group, conf=conf):
            conf.set_override(name, value, group=group)

        lab = Lab(
            set_option,
            hosts=args.hosts,
            noise=args.noise,
            retry_rate=retry_rate,
            fatal_rate=fatal_rate,
            seed=args.seed,
        )
        report = lab.replay(args.days, args.leases_per_day)
        _print(
            report,
            lab.images,
            f"{title}: {args.hosts} hosts, {len(lab.images)} images, "
            f"{args.days} days, noise +-{args.noise:.0%}",
        )
        conf.reset()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
