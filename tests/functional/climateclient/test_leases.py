"""``climate lease ...`` against a real climate-all: create, list, show,
set, delete, --wait, errors and blazar's names."""

import datetime
import os
import pty
import select
import subprocess
import time
import uuid

import pytest

from tests import helpers
from tests.functional.climateclient import support

pytestmark = pytest.mark.functional

DATE_OUT = "%Y-%m-%dT%H:%M:%S.%f"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # Pages of two leases: every listing below crosses pages.
    service = support.start_service(
        tmp_path_factory.mktemp("climate"), api={"max_limit": 2}
    )
    yield service
    service.process.stop()


def _date(text):
    """A date the API wrote, or one we gave as "YYYY-MM-DD HH:MM"."""
    try:
        return datetime.datetime.strptime(text, DATE_OUT)
    except ValueError:
        return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M")


def _minute(minutes):
    """A "YYYY-MM-DD HH:MM" at least ``minutes`` - 1 minutes ahead."""
    moment = helpers.utcnow() + datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%d %H:%M")


def test_lease_lifecycle(cli, add_hosts, pool):
    add_hosts(2)

    created = cli.json(
        "lease",
        "create",
        "tour",
        "--start-date",
        _minute(60),
        "--duration",
        "2h",
        "--reservation",
        support.in_pool(pool, max=2),
    )

    assert created["name"] == "tour"
    assert created["status"] == "PENDING"
    assert created["project_id"] == cli.project
    length = _date(created["end_date"]) - _date(created["start_date"])
    assert length == datetime.timedelta(hours=2)
    [reservation] = created["reservations"]
    assert reservation["resource_type"] == "physical:host"
    assert (reservation["min"], reservation["max"]) == (1, 2)
    assert reservation["resource_properties"] == f'["==","$pool","{pool}"]'
    assert {e["event_type"] for e in created["events"]} == {
        "start_lease",
        "before_end_lease",
        "end_lease",
    }

    listed = cli.json("lease", "list")
    assert [(row["id"], row["name"]) for row in listed] == [
        (created["id"], "tour")
    ]
    assert set(listed[0]) == {
        "id",
        "name",
        "kind",
        "start_date",
        "end_date",
        "status",
        "queue_position",
    }
    assert (listed[0]["kind"], listed[0]["queue_position"]) == (
        "advance",
        None,
    )

    by_name = cli.json("lease", "show", "tour")
    by_id = cli.json("lease", "show", created["id"])
    assert by_name["id"] == by_id["id"] == created["id"]

    moved = cli.json(
        "lease", "set", "tour", "--prolong-for", "1d", "--name", "tour2"
    )
    assert moved["name"] == "tour2"
    assert _date(moved["end_date"]) - _date(created["end_date"]) == (
        datetime.timedelta(days=1)
    )

    # The lease's only reservation: no id needed.  One host is enough.
    shrunk = cli.json("lease", "set", "tour2", "--reservation", "min=1,max=1")
    assert shrunk["reservations"][0]["max"] == 1

    deleted = cli.run("lease", "delete", "tour2")
    assert (deleted.code, deleted.stdout) == (0, "")
    assert cli.json("lease", "list") == []


def test_listing_follows_every_page_and_filters(cli):
    names = [f"page{i}" for i in range(5)]
    for name in names:
        cli.json("lease", "create", name, "--start-date", _minute(30))

    listed = cli.json("lease", "list")
    one_page = cli.json("lease", "list", "--limit", "2")
    second = cli.json(
        "lease", "list", "--limit", "2", "--marker", one_page[-1]["id"]
    )
    only = cli.json("lease", "list", "--name", "page3", "--long")
    sorted_ = cli.json("lease", "list", "--sort-by", "name", "-c", "name")

    # Oldest first: leases created within one second come by id.
    assert sorted(row["name"] for row in listed) == names
    assert one_page == listed[:2]
    assert second == listed[2:4]
    assert [row["name"] for row in only] == ["page3"]
    assert only[0]["project_id"] == cli.project
    assert sorted_ == [{"name": name} for name in names]
    assert cli.json("lease", "list", "--status", "active") == []


