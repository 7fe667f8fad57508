"""The ``simulated`` provisioning driver and OS module: a lab that exists
only in memory.

For the embedded service, demos, tests and benchmarks: nothing is loaded
anywhere.  A load "takes" the image's true load time
(``[simulated_provisioning] load_times``, else the image's default) times
a random factor within ``noise``, and fails at random (``retry_rate``,
``fatal_rate``).  The driver models its own capacity: ``[provisioning]
max_concurrent_loads`` lanes, and one load at a time per host, so a load
asked for while the lanes are busy begins when one frees up.  Its outcome
says when the load ended on Climate's clock (``finished_at``), which may
be after the call returned: with a virtual clock a simulation then knows
exactly when each host became ready.  With ``time_scale`` above 0 the
call also sleeps that share of the simulated time.

Logs and messages name it "simulated" so that no one mistakes it for a
real load.
"""

import datetime
import random
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging

from climate import clock
from climate.provisioning import base

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def _rng():
    seed = CONF.simulated_provisioning.seed
    return random.Random(seed)  # noqa: S311  (a simulation, not secrets)


class SimulatedDriver(base.ProvisioningDriver):
    """Loads nothing; draws load times and failures from its options."""

    name = "simulated"

    def __init__(self):
        self._lock = threading.Lock()
        self._random = _rng()
        self._lanes = [None] * CONF.provisioning.max_concurrent_loads
        self._host_free = {}

    def check_host(self, host):
        return None

    def address(self, host):
        return host.address

    def true_load_time(self, image):
        """Seconds the simulated lab takes to load ``image``, noise aside."""
        configured = CONF.simulated_provisioning.load_times.get(image.name)
        if configured is not None:
            return float(configured)
        return float(image.default_load_time)

    def load(self, host, image, attempt):
        options = CONF.simulated_provisioning
        now = clock.now()
        with self._lock:
            lane = min(
                range(len(self._lanes)),
                key=lambda i: self._lanes[i] or now,
            )
            begin = max(
                now,
                self._lanes[lane] or now,
                self._host_free.get(host.name, now),
            )
            factor = self._random.uniform(1 - options.noise, 1 + options.noise)
            seconds = self.true_load_time(image) * factor
            draw = self._random.random()
            if draw < options.fatal_rate:
                status, reason = base.FATAL, "simulated hardware failure"
                seconds *= 0.3
            elif draw < options.fatal_rate + options.retry_rate:
                status, reason = base.RETRY, "simulated deploy failure"
                seconds *= 0.5
            else:
                status, reason = base.READY, ""
            finished = begin + datetime.timedelta(seconds=seconds)
            self._lanes[lane] = finished
            self._host_free[host.name] = finished
        if options.time_scale > 0:
            time.sleep((finished - now).total_seconds() * options.time_scale)
        LOG.info(
            "simulated load of %s on %s (attempt %d): %s in %.0f simulated "
            "s; nothing was loaded",
            image.name,
            host.name,
            attempt,
            status,
            seconds,
        )
        return base.Outcome(status, reason, seconds, finished)


class SimulatedOSModule(base.OSModule):
    """Answers at once; users log in at random (``login_rate``)."""

    name = "simulated"

    def __init__(self):
        self._lock = threading.Lock()
        self._random = _rng()

    def post_load(self, host, image, attempt):
        return base.Outcome(base.READY, finished_at=clock.now())

    def logged_in(self, host, since):
        with self._lock:
            draw = self._random.random()
        return draw < CONF.simulated_provisioning.login_rate

    def sanitize(self, host):
        return base.Outcome(base.READY, finished_at=clock.now())


class NoOSModule(base.OSModule):
    """For hosts whose OS Climate does not look at: a load is trusted,
    and a user may always have logged in, so reclaim reloads."""

    name = "none"

    def post_load(self, host, image, attempt):
        return base.Outcome(base.READY, finished_at=clock.now())

    def logged_in(self, host, since):
        return None

    def sanitize(self, host):
        return base.Outcome(
            base.FATAL, "the 'none' OS module cannot sanitize a host"
        )
