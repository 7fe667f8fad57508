"""A real standalone Ironic for the tests: ironic from PyPI in a virtual
environment of its own (``.ironic-venv``, made by ``run_tests.sh``; or
the one ``CLIMATE_TEST_IRONIC_VENV`` names), the all-in-one ``ironic``
command (API and conductor) on SQLite with ``noauth`` and the
``fake-hardware`` hardware type, on a free loopback port, stopped by its
pid.  Facts: /work/shared/notes/ironic.md.

Fake nodes deploy any image in a fraction of a second.  To fail honestly,
a node can use the ``direct`` deploy interface: it then really fetches the
image over HTTP, and an unreachable ``image_source`` gives ``deploy
failed``.  A node in maintenance cannot be deployed at all.
"""

import os
import signal
import subprocess
import time

import requests

from tests import helpers

VENV = os.environ.get(
    "CLIMATE_TEST_IRONIC_VENV", os.path.join(helpers.ROOT, ".ironic-venv")
)
VERSION = "1.81"
HEADERS = {"X-OpenStack-Ironic-API-Version": VERSION}
_INTERFACES = {
    "bios": "fake,no-bios",
    "boot": "fake",
    "console": "fake,no-console",
    "deploy": "fake,direct",
    "firmware": "fake,no-firmware",
    "inspect": "fake,no-inspect",
    "management": "fake",
    "network": "noop",
    "power": "fake",
    "raid": "fake,no-raid",
    "rescue": "fake,no-rescue",
    "storage": "fake,noop",
    "vendor": "fake,no-vendor",
}


def available():
    """None if the Ironic environment is installed, else why not."""
    for command in ("ironic", "ironic-dbsync"):
        if not os.path.exists(os.path.join(VENV, "bin", command)):
            return (
                f"{command} is not installed in {VENV} (run_tests.sh "
                "installs ironic there)"
            )
    return None


class IronicServer:
    """Ironic in ``workdir``: ``start()``, then ``stop()``."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = os.path.join(self.workdir, "ironic.conf")
        self.log_path = os.path.join(self.workdir, "ironic.log")
        self.process = None

    def start(self, timeout=180):
        os.makedirs(os.path.join(self.workdir, "locks"), exist_ok=True)
        os.makedirs(os.path.join(self.workdir, "http"), exist_ok=True)
        self._write_config()
        subprocess.run(
            [
                self._bin("ironic-dbsync"),
                "--config-file",
                self.config_file,
                "create_schema",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [self._bin("ironic"), "--config-file", self.config_file],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ironic exited: {self.log()}")
            try:
                if requests.get(f"{self.url}/v1", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"ironic did not answer: {self.log()}")

    def _bin(self, command):
        return os.path.join(VENV, "bin", command)

    def _write_config(self):
        path = self.workdir
        default = {
            "auth_strategy": "noauth",
            "rpc_transport": "none",
            "enabled_hardware_types": "fake-hardware",
            "default_deploy_interface": "fake",
            "state_path": path,
            "host": "climate-test-conductor",
            "use_stderr": "true",
        }
        for kind, names in _INTERFACES.items():
            default[f"enabled_{kind}_interfaces"] = names
        helpers.write_config(
            self.config_file,
            {
                "DEFAULT": default,
                "api": {"host_ip": "127.0.0.1", "port": self.port},
                "database": {"connection": f"sqlite:///{path}/ironic.sqlite"},
                "dhcp": {"dhcp_provider": "none"},
                "oslo_concurrency": {"lock_path": f"{path}/locks"},
                "nova": {"send_power_notifications": "false"},
                "agent": {"deploy_logs_collect": "never"},
                "deploy": {
                    "http_url": f"http://127.0.0.1:{helpers.free_port()}",
                    "http_root": f"{path}/http",
                },
                "service_catalog": {"endpoint_override": self.url},
                "conductor": {"deploy_callback_timeout": 30},
            },
        )

    # The API ----------------------------------------------------------------

    def call(self, method, path, **kwargs):
        response = requests.request(
            method, f"{self.url}{path}", headers=HEADERS, timeout=30, **kwargs
        )
        return response

    def node(self, name):
        response = self.call("GET", f"/v1/nodes/{name}")
        response.raise_for_status()
        return response.json()

    def enroll(self, name, address, deploy_interface="fake"):
        """Enroll a fake node and make it available."""
        response = self.call(
            "POST",
            "/v1/nodes",
            json={
                "name": name,
                "driver": "fake-hardware",
                "deploy_interface": deploy_interface,
                "automated_clean": deploy_interface == "fake",
                "properties": {"cpus": 4, "memory_mb": 8192, "local_gb": 100},
                "extra": {"address": address},
            },
        )
        assert response.status_code == 201, response.text
        for target in ("manage", "provide"):
            self.provision(name, target)
            self.wait_state(
                name, "manageable" if target == "manage" else "available"
            )
        return self.node(name)

    def provision(self, name, target):
        response = self.call(
            "PUT",
            f"/v1/nodes/{name}/states/provision",
            json={"target": target},
        )
        assert response.status_code == 202, response.text

    def wait_state(self, name, state, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            node = self.node(name)
            if (
                node["provision_state"] == state
                and not node["target_provision_state"]
            ):
                return node
            assert time.monotonic() < deadline, (
                f"node {name} is {node['provision_state']}, not {state}: "
                f"{node.get('last_error')}"
            )
            time.sleep(0.2)

    def maintenance(self, name, reason):
        response = self.call(
            "PUT",
            f"/v1/nodes/{name}/maintenance",
            json={"reason": reason},
        )
        assert response.status_code == 202, response.text

    def log(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._log.close()
