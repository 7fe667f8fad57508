"""The API tests' fixtures (reading and waiting for leases), for the host
routes' tests."""

from tests.unit.api.conftest import create, get_lease, wait_status  # noqa: F401
