"""What the benchmarks share: the real ``climate-all`` as a child process on
a free loopback port, and the way they print the machine and their figures.

The benchmarks run as ``.venv/bin/python bench/<name>.py``; Python puts the
script's directory first on ``sys.path``, which is how they import this
module.  It is not part of the ``climate`` package.
"""

import contextlib
import math
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import requests

from climate import context as climate_context

PROJECT = "climate-project"  # [api] noauth_project_id's default
USER = "climate-user"
WIRE = "%Y-%m-%d %H:%M"

#: The percentiles a create latency is summed up with.
LATENCY = (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))


# Set-up -------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(state_dir, port):
    """Write a config for a service keeping its state in ``state_dir`` and
    listening on ``port``; return its path."""
    path = os.path.join(state_dir, "climate.conf")
    with open(path, "w") as config:
        config.write(
            f"[DEFAULT]\nstate_path = {state_dir}\n\n"
            f"[api]\nhost = 127.0.0.1\nport = {port}\n"
        )
    return path


def member_context():
    """The context of the project the service's noauth requests act for."""
    return climate_context.RequestContext(
        user_id=USER,
        project_id=PROJECT,
        roles=["member", "reader"],
        overwrite=False,
    )


# The service --------------------------------------------------------------


class Service:
    """A Climate command (``climate-all`` by default) as a child process,
    stopped by its PID.

    :param env: variables added to this process's environment for it.
    """

    def __init__(self, config_path, log_path, env=None, command="climate-all"):
        self.command = command
        executable = os.path.join(os.path.dirname(sys.executable), command)
        # Appended to: a restarted service logs after the first one.
        self._log = open(log_path, "ab")
        self.log_path = log_path
        self.process = subprocess.Popen(
            [executable, "--config-file", config_path],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def wait_ready(self, url, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command} exited with {self.process.returncode}:"
                    f"\n{self.log_tail()}"
                )
            try:
                if requests.get(url, timeout=5).status_code == 300:
                    return
            except requests.RequestException:
                pass  # not listening yet, or too busy to answer yet
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not answer within {timeout} s")

    def cpu_seconds(self):
        """CPU time (user + system) the service has used so far, or None."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars=3000):
        with open(self.log_path, errors="replace") as log:
            return log.read()[-chars:]

    def stop(self, timeout=15):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@contextlib.contextmanager
def running(state_dir, config_path, base, env=None, timeout=60):
    """A :class:`Service` logging to ``climate-all.log`` in ``state_dir``,
    once ``base`` answers; stopped on the way out.

    On any failure, the end of the service's log and the state directory
    (left in place for a look) go to stderr before the error goes on.
    """
    server = Service(
        config_path, os.path.join(state_dir, "climate-all.log"), env
    )
    try:
        server.wait_ready(base + "/", timeout)
        yield server
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        print(f"state directory kept: {state_dir}", file=sys.stderr)
        raise
    finally:
        server.stop()


# Figures ------------------------------------------------------------------


def machine():
    """The machine the figures come from: they compare on one machine only."""
    return (
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.platform()}"
    )


def load_average():
    """Other work on the machine skews latencies; say how much there was."""
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(values, pcts=LATENCY, width=8):
    """One line of durations in seconds: ``(name, percentile)`` of
    ``pcts`` in ms, each ``width`` characters wide, and the count."""
    if not values:
        return "(none)"
    values = sorted(values)
    parts = [
        f"{name} {percentile(values, pct) * 1000:{width}.2f} ms"
        for name, pct in pcts
    ]
    return "  ".join(parts) + f"   (n={len(values)})"
