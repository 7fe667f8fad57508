"""Error answers become typed exceptions carrying what the server said."""

import pytest

from climateclient import exceptions


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (400, exceptions.BadRequest),
        (401, exceptions.Unauthorized),
        (403, exceptions.Forbidden),
        (404, exceptions.NotFound),
        (405, exceptions.MethodNotAllowed),
        (409, exceptions.Conflict),
        (413, exceptions.RequestEntityTooLarge),
        (500, exceptions.InternalServerError),
        (503, exceptions.ServiceUnavailable),
        (418, exceptions.HTTPError),
        (502, exceptions.HTTPError),
    ],
)
def test_class_by_status_code(code, cls):
    error = exceptions.from_response(code, None, reason="Because")

    assert type(error) is cls
    assert isinstance(error, exceptions.ClientException)
    assert error.code == code
    assert error.message == "Because"


def test_climate_error_body():
    error = exceptions.from_response(
        409,
        {
            "error_code": 409,
            "error_message": "Not enough resources available: 2 needed",
            "error_name": "NotEnoughResourcesAvailable",
        },
        request_id="req-1",
    )

    assert isinstance(error, exceptions.Conflict)
    assert error.message == "Not enough resources available: 2 needed"
    assert error.name == "NotEnoughResourcesAvailable"
    assert error.request_id == "req-1"
    assert str(error) == (
        "Not enough resources available: 2 needed "
        "(HTTP 409 NotEnoughResourcesAvailable) (Request-ID: req-1)"
    )


def test_body_that_is_not_json():
    error = exceptions.from_response(
        502, "<html>Bad gateway</html>\n", reason="Bad Gateway"
    )

    assert error.message == "<html>Bad gateway</html>"
    assert error.name == "HTTPError"
    assert str(error) == "<html>Bad gateway</html> (HTTP 502 HTTPError)"


def test_errors_found_by_the_client_do_not_claim_a_status():
    error = exceptions.NotFound("No lease named 'x'", name="LeaseNotFound")

    assert error.code == 404
    assert error.name == "LeaseNotFound"
    assert not error.from_server
    assert str(error) == "No lease named 'x'"
