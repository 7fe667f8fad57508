"""Assertions shared by the API tests."""

ERROR_FIELDS = {"error_code", "error_message", "error_name"}
#: Fields an error may carry beside those (a refusal's next window).
OPTIONAL_FIELDS = {"next_available"}


def check_error(response, code, name, *fragments):
    """Assert ``response`` is Climate's error answer; return its message.

    :param fragments: texts the message must contain (case-insensitive),
        so each test checks that the message says what was wrong.
    """
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.json
    assert ERROR_FIELDS <= set(body) <= ERROR_FIELDS | OPTIONAL_FIELDS, body
    assert body["error_code"] == code
    assert body["error_name"] == name, body
    message = body["error_message"]
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    assert response.headers["X-OpenStack-Request-Id"].startswith("req-")
    return message
