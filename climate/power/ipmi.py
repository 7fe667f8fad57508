"""The ``ipmi`` power driver: a host's BMC speaks IPMI over LAN (through
``pyghmi``).

A host's power address is ``host`` or ``host:port`` (UDP, 623 by
default), optionally prefixed ``ipmi://``.  IPMI has no health reading
here: the power state and whether the BMC answers are what the health
task sees.
"""

import threading

from climate.power import base

DEFAULT_PORT = 623

# As pyghmi's own session cache, for the whole process.
_lock = threading.Lock()
_commands = {}


def _split(address):
    if not address:
        raise base.PowerError("an ipmi host needs its BMC's address")
    rest = address.removeprefix("ipmi://").rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or "]" in port:
        return rest.strip("[]"), DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise base.PowerError(f"{address!r}: {port!r} is not a UDP port")
    return host.strip("[]"), int(port)


class IPMIDriver(base.PowerDriver):
    """Power state and on/off through an IPMI 2.0 (RMCP+) BMC.

    pyghmi keeps one session per BMC and user, which a second
    ``Command`` for the same BMC cannot use: one ``Command`` per BMC and
    credentials is kept in this process (its session kept alive by
    pyghmi), dropped when a call fails so that the next one logs in
    again.
    """

    def _command(self, target):
        from pyghmi.ipmi import command

        host, port = _split(target.address)
        key = (host, port, target.username or "", target.password or "")
        with _lock:
            found = _commands.get(key)
            if found is None:
                found = command.Command(
                    bmc=host,
                    userid=key[2],
                    password=key[3],
                    port=port,
                )
                _commands[key] = found
            return key, found

    def _run(self, target, action):
        from pyghmi import exceptions as pyghmi_exceptions

        try:
            key, bmc = self._command(target)
        except pyghmi_exceptions.IpmiException as exc:
            raise base.PowerError(f"the BMC refused the session: {exc}")
        except OSError as exc:
            raise base.PowerError(f"the BMC cannot be reached: {exc}")
        try:
            return action(bmc)
        except Exception as exc:
            with _lock:
                _commands.pop(key, None)
            raise base.PowerError(f"the BMC answered an error: {exc}")

    def check(self, target):
        self.state(target)

    def state(self, target):
        answer = self._run(target, lambda bmc: bmc.get_power())
        return base.ON if answer.get("powerstate") == "on" else base.OFF

    def power_on(self, target):
        self._run(target, lambda bmc: bmc.set_power("on", wait=False))

    def power_off(self, target, force=False):
        wanted = "off" if force else "shutdown"
        self._run(target, lambda bmc: bmc.set_power(wanted, wait=False))
