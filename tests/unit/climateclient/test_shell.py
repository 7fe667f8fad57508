"""The climate application: its commands, blazar's names, the openstack
plugin's entry points and the global (connection) options."""

import io
import subprocess
import sys
from importlib import metadata

import pytest

from climateclient import exceptions
from climateclient.cli import (
    allocations,
    auth,
    availability,
    hosts,
    images,
    leases,
    shell,
)
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
    "image list": images.ListImages,
    "image show": images.ShowImage,
    "image create": images.CreateImage,
    "image delete": images.DeleteImage,
    "block list": images.ListBlocks,
    "block show": images.ShowBlock,
    "block create": images.CreateBlock,
    "block delete": images.DeleteBlock,
    "availability search": availability.SearchAvailability,
}


def _found(manager, argv):
    factory, name, rest = manager.find_command(argv)
    return factory, name, rest


def test_every_command_is_an_entry_point():
    manager = shell.CommandManager(shell.COMMAND_GROUP)

    for name, command_class in COMMANDS.items():
        factory, found, rest = _found(manager, [*name.split(), "x"])
        assert (factory, found, rest) == (command_class, name, ["x"])


def test_allocation_list_host_reads_as_the_issue_spells_it():
    manager = shell.CommandManager(shell.COMMAND_GROUP)

    factory, _, rest = _found(manager, ["allocation", "list", "host"])

    assert factory is allocations.ListAllocations
    assert rest == ["host"]


def test_blazar_names_run_the_same_commands():
    manager = shell.CommandManager(shell.COMMAND_GROUP)

    for old, new in shell.BLAZAR_NAMES.items():
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


def _run(argv, environ=None):
    stdout, stderr = io.StringIO(), io.StringIO()
    app = shell.ClimateShell(
        stdout=stdout,
        stderr=stderr,
        environ={"CLIMATE_URL": "http://127.0.0.1:9"}
        if environ is None
        else environ,
    )
    try:
        code = app.run(argv)
    except SystemExit as exc:  # --help
        code = exc.code or 0
    return code, stdout.getvalue(), stderr.getvalue()


def test_blazar_names_are_not_in_the_help():
    code, out, _ = _run(["--help"])

    assert code == 0
    assert "  lease create " in out
    assert "lease-create" not in out
    assert "host-property-list" not in out
    # Each command once.
    assert out.count("  lease list ") == 1


@pytest.mark.parametrize(
    "environ", [{}, {"CLIMATE_URL": "http://127.0.0.1:9"}]
)
def test_help_shows_the_keystone_options_in_either_mode(environ):
    code, out, _ = _run(["--help"], environ)

    assert code == 0
    for option in (
        "--endpoint",
        "--os-cloud",
        "--os-auth-url",
        "--os-auth-type",
        "--os-username",
        "--os-password",
        "--os-project-name",
        "--os-project-id",
        "--os-roles",
    ):
        assert option in out, option
    text = " ".join(out.split())
    assert "without Keystone (--endpoint), the project to act as" in text


def test_a_prefix_is_not_a_command():
    manager = shell.CommandManager(shell.COMMAND_GROUP)
    with pytest.raises(ValueError):
        manager.find_command(["leas", "lis"])

    code, out, err = _run(["leas", "lis"])

    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "climate: 'leas lis' is not a climate command.",
        "Did you mean:",
        "  climate lease list",
        "See 'climate --help' for every command.",
    ]


def test_a_typo_suggests_only_close_commands():
    _, _, err = _run(["lese", "list"])
    assert [x for x in err.splitlines() if x.startswith("  ")] == [
        "  climate lease list"
    ]

    _, _, err = _run(["lease", "crate", "x"])
    assert err.splitlines()[:3] == [
        "climate: 'lease crate' is not a climate command.",
        "Did you mean:",
        "  climate lease create",
    ]

    _, _, err = _run(["foo"])
    assert err.splitlines() == [
        "climate: 'foo' is not a climate command.",
        "See 'climate --help' for every command.",
    ]


def test_a_group_word_alone_lists_its_commands():
    code, _, err = _run(["allocation"])

    assert code == 2
    assert err.splitlines()[:3] == [
        "climate: 'allocation' needs one more word; one of:",
        "  climate allocation list",
        "  climate allocation show",
    ]


def test_a_keystone_option_on_the_command_line_beats_climate_url():
    options, _ = _parsed(
        ["--os-cloud", "mine", "lease", "list"],
        {"CLIMATE_URL": "http://x:1234"},
    )

    assert options.endpoint is None
    assert options.os_cloud == "mine"


def test_a_command_imports_only_what_it_needs():
    # Startup time: the shell reads the command list without importing
    # the commands, and a command without Keystone does without
    # keystoneauth1's option loading.
    code = (
        "import sys\n"
        "from climateclient.cli import shell\n"
        "app = shell.ClimateShell(environ={'CLIMATE_URL': 'http://x:9'})\n"
        "app.command_manager.find_command(['lease', 'list'])\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('climateclient.cli.', 'keystoneauth1.loading'))))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = run.stdout.strip()
    assert "climateclient.cli.leases" in loaded
    assert "climateclient.cli.hosts" not in loaded
    assert "climateclient.cli.allocations" not in loaded
    assert "keystoneauth1.loading" not in loaded
