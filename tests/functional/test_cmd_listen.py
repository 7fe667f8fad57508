"""``climate-all`` and ``climate-api``: the address they listen on.

A busy port stops them at once, before the database is touched or the
event loop started, with one line naming the port and the options.
"""

import os
import socket
import subprocess
import sys

import pytest

from tests import helpers
from tests.functional import conftest

pytestmark = pytest.mark.functional


def _command(name):
    return os.path.join(os.path.dirname(sys.executable), name)


@pytest.fixture
def busy_port():
    """A port another process (this test) listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


@pytest.mark.parametrize("command", ["climate-all", "climate-api"])
def test_a_busy_port_stops_the_command_before_anything_starts(
    tmp_path, busy_port, command
):
    state_path = tmp_path / "state"
    default = {"state_path": state_path}
    if command == "climate-api":
        # It needs a broker named; it never gets to use it.
        default["transport_url"] = "rabbit://guest:guest@127.0.0.1:5672/"
    config_file = helpers.write_config(
        tmp_path / "climate.conf",
        {"DEFAULT": default, "api": {"port": busy_port}},
    )
    run = subprocess.run(
        [_command(command), "--config-file", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr == (
        f"{command}: port {busy_port} is in use; set [api] port or --port\n"
    )
    # Nothing started: no state path, no database, no migration.
    assert not state_path.exists()


def test_host_and_port_flags_override_the_configuration(tmp_path, busy_port):
    port = helpers.free_port()
    config_file = conftest.climate_config(
        tmp_path / "climate.conf", tmp_path / "state", busy_port
    )
    process = subprocess.Popen(
        [
            _command("climate-all"),
            "--config-file",
            str(config_file),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answers():
            assert process.poll() is None, "climate-all exited"
            try:
                with socket.create_connection(("127.0.0.1", port), 0.5):
                    return True
            except OSError:
                return False

        helpers.wait_for(answers, timeout=60, message="climate-all --port")
    finally:
        process.terminate()
        process.wait(15)


@pytest.mark.parametrize("command", ["climate-all", "climate-api"])
def test_help_describes_host_and_port(command):
    run = subprocess.run(
        [_command(command), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "--host ADDRESS Address to listen on, overriding [api] host" in text
    assert "--port PORT Port to listen on, overriding [api] port" in text
    assert "127.0.0.1:1234" in text  # what it does, with the defaults
