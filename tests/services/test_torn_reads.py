"""A lease read while it is deleted is whole or not found, never torn.

Readers and a deleter race on the real PostgreSQL and MariaDB: a read of a
lease (its row, then its reservations, then its events) must see one
snapshot.
"""

import datetime
import threading
import uuid

import pytest

from climate import exceptions, states
from climate.db import api as db_api

pytestmark = pytest.mark.services

T0 = datetime.datetime(2031, 1, 1)
LEASES = 150


def _lease():
    lease_id = str(uuid.uuid4())
    return db_api.lease_create(
        {
            "id": lease_id,
            "name": lease_id,
            "project_id": "p",
            "user_id": "u",
            "start_date": T0,
            "end_date": T0 + datetime.timedelta(hours=1),
            "status": states.LeaseStatus.PENDING,
            "degraded": False,
        },
        [
            {
                "id": str(uuid.uuid4()),
                "resource_type": "test:recorder",
                "status": states.ReservationStatus.PENDING,
            }
            for _ in range(2)
        ],
        [
            {
                "id": str(uuid.uuid4()),
                "event_type": "start_lease",
                "time": T0,
                "status": states.EventStatus.UNDONE,
                "attempts": 0,
            }
        ],
    )["id"]


def test_a_lease_being_deleted_is_read_whole_or_not_at_all(service_db, config):
    config.config(max_pool_size=8, group="database")
    db_api.dispose()
    ids = [_lease() for _ in range(LEASES)]
    done = threading.Event()
    seen = {"whole": 0, "gone": 0, "torn": []}
    lock = threading.Lock()

    def read():
        while not done.is_set():
            for lease_id in ids:
                try:
                    lease = db_api.lease_get(lease_id)
                except exceptions.LeaseNotFound:
                    outcome = "gone"
                else:
                    whole = (
                        len(lease["reservations"]) == 2
                        and len(lease["events"]) == 1
                    )
                    outcome = "whole" if whole else "torn"
                with lock:
                    if outcome == "torn":
                        seen["torn"].append(lease_id)
                    else:
                        seen[outcome] += 1

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for lease_id in ids:
            db_api.lease_destroy(lease_id)
    finally:
        done.set()
        for reader in readers:
            reader.join(30)
    print(f"reads: {seen['whole']} whole, {seen['gone']} not found")
    assert seen["torn"] == []
    assert seen["whole"] and seen["gone"]
