"""Real IPMI BMCs for the tests: pyghmi's BMC framework (what virtualbmc
builds on), one UDP port per BMC, all served by one process that keeps
each machine's power state in memory.

Run as ``python -m tests.services.ipmi_bmcs USER PASSWORD PORT...``; it
prints ``ready`` once every port is bound.  ``IPMIBMCs`` starts it on
free loopback ports and stops it by its pid.

pyghmi's client first asks for cipher suite 17 (SHA-256), which the
framework's server does not implement but accepts, and the client then
fails; refusing any open-session request that does not propose SHA-1
(RMCP+ status 0x11) makes the client fall back to suite 3.
"""

import os
import signal
import socket
import subprocess
import sys
import time

#: RMCP+ status: invalid authentication algorithm.
INVALID_AUTH_ALGORITHM = 0x11
SHA1 = 1


def _serve(user, password, ports):
    from pyghmi.ipmi import bmc
    from pyghmi.ipmi.private import serversession

    class Sha1Session(serversession.ServerSession):
        def create_open_session_response(self, request):
            # Bytes 12: the proposed authentication algorithm.
            if request[12] != SHA1:
                self.clientsessionid = request[4:8]
                return (
                    bytearray([request[0], INVALID_AUTH_ALGORITHM, 0, 0])
                    + self.clientsessionid
                )
            return super().create_open_session_response(request)

    class Machine(bmc.Bmc):
        def __init__(self, port):
            super().__init__({user: password}, port=port, address="127.0.0.1")
            self.powerstate = "off"

        def get_power_state(self):
            return self.powerstate

        def power_on(self):
            self.powerstate = "on"

        def power_off(self):
            self.powerstate = "off"

        def power_shutdown(self):
            self.powerstate = "off"

        def power_reset(self):
            return None

        def sessionless_data(self, data, sockaddr):
            data = bytearray(data)
            if len(data) >= 22 and data[4] == 6 and data[5] == 16:
                Sha1Session(
                    self.authdata,
                    self.kg,
                    sockaddr,
                    self.serversocket,
                    data[16:],
                    self.uuid,
                    bmc=self,
                )
                return
            return super().sessionless_data(data, sockaddr)

    machines = [Machine(port) for port in ports]
    print("ready", flush=True)
    machines[0].listen()


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class IPMIBMCs:
    """``count`` BMCs on loopback UDP ports; ``address(i)`` of each."""

    def __init__(self, count, username, password):
        self.username = username
        self.password = password
        self.ports = [_free_udp_port() for _ in range(count)]
        self.process = None

    def address(self, index):
        return f"127.0.0.1:{self.ports[index]}"

    def start(self, timeout=20):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.services.ipmi_bmcs",
                self.username,
                self.password,
                *map(str, self.ports),
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        line = self.process.stdout.readline()
        if line.strip() != "ready" or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError("the IPMI BMCs did not start")
        return self

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


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]])
