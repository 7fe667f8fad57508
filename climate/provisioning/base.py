"""The provisioning interfaces: load an image on a host, then wait for its OS.

After VCL's design, preparing a host is two steps, each behind a small
interface of its own:

* a **provisioning driver** (``climate.provisioning.drivers``) puts an
  image on a host and starts it: ``load(host, image, attempt)``;
* an **OS module** (``climate.os_modules``) waits until the host's
  operating system answers and is configured: ``post_load(host, image,
  attempt)``; at a lease's end it says whether the user logged in and
  sanitizes the host (removes the user's access, ends their sessions).

So how long to wait for a host to boot depends on its OS, not on the
machinery that wrote its disk.  Every step answers an ``Outcome``:
``READY``, ``RETRY`` (try the load again) or ``FATAL`` (stop trying this
host).  The attempt number (1, 2, ...) lets a step wait longer each time
(``timeout(base, attempt)``).  Steps never raise for an expected failure:
they answer ``RETRY`` or ``FATAL`` with a reason.
"""

import abc
import dataclasses
import datetime

from oslo_config import cfg

CONF = cfg.CONF

READY = "ready"
RETRY = "retry"
FATAL = "fatal"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a step answered.

    :param status: ``READY``, ``RETRY`` or ``FATAL``.
    :param reason: why it failed (empty when ready).
    :param duration: seconds the step took (for a simulated driver, the
        simulated time).
    :param finished_at: when the step was over, on Climate's clock (a
        simulated driver's loads may end after the call returns).
    """

    status: str
    reason: str = ""
    duration: float = 0.0
    finished_at: datetime.datetime | None = None

    @property
    def ready(self):
        return self.status == READY


@dataclasses.dataclass(frozen=True)
class Host:
    """A host as the drivers see it.

    :param name: its hypervisor hostname (an Ironic node's name or UUID).
    :param address: where users and the OS module reach it, if known.
    """

    name: str
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class Image:
    """An image as the drivers see it.

    :param reference: what the driver loads (an Ironic ``image_source``
        URL, ...).
    :param default_load_time: the operator's guess, in seconds.
    :param checksum: the image's checksum, for drivers that check one.
    """

    id: str
    name: str
    reference: str
    default_load_time: int
    checksum: str | None = None


def timeout(base, attempt):
    """The timeout of an attempt: ``base`` for the first, longer after
    (``[provisioning] timeout_growth``)."""
    growth = CONF.provisioning.timeout_growth
    return base * growth ** max(attempt - 1, 0)


class ProvisioningDriver(abc.ABC):
    """Base of ``climate.provisioning.drivers`` entry points.

    Built once per manager; methods may run on several threads at once,
    for different hosts.
    """

    #: The entry point name, for logs and messages.
    name = ""

    @abc.abstractmethod
    def check_host(self, host):
        """Check that the driver can reach ``host``, when it is registered.

        :raises ProvisioningUnavailable: the driver's service cannot be
            reached.
        :raises InvalidInput: the service does not know the host.
        """

    @abc.abstractmethod
    def load(self, host, image, attempt):
        """Put ``image`` on ``host`` and start it; wait until that is done.

        :param attempt: 1 for the first try; timeouts grow with it.
        :returns: an ``Outcome``.
        """

    @abc.abstractmethod
    def address(self, host):
        """Where users reach ``host`` now (it may change with each load).

        :returns: a host name or address, or None if unknown.
        """


class OSModule(abc.ABC):
    """Base of ``climate.os_modules`` entry points."""

    name = ""

    @abc.abstractmethod
    def post_load(self, host, image, attempt):
        """Wait until the OS of a freshly loaded host answers and passes
        its checks.

        :returns: an ``Outcome``; ``RETRY`` asks for another load.
        """

    @abc.abstractmethod
    def logged_in(self, host, since):
        """Whether a user logged in on ``host`` since ``since``.

        :returns: True, False, or None when the module cannot tell.
        """

    @abc.abstractmethod
    def sanitize(self, host):
        """Remove the last user's access and end their sessions.

        :returns: an ``Outcome``; anything but ``READY`` means the host
            must be reloaded.
        """
