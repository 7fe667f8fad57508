"""Fixtures of the API tests: creating, reading and waiting for leases."""

import pytest

from tests import helpers


@pytest.fixture
def create(api):
    """POST a lease and return it, failing the test unless it is a 201."""

    def _create(name="lease", headers=None, **fields):
        response = api.post(
            "/v1/leases",
            json=helpers.lease_body(name, **fields),
            headers=headers,
        )
        assert response.status_code == 201, response.json
        return response.json["lease"]

    return _create


@pytest.fixture
def get_lease(api):
    """GET a lease by id (headers optional) and return it."""

    def _get(lease_id, headers=None):
        response = api.get(f"/v1/leases/{lease_id}", headers=headers)
        assert response.status_code == 200, response.json
        return response.json["lease"]

    return _get


@pytest.fixture
def wait_status(get_lease):
    """Wait until a lease reaches ``status``; return it."""

    def _wait(lease_id, status, timeout=5):
        def reached():
            lease = get_lease(lease_id)
            return lease["status"] == status and lease

        return helpers.wait_for(
            reached, timeout, message=f"lease {lease_id} {status}"
        )

    return _wait
