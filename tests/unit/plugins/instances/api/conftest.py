"""The API tests' fixtures (reading and waiting for leases), for the
instance reservation tests."""

from tests.unit.api.conftest import create, get_lease, wait_status  # noqa: F401
