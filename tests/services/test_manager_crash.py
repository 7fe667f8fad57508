"""A manager killed with ``kill -9`` while it runs hooks.

One API and two managers on RabbitMQ and a fresh PostgreSQL or MariaDB
database.  Leases whose start hook takes 2.5 s are created at once; when
the first manager holds some of their starts, it is killed.  The other
manager takes the stranded events over once their claims go stale (the
claims are renewed every 0.5 s and stale after 3 s): every lease becomes
ACTIVE, every start's effect happens exactly once, and the stranded
events finish within seconds of the kill, not after a long timeout.
"""

import collections
import os
import signal
import time

import pytest
import sqlalchemy as sa

from tests import helpers
from tests.services.test_distributed import Deployment

pytestmark = pytest.mark.services

LEASES = 16
HOOK_SECONDS = 2.5
CLAIM_TIMEOUT = 3


def _claims(db_url):
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT id, lease_id, event_type, status, attempts, "
                    "claimed_by, updated_at FROM events "
                    "WHERE event_type = 'start_lease'"
                )
            )
            return [row._asdict() for row in rows]
    finally:
        engine.dispose()


def test_a_killed_managers_events_are_taken_over_within_seconds(
    tmp_path, db_url, transport_url, climate_processes, run_climate
):
    deployment = Deployment(
        tmp_path, db_url, transport_url, climate_processes, run_climate
    )
    deployment._common["manager"].update(
        {
            "claim_timeout": CLAIM_TIMEOUT,
            "heartbeat_interval": 0.5,
            "event_workers": 8,
        }
    )
    deployment.start()
    victim = deployment.managers["manager-a"]
    leases = [
        deployment.create_lease(
            f"slow-on_start-{int(HOOK_SECONDS * 1000)}-{index}",
            "now",
            helpers.future(days=1),
        )
        for index in range(LEASES)
    ]

    def victim_holds_starts():
        held = [
            c
            for c in _claims(db_url)
            if c["status"] == "IN_PROGRESS"
            and deployment.claimer(c["claimed_by"] or "") == "manager-a"
        ]
        return held

    helpers.wait_for(
        victim_holds_starts, 20, 0.05, "manager-a to run start hooks"
    )
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    victim.process.wait(10)
    # Read once the victim is dead: it may have claimed more starts
    # between the look above and the kill.
    stranded = victim_holds_starts()
    assert stranded

    stranded_ids = {c["id"] for c in stranded}

    def stranded_done():
        return all(
            c["status"] == "DONE"
            for c in _claims(db_url)
            if c["id"] in stranded_ids
        )

    helpers.wait_for(stranded_done, 60, 0.1, "the stranded starts to finish")
    recovered_in = time.monotonic() - killed_at
    for lease in leases:
        helpers.wait_for(
            lambda lease=lease: (
                deployment.get_lease(lease["id"])["status"] == "ACTIVE"
            ),
            30,
            0.2,
            f"lease {lease['name']} ACTIVE",
        )
    print(
        f"{len(stranded)} starts stranded by the kill, finished "
        f"{recovered_in:.1f} s after it"
    )
    # Taken over once stale (3 s), then the hook runs again (2.5 s).
    assert recovered_in < CLAIM_TIMEOUT + HOOK_SECONDS + 3

    for claim in _claims(db_url):
        assert claim["status"] == "DONE", claim
        assert deployment.claimer(claim["claimed_by"]) == "manager-b" or (
            claim["id"] not in stranded_ids
        )
        expected = 2 if claim["id"] in stranded_ids else 1
        assert claim["attempts"] == expected, claim

    # Each start's effect happened once: the killed manager never finished
    # its hooks, and nobody ran a finished hook again.
    effects = collections.Counter(
        r["lease_id"]
        for r in helpers.read_records(deployment.record)
        if r["hook"] == "on_start" and r.get("done")
    )
    assert effects == {lease["id"]: 1 for lease in leases}
