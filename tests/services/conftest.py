"""Fixtures for the tests that use this machine's real services.

Each test gets its own PostgreSQL database, MariaDB database or RabbitMQ
vhost, named after the test process's pid plus a random suffix so that two
runs at once never meet, and dropped afterwards whatever the outcome.

The servers are found on loopback by default; the environment can point
elsewhere:

* ``CLIMATE_TEST_POSTGRESQL_URL``: an admin URL of the server (default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``);
* ``CLIMATE_TEST_MARIADB_URL``: likewise (default
  ``mysql+pymysql://root@127.0.0.1:3306/``);
* ``CLIMATE_TEST_RABBIT_URL``: the broker, without a vhost (default
  ``rabbit://guest:guest@127.0.0.1:5672/``); vhosts are made with
  ``rabbitmqctl``, which must work for the user running the tests.

A server that cannot be reached makes its tests skip, saying why, on a
developer's machine; under CI (``CI`` set in the environment) it makes them
fail instead, so a green run always means the services were tested.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.parse

import pytest
import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import migration
from tests import helpers

POSTGRESQL_URL = os.environ.get(
    "CLIMATE_TEST_POSTGRESQL_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
)
MARIADB_URL = os.environ.get(
    "CLIMATE_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"
)
RABBIT_URL = os.environ.get(
    "CLIMATE_TEST_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/"
)

BACKENDS = ("postgresql", "mariadb")


def unavailable(reason):
    """A service the test needs is missing: skip, or fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"service unavailable under CI: {reason}")
    pytest.skip(reason)


def unique_name(prefix="climate_test"):
    """A name no other test run uses: prefix, pid and a random suffix."""
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


# Databases ------------------------------------------------------------------


class _Server:
    """One database server: creates and drops databases on it."""

    def __init__(self, backend, admin_url):
        self.backend = backend
        self.admin_url = sa.engine.make_url(admin_url)
        self._engine = None
        self.unreachable = None

    def _admin(self):
        if self._engine is None:
            self._engine = sa.create_engine(
                self.admin_url,
                isolation_level="AUTOCOMMIT",
                poolclass=sa.pool.NullPool,
            )
        return self._engine

    def check(self):
        """Skip the test when the server cannot be reached."""
        if self.unreachable is None:
            try:
                with self._admin().connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
                self.unreachable = ""
            except sa.exc.OperationalError as exc:
                self.unreachable = str(exc).splitlines()[0]
        if self.unreachable:
            unavailable(f"{self.backend} unreachable: {self.unreachable}")

    def create(self, name):
        """Create database ``name``; return its SQLAlchemy URL."""
        self.check()
        if self.backend == "postgresql":
            statement = f'CREATE DATABASE "{name}"'
        else:
            statement = (
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_unicode_ci"
            )
        with self._admin().connect() as connection:
            connection.exec_driver_sql(statement)
        return self.admin_url.set(database=name).render_as_string(
            hide_password=False
        )

    def drop(self, name):
        if self.backend == "postgresql":
            # FORCE: a manager process killed mid-test may leave sessions.
            statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        else:
            statement = f"DROP DATABASE IF EXISTS `{name}`"
        with self._admin().connect() as connection:
            connection.exec_driver_sql(statement)

    def dispose(self):
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture(scope="session")
def _servers():
    servers = {
        "postgresql": _Server("postgresql", POSTGRESQL_URL),
        "mariadb": _Server("mariadb", MARIADB_URL),
    }
    yield servers
    for server in servers.values():
        server.dispose()


@pytest.fixture
def make_database(_servers):
    """A factory: ``make_database("postgresql")`` returns the URL of a new,
    empty database, dropped at the end of the test."""
    made = []

    def make(backend):
        server = _servers[backend]
        name = unique_name()
        url = server.create(name)
        made.append((server, name))
        return url

    yield make
    for server, name in made:
        server.drop(name)


@pytest.fixture
def postgresql_url(make_database):
    """An empty PostgreSQL database of this test."""
    return make_database("postgresql")


@pytest.fixture
def mariadb_url(make_database):
    """An empty MariaDB database of this test."""
    return make_database("mariadb")


@pytest.fixture(params=BACKENDS)
def db_url(request, make_database):
    """An empty database of this test, on each server in turn."""
    return make_database(request.param)


@pytest.fixture
def service_db(db_url, config):
    """``db_url`` migrated to head and configured for this process."""
    config.config(connection=db_url, group="database")
    db_api.dispose()
    migration.upgrade("head")
    yield db_url
    db_api.dispose()


# RabbitMQ -------------------------------------------------------------------


def _rabbitmqctl(*args, check=True):
    return subprocess.run(
        ["rabbitmqctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


@pytest.fixture
def transport_url():
    """The transport_url of a new RabbitMQ vhost, deleted after the test."""
    if shutil.which("rabbitmqctl") is None:
        unavailable("rabbitmqctl is not installed")
    vhost = unique_name()
    user = urllib.parse.urlsplit(RABBIT_URL).username or "guest"
    created = _rabbitmqctl("add_vhost", vhost, check=False)
    if created.returncode != 0:
        unavailable(f"rabbitmqctl add_vhost failed: {created.stderr.strip()}")
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield RABBIT_URL.rstrip("/") + "/" + vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost, check=False)


# Climate processes ----------------------------------------------------------


@pytest.fixture
def climate_processes(request, tmp_path, make_database):
    """A factory that starts Climate commands as real processes.

    ``start(command, config_file, name, env=None)`` returns a
    ``helpers.ClimateProcess`` whose output goes to ``<tmp_path>/<name>.log``.
    Every process is stopped by its pid at the end of the test, before the
    databases of the test are dropped, and a failed test's report carries
    the logs of all of them.
    """
    processes = []
    request.node.climate_processes = processes

    def start(command, config_file, name, env=None):
        process = helpers.ClimateProcess(
            command, config_file, tmp_path / f"{name}.log", env=env
        )
        process.name = name
        processes.append(process)
        return process

    yield start
    # Signal them all first: a manager may take seconds to leave RabbitMQ,
    # and they can do so together.
    for process in processes:
        if process.process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.process.wait(15)
        except subprocess.TimeoutExpired:
            pass  # stop() below signals again, then kills
        process.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for process in getattr(item, "climate_processes", ()):
            report.sections.append(
                (f"{process.name} log (pid {process.pid})", process.log())
            )
    return report


@pytest.fixture
def run_climate():
    """Run a Climate console script to completion; return the
    ``CompletedProcess`` (text output, not checked)."""

    def run(command, config_file, *args, timeout=120):
        executable = os.path.join(os.path.dirname(sys.executable), command)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [helpers.TEST_PLUGINS, env.get("PYTHONPATH")])
        )
        return subprocess.run(
            [executable, "--config-file", str(config_file), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )

    return run
