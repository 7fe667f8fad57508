"""The power driver interface: read a host's power state and health, power
it on and off.

A driver talks to a host's BMC (Redfish, IPMI, ...) and holds no state of
its own between calls.  Every call is bounded by ``[power] call_timeout``
and raises ``PowerError`` with a reason when the BMC does not answer,
refuses the credentials or reports an error; a driver never waits for a
change to land (BMCs apply changes late): ``climate.power.wait_for`` polls.
"""

import abc
import dataclasses

ON = "on"
OFF = "off"

#: Health readings: ``OK``, ``WARNING`` (degraded, still usable) and
#: ``CRITICAL`` (failed).
OK = "ok"
WARNING = "warning"
CRITICAL = "critical"


class PowerError(Exception):
    """A power call failed; ``str()`` says why."""


@dataclasses.dataclass(frozen=True)
class Target:
    """A host as the power drivers see it.

    :param name: its hypervisor hostname (for messages).
    :param address: where its BMC is (the driver's own form; see each).
    :param username: the BMC's user, or None.
    :param password: the BMC's password, or None.
    """

    name: str
    address: str | None = None
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)


class PowerDriver(abc.ABC):
    """One way of switching hosts on and off.

    ``manages_power`` is False for a driver whose hosts are always on (the
    energy policy leaves them alone); ``remote`` is False for a driver
    that answers from this process and never blocks (its calls need no
    thread to bound them).
    """

    manages_power = True
    remote = True

    @abc.abstractmethod
    def check(self, target):
        """Make sure the BMC answers and accepts the credentials (at
        registration).

        :raises PowerError: it does not, with the reason.
        """

    @abc.abstractmethod
    def state(self, target):
        """The host's power state now: ``ON`` or ``OFF``.

        :raises PowerError:
        """

    @abc.abstractmethod
    def power_on(self, target):
        """Ask the host to power on; return without waiting.

        :raises PowerError:
        """

    @abc.abstractmethod
    def power_off(self, target, force=False):
        """Ask the host to shut down (gracefully, or at once with
        ``force``); return without waiting.

        :raises PowerError:
        """

    def health(self, target):
        """The host's health as its BMC reports it: ``OK``, ``WARNING``,
        ``CRITICAL``, or None when the protocol has no health reading.

        :raises PowerError: the BMC does not answer.
        """
        return None