def test_output_formats(cli):
    cli.json("lease", "create", "fmt", "--start-date", _minute(30))

    value = cli.run("lease", "show", "fmt", "-f", "value", "-c", "status")
    yaml_out = cli.run("lease", "show", "fmt", "-f", "yaml", "-c", "name")
    table = cli.run("lease", "list")
    events = cli.run("lease", "show", "fmt", "-c", "events")

    assert value.stdout == "PENDING\n"
    assert yaml_out.stdout == "name: fmt\n"
    assert "| fmt " in table.stdout and "| PENDING |" in table.stdout
    # Nested values: one line each in a table.
    assert "start_lease" in events.stdout
    assert "end_lease" in events.stdout


def test_explicit_start_and_duration(cli):
    start = _minute(90)

    lease = cli.json(
        "lease", "create", "later", "--start-date", start, "--duration", "3h"
    )

    assert _date(lease["start_date"]) == _date(start)
    assert _date(lease["end_date"]) - _date(lease["start_date"]) == (
        datetime.timedelta(hours=3)
    )
    # Without an end, blazar's default: one day.
    default = cli.json("lease", "create", "day", "--start-date", start)
    assert _date(default["end_date"]) - _date(default["start_date"]) == (
        datetime.timedelta(days=1)
    )


def test_set_dates_and_shifts(cli):
    lease = cli.json(
        "lease",
        "create",
        "shift",
        "--start-date",
        _minute(120),
        "--end-date",
        _minute(240),
    )
    start, end = _date(lease["start_date"]), _date(lease["end_date"])

    deferred = cli.json(
        "lease", "set", "shift", "--defer-by", "1h", "--reduce-by", "30m"
    )
    advanced = cli.json("lease", "set", "shift", "--advance-by", "2h")
    new_end = _minute(600)
    dated = cli.json("lease", "set", lease["id"], "--end-date", new_end)

    assert _date(deferred["start_date"]) == start + datetime.timedelta(hours=1)
    assert _date(deferred["end_date"]) == end - datetime.timedelta(minutes=30)
    assert _date(advanced["start_date"]) == start - datetime.timedelta(hours=1)
    assert _date(dated["end_date"]) == _date(new_end)


def test_wait_for_a_lease_that_starts_now(cli):
    # The real console script, without a terminal: plain lines.
    started = time.monotonic()

    done = cli.spawn(
        "lease",
        "create",
        "now",
        "--duration",
        "1h",
        "--reservation",
        support.RECORDER,
        "--wait",
        "-f",
        "json",
    )

    lease = done.json()
    assert lease["status"] == "ACTIVE"
    # The end was computed from this machine's clock, to the second.
    length = _date(lease["end_date"]) - _date(lease["start_date"])
    assert abs(length - datetime.timedelta(hours=1)).total_seconds() <= 1
    assert lease["reservations"][0]["status"] == "active"
    lines = done.stderr.splitlines()
    label = f"Lease now ({lease['id']})"
    assert lines[-1] == f"{label} is ACTIVE"
    assert f"{label} is PENDING" in lines
    assert time.monotonic() - started < 15


