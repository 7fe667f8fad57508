"""``climate availability search``, ``climate lease show --extension`` and
``climate lease set --prolong-for max`` against a real climate-all."""

import datetime

import pytest

from tests import helpers
from tests.functional.climateclient import support

pytestmark = pytest.mark.functional

DATE_OUT = "%Y-%m-%dT%H:%M:%S.%f"


def _at(hours):
    """A "YYYY-MM-DD HH:MM" ``hours`` after the next whole hour."""
    base = helpers.utcnow().replace(minute=0, second=0, microsecond=0)
    moment = base + datetime.timedelta(hours=hours + 1)
    return moment.strftime("%Y-%m-%d %H:%M")


def _out(text):
    return datetime.datetime.strptime(text, DATE_OUT).strftime(
        "%Y-%m-%d %H:%M"
    )


def _create(cli, name, start, end, pool, count=1):
    return cli.json(
        "lease",
        "create",
        name,
        "--start-date",
        start,
        "--end-date",
        end,
        "--reservation",
        support.in_pool(pool, min=count, max=count),
    )


def test_search_then_book_the_first_window(cli, add_hosts, pool, project):
    add_hosts(2)
    other = cli.as_project(f"{project}-other")
    _create(other, "busy", _at(0), _at(3), pool, count=2)
    windows = cli.json(
        "availability",
        "search",
        "--duration",
        "2h",
        "--after",
        _at(0),
        "--field",
        "count=2",
        "--field",
        f'resource_properties=["==","$pool","{pool}"]',
        "--limit",
        "3",
    )
    assert [_out(w["start_date"]) for w in windows] == [_at(3)]
    assert windows[0]["free"] == 2
    # The window is granted; an hour earlier is refused, the refusal
    # naming the window.
    refused = cli.run(
        "lease",
        "create",
        "early",
        "--start-date",
        _at(2),
        "--duration",
        "2h",
        "--reservation",
        support.in_pool(pool, min=2, max=2),
    )
    assert refused.code == 1, refused
    assert "NotEnoughResourcesAvailable" in refused.stderr
    assert (
        f"next available: {windows[0]['start_date']} to "
        f"{windows[0]['end_date']}" in refused.stderr
    ), refused.stderr
    created = _create(cli, "booked", _at(3), _at(5), pool, count=2)
    assert created["status"] == "PENDING"


def test_show_extension_and_prolong_to_the_max(cli, add_hosts, pool, project):
    [host] = add_hosts(1)
    mine = _create(cli, "mine", _at(0), _at(2), pool)
    # The owner sees the host its lease holds, and its capabilities.
    [reservation] = cli.json("lease", "show", "mine")["reservations"]
    assert reservation["hosts"] == [
        {"name": host, "capabilities": {"pool": pool}}
    ]
    table = cli.run("lease", "show", "mine")
    assert f"hosts={host} [pool={pool}]" in table.stdout, table.stdout
    other = cli.as_project(f"{project}-other")
    _create(other, "next", _at(5), _at(6), pool)

    shown = cli.json("lease", "show", "--extension", "mine")
    assert _out(shown["extension_latest_end_date"]) == _at(5)
    assert shown["extension_binding"] == "resources"
    assert shown["extension_prolong_for"] == f"{3 * 3600}s"
    assert shown["id"] == mine["id"]

    prolonged = cli.json("lease", "set", "mine", "--prolong-for", "max")
    assert _out(prolonged["end_date"]) == _at(5)
    again = cli.run("lease", "set", "mine", "--prolong-for", "max")
    assert again.code == 1, again
    assert "cannot be extended now: resources binds" in again.stderr


def test_extension_of_an_ended_lease_is_a_409(cli, add_hosts, pool):
    add_hosts(1)
    soon = helpers.utcnow() + datetime.timedelta(seconds=61)
    cli.json(
        "lease",
        "create",
        "short",
        "--start-date",
        "now",
        "--end-date",
        soon.isoformat() + "+00:00",
        "--reservation",
        support.in_pool(pool),
    )
    helpers.wait_for(
        lambda: cli.json("lease", "show", "short")["status"] == "TERMINATED",
        90,
        message="the short lease's end",
    )
    shown = cli.run("lease", "show", "--extension", "short")
    assert shown.code == 1
    assert "only a PENDING or ACTIVE lease can be extended" in shown.stderr
