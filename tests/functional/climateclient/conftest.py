"""One real ``climate-all`` per test module, a project per test, and the
``climate`` command speaking to it (see ``support``)."""

import uuid

import pytest

from tests.functional.climateclient import support


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The module's ``climate-all``, stopped by its PID at the end."""
    service = support.start_service(tmp_path_factory.mktemp("climate"))
    yield service
    service.process.stop()


@pytest.fixture
def project():
    """A project of its own for each test: its leases are its own."""
    return f"project-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cli(service, project):
    return support.CLI(service.url, project)


@pytest.fixture
def pool():
    """A capability value only this test's hosts have, so its reservations
    pick only them."""
    return f"pool-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def add_hosts(cli, pool):
    """Register ``count`` hosts of this test's pool; return their names."""

    def _add(count, **extra):
        names = []
        for index in range(count):
            name = f"{pool}-node{index}"
            argv = ["host", "create", name, "--extra", f"pool={pool}"]
            for key, value in extra.items():
                argv += ["--extra", f"{key}={value}"]
            cli.as_admin().json(*argv)
            names.append(name)
        return names

    return _add
