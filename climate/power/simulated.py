"""The ``simulated`` power driver: hosts that boot on Climate's clock.

For the embedded service, demos, tests and benchmarks (``bench/energy.py``
replays a month on a virtual clock).  A host's power address is
``sim://<boot seconds>`` (120 s without one): a power-on lands that many
seconds of ``climate.clock`` later, a power-off at once.  ``set_health``
makes a host report a health reading, as a BMC would; ``forget`` drops
every simulated host.  The states live in this process only.
"""

import datetime
import threading

from climate import clock
from climate.power import base

DEFAULT_BOOT = 120.0

_lock = threading.Lock()
_hosts = {}


def _boot_seconds(address):
    if not address:
        return DEFAULT_BOOT
    rest = address.removeprefix("sim://")
    try:
        seconds = float(rest)
    except ValueError:
        raise base.PowerError(
            f"{address!r}: a simulated host's address is sim://<boot seconds>"
        )
    if not 0 <= seconds < 86400:
        raise base.PowerError(f"{address!r}: boot seconds out of range")
    return seconds


def _host(target):
    boot = _boot_seconds(target.address)
    host = _hosts.get(target.name)
    if host is None:
        host = _hosts[target.name] = {
            "state": base.ON,
            "on_at": None,
            "health": base.OK,
            "cycles": 0,
        }
    host["boot"] = boot
    if host["on_at"] is not None and clock.now() >= host["on_at"]:
        host["state"], host["on_at"] = base.ON, None
    return host


def set_health(name, health):
    """Make the simulated host ``name`` report ``health``; a ``None``
    health makes its BMC stop answering."""
    with _lock:
        _hosts.setdefault(
            name,
            {"state": base.ON, "on_at": None, "cycles": 0, "boot": 0},
        )["health"] = health


def forget():
    """Drop every simulated host."""
    with _lock:
        _hosts.clear()


class SimulatedPower(base.PowerDriver):
    """In-memory BMCs on Climate's clock."""

    remote = False

    def _get(self, target):
        host = _host(target)
        if host["health"] is None:
            raise base.PowerError(f"the BMC of {target.name} does not answer")
        return host

    def check(self, target):
        with _lock:
            self._get(target)

    def state(self, target):
        with _lock:
            return self._get(target)["state"]

    def power_on(self, target):
        with _lock:
            host = self._get(target)
            if host["state"] == base.OFF and host["on_at"] is None:
                host["on_at"] = clock.now() + datetime.timedelta(
                    seconds=host["boot"]
                )

    def power_off(self, target, force=False):
        with _lock:
            host = self._get(target)
            if host["state"] == base.ON or host["on_at"] is not None:
                host["cycles"] += 1
            host["state"], host["on_at"] = base.OFF, None

    def health(self, target):
        with _lock:
            return self._get(target)["health"]
