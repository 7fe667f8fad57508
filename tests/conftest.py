"""Fixtures shared by every test: configuration, a migrated database, the
in-process manager and the API application."""

import os
import shutil
import sys

import pytest
from oslo_config import fixture as config_fixture

from climate import conf, rpc
from climate.db import api as db_api
from climate.db import engine as db_engine
from climate.db import migration

TEST_PLUGINS = os.path.join(os.path.dirname(__file__), "plugins")
# The recorder plugin is found through a real entry point (see
# tests/plugins/climate_test_plugins.py).
sys.path.insert(0, TEST_PLUGINS)

CONF = conf.CONF


@pytest.fixture(scope="session", autouse=True)
def _parse_config():
    CONF([], project="climate", default_config_files=[])
    yield
    CONF.reset()


@pytest.fixture(autouse=True)
def config(tmp_path):
    """The global configuration, reset after each test."""
    fixture = config_fixture.Config(CONF)
    fixture.setUp()
    # The previous test's reset() left CONF unparsed; oslo.policy looks
    # for its policy file through the parsed configuration.
    CONF([], project="climate", default_config_files=[])
    fixture.config(state_path=str(tmp_path))
    fixture.config(
        connection=f"sqlite:///{tmp_path}/climate.sqlite", group="database"
    )
    # Tests book leases years ahead: the booking horizon is off unless a
    # test sets it (its own tests do).
    fixture.config(
        poll_interval=0.5,
        event_retry_backoff=0.05,
        booking_horizon=0,
        group="manager",
    )
    yield fixture
    db_api.dispose()
    rpc.cleanup()
    fixture.cleanUp()


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory):
    """An SQLite file at the latest revision, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "climate.sqlite"
    fixture = config_fixture.Config(CONF)
    fixture.setUp()
    fixture.config(connection=f"sqlite:///{path}", group="database")
    migration.upgrade("head")
    db_api.dispose()
    fixture.cleanUp()
    return path


@pytest.fixture
def database(config, tmp_path, _migrated_template):
    """A fresh, migrated SQLite database for one test."""
    shutil.copy(_migrated_template, tmp_path / "climate.sqlite")
    db_api.dispose()
    assert db_engine.backend_name() == "sqlite"
    return tmp_path / "climate.sqlite"


@pytest.fixture
def record_file(tmp_path, monkeypatch):
    """Where the test recorder plugin writes its hook calls."""
    path = tmp_path / "hooks.jsonl"
    monkeypatch.setenv("CLIMATE_TEST_RECORD", str(path))
    return path


@pytest.fixture
def manager(database, config):
    """The manager service of this process, with the recorder plugin."""
    from climate.manager import service

    config.config(plugins=["test.recorder.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def api(manager):
    """A test client of the real API application, manager in process."""
    from climate.api import app

    return app.create_app().test_client()
