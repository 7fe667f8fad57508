"""A real Redfish service for the tests: ``sushy-emulator`` (package
``sushy-tools``, in the ``test`` extra) with its fake systems driver,
on a free loopback port, its state in the test's folder, HTTP basic
auth from a bcrypt htpasswd file, stopped by its pid.

The fake driver applies a power change 1-11 s after it is asked, on the
next read.  ``delay=False`` makes that immediate (the emulator's process
draws no random delay) for quick tests; keep one test with the delay:
Climate must poll, not assume.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import bcrypt
import requests

from tests import helpers

_LAUNCH = """
import sys
if sys.argv.pop(1) == "no-delay":
    # The emulator's own process: its fake BMCs apply changes at once.
    from sushy_tools.emulator.resources.systems import fakedriver
    fakedriver.random.randint = lambda low, high: 0
from sushy_tools.emulator import main
sys.exit(main.main())
"""


class RedfishServer:
    """sushy-emulator serving ``systems`` fake machines (names), all off.

    ``start()``, then ``stop()``; ``url(name)`` is a system's address.
    """

    def __init__(self, workdir, systems, username, password, delay=True):
        self.workdir = str(workdir)
        self.port = helpers.free_port()
        self.username = username
        self.password = password
        self.delay = delay
        self.ids = {name: str(uuid.uuid4()) for name in systems}
        self.process = None
        self.log_path = os.path.join(self.workdir, "sushy.log")

    def url(self, name):
        return (
            f"http://127.0.0.1:{self.port}/redfish/v1/Systems/{self.ids[name]}"
        )

    def start(self, timeout=30):
        os.makedirs(self.workdir, exist_ok=True)
        users = os.path.join(self.workdir, "htpasswd")
        hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt())
        with open(users, "w") as out:
            out.write(f"{self.username}:{hashed.decode()}\n")
        systems = [
            {
                "uuid": system_id,
                "name": name,
                "power_state": "Off",
                "external_notifier": False,
                "nics": [{"mac": f"00:5c:52:31:3a:{i:02x}"}],
            }
            for i, (name, system_id) in enumerate(self.ids.items())
        ]
        config = os.path.join(self.workdir, "emulator.conf")
        with open(config, "w") as out:
            out.write(
                "SUSHY_EMULATOR_FAKE_DRIVER = True\n"
                f"SUSHY_EMULATOR_FAKE_SYSTEMS = {systems!r}\n"
                "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n"
                f"SUSHY_EMULATOR_LISTEN_PORT = {self.port}\n"
                f"SUSHY_EMULATOR_STATE_DIR = '{self.workdir}/state'\n"
                f"SUSHY_EMULATOR_AUTH_FILE = '{users}'\n"
            )
        env = {**os.environ, "SUSHY_EMULATOR_CONFIG": config}
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _LAUNCH,
                    "delay" if self.delay else "no-delay",
                    "--config",
                    config,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"sushy-emulator exited; see {self.log_path}"
                )
            try:
                requests.get(
                    f"http://127.0.0.1:{self.port}/redfish/v1/", timeout=1
                )
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"sushy-emulator did not start; see {self.log_path}"
        )

    def power_state(self, name):
        """The system's power state as the emulator reports it."""
        answer = requests.get(
            self.url(name),
            auth=(self.username, self.password),
            timeout=5,
        )
        answer.raise_for_status()
        return answer.json()["PowerState"]

    def stop(self):
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None
