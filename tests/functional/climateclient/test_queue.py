"""``climate lease create --best-effort`` against a real climate-all:
queued at once, listed with its kind and place in the queue, followed by
``lease show --wait`` through its placement when capacity frees."""

import concurrent.futures
import datetime
import time

import pytest

from tests import helpers
from tests.functional.climateclient import support

pytestmark = pytest.mark.functional


def _minute(minutes):
    moment = helpers.utcnow() + datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%d %H:%M")


def test_best_effort_lease_queued_then_placed(cli, add_hosts, pool):
    add_hosts(1)
    blocker = cli.json(
        "lease",
        "create",
        "blocker",
        "--start-date",
        _minute(2),
        "--duration",
        "1d",
        "--reservation",
        support.in_pool(pool),
    )
    queued = cli.json(
        "lease",
        "create",
        "batch",
        "--best-effort",
        "--duration",
        "2h",
        "--reservation",
        support.in_pool(pool),
    )
    assert queued["kind"] == "best_effort"
    assert queued["status"] == "QUEUED"
    assert queued["duration"] == "2h"

    def listed():
        rows = cli.json("lease", "list")
        row = next(r for r in rows if r["name"] == "batch")
        return row["queue_position"] == 1 and rows

    rows = helpers.wait_for(listed, 15, 0.2, "a queue position")
    kinds = {row["name"]: row["kind"] for row in rows}
    assert kinds == {"blocker": "advance", "batch": "best_effort"}

    with concurrent.futures.ThreadPoolExecutor(1) as pool_:
        follow = pool_.submit(
            cli.spawn,
            "lease",
            "show",
            "batch",
            "--wait",
            "--timeout",
            "60",
            "-f",
            "json",
            "-c",
            "status",
            "-c",
            "kind",
        )
        time.sleep(2)  # the follower reports the lease QUEUED first
        deleted = cli.run("lease", "delete", blocker["id"])
        assert deleted.code == 0, deleted
        done = follow.result(90)
    assert done.code == 0, done
    assert done.json() == {"kind": "best_effort", "status": "ACTIVE"}
    lines = done.stderr.splitlines()
    assert lines[0].startswith("Lease batch (")
    assert "is QUEUED (position 1 in the queue, earliest start" in lines[0]
    assert lines[-1].endswith("is ACTIVE")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--best-effort"], "--best-effort needs --duration"),
        (
            ["--best-effort", "--end-date", "2035-01-01 10:00"],
            "--best-effort takes no --end-date",
        ),
        (["--not-before", "now"], "are for --best-effort leases"),
    ],
)
def test_best_effort_options_say_what_is_wrong(cli, argv, message):
    result = cli.run("lease", "create", "x", *argv)
    assert result.code != 0
    assert message in result.stderr


def test_the_service_refuses_an_earliest_start_in_the_past(cli, pool):
    result = cli.run(
        "lease",
        "create",
        "x",
        "--best-effort",
        "--duration",
        "1h",
        "--not-before",
        "2001-01-01 10:00",
        "--reservation",
        support.in_pool(pool),
    )
    assert result.code != 0
    assert "start_date 2001-01-01 10:00 is in the past" in result.stderr
