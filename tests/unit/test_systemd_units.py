"""The systemd unit files of etc/systemd/.

``systemd-analyze verify`` checks them where systemd is installed (Debian
and most Linux machines, CI included); without it the test falls back to
a stricter-than-nothing syntax check of its own and says so with a
warning in the test summary, rather than skipping.
"""

import configparser
import os
import shutil
import subprocess
import sys
import warnings

import pytest

from tests import helpers

UNITS_DIR = os.path.join(helpers.ROOT, "etc", "systemd")
UNITS = sorted(os.listdir(UNITS_DIR))
INSTALL_BIN = "/opt/climate/bin/"
CONFIG_FILE = "/etc/climate/climate.conf"
BIN = os.path.dirname(sys.executable)


def _read(name):
    with open(os.path.join(UNITS_DIR, name)) as unit:
        return unit.read()


def _sections(text):
    parser = configparser.ConfigParser(
        strict=True, interpolation=None, delimiters=("=",)
    )
    parser.optionxform = str
    parser.read_string(text)
    return parser


def test_one_unit_per_service_command():
    assert UNITS == [
        "climate-all.service",
        "climate-api.service",
        "climate-manager.service",
    ]


@pytest.mark.parametrize("name", UNITS)
def test_unit_runs_its_command_with_the_configuration(name):
    service = _sections(_read(name))["Service"]
    command = name.removesuffix(".service")
    assert service["ExecStart"].split() == [
        INSTALL_BIN + command,
        "--config-file",
        CONFIG_FILE,
    ]
    # Climate stops on SIGTERM, systemd's default.
    assert "KillSignal" not in service


@pytest.mark.parametrize("name", UNITS)
def test_unit_verifies(name, tmp_path):
    # The command path as this checkout has it, so that the executable
    # check finds it.
    unit = tmp_path / name
    unit.write_text(_read(name).replace(INSTALL_BIN, BIN + "/"))
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        warnings.warn(
            "systemd-analyze is not installed: the systemd units were "
            "checked by this test's own syntax check only",
            stacklevel=1,
        )
        _check_syntax(unit.read_text())
        return
    run = subprocess.run(
        [analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    # Unknown keys and other mistakes are warnings with exit status 0.
    assert run.returncode == 0 and not run.stdout + run.stderr, (
        run.stdout + run.stderr
    )


KNOWN = {
    "Unit": {"Description", "After", "Wants", "Documentation"},
    "Service": {
        "Type",
        "User",
        "Group",
        "Environment",
        "StateDirectory",
        "ExecStart",
        "TimeoutStopSec",
        "Restart",
        "RestartSec",
        "NoNewPrivileges",
        "PrivateTmp",
        "ProtectSystem",
        "ProtectHome",
    },
    "Install": {"WantedBy"},
}


def _check_syntax(text):
    sections = _sections(text)
    assert set(sections.sections()) == set(KNOWN)
    for section, keys in KNOWN.items():
        unknown = set(sections[section]) - keys
        assert not unknown, f"[{section}]: unknown keys {unknown}"
    service = sections["Service"]
    assert service["Type"] == "exec"
    executable = service["ExecStart"].split()[0]
    assert os.access(executable, os.X_OK), executable


def test_the_syntax_check_catches_what_verify_would():
    # The fallback must not pass everything.
    text = _read("climate-api.service").replace(INSTALL_BIN, BIN + "/")
    _check_syntax(text)
    with pytest.raises(AssertionError):
        _check_syntax(text.replace("Restart=", "Restrat="))
    with pytest.raises(AssertionError):
        _check_syntax(text.replace(BIN + "/climate-api", "/nowhere/api"))


def test_the_embedded_state_path_is_the_state_directory():
    unit = _sections(_read("climate-all.service"))["Service"]
    assert unit["Environment"] == "XDG_STATE_HOME=%S"
    # %S is /var/lib for a system service.
    code = (
        "from climate import conf; conf.CONF([], default_config_files=[]);"
        "print(conf.CONF.state_path)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "XDG_STATE_HOME": "/var/lib"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "/var/lib/" + unit["StateDirectory"]
