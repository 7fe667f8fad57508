"""Project limits under concurrency on the real PostgreSQL and MariaDB:
simultaneous creates of one project cannot pass a limit together."""

import concurrent.futures
import http.server
import threading
import time

import pytest

from climate import context, exceptions
from climate.db import api as db_api
from climate.enforcement import UsageEnforcer
from climate.manager import leases
from tests import helpers

pytestmark = pytest.mark.services

WRITERS = 8


def _race_creates(project_id, writers):
    """Start ``writers`` creates of one project at once, under the
    configured enforcement filters; return "created"/"refused" each."""
    manager = leases.LeaseManager({}, enforcer=UsageEnforcer.from_config())
    user = context.RequestContext(
        project_id=project_id, user_id="user", overwrite=False
    )
    start = threading.Barrier(writers)

    def create(n):
        body = helpers.lease_body(
            f"lease-{n}", start="2030-12-26 12:00", end="2030-12-27 12:00"
        )
        start.wait()
        try:
            manager.create(user, body)
        except exceptions.ProjectLimitExceeded:
            return "refused"
        return "created"

    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        return list(pool.map(create, range(writers)))


def test_simultaneous_creates_respect_the_lease_limit(service_db, config):
    config.config(
        enabled_filters=["project_limits"],
        max_leases_per_project=2,
        group="enforcement",
    )
    outcomes = _race_creates("project-a", WRITERS)

    assert sorted(outcomes) == ["created"] * 2 + ["refused"] * (WRITERS - 2)
    assert len(db_api.lease_list(project_id="project-a")) == 2


class _SlowApproval(http.server.BaseHTTPRequestHandler):
    """An operator's usage service that takes its time, then allows."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(0.3)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_usage_service():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowApproval)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_project_lock_holds_while_other_checks_run(
    service_db, config, slow_usage_service
):
    # The limit is checked first, then the external service keeps every
    # create's transaction open for a while: without the per-project lock
    # all creates would see an empty project and pass the limit together.
    config.config(
        enabled_filters=["project_limits", "external_service"],
        max_leases_per_project=1,
        external_service_url=slow_usage_service,
        group="enforcement",
    )
    writers = 3
    outcomes = _race_creates("project-b", writers)

    assert sorted(outcomes) == ["created"] + ["refused"] * (writers - 1)
    assert len(db_api.lease_list(project_id="project-b")) == 1
