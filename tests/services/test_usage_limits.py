"""Project limits under concurrency on the real PostgreSQL: simultaneous
creates of one project cannot pass a limit together."""

import concurrent.futures
import threading

import pytest

from climate import context, exceptions
from climate.db import api as db_api
from climate.db import migration
from climate.enforcement import UsageEnforcer
from climate.manager import leases
from tests import helpers

pytestmark = pytest.mark.services

WRITERS = 8


@pytest.fixture
def postgresql(postgresql_url, config):
    config.config(connection=postgresql_url, group="database")
    db_api.dispose()
    migration.upgrade("head")
    yield
    db_api.dispose()


def test_simultaneous_creates_respect_the_lease_limit(postgresql, config):
    config.config(
        enabled_filters=["project_limits"],
        max_leases_per_project=2,
        group="enforcement",
    )
    manager = leases.LeaseManager({}, enforcer=UsageEnforcer.from_config())
    alice = context.RequestContext(
        project_id="project-a", user_id="alice", overwrite=False
    )
    start = threading.Barrier(WRITERS)

    def create(n):
        body = helpers.lease_body(
            f"lease-{n}", start="2030-12-26 12:00", end="2030-12-27 12:00"
        )
        start.wait()
        try:
            manager.create(alice, body)
        except exceptions.ProjectLimitExceeded:
            return "refused"
        return "created"

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(create, range(WRITERS)))

    assert sorted(outcomes) == ["created"] * 2 + ["refused"] * (WRITERS - 2)
    assert len(db_api.lease_list(project_id="project-a")) == 2
