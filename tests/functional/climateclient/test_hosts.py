"""``climate host ...``, ``host property ...`` and ``allocation ...``
against a real climate-all (hosts are an operator's: admin role)."""

import datetime

import pytest

from tests import helpers
from tests.functional.climateclient import support

pytestmark = pytest.mark.functional


def _minute(minutes):
    moment = helpers.utcnow() + datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def admin(cli):
    return cli.as_admin()


def test_host_inventory(admin, pool):
    created = admin.json(
        "host",
        "create",
        f"{pool}-a",
        "--extra",
        "vcpus=32",
        "--extra",
        "gpu=a100",
        "--property",
        f"pool={pool}",
    )
    admin.json("host", "create", f"{pool}-b", "--extra", f"pool={pool}")

    assert created["hypervisor_hostname"] == f"{pool}-a"
    assert created["vcpus"] == 32
    assert (created["gpu"], created["pool"]) == ("a100", pool)
    assert created["reservable"] is True

    listed = admin.json("host", "list")
    mine = [h for h in listed if h["hypervisor_hostname"].startswith(pool)]
    assert [h["hypervisor_hostname"] for h in mine] == [
        f"{pool}-a",
        f"{pool}-b",
    ]
    assert set(mine[0]) == {
        "id",
        "hypervisor_hostname",
        "vcpus",
        "memory_mb",
        "local_gb",
        "reservable",
    }
    long = admin.json("host", "list", "--long")
    assert "gpu" in long[0] and "service_name" in long[0]

    by_name = admin.json("host", "show", f"{pool}-a")
    by_id = admin.json("host", "show", created["id"])
    assert by_name == by_id
    assert by_name["id"] == created["id"]

    changed = admin.json(
        "host",
        "set",
        f"{pool}-a",
        "--extra",
        "rack=r7",
        "--unset",
        "gpu",
        "--not-reservable",
    )
    assert changed["rack"] == "r7"
    assert "gpu" not in changed
    assert changed["reservable"] is False
    assert admin.json("host", "set", created["id"], "--reservable")[
        "reservable"
    ]

    unset = admin.json("host", "unset", f"{pool}-a", "--extra", "rack")
    assert "rack" not in unset

    deleted = admin.run("host", "delete", f"{pool}-a", f"{pool}-b")
    assert (deleted.code, deleted.stdout) == (0, "")
    left = admin.json("host", "list", "-c", "hypervisor_hostname")
    assert not [h for h in left if h["hypervisor_hostname"].startswith(pool)]


def test_host_errors(admin, cli, pool):
    admin.json("host", "create", f"{pool}-a")

    unknown = admin.run("host", "show", "nosuch-host")
    twice = admin.run("host", "create", f"{pool}-a")
    bad = admin.run("host", "create", f"{pool}-x", "--extra", "vcpus=many")
    field = admin.run("host", "set", f"{pool}-a", "--extra", "vcpus=2")
    nothing = admin.run("host", "set", f"{pool}-a")
    usage = admin.run("host", "create", f"{pool}-y", "--extra", "novalue")
    tenant = cli.run("host", "list")

    assert unknown.code == 1
    assert unknown.stderr.strip() == (
        "No host with a name or ID of 'nosuch-host' exists"
    )
    for result in (twice, bad, field, nothing, tenant):
        assert result.code == 1, result
        assert result.stdout == ""
    assert "(HTTP 409" in twice.stderr
    assert "vcpus must be an integer" in bad.stderr
    assert "(HTTP 400 InvalidInput)" in bad.stderr
    assert "cannot be changed" in field.stderr
    assert "Nothing to change" in nothing.stderr
    assert usage.code == 2
    assert "expected KEY=VALUE, got 'novalue'" in usage.stderr
    # Hosts are the operator's: a tenant is refused, with the reason.
    assert "(HTTP 403" in tenant.stderr


