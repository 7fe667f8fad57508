"""Running ``climate-all`` and the ``climate`` command for the client's
functional tests: in process through cliff's ``App.run`` (fast), or as the
real console script in a subprocess."""

import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys

from climateclient.cli import shell
from tests import helpers

BIN = os.path.dirname(sys.executable)
RECORDER = "resource_type=test:recorder"


@dataclasses.dataclass
class Service:
    url: str
    process: helpers.ClimateProcess
    record_path: str


def start_service(tmp_path, api=None, manager=None):
    """Start ``climate-all`` with the host and recorder plugins (or the
    ``manager`` options given)."""
    port = helpers.free_port()
    config = helpers.write_config(
        tmp_path / "climate.conf",
        {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "api": {"port": port, **(api or {})},
            "manager": {
                "plugins": "physical.host.plugin,test.recorder.plugin",
                "min_lease_duration": 0,
                "event_max_attempts": 1,
                "poll_interval": 1,
                **(manager or {}),
            },
        },
    )
    record_path = str(tmp_path / "hooks.jsonl")
    process = helpers.ClimateProcess(
        "climate-all",
        config,
        tmp_path / "climate-all.log",
        env={"CLIMATE_TEST_RECORD": record_path},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/", timeout=60)
    except BaseException:
        process.stop()
        raise
    return Service(url, process, record_path)


@dataclasses.dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        assert self.code == 0, self
        return json.loads(self.stdout)


class CLI:
    """The ``climate`` command as one project (and roles) of the service.

    ``run`` goes through cliff's ``App.run`` in this process; ``spawn``
    starts the real console script.  Both return a ``Result``.
    """

    def __init__(self, url, project, roles=None):
        self.url = url
        self.project = project
        self.roles = roles

    def as_admin(self):
        return CLI(self.url, self.project, roles="admin")

    def as_project(self, project):
        return CLI(self.url, project, self.roles)

    def environ(self):
        environ = {"CLIMATE_URL": self.url, "CLIMATE_PROJECT_ID": self.project}
        if self.roles:
            environ["CLIMATE_ROLES"] = self.roles
        return environ

    def run(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        app = shell.ClimateShell(
            stdout=stdout, stderr=stderr, environ=self.environ()
        )
        # argparse writes its usage errors to sys.stderr itself.
        with contextlib.redirect_stderr(stderr):
            try:
                code = app.run([str(a) for a in argv])
            except SystemExit as exc:  # argparse refusing an option
                code = exc.code
        return Result(code, stdout.getvalue(), stderr.getvalue())

    def json(self, *argv):
        """Run a display command with ``-f json``; return its output."""
        return self.run(*argv, "-f", "json").json()

    def spawn(self, *argv, timeout=60, **popen):
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OS_", "CLIMATE_"))
        }
        environ.update(self.environ())
        done = subprocess.run(
            [os.path.join(BIN, "climate"), *[str(a) for a in argv]],
            capture_output=True,
            text=True,
            env=environ,
            timeout=timeout,
            **popen,
        )
        return Result(done.returncode, done.stdout, done.stderr)


def in_pool(pool, **fields):
    """A ``--reservation`` value for hosts of ``pool``."""
    values = {
        "resource_type": "physical:host",
        "min": 1,
        "max": 1,
        **fields,
    }
    text = ",".join(f"{k}={v}" for k, v in values.items())
    return f'{text},resource_properties=["==","$pool","{pool}"]'
