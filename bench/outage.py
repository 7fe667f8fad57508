"""Outages of the message broker and of the database, under load.

For each case (the broker killed with ``kill -9``, the database stopped
with ``pg_ctl stop -m immediate``; each for 15 s and for 60 s, then
started again) it starts ``climate-api`` and two ``climate-manager``
processes on a RabbitMQ node and a PostgreSQL cluster of its own (made in
a temporary folder on free ports, never the machine's shared ones), runs
six writer threads (each lease created with its own Idempotency-Key, sent
again with the same key while answered 503) and two reader threads, and
prints:

* a table per second since the outage began: answers by code, p50 and
  max latency of writes and of reads;
* lost (a 201 whose lease is not in the database), phantom (a lease no
  client was answered 201 for) and dropped (a write still unanswered at
  the end) counts, other codes than 200/201/503, the first 503 after the
  outage began, the slowest write and read, and how long after the
  service came back the first write sent after it was answered 201.

Goals (issue 16): 0 lost, 0 phantom, 0 dropped, 503 within 5 s,
recovery within 5 s.  "The service came back" is when it accepts
connections again: a RabbitMQ node takes 8-15 s to start on a loaded
2-core machine, so the broker is away that much longer than asked.

    .venv/bin/python bench/outage.py [--seconds 15 60]
        [--cases broker database]
"""

import argparse
import os
import secrets
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import harness  # noqa: E402  (bench/harness.py)

from tests.services import outage_scenario as scenario  # noqa: E402
from tests.services.private_services import (  # noqa: E402
    PrivatePostgres,
    PrivateRabbit,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, nargs="+", default=[15, 60])
    parser.add_argument("--cases", nargs="+", default=["broker", "database"])
    args = parser.parse_args()
    print(harness.machine())
    folder = tempfile.mkdtemp(prefix="climate-bench-outage-")
    rabbit = PrivateRabbit(os.path.join(folder, "rabbit"))
    postgres = PrivatePostgres()
    try:
        rabbit.start()
        postgres.start()
        for case in args.cases:
            for seconds in args.seconds:
                run_case(case, seconds, rabbit, postgres, folder)
    finally:
        rabbit.stop()
        postgres.stop()


def run_case(case, seconds, rabbit, postgres, folder):
    name = f"{case}_{seconds}_{secrets.token_hex(3)}"
    work = os.path.join(folder, name)
    os.makedirs(work)
    db_url = postgres.create_database(f"outage_{name}")
    cluster = scenario.Cluster(work, db_url, rabbit.url)
    cluster.start()
    try:
        if case == "broker":
            outcome = scenario.run(cluster, rabbit.kill, rabbit.start, seconds)
        else:
            outcome = scenario.run(
                cluster, postgres.stop_immediately, postgres.start, seconds
            )
    finally:
        cluster.stop()
    away = outcome.back - outcome.away
    print(
        f"\n== {case} away {seconds} s (back after {away:.1f} s: the "
        "restart's own time included)"
    )
    print(outcome.table())
    print(outcome.summary())
    log = cluster.processes["api"].log()
    print(
        f"API log: {len(log.splitlines())} lines, "
        f"{log.count('Traceback')} tracebacks"
    )


if __name__ == "__main__":
    main()