def test_wait_for_a_lease_that_fails(cli):
    done = cli.spawn(
        "lease",
        "create",
        "fail-on_start-wait",
        "--duration",
        "1h",
        "--reservation",
        support.RECORDER,
        "--wait",
        "--timeout",
        "30",
    )

    assert done.code == 1
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Lease fail-on_start-wait (")
    assert "went into ERROR" in last
    assert "on_start failed on purpose" in last
    status = cli.run("lease", "show", "fail-on_start-wait", "-c", "status")
    assert "ERROR" in status.stdout


def test_wait_gives_up_after_the_timeout(cli):
    start = _minute(60)
    started = time.monotonic()

    done = cli.run(
        "lease", "create", "patience", "--start-date", start, "--timeout", "1"
    )

    assert done.code == 1
    assert done.stdout == ""
    assert 1 <= time.monotonic() - started < 10
    assert done.stderr.splitlines()[-1].startswith(
        "Gave up after 1 s: Lease patience ("
    )
    assert f"is still PENDING; it starts at {start}:00 UTC" in done.stderr
    # Said first: when it starts, and what the timeout does.
    first = done.stderr.splitlines()[0]
    assert first.startswith("Lease patience (")
    assert f") starts at {start}:00 UTC, in " in first
    assert "for at most 1 s (--timeout), which ends before it starts" in (
        done.stderr
    )


def test_an_empty_list_is_an_empty_table(cli):
    listed = cli.spawn("lease", "list")

    assert listed.code == 0
    lines = listed.stdout.splitlines()
    assert lines[1].split() == [
        "|", "id", "|", "name", "|", "kind", "|", "start_date", "|",
        "end_date", "|", "status", "|", "queue_position", "|",
    ]  # fmt: skip
    assert len(lines) == 4  # border, header, border, border: no rows
    assert cli.spawn("lease", "list", "-f", "value").stdout == ""
    assert cli.spawn("lease", "list", "-f", "json").json() == []


def test_a_command_is_named_in_full(cli):
    guessed = cli.spawn("leas", "lis")

    assert guessed.code == 2
    assert guessed.stdout == ""
    assert "climate lease list" in guessed.stderr


def test_wait_on_a_terminal_counts_down(cli):
    # stderr on a pseudo-terminal: the countdown line is redrawn in place.
    main, secondary = pty.openpty()
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OS_", "CLIMATE_"))
    }
    environ.update(cli.environ())
    process = subprocess.Popen(
        [
            os.path.join(support.BIN, "climate"),
            "lease",
            "create",
            "countdown",
            "--start-date",
            _minute(3),
            "--wait",
            "--timeout",
            "2.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=environ,
    )
    os.close(secondary)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            output += chunk
        code = process.wait(30)
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()

    text = output.decode()
    assert code == 1
    assert "\r\x1b[K  PENDING, starts in 0:0" in text
    assert "(gives up in 0:00:0" in text
    assert "Gave up after 2.5 s" in text


def test_errors_show_the_server_message(cli, add_hosts, pool):
    add_hosts(1)
    missing = str(uuid.uuid4())

    unknown_id = cli.spawn("lease", "show", missing)
    unknown_name = cli.run("lease", "show", "nosuch")
    full = cli.run(
        "lease",
        "create",
        "big",
        "--reservation",
        support.in_pool(pool, min=2, max=2),
    )
    bad_date = cli.run(
        "lease",
        "create",
        "bad",
        "--start-date",
        "2030-13-01 10:00",
        "--end-date",
        "2030-12-02 10:00",
    )
    # With --duration the client reads the start itself, and says so.
    bad_start = cli.run(
        "lease", "create", "bad", "--start-date", "soon", "--duration", "1h"
    )
    past = cli.run(
        "lease", "create", "past", "--start-date", "2020-01-01 00:00"
    )
    backwards = cli.run(
        "lease",
        "create",
        "backwards",
        "--start-date",
        _minute(60),
        "--end-date",
        _minute(30),
    )

    results = (unknown_id, unknown_name, full, bad_date, bad_start, past)
    for result in (*results, backwards):
        assert result.code == 1, result
        assert result.stdout == ""
    assert unknown_id.stderr.strip().startswith(
        f"Lease {missing} could not be found (HTTP 404 LeaseNotFound) "
        "(Request-ID: req-"
    )
    assert unknown_name.stderr.strip() == (
        "No lease with a name or ID of 'nosuch' exists"
    )
    assert "Not enough resources available: 2 hosts needed" in full.stderr
    assert "(HTTP 409 NotEnoughResourcesAvailable)" in full.stderr
    assert "Invalid start_date '2030-13-01 10:00'" in bad_date.stderr
    assert "(HTTP 400 InvalidDate)" in bad_date.stderr
    assert "invalid start date 'soon'" in bad_start.stderr
    assert "is in the past; use 'now'" in past.stderr
    assert "must be later than start_date" in backwards.stderr
    # Nothing was left behind.
    assert cli.json("lease", "list") == []


def test_usage_errors_exit_2_before_any_request(cli):
    both = cli.run(
        "lease",
        "create",
        "x",
        "--end-date",
        "2030-01-01 00:00",
        "--duration",
        "1h",
    )
    bad = cli.run("lease", "create", "x", "--reservation", "min=1,max=1")
    nothing = cli.run("lease", "set", "x")

    assert both.code == bad.code == 2
    assert "not allowed with argument --end-date" in both.stderr
    assert "needs resource_type=" in bad.stderr
    assert nothing.code == 1
    assert "Nothing to change" in nothing.stderr


def test_ambiguous_name_across_projects_for_an_admin(cli):
    first = cli.as_project(f"{cli.project}-a")
    second = cli.as_project(f"{cli.project}-b")
    name = f"shared-{cli.project}"
    ids = {
        client.json("lease", "create", name, "--start-date", _minute(30))["id"]
        for client in (first, second)
    }

    admin = cli.as_admin()

    mine = first.json("lease", "show", name)
    everywhere = admin.run("lease", "show", name, "--all-projects")
    own_project = admin.run("lease", "show", name)
    by_id = admin.json("lease", "show", sorted(ids)[0])
    listed = admin.json("lease", "list", "--all-projects", "--name", name)

    assert mine["id"] in ids
    assert everywhere.code == 1
    assert f"2 leases are named '{name}'" in everywhere.stderr
    assert "give an ID instead" in everywhere.stderr
    assert own_project.code == 1
    assert "No lease with a name or ID" in own_project.stderr
    assert by_id["id"] == sorted(ids)[0]
    assert {row["id"] for row in listed} == ids


def test_delete_several_goes_on_past_failures(cli):
    for name in ("d1", "d2"):
        cli.json("lease", "create", name, "--start-date", _minute(30))

    done = cli.run("lease", "delete", "d1", "nosuch", "d2")

    assert done.code == 1
    assert "Failed to delete lease nosuch" in done.stderr
    assert "1 of 3 leases could not be deleted" in done.stderr
    assert cli.json("lease", "list") == []


def test_blazar_names_and_flags(cli, add_hosts, pool):
    add_hosts(1, vcpus=8)
    physical = (
        'min=1,max=1,hypervisor_properties=[">=","$vcpus","4"],'
        f'resource_properties=["==","$pool","{pool}"]'
    )

    created = cli.spawn(
        "lease-create",
        "old-script",
        "--start-date",
        _minute(60),
        "--end-date",
        _minute(120),
        "--physical-reservation",
        physical,
        "-f",
        "json",
    ).json()
    listed = cli.run("lease-list", "-f", "json").json()
    updated = cli.json("lease-update", "old-script", "--prolong_for", "1h")
    shown = cli.json("lease-show", created["id"])
    deleted = cli.run("lease-delete", "old-script")

    [reservation] = created["reservations"]
    assert reservation["resource_type"] == "physical:host"
    assert reservation["hypervisor_properties"] == '[">=","$vcpus","4"]'
    assert [row["name"] for row in listed] == ["old-script"]
    assert _date(updated["end_date"]) - _date(created["end_date"]) == (
        datetime.timedelta(hours=1)
    )
    assert shown["end_date"] == updated["end_date"]
    assert deleted.code == 0
    assert cli.json("lease", "list") == []


def test_blazar_events_are_refused_by_the_server(cli):
    done = cli.run(
        "lease-create",
        "ev",
        "--event",
        "event_type=notification,event_date=2030-01-01 00:00",
    )

    assert done.code == 1
    assert "events are computed by Climate" in done.stderr
