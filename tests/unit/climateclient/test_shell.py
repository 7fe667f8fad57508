"""The climate application: its commands, blazar's names, the openstack
plugin's entry points and the global (connection) options."""

import io
from importlib import metadata

import pytest
from cliff import commandmanager

from climateclient import exceptions
from climateclient.cli import allocations, auth, hosts, leases, shell
from climateclient.osc import plugin

COMMANDS = {
    "lease list": leases.ListLeases,
    "lease show": leases.ShowLease,
    "lease create": leases.CreateLease,
    "lease set": leases.SetLease,
    "lease delete": leases.DeleteLease,
    "host list": hosts.ListHosts,
    "host show": hosts.ShowHost,
    "host create": hosts.CreateHost,
    "host set": hosts.SetHost,
    "host unset": hosts.UnsetHost,
    "host delete": hosts.DeleteHost,
    "host property list": hosts.ListHostProperties,
    "host property show": hosts.ShowHostProperty,
    "host property set": hosts.SetHostProperty,
    "allocation list": allocations.ListAllocations,
    "allocation show": allocations.ShowAllocation,
}
BLAZAR_NAMES = {
    "lease-list": "lease list",
    "lease-show": "lease show",
    "lease-create": "lease create",
    "lease-update": "lease set",
    "lease-delete": "lease delete",
    "host-list": "host list",
    "host-show": "host show",
    "host-create": "host create",
    "host-update": "host set",
    "host-unset": "host unset",
    "host-delete": "host delete",
    "host-property-list": "host property list",
    "host-property-show": "host property show",
    "host-property-set": "host property set",
    "allocation-list": "allocation list",
    "allocation-show": "allocation show",
}


def _found(manager, argv):
    factory, name, rest = manager.find_command(argv)
    return factory, name, rest


def test_every_command_is_an_entry_point():
    manager = commandmanager.CommandManager(shell.COMMAND_GROUP)

    for name, command_class in COMMANDS.items():
        factory, found, rest = _found(manager, [*name.split(), "x"])
        assert (factory, found, rest) == (command_class, name, ["x"])


def test_allocation_list_host_reads_as_the_issue_spells_it():
    manager = commandmanager.CommandManager(shell.COMMAND_GROUP)

    factory, _, rest = _found(manager, ["allocation", "list", "host"])

    assert factory is allocations.ListAllocations
    assert rest == ["host"]


def test_blazar_names_run_the_same_commands():
    manager = commandmanager.CommandManager(shell.COMMAND_GROUP)

    for old, new in BLAZAR_NAMES.items():
        factory, found, rest = _found(manager, [old, "x"])
        assert found == old
        assert factory is COMMANDS[new]
        assert rest == ["x"]


def test_the_openstack_plugin_offers_the_same_commands():
    group = metadata.entry_points(group="openstack.reservation.v1")
    offered = {ep.name: ep.load() for ep in group}
    extension = metadata.entry_points(
        group="openstack.cli.extension", name="reservation"
    )

    assert [ep.value for ep in extension] == ["climateclient.osc.plugin"]
    assert offered == {
        "reservation_" + name.replace(" ", "_"): command_class
        for name, command_class in COMMANDS.items()
    }
    assert plugin.API_NAME == "reservation"
    assert plugin.DEFAULT_API_VERSION in plugin.API_VERSIONS


def _parsed(argv, environ):
    app = shell.ClimateShell(
        stdout=io.StringIO(), stderr=io.StringIO(), environ=environ
    )
    auth.register_options(app.parser, argv, environ)
    return app.parser.parse_known_args(argv)


def test_command_options_are_not_taken_for_global_ones():
    options, rest = _parsed(
        [
            "--endpoint",
            "http://x:1234",
            "lease",
            "create",
            "x",
            "--end-date",
            "2030-01-01 00:00",
            "--wait",
            "--timeout",
            "5",
        ],
        {},
    )

    assert options.endpoint == "http://x:1234"
    # Neither an abbreviation of --endpoint nor keystoneauth's --timeout.
    assert rest == [
        "lease",
        "create",
        "x",
        "--end-date",
        "2030-01-01 00:00",
        "--wait",
        "--timeout",
        "5",
    ]


