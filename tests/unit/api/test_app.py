"""The application factory: what every request goes through."""

from oslo_context import context as oslo_context

from tests import helpers


def test_a_requests_context_does_not_outlive_it(api):
    # The test client runs the request in this thread, as a WSGI worker
    # thread would.
    assert api.get("/v1/leases").status_code == 200
    assert oslo_context.get_current() is None
    created = api.post("/v1/leases", json=helpers.lease_body("ctx"))
    assert created.status_code == 201
    assert oslo_context.get_current() is None