def test_host_properties(admin, pool):
    name = f"prop_{pool.replace('-', '_')}"
    admin.json("host", "create", f"{pool}-a", "--extra", f"{name}=x1")
    admin.json("host", "create", f"{pool}-b", "--extra", f"{name}=x2")

    names = admin.json("host", "property", "list")
    detailed = admin.json("host", "property", "list", "--detail", "--all")
    shown = admin.json("host", "property", "show", name)
    private = admin.json("host", "property", "set", name, "--private")
    public = admin.json("host-property-set", name, "--public")
    unknown = admin.run("host", "property", "show", "nosuch")
    table = admin.run("host", "property", "show", name)

    assert {"property": name} in names
    assert set(names[0]) == {"property"}
    [row] = [p for p in detailed if p["property"] == name]
    assert row == {"property": name, "private": False, "values": ["x1", "x2"]}
    assert shown == row
    assert private["private"] is True
    assert public["private"] is False
    assert unknown.code == 1
    assert "No host has a property named 'nosuch'" in unknown.stderr
    # A list of values shows comma separated in a table.
    assert "x1, x2" in table.stdout


def test_allocations(admin, cli, add_hosts, pool):
    first, second = add_hosts(2)
    lease = cli.json(
        "lease",
        "create",
        "alloc",
        "--start-date",
        _minute(60),
        "--duration",
        "1h",
        "--reservation",
        support.in_pool(pool, max=2),
    )
    other = cli.json(
        "lease",
        "create",
        "alloc2",
        "--start-date",
        _minute(180),
        "--duration",
        "1h",
        "--reservation",
        support.in_pool(pool),
    )
    hosts = {
        h["hypervisor_hostname"]: h["id"] for h in admin.json("host", "list")
    }

    everything = admin.json("allocation", "list", "host")
    by_lease = admin.json(
        "allocation", "list", "host", "--lease-id", lease["id"]
    )
    by_reservation = admin.json(
        "allocation",
        "list",
        "host",
        "--reservation-id",
        other["reservations"][0]["id"],
    )
    one_host = admin.json("allocation", "show", "host", first)
    windowed = admin.json(
        "allocation",
        "show",
        "host",
        hosts[first],
        "--start",
        _minute(150),
    )
    table = admin.run("allocation-list", "host")

    ours = {hosts[first], hosts[second]}
    held = {
        a["resource_id"]: a["reservations"]
        for a in everything
        if a["resource_id"] in ours
    }
    assert len(held) == 2
    assert {a["resource_id"] for a in by_lease} == ours
    for allocation in by_lease:
        [reservation] = allocation["reservations"]
        assert reservation["lease_id"] == lease["id"]
        assert reservation["id"] == lease["reservations"][0]["id"]
    assert len(by_reservation) == 1
    assert by_reservation[0]["reservations"][0]["lease_id"] == other["id"]
    assert one_host["resource_id"] == hosts[first]
    assert {r["lease_id"] for r in one_host["reservations"]} <= {
        lease["id"],
        other["id"],
    }
    # Only the later lease still holds the host after --start.
    assert [r["lease_id"] for r in windowed["reservations"]] in (
        [other["id"]],
        [],
    )
    assert f"lease {lease['id']} reservation" in table.stdout


def test_allocation_filter_by_lease_name_is_the_callers(
    admin, add_hosts, pool
):
    # The admin's own lease, named: looked up in the admin's project.
    add_hosts(1)
    lease = admin.json(
        "lease",
        "create",
        "mine",
        "--start-date",
        _minute(60),
        "--duration",
        "1h",
        "--reservation",
        support.in_pool(pool),
    )

    found = admin.json("allocation", "list", "host", "--lease", "mine")
    unknown = admin.run("allocation", "list", "host", "--lease", "nosuch")

    assert [a["reservations"][0]["lease_id"] for a in found] == [lease["id"]]
    assert unknown.code == 1
    assert "No lease with a name or ID of 'nosuch'" in unknown.stderr


def test_a_held_host_cannot_be_deleted(admin, cli, add_hosts, pool):
    [name] = add_hosts(1)
    cli.json(
        "lease",
        "create",
        "holder",
        "--start-date",
        _minute(60),
        "--reservation",
        support.in_pool(pool),
    )

    refused = admin.spawn("host", "delete", name, "nosuch-host")

    assert refused.code == 1
    assert f"Failed to delete host {name}: host {name} is held by" in (
        refused.stderr
    )
    assert "(HTTP 409 HostInUse)" in refused.stderr
    assert "Failed to delete host nosuch-host: No host" in refused.stderr
    assert "2 of 2 hosts could not be deleted" in refused.stderr

    cli.run("lease", "delete", "holder")
    assert admin.spawn("host-delete", name).code == 0