def test_noauth_identity_prefers_the_climate_variables():
    environ = {
        "CLIMATE_URL": "http://x:1234",
        "CLIMATE_PROJECT_ID": "p1",
        "OS_PROJECT_ID": "p-os",
        "OS_USER_ID": "u-os",
        "CLIMATE_ROLES": "admin,member",
    }

    options, _ = _parsed(["lease", "list"], environ)

    assert options.endpoint == "http://x:1234"
    assert options.os_project_id == "p1"
    assert options.os_user_id == "u-os"
    assert options.os_roles == "admin,member"
    assert not hasattr(options, "os_auth_url")


def test_noauth_identity_from_the_command_line():
    options, _ = _parsed(
        [
            "--endpoint",
            "http://x:1234",
            "--os-project-id",
            "p2",
            "--os-user-id",
            "u2",
            "--os-roles",
            "admin",
        ],
        {"CLIMATE_PROJECT_ID": "p1"},
    )

    assert (options.os_project_id, options.os_user_id) == ("p2", "u2")
    assert options.os_roles == "admin"


def test_keystone_options_come_from_keystoneauth_and_os_variables():
    environ = {
        "OS_AUTH_URL": "http://keystone:5000/v3",
        "OS_USERNAME": "alice",
        "OS_PASSWORD": "secret",
        "OS_PROJECT_NAME": "demo",
        "OS_REGION_NAME": "RegionTwo",
    }
    options, rest = _parsed(
        ["--os-interface", "internal", "lease", "list"], environ
    )

    assert options.endpoint is None
    assert options.os_auth_type == "password"
    assert not options.auth_type_asked
    assert options.os_auth_url == "http://keystone:5000/v3"
    assert (options.os_username, options.os_password) == ("alice", "secret")
    assert options.os_project_name == "demo"
    assert options.os_region_name == "RegionTwo"
    assert options.os_interface == "internal"
    assert rest == ["lease", "list"]


def test_another_auth_type_brings_its_own_options():
    options, _ = _parsed(
        [
            "--os-auth-type",
            "v3applicationcredential",
            "--os-application-credential-id",
            "ac1",
            "--os-application_credential_secret",
            "s1",
            "--os-cloud",
            "mine",
        ],
        {},
    )

    assert options.auth_type_asked
    assert options.os_application_credential_id == "ac1"
    assert options.os_application_credential_secret == "s1"
    assert not hasattr(options, "os_password")
    assert options.os_cloud == "mine"


def test_no_service_named_is_a_clear_error():
    options, _ = _parsed(["lease", "list"], {})

    with pytest.raises(exceptions.AuthenticationFailed, match="--endpoint"):
        auth.make_client(options)


def test_an_unknown_auth_type_is_said_when_used():
    options, _ = _parsed(["--os-auth-type", "magic", "lease", "list"], {})

    with pytest.raises(exceptions.AuthenticationFailed, match="magic"):
        auth.make_client(options)


def test_a_run_without_a_service_exits_non_zero_with_the_reason():
    stdout, stderr = io.StringIO(), io.StringIO()

    code = shell.ClimateShell(stdout=stdout, stderr=stderr, environ={}).run(
        ["lease", "list"]
    )

    assert code == 1
    assert "No service to talk to" in stderr.getvalue()
    assert stdout.getvalue() == ""


def test_help_needs_no_service():
    stdout = io.StringIO()

    code = shell.ClimateShell(
        stdout=stdout, stderr=io.StringIO(), environ={}
    ).run(["help", "lease", "create"])

    assert code == 0
    assert "--physical-reservation" in stdout.getvalue()
    assert "--duration" in stdout.getvalue()
