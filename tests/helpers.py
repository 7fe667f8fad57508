"""Small helpers for tests: waiting, lease bodies, dates, processes."""

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_PLUGINS = os.path.join(ROOT, "tests", "plugins")


def wait_for(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Poll ``predicate`` until it returns a truthy value; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message}"
            )
        time.sleep(interval)


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def wire(moment):
    """A datetime as the API's ``YYYY-MM-DD HH:MM``."""
    return moment.strftime("%Y-%m-%d %H:%M")


def future(**delta):
    return wire(utcnow() + datetime.timedelta(**delta))


def lease_body(name="lease", start="now", end=None, **extra):
    body = {
        "name": name,
        "start_date": start,
        "end_date": end or future(days=1),
    }
    body.update(extra)
    return body


def read_records(path):
    if not os.path.exists(path):
        return []
    with open(path) as record:
        return [json.loads(line) for line in record if line.strip()]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path, sections):
    """Write an oslo.config file from ``{section: {option: value}}``.

    Tests book leases years ahead: the booking horizon is off unless a
    test sets it (its own tests do).
    """
    sections = {name: dict(options) for name, options in sections.items()}
    sections.setdefault("manager", {}).setdefault("booking_horizon", 0)
    with open(path, "w") as conf:
        for section, options in sections.items():
            conf.write(f"[{section}]\n")
            for key, value in options.items():
                conf.write(f"{key} = {value}\n")
            conf.write("\n")
    return path


class ClimateProcess:
    """A Climate command run as a real process, stopped by its PID."""

    def __init__(self, command, config_file, log_path, env=None):
        self.command = command
        self.log_path = log_path
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [TEST_PLUGINS, environment.get("PYTHONPATH")])
        )
        environment.update(env or {})
        self._log = open(log_path, "wb")
        executable = os.path.join(os.path.dirname(sys.executable), command)
        self.process = subprocess.Popen(
            [executable, "--config-file", str(config_file)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
        )

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def assert_running(self):
        if self.process.poll() is not None:
            raise AssertionError(
                f"{self.command} exited with {self.process.returncode}:\n"
                f"{self.log()[-4000:]}"
            )

    def wait_http(self, url, timeout=30):
        def answers():
            self.assert_running()
            try:
                return requests.get(url, timeout=1).status_code < 500
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or too busy starting to answer.
                return False

        wait_for(answers, timeout, interval=0.1, message=f"{url} to answer")

    def stop(self, timeout=15):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode
