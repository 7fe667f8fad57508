"""A resource plugin for tests, installed through a real entry point.

``tests/plugins`` holds a ``.dist-info`` folder declaring it in the
``climate.resource.plugins`` group; putting the folder on ``sys.path`` (or
``PYTHONPATH`` for a subprocess) makes stevedore find it like any installed
plugin.

The plugin records every hook call as a JSON line in the file named by
``CLIMATE_TEST_RECORD`` (when set), and misbehaves on request through the
lease's name: a lease named ``fail-<hook>...`` fails that hook every time,
``flaky-<hook>...`` fails it the first time per reservation and process,
``slow-<hook>-<ms>...`` makes that hook take ``ms`` milliseconds, and
``after-<lease id>...`` names the lease whose resources it takes over
(``previous_holders``).
"""

import json
import os
import threading
import time

from climate import exceptions
from climate.plugins import base

_flaky_seen = set()
_lock = threading.Lock()


class RecorderPlugin(base.ResourcePlugin):
    resource_type = "test:recorder"

    def _record(self, hook, lease, reservation):
        path = os.environ.get("CLIMATE_TEST_RECORD")
        record = {
            "hook": hook,
            "lease_id": lease["id"],
            "reservation_id": reservation["id"],
            "pid": os.getpid(),
        }
        self._write(record, path)
        name = lease["name"]
        if name.startswith(f"slow-{hook}-"):
            millis = name[len(f"slow-{hook}-") :].split("-")[0]
            time.sleep(int(millis) / 1000)
            # The hook's effect, which a process killed while it slept
            # never had.
            self._write({**record, "done": True}, path)
        if name.startswith(f"fail-{hook}"):
            raise RuntimeError(f"{hook} failed on purpose")
        if name.startswith(f"flaky-{hook}"):
            key = (hook, reservation["id"])
            with _lock:
                first = key not in _flaky_seen
                _flaky_seen.add(key)
            if first:
                raise RuntimeError(f"{hook} failed once on purpose")

    @staticmethod
    def _write(record, path):
        if path:
            with _lock, open(path, "a") as lines:
                lines.write(json.dumps(record) + "\n")

    def reserve(self, context, lease, reservation, values):
        unknown = set(values) - {"note"}
        if unknown:
            raise exceptions.InvalidInput(
                reason=f"unknown field(s) {sorted(unknown)}"
            )
        if lease["name"].startswith("full"):
            raise exceptions.NotEnoughResourcesAvailable(
                reason="the test plugin is full"
            )
        self._record("reserve", lease, reservation)
        return reservation["id"]

    def update(self, context, lease, reservation, values):
        self._record("update", lease, reservation)

    def release(self, lease, reservation):
        self._record("release", lease, reservation)

    def on_start(self, lease, reservation):
        self._record("on_start", lease, reservation)

    def on_end(self, lease, reservation):
        self._record("on_end", lease, reservation)

    def before_end(self, lease, reservation):
        self._record("before_end", lease, reservation)

    def previous_holders(self, lease, reservation):
        if lease["name"].startswith("after-"):
            return {lease["name"][len("after-") :][:36]}
        return set()


class SecondRecorderPlugin(RecorderPlugin):
    """Claims the same resource type: loading both must fail."""
