"""A provisioning driver for tests, installed through a real entry point
(``climate.provisioning.drivers``: ``test.scripted``).

It loads nothing and answers by the host's name, so a test can drive
every path: a name containing ``broken`` fails fatally, ``flaky`` fails
with a retry on the first attempt only, ``dead`` fails with a retry every
time, and any other host is ready.  A load "takes" the image's default
load time on Climate's clock (``finished_at``), as the simulated driver's
do, except a broken host's, which fails at once.  Every call is kept in
``CALLS``.
"""

import datetime
import threading

from climate import clock
from climate.provisioning import base

CALLS = []
_lock = threading.Lock()


class ScriptedDriver(base.ProvisioningDriver):
    name = "test.scripted"

    def check_host(self, host):
        return None

    def address(self, host):
        return f"{host.name}.lab.example"

    def load(self, host, image, attempt):
        with _lock:
            CALLS.append(("load", host.name, image.name, attempt))
        seconds = float(image.default_load_time)
        finished = clock.now() + datetime.timedelta(seconds=seconds)
        if "broken" in host.name:
            # A broken host says so at once.
            return base.Outcome(base.FATAL, "scripted: broken", 0, clock.now())
        if "dead" in host.name or ("flaky" in host.name and attempt == 1):
            return base.Outcome(
                base.RETRY, "scripted: retry", seconds, finished
            )
        return base.Outcome(base.READY, "", seconds, finished)
